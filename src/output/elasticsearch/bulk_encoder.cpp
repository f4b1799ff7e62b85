#include "output/elasticsearch/bulk_encoder.h"

#include <zlib.h>

#include "output/elasticsearch/bulk_request.h"

namespace fim::output::es {

BulkEncoder::BulkEncoder(int compressionLevel) : level_(compressionLevel) {}

BulkEncoder::~BulkEncoder() {
  if (stream_) {
    deflateEnd(stream_);
    delete stream_;
  }
}

void BulkEncoder::recycle(std::string&& body) { spare_ = std::move(body); }

core::Result<std::string> BulkEncoder::encode(std::span<const events::EncodedEvent* const> events, const std::string& index) {
  std::string& text = gzip() ? ndjson_ : spare_;
  text.clear();
  for (const auto* e : events) appendCreate(text, index, *e);
  if (!gzip()) return std::move(spare_);
  if (!stream_) {
    stream_ = new z_stream{};
    // 15 window bits + 16: a gzip header and trailer instead of zlib's.
    if (deflateInit2(stream_, level_, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
      delete stream_;
      stream_ = nullptr;
      return core::fail(core::ErrorCode::Internal, "gzip: deflateInit2 failed");
    }
  } else if (deflateReset(stream_) != Z_OK) {
    return core::fail(core::ErrorCode::Internal, "gzip: deflateReset failed");
  }
  int rc = Z_OK;
  const auto bound = deflateBound(stream_, static_cast<uLong>(text.size())) + 32;
  // resize_and_overwrite: no zero-filling of a buffer deflate overwrites anyway.
  spare_.resize_and_overwrite(bound, [&](char* out, std::size_t size) {
    stream_->next_in = reinterpret_cast<Bytef*>(text.data());
    stream_->avail_in = static_cast<uInt>(text.size());
    stream_->next_out = reinterpret_cast<Bytef*>(out);
    stream_->avail_out = static_cast<uInt>(size);
    rc = deflate(stream_, Z_FINISH);
    return rc == Z_STREAM_END ? static_cast<std::size_t>(stream_->total_out) : std::size_t{0};
  });
  if (rc != Z_STREAM_END) return core::fail(core::ErrorCode::Internal, "gzip: deflate did not finish");
  return std::move(spare_);
}

}  // namespace fim::output::es
