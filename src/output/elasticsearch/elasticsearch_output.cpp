#include "output/elasticsearch/elasticsearch_output.h"

#include <thread>

#include <fmt/format.h>

#include "core/logging.h"
#include "core/time_format.h"
#include "output/elasticsearch/backoff.h"
#include "output/elasticsearch/bulk_request.h"
#include "output/elasticsearch/bulk_response.h"

namespace fim::output::es {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

constexpr auto kRefusedLogEvery = std::chrono::seconds(10);

core::Error stopped() { return core::Error(core::ErrorCode::Unavailable, "stopped before every event was delivered", true); }

void addTo(WriteOutcome& total, const WriteOutcome& part) {
  total.acked += part.acked;
  total.duplicates += part.duplicates;
  total.dropped += part.dropped;
  total.deadLettered += part.deadLettered;
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

core::Status ElasticsearchOutput::refuse(Worker& worker, const Events& events, const std::vector<std::string>& reasons,
                                         const std::vector<std::string>& types, bool deadLetters, WriteOutcome& out,
                                         std::stop_token stop) {
  const bool toDeadLetterIndex = !deadLetters && options_.nonIndexablePolicy == config::NonIndexablePolicy::DeadLetterIndex;
  for (std::size_t i = 0; i < events.size(); ++i) {
    logRefused(fmt::format("Elasticsearch refused event {}{}: {}: {}; {}", events[i]->id.empty() ? "" : "_id ",
                           events[i]->id, types[i], reasons[i],
                           toDeadLetterIndex ? "sent to dead letter index " + options_.deadLetterIndex : "dropped"));
  }
  if (!toDeadLetterIndex) {
    out.dropped += events.size();
    return {};
  }
  const std::string now = core::formatTimestamp(clock_.now());
  std::vector<core::EncodedEvent> letters;
  letters.reserve(events.size());
  for (std::size_t i = 0; i < events.size(); ++i) letters.push_back(deadLetterEvent(*events[i], types[i], reasons[i], now));
  Events pointers;
  for (const auto& letter : letters) pointers.push_back(&letter);
  return deliver(worker, std::move(pointers), options_.deadLetterIndex, true, out, stop);
}

core::Result<bool> ElasticsearchOutput::sendItems(Worker& worker, const Events& events, const std::string& index,
                                            bool deadLetters, WriteOutcome& out, Events& retry, std::stop_token stop) {
  auto body = worker.encoder->encode(events, index);
  if (!body) return std::unexpected(body.error());
  HttpRequest request{"POST", std::string(kBulkPath), std::move(*body), "application/x-ndjson", worker.encoder->gzip()};
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
                                      index, host, describeErrorBody(response->body)));
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
      case ItemOutcome::Acked: (deadLetters ? out.deadLettered : out.acked) += 1; break;
      case ItemOutcome::Duplicate: (deadLetters ? out.deadLettered : out.duplicates) += 1; break;
      case ItemOutcome::Retry:
        if (item.status == 429) toomany_.add();
        retry.push_back(events[i]);
        break;
      case ItemOutcome::NonIndexable:
        refused.push_back(events[i]);
        types.push_back(item.errorType.empty() ? fmt::format("http_{}", item.status) : item.errorType);
        reasons.push_back(item.errorReason);
        break;
    }
  }
  if (!refused.empty()) {
    if (auto handled = refuse(worker, refused, reasons, types, deadLetters, out, stop); !handled) {
      return std::unexpected(handled.error());
    }
  }
  return true;
}

core::Status ElasticsearchOutput::deliver(Worker& worker, Events events, const std::string& index, bool deadLetters,
                                          WriteOutcome& out, std::stop_token stop) {
  auto& log = core::logger("output");
  Backoff backoff(duration_cast<milliseconds>(options_.backoffInit), duration_cast<milliseconds>(options_.backoffMax));
  while (!events.empty()) {
    if (stop.stop_requested()) return std::unexpected(stopped());
    Events retry;
    auto sent = sendItems(worker, events, index, deadLetters, out, retry, stop);
    if (sent && !*sent) {  // HTTP 413
      if (events.size() == 1) {
        const std::string reason = fmt::format("the event of {} bytes exceeds the server's request size limit (HTTP 413)",
                                               events.front()->json.size());
        return refuse(worker, events, {reason}, {"request_entity_too_large"}, deadLetters, out, stop);
      }
      const auto half = static_cast<std::ptrdiff_t>(events.size() / 2);
      log.debug("bulk request of {} events too large (HTTP 413): splitting it in two", events.size());
      if (auto first = deliver(worker, Events(events.begin(), events.begin() + half), index, deadLetters, out, stop); !first) return first;
      return deliver(worker, Events(events.begin() + half, events.end()), index, deadLetters, out, stop);
    }
    if (!sent && !sent.error().retryable()) return std::unexpected(sent.error());
    if (sent && retry.empty()) return {};  // every event is in a bucket
    if (stop.stop_requested()) return std::unexpected(stopped());
    const std::size_t failing = sent ? retry.size() : events.size();
    retried_.add(static_cast<std::int64_t>(failing));
    if (sent && retry.size() < events.size()) backoff.reset();  // progress: start the backoff over
    if (options_.maxRetries >= 0 && backoff.attempts() >= options_.maxRetries) {
      const std::string why = sent ? fmt::format("{} events were refused with HTTP 429/5xx", retry.size()) : sent.error().message();
      return core::fail(core::ErrorCode::Unavailable,
                        fmt::format("giving up after {} retries (max_retries), the events stay queued: {}", backoff.attempts(), why),
                        true);
    }
    const auto delay = backoff.next();
    if (sent) {
      log.debug("{} of {} events to retry (HTTP 429/5xx), in {} ms", retry.size(), events.size(), delay.count());
      events = std::move(retry);
    } else {
      log.warn("bulk request of {} events failed, retrying in {} ms: {}", events.size(), delay.count(), sent.error().message());
    }
    if (!waitUnlessStopped(stop, delay)) return std::unexpected(stopped());
  }
  return {};
}

core::Result<WriteOutcome> ElasticsearchOutput::write(std::span<const core::EncodedEvent> events, std::stop_token stop) {
  const auto chunks = chunkRanges(events.size(), static_cast<std::size_t>(options_.bulkMaxSize));
  active_.add(static_cast<std::int64_t>(events.size()));
  std::stop_source abort;  // one worker's failure stops the others: the whole write is retried anyway
  std::stop_callback forward(stop, [&] { abort.request_stop(); });
  std::atomic<std::size_t> nextChunk{0};
  std::vector<WriteOutcome> outcomes(workers_.size());
  std::vector<std::optional<core::Error>> errors(workers_.size());
  const auto work = [&](std::size_t w) {
    while (!abort.get_token().stop_requested()) {
      const std::size_t c = nextChunk.fetch_add(1);
      if (c >= chunks.size()) return;
      Events part;
      for (std::size_t i = chunks[c].first; i < chunks[c].second; ++i) part.push_back(&events[i]);
      if (auto done = deliver(workers_[w], std::move(part), target_, false, outcomes[w], abort.get_token()); !done) {
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
    if (error && error->message() != stopped().message()) return std::unexpected(*error);
  }
  for (const auto& error : errors) {
    if (error) return std::unexpected(*error);
  }
  if (stop.stop_requested() && nextChunk.load() < chunks.size()) return std::unexpected(stopped());
  WriteOutcome total;
  for (const auto& part : outcomes) addTo(total, part);
  return total;
}

}  // namespace fim::output::es
