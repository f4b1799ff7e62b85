// The OutputWorker and the outputs' one retry policy (output/backoff.h), against a scripted Output.

#include "output/output_worker.h"

#include <deque>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "support/encoded_events.h"

namespace fim::output {
namespace {

using namespace std::chrono_literals;

// An Output whose every write() answers with the next scripted reply, recording what it was given.
class ScriptedOutput final : public Output {
 public:
  using Reply = core::Result<WriteOutcome>;

  void then(Reply reply) { replies_.push_back(std::move(reply)); }

  core::Result<WriteOutcome> write(std::span<const events::EncodedEvent> events, std::stop_token) override {
    std::vector<std::string> ids;
    for (const auto& e : events) ids.push_back(e.id);
    writes.push_back(ids);
    if (replies_.empty()) {  // unscripted: everything delivered
      WriteOutcome all;
      all.acked = events.size();
      return all;
    }
    Reply reply = std::move(replies_.front());
    replies_.pop_front();
    return reply;
  }
  core::Status flush() override {
    ++flushes;
    return {};
  }
  core::Status close() override { return {}; }
  std::string describe() const override { return "scripted output"; }

  std::vector<std::vector<std::string>> writes;
  int flushes = 0;

 private:
  std::deque<Reply> replies_;
};

WriteOutcome acked(std::size_t n, std::vector<std::size_t> retry = {}) {
  WriteOutcome outcome;
  outcome.acked = n;
  outcome.retry = std::move(retry);
  return outcome;
}

core::Error unavailable() { return core::Error(core::ErrorCode::Unavailable, "es:9200 refused the connection", true); }

constexpr RetryPolicy kFast{1ms, 4ms};

TEST_CASE("a delivered batch is counted and acknowledged up to its last queue sequence") {
  ScriptedOutput output;
  core::Metrics metrics;
  std::vector<std::uint64_t> acks;
  OutputWorker worker(output, metrics, kFast, [&](std::uint64_t s) { acks.push_back(s); });
  const auto docs = testing::encoded({R"({"a":1})", R"({"b":2})"});
  REQUIRE(worker.deliver({}, docs, 7));  // 7: entries a processor dropped after the last document
  CHECK(acks == std::vector<std::uint64_t>{7});
  CHECK(output.writes.size() == 1);
  CHECK(metrics.counter("output.events.acked").value() == 2);
  CHECK(metrics.counter("output.events.batches").value() == 1);
  CHECK(metrics.counter("output.write.bytes").value() == 16);
}

TEST_CASE("a failed write is sent again whole, then acknowledged") {
  ScriptedOutput output;
  output.then(std::unexpected(unavailable()));
  output.then(std::unexpected(unavailable()));
  core::Metrics metrics;
  std::vector<std::uint64_t> acks;
  OutputWorker worker(output, metrics, kFast, [&](std::uint64_t s) { acks.push_back(s); });
  const auto docs = testing::encoded({"{}", "{}", "{}"});
  REQUIRE(worker.deliver({}, docs, 3));
  REQUIRE(output.writes.size() == 3);
  for (const auto& w : output.writes) CHECK(w == std::vector<std::string>{"id-1", "id-2", "id-3"});
  CHECK(acks == std::vector<std::uint64_t>{3});
  CHECK(metrics.counter("output.write.errors").value() == 2);
  CHECK(metrics.counter("output.events.acked").value() == 3);
}

TEST_CASE("only the events handed back are sent again, in order, and none is acknowledged before all are delivered") {
  ScriptedOutput output;
  WriteOutcome first = acked(2, {1, 3});
  first.duplicates = 1;
  output.then(first);           // id-1, id-3 and id-5 delivered; id-2 and id-4 back
  output.then(acked(1, {1}));   // id-2 delivered, id-4 back again
  core::Metrics metrics;
  std::vector<std::uint64_t> acks;
  OutputWorker worker(output, metrics, kFast, [&](std::uint64_t s) {
    CHECK(output.writes.size() == 3);  // only after the last write
    acks.push_back(s);
  });
  const auto docs = testing::encoded({"{}", "{}", "{}", "{}", "{}"});
  REQUIRE(worker.deliver({}, docs, 5));
  REQUIRE(output.writes.size() == 3);
  CHECK(output.writes[1] == std::vector<std::string>{"id-2", "id-4"});
  CHECK(output.writes[2] == std::vector<std::string>{"id-4"});
  CHECK(acks == std::vector<std::uint64_t>{5});
  CHECK(metrics.counter("output.events.acked").value() == 4);  // id-4's final write is unscripted: acked
  CHECK(metrics.counter("output.events.duplicates").value() == 1);
}

TEST_CASE("a stop request ends a delivery that keeps failing: nothing is acknowledged, the events stay queued") {
  ScriptedOutput output;
  for (int i = 0; i < 1000; ++i) output.then(std::unexpected(unavailable()));
  core::Metrics metrics;
  bool acknowledged = false;
  OutputWorker worker(output, metrics, RetryPolicy{20ms, 20ms}, [&](std::uint64_t) { acknowledged = true; });
  std::stop_source stop;
  std::jthread stopper([&] {
    while (metrics.counter("output.write.errors").value() < 3) std::this_thread::yield();
    stop.request_stop();
  });
  const auto docs = testing::encoded({"{}"});
  CHECK_FALSE(worker.deliver(stop.get_token(), docs, 1));
  CHECK_FALSE(acknowledged);
  worker.finish(1);
  CHECK(metrics.counter("output.events.failed").value() == 1);
  CHECK(output.flushes == 1);
}

TEST_CASE("idle() makes what was written durable once writes have paused, and not before the first write") {
  ScriptedOutput output;
  core::Metrics metrics;
  OutputWorker worker(output, metrics, kFast);
  worker.idle();
  CHECK(output.flushes == 0);  // nothing written yet
  const auto docs = testing::encoded({"{}"});
  REQUIRE(worker.deliver({}, docs, 1));
  const auto until = std::chrono::steady_clock::now() + 10s;
  while (output.flushes == 0 && std::chrono::steady_clock::now() < until) worker.idle();
  CHECK(output.flushes == 1);
  worker.idle();
  CHECK(output.flushes == 1);  // nothing new since
}

TEST_CASE("backoff doubles from init to max with equal jitter, never above backoff.max") {
  CHECK(backoffDelay(1, 1000ms, 60000ms, 1.0) == 1000ms);
  CHECK(backoffDelay(1, 1000ms, 60000ms, 0.0) == 500ms);
  CHECK(backoffDelay(2, 1000ms, 60000ms, 1.0) == 2000ms);
  CHECK(backoffDelay(4, 1000ms, 60000ms, 1.0) == 8000ms);
  CHECK(backoffDelay(7, 1000ms, 60000ms, 1.0) == 60000ms);
  CHECK(backoffDelay(1000, 1000ms, 60000ms, 0.5) == 45000ms);
  CHECK(backoffDelay(1000, 1000ms, 5000ms, 1.0) == 5000ms);  // backoff.max: 5s bounds every wait
  Backoff backoff(RetryPolicy{10ms, 40ms});
  for (int i = 0; i < 20; ++i) {
    const auto delay = backoff.next();
    CHECK(delay >= 5ms);
    CHECK(delay <= 40ms);
  }
  CHECK(backoff.attempts() == 20);
  backoff.reset();
  CHECK(backoff.attempts() == 0);
}

TEST_CASE("a stopped backoff wait returns at once") {
  std::stop_source stop;
  stop.request_stop();
  CHECK_FALSE(waitUnlessStopped(stop.get_token(), 3600s));
  CHECK(waitUnlessStopped({}, 1ms));
}

}  // namespace
}  // namespace fim::output
