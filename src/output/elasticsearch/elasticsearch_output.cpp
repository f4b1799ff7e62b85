#include "output/elasticsearch/elasticsearch_output.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include <fmt/format.h>

#include "core/logging.h"
#include "core/time_format.h"
#include "output/elasticsearch/bulk_request.h"
#include "output/elasticsearch/bulk_response.h"

namespace fim::output::es {
namespace {

constexpr auto kRefusedLogEvery = std::chrono::seconds(10);

core::Error stopped() { return core::Error(core::ErrorCode::Unavailable, "stopped before every event was delivered", true); }

void addTo(WriteOutcome& total, WriteOutcome& part) {
  total.acked += part.acked;
  total.duplicates += part.duplicates;
  total.dropped += part.dropped;
  total.deadLettered += part.deadLettered;
  total.retry.insert(total.retry.end(), part.retry.begin(), part.retry.end());
}

// The bulk path, with ?pipeline= when output.elasticsearch.pipeline names one (percent-encoded).
std::string bulkPath(const std::string& pipeline) {
  std::string path(kBulkPath);
  if (pipeline.empty()) return path;
  path += "&pipeline=";
  for (const unsigned char c : pipeline) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') path += static_cast<char>(c);
    else path += fmt::format("%{:02X}", c);
  }
  return path;
}

}  // namespace

std::vector<std::pair<std::size_t, std::size_t>> chunkRanges(std::size_t n, std::size_t size) {
  std::vector<std::pair<std::size_t, std::size_t>> ranges;
  for (std::size_t begin = 0; begin < n; begin += size) ranges.emplace_back(begin, std::min(n, begin + size));
  return ranges;
}

ElasticsearchOutput::ElasticsearchOutput(config::ElasticsearchOutputConfig options, std::string target,
                                         std::optional<IndexSetup> setup, core::Metrics& metrics, const core::Clock& clock)
    : options_(std::move(options)),
      target_(std::move(target)),
      bulkPath_(bulkPath(options_.pipeline)),
      clock_(clock),
      toomany_(metrics.counter("output.events.toomany")),
      retried_(metrics.counter("output.events.retried")),
      active_(metrics.gauge("output.events.active")) {
  if (setup && (setup->templateEnabled || setup->ilmEnabled)) setup_ = std::make_unique<SetupOnce>(std::move(*setup));
  for (int i = 0; i < options_.worker; ++i) {
    workers_.push_back(Worker{std::make_unique<Connection>(options_, setup_.get()),
                              std::make_unique<BulkEncoder>(options_.compressionLevel)});
  }
  if (options_.ssl.verificationMode == config::SslVerificationMode::None) {
    core::logger("output").warn(
        "output.elasticsearch.ssl.verification_mode is none: the server's certificate is not verified, so anyone on the "
        "path can read and alter the events; use it only for tests");
  }
}

ElasticsearchOutput::~ElasticsearchOutput() = default;

std::string ElasticsearchOutput::describe() const {
  std::string hosts;
  for (const auto& h : options_.hosts) hosts += (hosts.empty() ? "" : ", ") + h;
  return fmt::format("elasticsearch output to {} ({} {})", hosts, options_.index.empty() ? "data stream" : "index", target_);
}

void ElasticsearchOutput::logRefused(const std::string& message) {
  std::lock_guard lock(logMutex_);
  const auto now = std::chrono::steady_clock::now();
  if (now - lastRefusedLog_ < kRefusedLogEvery) {
    ++suppressedRefused_;
    return;
  }
  auto& log = core::logger("output");
  if (suppressedRefused_ > 0) {
    log.warn("{} (and {} more refused events in the last {} s)", message, suppressedRefused_, kRefusedLogEvery.count());
  } else {
    log.warn("{}", message);
  }
  suppressedRefused_ = 0;
  lastRefusedLog_ = now;
}

