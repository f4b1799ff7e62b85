// Tests for BoundedQueue: order, blocking on capacity, stop tokens, close and batches.

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <latch>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "core/bounded_queue.h"

using fim::core::BoundedQueue;
using namespace std::chrono_literals;

namespace {

constexpr auto kDeadline = 10s;  // generous: only reached when the code under test is broken

// A flag another thread sets, waited on with a deadline instead of sleeping.
class Flag {
 public:
  void set() {
    {
      std::lock_guard lock(mutex_);
      set_ = true;
    }
    cv_.notify_all();
  }
  bool waitFor(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return set_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool set_ = false;
};

}  // namespace

TEST_CASE("items come out in FIFO order") {
  BoundedQueue<int> q(8);
  std::stop_source never;
  for (int i = 0; i < 5; ++i) REQUIRE(q.push(i, never.get_token()));
  CHECK(q.size() == 5);
  CHECK(q.capacity() == 8);
  for (int i = 0; i < 5; ++i) CHECK(q.pop(never.get_token()) == i);
  CHECK(q.size() == 0);
}

TEST_CASE("capacity must be at least one") {
  CHECK_THROWS_AS(BoundedQueue<int>(0), std::invalid_argument);
}

TEST_CASE("push blocks while full until a consumer pops") {
  BoundedQueue<int> q(2);
  std::stop_source never;
  REQUIRE(q.push(1, never.get_token()));
  REQUIRE(q.push(2, never.get_token()));
  int extra = 3;
  CHECK_FALSE(q.tryPush(extra));

  Flag pushed;
  std::latch started(1);
  std::jthread producer([&](std::stop_token st) {
    started.count_down();
    if (q.push(3, st)) pushed.set();
  });
  started.wait();
  // Full and nobody pops: the push must not complete. A short bounded wait, not a sleep.
  CHECK_FALSE(pushed.waitFor(50ms));
  CHECK(q.size() == 2);

  CHECK(q.pop(never.get_token()) == 1);
  CHECK(pushed.waitFor(kDeadline));
  CHECK(q.pop(never.get_token()) == 2);
  CHECK(q.pop(never.get_token()) == 3);
}

TEST_CASE("a blocked producer is woken once the queue has drained to half, not for every item taken") {
  BoundedQueue<int> q(4);
  std::stop_source never;
  for (int i = 1; i <= 4; ++i) REQUIRE(q.push(i, never.get_token()));

  Flag pushed;
  std::latch started(1);
  std::jthread producer([&](std::stop_token st) {
    started.count_down();
    std::vector<int> more{5, 6};
    if (q.pushBatch(more, st)) pushed.set();
  });
  started.wait();
  CHECK_FALSE(pushed.waitFor(50ms));
  CHECK(q.pop(never.get_token()) == 1);  // 3 left: above half, the producer sleeps on
  CHECK_FALSE(pushed.waitFor(50ms));
  CHECK(q.size() == 3);

  CHECK(q.pop(never.get_token()) == 2);  // 2 left: half, the producer refills in one go
  CHECK(pushed.waitFor(kDeadline));
  CHECK(q.size() == 4);
  for (int expected = 3; expected <= 6; ++expected) CHECK(q.pop(never.get_token()) == expected);
}

TEST_CASE("onPush is called after every successful push, outside the lock") {
  BoundedQueue<int> q(8);
  std::stop_source never;
  int calls = 0;
  q.onPush([&] {
    ++calls;
    CHECK(q.size() > 0);  // would deadlock if the hook ran under the queue's lock
  });
  REQUIRE(q.push(1, never.get_token()));
  int item = 2;
  REQUIRE(q.tryPush(item));
  std::vector<int> batch{3, 4, 5};
  REQUIRE(q.pushBatch(batch, never.get_token()));
  CHECK(calls == 3);
  q.close();
  CHECK_FALSE(q.push(6, never.get_token()));  // refused: no call
  CHECK(calls == 3);
}

TEST_CASE("a stop request wakes a blocked push") {
  BoundedQueue<std::string> q(1);
  std::stop_source never;
  REQUIRE(q.push("full", never.get_token()));

  std::latch started(1);
  std::optional<bool> result;
  {
    std::jthread producer([&](std::stop_token st) {
      started.count_down();
      result = q.push("blocked", st);
    });
    started.wait();
    producer.request_stop();
  }  // join: hangs here if the stop request does not wake push
  REQUIRE(result.has_value());
  CHECK_FALSE(*result);
  CHECK(q.size() == 1);
  CHECK(q.tryPop() == "full");
}

TEST_CASE("a stop request wakes a blocked pop, and pop honours stop even with items queued") {
  BoundedQueue<int> q(4);
  std::latch started(1);
  std::optional<std::optional<int>> result;
  {
    std::jthread consumer([&](std::stop_token st) {
      started.count_down();
      result = q.pop(st);
    });
    started.wait();
    consumer.request_stop();
  }
  REQUIRE(result.has_value());
  CHECK_FALSE(result->has_value());

  std::stop_source stopped;
  stopped.request_stop();
  int item = 7;
  REQUIRE(q.tryPush(item));
  CHECK_FALSE(q.pop(stopped.get_token()).has_value());
  CHECK_FALSE(q.push(8, stopped.get_token()));
  CHECK(q.size() == 1);
}

TEST_CASE("close lets consumers drain, then returns nullopt, producers fail") {
  BoundedQueue<int> q(4);
  std::stop_source never;
  REQUIRE(q.push(1, never.get_token()));
  REQUIRE(q.push(2, never.get_token()));
  q.close();
  CHECK(q.closed());
  CHECK_FALSE(q.push(3, never.get_token()));
  int item = 4;
  CHECK_FALSE(q.tryPush(item));
  CHECK(item == 4);  // not moved from on failure
  CHECK(q.pop(never.get_token()) == 1);
  CHECK(q.pop(never.get_token()) == 2);
  CHECK_FALSE(q.pop(never.get_token()).has_value());
  std::vector<int> batch;
  CHECK(q.popBatch(batch, 10, never.get_token()) == 0);
}

TEST_CASE("close wakes a blocked consumer and a blocked producer") {
  BoundedQueue<int> empty(1);
  BoundedQueue<int> full(1);
  std::stop_source never;
  REQUIRE(full.push(0, never.get_token()));
  std::latch started(2);
  std::optional<std::optional<int>> popped;
  std::optional<bool> pushed;
  {
    std::jthread consumer([&] {
      started.count_down();
      popped = empty.pop(never.get_token());
    });
    std::jthread producer([&] {
      started.count_down();
      pushed = full.push(1, never.get_token());
    });
    started.wait();
    empty.close();
    full.close();
  }
  REQUIRE(popped.has_value());
  CHECK_FALSE(popped->has_value());
  REQUIRE(pushed.has_value());
  CHECK_FALSE(*pushed);
}

TEST_CASE("tryPush and tryPop never block") {
  BoundedQueue<std::string> q(1);
  CHECK_FALSE(q.tryPop().has_value());
  std::string a = "a";
  std::string b = "b";
  CHECK(q.tryPush(a));
  CHECK(a.empty());  // moved from on success
  CHECK_FALSE(q.tryPush(b));
  CHECK(b == "b");
  CHECK(q.tryPop() == "a");
  CHECK_FALSE(q.tryPop().has_value());
}

TEST_CASE("popBatch takes what is there up to max, appending") {
  BoundedQueue<int> q(8);
  std::stop_source never;
  for (int i = 1; i <= 5; ++i) REQUIRE(q.push(i, never.get_token()));
  std::vector<int> out{0};
  CHECK(q.popBatch(out, 3, never.get_token()) == 3);
  CHECK(out == std::vector<int>{0, 1, 2, 3});
  CHECK(q.popBatch(out, 3, never.get_token()) == 2);
  CHECK(out == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK(q.popBatch(out, 0, never.get_token()) == 0);
}

TEST_CASE("popBatch blocks for the first item and wakes on stop") {
  BoundedQueue<int> q(8);
  std::stop_source never;
  std::latch started(1);
  std::vector<int> out;
  std::size_t n = 0;
  {
    std::jthread consumer([&] {
      started.count_down();
      n = q.popBatch(out, 4, never.get_token());
    });
    started.wait();
    REQUIRE(q.push(42, never.get_token()));
  }
  CHECK(n >= 1);
  CHECK(out.front() == 42);

  std::size_t stoppedCount = 99;
  {
    std::jthread consumer([&](std::stop_token st) { stoppedCount = q.popBatch(out, 4, st); });
    consumer.request_stop();
  }
  CHECK(stoppedCount == 0);
}

TEST_CASE("many producers and consumers lose and duplicate nothing") {
  BoundedQueue<int> q(4);
  constexpr int kProducers = 4;
  constexpr int kPerProducer = 2000;
  std::atomic<long long> sum{0};
  std::atomic<int> count{0};
  {
    std::vector<std::jthread> consumers;
    for (int c = 0; c < 3; ++c) {
      consumers.emplace_back([&](std::stop_token st) {
        std::vector<int> batch;
        while (q.popBatch(batch, 3, st) > 0) {
          for (int v : batch) sum += v, ++count;
          batch.clear();
        }
      });
    }
    {
      std::vector<std::jthread> producers;
      for (int p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p](std::stop_token st) {
          for (int i = 0; i < kPerProducer; ++i) CHECK(q.push(p * kPerProducer + i + 1, st));  // CHECK: REQUIRE would throw off-thread
        });
      }
      for (auto& t : producers) t.join();  // join, not ~jthread: that would request stop first
    }
    q.close();  // consumers drain the rest and exit
    for (auto& t : consumers) t.join();
  }
  constexpr long long kN = kProducers * kPerProducer;
  CHECK(count == kN);
  CHECK(sum == kN * (kN + 1) / 2);
}

