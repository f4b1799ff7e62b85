#pragma once
// Bulk request bodies: `create` action lines plus documents, and dead-letter documents.

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "events/file_event.h"
#include "core/result.h"

namespace fim::output::es {

// The request path of every bulk call; filter_path keeps the response to what classification reads.
inline constexpr std::string_view kBulkPath = "/_bulk?filter_path=errors,items.*.error,items.*.status";

// One line `{"create":{"_index":"<index>","_id":"<id>"}}` (the event's own index when it has one, no
// _id when it has none), then
// the document, each line ending in '\n' as the bulk API requires.
void appendCreate(std::string& body, const std::string& index, const events::EncodedEvent& event);

// The NDJSON body for these events, in order.
std::string encodeBulk(std::span<const events::EncodedEvent* const> events, const std::string& index);

// A dead letter document for an event Elasticsearch refused: the original document as `message`
// (a string), error.type, error.message, @timestamp; the _id stays the original's.
events::EncodedEvent deadLetterEvent(const events::EncodedEvent& original, const std::string& errorType,
                                   const std::string& errorMessage, const std::string& timestamp);

// gzip (RFC 1952) of data at level 1..9, as Content-Encoding: gzip expects.
[[nodiscard]] core::Result<std::string> gzipCompress(std::string_view data, int level);

}  // namespace fim::output::es
