#pragma once
// BulkEncoder: builds bulk request bodies (and their gzip) in buffers it keeps from one request
// to the next, with one deflate stream reset per request: a busy output then neither allocates
// nor page-faults in megabytes per request. One per output worker; not thread-safe.

#include <span>
#include <string>

#include "events/file_event.h"
#include "core/result.h"

struct z_stream_s;

namespace fim::output::es {

class BulkEncoder {
 public:
  explicit BulkEncoder(int compressionLevel);  // 0: no gzip
  ~BulkEncoder();
  BulkEncoder(const BulkEncoder&) = delete;
  BulkEncoder& operator=(const BulkEncoder&) = delete;

  bool gzip() const { return level_ > 0; }
  // The body for these events (encodeBulk's NDJSON, gzipped when gzip()). Give it back with
  // recycle() once sent, so the next request reuses its memory.
  [[nodiscard]] core::Result<std::string> encode(std::span<const events::EncodedEvent* const> events, const std::string& index);
  void recycle(std::string&& body);

 private:
  const int level_;
  std::string ndjson_;   // kept: the gzip input
  std::string spare_;    // the buffer the next body is built in
  z_stream_s* stream_ = nullptr;  // created on first use, reset per request
};

}  // namespace fim::output::es
