#include "output/elasticsearch/bulk_response.h"

#include <simdjson.h>

#include <fmt/format.h>

namespace fim::output::es {

ItemOutcome classifyItemStatus(int status) {
  if (status >= 200 && status < 300) return ItemOutcome::Acked;
  if (status == 409) return ItemOutcome::Duplicate;
  if (status == 429 || status >= 500) return ItemOutcome::Retry;
  return ItemOutcome::NonIndexable;
}

const char* toString(ItemOutcome outcome) {
  switch (outcome) {
    case ItemOutcome::Acked: return "acked";
    case ItemOutcome::Duplicate: return "duplicate";
    case ItemOutcome::Retry: return "retry";
    case ItemOutcome::NonIndexable: return "non-indexable";
  }
  return "?";
}

RequestOutcome classifyRequestStatus(int status) {
  if (status >= 200 && status < 300) return RequestOutcome::Items;
  if (status == 429 || status >= 500) return RequestOutcome::Retry;
  if (status == 413) return RequestOutcome::TooLarge;
  if (status == 401 || status == 403) return RequestOutcome::Unauthorized;
  return RequestOutcome::Rejected;
}

namespace {

core::Error parseError(const std::string& what) {
  return core::Error(core::ErrorCode::Parse, "unexpected bulk response: " + what, true);
}

}  // namespace

core::Result<std::vector<BulkItemResult>> parseBulkResponse(std::string_view body, std::size_t expected) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (auto error = parser.parse(body.data(), body.size()).get(root); error) {
    return std::unexpected(parseError(std::string("not JSON (") + simdjson::error_message(error) + ")"));
  }
  simdjson::dom::array items;
  if (root["items"].get(items) != simdjson::SUCCESS) {
    bool errors = true;
    // filter_path drops `items` entirely when no item has a status, which cannot happen for a
    // non-empty request; an empty list is only valid for an empty request.
    if (expected == 0 && root["errors"].get(errors) == simdjson::SUCCESS) return std::vector<BulkItemResult>{};
    return std::unexpected(parseError("no items array"));
  }
  std::vector<BulkItemResult> results;
  results.reserve(expected);
  for (simdjson::dom::element item : items) {
    simdjson::dom::object wrapper;
    if (item.get(wrapper) != simdjson::SUCCESS || wrapper.size() != 1) return std::unexpected(parseError("an item is not {action: {...}}"));
    simdjson::dom::element action = (*wrapper.begin()).value;
    BulkItemResult result;
    int64_t status = 0;
    if (action["status"].get(status) != simdjson::SUCCESS) return std::unexpected(parseError("an item has no status"));
    result.status = static_cast<int>(status);
    simdjson::dom::element error;
    if (action["error"].get(error) == simdjson::SUCCESS) {
      std::string_view text;
      if (error["type"].get(text) == simdjson::SUCCESS) result.errorType = text;
      if (error["reason"].get(text) == simdjson::SUCCESS) result.errorReason = text;
      if (error.get(text) == simdjson::SUCCESS) result.errorReason = text;  // a bare string error
    }
    result.outcome = classifyItemStatus(result.status);
    results.push_back(std::move(result));
  }
  if (results.size() != expected) {
    return std::unexpected(parseError(fmt::format("{} items for {} documents sent", results.size(), expected)));
  }
  return results;
}

std::string describeErrorBody(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size()).get(root) == simdjson::SUCCESS) {
    std::string_view type, reason;
    simdjson::dom::element error;
    if (root["error"].get(error) == simdjson::SUCCESS) {
      if (std::string_view text; error.get(text) == simdjson::SUCCESS) return std::string(text);
      if (error["type"].get(type) != simdjson::SUCCESS) type = "error";
      if (error["reason"].get(reason) != simdjson::SUCCESS) reason = "";
      if (!type.empty() || !reason.empty()) return fmt::format("{}: {}", type, reason);
    }
  }
  std::string text(body.substr(0, 300));
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return text.empty() ? "(empty body)" : text;
}

}  // namespace fim::output::es
