#pragma once
// Classifying a bulk response: what happened to each item, and what to do with the request.

#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace fim::output::es {

enum class ItemOutcome {
  Acked,         // 2xx: stored
  Duplicate,     // 409: already stored under this _id, delivered
  Retry,         // 429 and 5xx: send this item again after a backoff
  NonIndexable,  // any other status: Elasticsearch refuses the document itself
};

// The outcome of one item's HTTP status. Pure.
ItemOutcome classifyItemStatus(int status);
const char* toString(ItemOutcome outcome);

struct BulkItemResult {
  int status = 0;
  std::string errorType;    // error.type, e.g. mapper_parsing_exception
  std::string errorReason;  // error.reason
  ItemOutcome outcome = ItemOutcome::Acked;
};

// Parses a bulk response (filter_path=errors,items.*.error,items.*.status) that must describe
// exactly `expected` items, in request order. A malformed body is an error.
[[nodiscard]] core::Result<std::vector<BulkItemResult>> parseBulkResponse(std::string_view body, std::size_t expected);

// What a whole-request HTTP status means for the batch.
enum class RequestOutcome {
  Items,         // 2xx: read the items
  Retry,         // 429, 5xx: back off, reconnect, fail over, send again
  TooLarge,      // 413: split the batch
  Unauthorized,  // 401, 403: credentials; keep the events queued
  Rejected,      // any other status: the request itself is wrong
};
RequestOutcome classifyRequestStatus(int status);

// "type: reason" of an error object in an Elasticsearch error response, or the body's start.
std::string describeErrorBody(std::string_view body);

}  // namespace fim::output::es