core::Status ElasticsearchOutput::refuse(Worker& worker, const Batch& batch, const Events& events,
                                         const std::vector<std::string>& reasons, const std::vector<std::string>& types,
                                         WriteOutcome& out, std::stop_token stop) {
  const bool toDeadLetterIndex =
      !batch.deadLetters && options_.nonIndexablePolicy == config::NonIndexablePolicy::DeadLetterIndex;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& event = batch.events[events[i]];
    logRefused(fmt::format("Elasticsearch refused event {}{}: {}: {}; {}", event.id.empty() ? "" : "_id ", event.id,
                           types[i], reasons[i],
                           toDeadLetterIndex ? "sent to dead letter index " + options_.deadLetterIndex : "dropped"));
  }
  if (!toDeadLetterIndex) {
    out.dropped += events.size();
    return {};
  }
  const std::string now = core::formatTimestamp(clock_.now());
  std::vector<events::EncodedEvent> letters;
  letters.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) {
    letters.push_back(deadLetterEvent(batch.events[events[i]], types[i], reasons[i], now));
  }
  Events all(letters.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  WriteOutcome letterOutcome;
  if (auto sent = deliver(worker, Batch{letters, options_.deadLetterIndex, true}, all, letterOutcome, stop); !sent) {
    return sent;
  }
  out.deadLettered += letterOutcome.deadLettered;
  out.dropped += letterOutcome.dropped;
  for (const std::size_t i : letterOutcome.retry) out.retry.push_back(events[i]);  // the original is sent again
  return {};
}

core::Result<bool> ElasticsearchOutput::sendItems(Worker& worker, const Batch& batch, const Events& events,
                                                  WriteOutcome& out, std::stop_token stop) {
  std::vector<const events::EncodedEvent*> documents;
  documents.reserve(events.size());
  for (const std::size_t i : events) documents.push_back(&batch.events[i]);
  auto body = worker.encoder->encode(documents, batch.index);
  if (!body) return std::unexpected(body.error());
  HttpRequest request{"POST", bulkPath_, std::move(*body), "application/x-ndjson", worker.encoder->gzip()};
  auto response = worker.connection->send(request, stop);
  worker.encoder->recycle(std::move(request.body));
  if (!response) return std::unexpected(response.error());
  const std::string host = worker.connection->lastHost();
  switch (classifyRequestStatus(response->status)) {
    case RequestOutcome::Retry:
      if (response->status == 429) toomany_.add(static_cast<std::int64_t>(events.size()));
      return core::fail(core::ErrorCode::Unavailable,
                        fmt::format("{} answered the bulk request with HTTP {}: {}", host, response->status,
                                    describeErrorBody(response->body)),
                        true);
    case RequestOutcome::TooLarge:
      return false;
    case RequestOutcome::Unauthorized:
      if (response->status == 403) {
        return core::fail(core::ErrorCode::PermissionDenied,
                          fmt::format("not authorized: the user needs the create_doc privilege on {} ({} answered HTTP "
                                      "403: {})",
                                      batch.index, host, describeErrorBody(response->body)));
      }
      return core::fail(core::ErrorCode::PermissionDenied,
                        fmt::format("authentication failed: check username/password or api_key ({} answered HTTP 401: {})",
                                    host, describeErrorBody(response->body)));
    case RequestOutcome::Rejected:
      return core::fail(core::ErrorCode::InvalidArgument, fmt::format("{} rejected the bulk request with HTTP {}: {}", host,
                                                                      response->status, describeErrorBody(response->body)));
    case RequestOutcome::Items: break;
  }
  auto items = parseBulkResponse(response->body, events.size());
  if (!items) return std::unexpected(items.error().context(host));
  Events refused;
  std::vector<std::string> reasons, types;
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& item = (*items)[i];
    switch (item.outcome) {
      case ItemOutcome::Acked: (batch.deadLetters ? out.deadLettered : out.acked) += 1; break;
      case ItemOutcome::Duplicate: (batch.deadLetters ? out.deadLettered : out.duplicates) += 1; break;
      case ItemOutcome::Retry:
        if (item.status == 429) toomany_.add();
        retried_.add();
        out.retry.push_back(events[i]);
        break;
      case ItemOutcome::NonIndexable:
        refused.push_back(events[i]);
        types.push_back(item.errorType.empty() ? fmt::format("http_{}", item.status) : item.errorType);
        reasons.push_back(item.errorReason);
        break;
    }
  }
  if (!refused.empty()) {
    if (auto handled = refuse(worker, batch, refused, reasons, types, out, stop); !handled) {
      return std::unexpected(handled.error());
    }
  }
  return true;
}