TEST_CASE("pushBatch moves every item in order, waiting for room, and clears the vector") {
  fim::core::BoundedQueue<int> queue(3);
  std::stop_source stop;
  std::vector<int> items{1, 2, 3, 4, 5, 6, 7};
  std::vector<int> got;
  std::jthread consumer([&] {
    std::vector<int> batch;
    while (got.size() < 7 && queue.popBatch(batch, 2, stop.get_token()) > 0) {
      got.insert(got.end(), batch.begin(), batch.end());
      batch.clear();
    }
  });
  CHECK(queue.pushBatch(items, stop.get_token()));  // 7 items through a queue of 3
  consumer.join();
  CHECK(items.empty());
  CHECK(got == std::vector<int>{1, 2, 3, 4, 5, 6, 7});
}

TEST_CASE("pushBatch fails on a closed queue, popBatchFor returns 0 after its timeout") {
  fim::core::BoundedQueue<int> queue(4);
  std::stop_source stop;
  std::vector<int> out;
  CHECK(queue.popBatchFor(out, 8, stop.get_token(), std::chrono::milliseconds(1)) == 0);
  std::vector<int> items{1, 2};
  CHECK(queue.pushBatch(items, stop.get_token()));
  CHECK(queue.popBatchFor(out, 8, stop.get_token(), std::chrono::milliseconds(1)) == 2);
  CHECK(out == std::vector<int>{1, 2});
  queue.close();
  std::vector<int> late{3};
  CHECK_FALSE(queue.pushBatch(late, stop.get_token()));
}