core::Status ElasticsearchOutput::deliver(Worker& worker, const Batch& batch, const Events& events, WriteOutcome& out,
                                          std::stop_token stop) {
  auto sent = sendItems(worker, batch, events, out, stop);
  if (sent && !*sent) {  // HTTP 413
    if (events.size() == 1) {
      const std::string reason = fmt::format("the event of {} bytes exceeds the server's request size limit (HTTP 413)",
                                             batch.events[events.front()].json.size());
      return refuse(worker, batch, events, {reason}, {"request_entity_too_large"}, out, stop);
    }
    const auto half = static_cast<std::ptrdiff_t>(events.size() / 2);
    core::logger("output").debug("bulk request of {} events too large (HTTP 413): splitting it in two", events.size());
    if (auto first = deliver(worker, batch, Events(events.begin(), events.begin() + half), out, stop); !first) {
      return first;
    }
    return deliver(worker, batch, Events(events.begin() + half, events.end()), out, stop);
  }
  if (sent) return {};
  if (!sent.error().retryable()) return std::unexpected(sent.error());
  // Not answered, or answered 429/5xx as a whole: every event of the request is for another attempt.
  retried_.add(static_cast<std::int64_t>(events.size()));
  out.retry.insert(out.retry.end(), events.begin(), events.end());
  std::lock_guard lock(failureMutex_);
  if (!firstFailure_) firstFailure_ = sent.error();
  return {};
}

core::Result<WriteOutcome> ElasticsearchOutput::write(std::span<const events::EncodedEvent> events, std::stop_token stop) {
  const auto chunks = chunkRanges(events.size(), static_cast<std::size_t>(options_.bulkMaxSize));
  active_.add(static_cast<std::int64_t>(events.size()));
  std::stop_source abort;  // a failure that retrying cannot fix stops the other connections
  std::stop_callback forward(stop, [&] { abort.request_stop(); });
  std::atomic<std::size_t> nextChunk{0};
  std::vector<WriteOutcome> outcomes(workers_.size());
  std::vector<std::optional<core::Error>> errors(workers_.size());
  const Batch batch{events, target_, false};
  firstFailure_.reset();
  const auto work = [&](std::size_t w) {
    while (!abort.get_token().stop_requested()) {
      const std::size_t c = nextChunk.fetch_add(1);
      if (c >= chunks.size()) return;
      Events part;
      for (std::size_t i = chunks[c].first; i < chunks[c].second; ++i) part.push_back(i);
      if (auto done = deliver(workers_[w], batch, part, outcomes[w], abort.get_token()); !done) {
        errors[w] = done.error();
        abort.request_stop();
        return;
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t w = 1; w < std::min(workers_.size(), chunks.size()); ++w) helpers.emplace_back(work, w);
    work(0);
  }
  active_.add(-static_cast<std::int64_t>(events.size()));
  for (const auto& error : errors) {
    if (error) return std::unexpected(*error);
  }
  if (nextChunk.load() < chunks.size()) return std::unexpected(stopped());
  WriteOutcome total;
  for (auto& part : outcomes) addTo(total, part);
  std::sort(total.retry.begin(), total.retry.end());  // in the batch's order
  if (firstFailure_) {
    if (total.retry.size() == events.size()) return std::unexpected(*firstFailure_);  // nothing got through: say why
    core::logger("output").warn("{} of {} events to send again: {}", total.retry.size(), events.size(),
                                firstFailure_->message());
  }
  return total;
}

}  // namespace fim::output::es
