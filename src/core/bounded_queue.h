#pragma once
// BoundedQueue<T>: the only shared mutable state between stages; a full queue pauses the producer.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

namespace fim::core {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity) {
    if (capacity == 0) throw std::invalid_argument("BoundedQueue capacity must be at least 1");
  }

  BoundedQueue(const BoundedQueue&) = delete;
  BoundedQueue& operator=(const BoundedQueue&) = delete;

  // Called by a producer after each push, outside the lock: for a consumer that waits on
  // something else (a poll() on descriptors) rather than on the queue. Set before any push.
  void onPush(std::function<void()> hook) { onPush_ = std::move(hook); }

  // Blocks while full. False (item discarded) when stop is requested or the queue is closed.
  [[nodiscard]] bool push(T item, std::stop_token st) {
    std::unique_lock lock(mutex_);
    notFull_.wait(lock, st, [&] { return closed_ || items_.size() < capacity_; });
    if (st.stop_requested() || closed_) return false;
    items_.push_back(std::move(item));
    lock.unlock();
    notEmpty_.notify_one();
    if (onPush_) onPush_();
    return true;
  }

  // Never blocks; moves from `item` only on success. False when full or closed.
  [[nodiscard]] bool tryPush(T& item) {
    {
      std::lock_guard lock(mutex_);
      if (closed_ || items_.size() >= capacity_) return false;
      items_.push_back(std::move(item));
    }
    notEmpty_.notify_one();
    if (onPush_) onPush_();
    return true;
  }

  // Moves every item of `items` in, in order, waiting for room as needed, with one wake-up per
  // chunk rather than per item. False when stop is requested or the queue is closed; the items
  // not moved in by then are dropped with `items`. Clears `items` on success.
  [[nodiscard]] bool pushBatch(std::vector<T>& items, std::stop_token st) {
    std::size_t next = 0;
    while (next < items.size()) {
      std::unique_lock lock(mutex_);
      notFull_.wait(lock, st, [&] { return closed_ || items_.size() < capacity_; });
      if (st.stop_requested() || closed_) return false;
      while (next < items.size() && items_.size() < capacity_) items_.push_back(std::move(items[next++]));
      lock.unlock();
      notEmpty_.notify_all();
      if (onPush_) onPush_();
    }
    items.clear();
    return true;
  }

  // Blocks while empty. nullopt when stop is requested (even if items remain) or when the
  // queue is closed and drained, so consumers still get what was queued before close().
  std::optional<T> pop(std::stop_token st) {
    std::vector<T> one;
    if (popBatch(one, 1, st) == 0) return std::nullopt;
    return std::move(one.front());
  }

  std::optional<T> tryPop() {
    std::vector<T> one;
    if (tryPopBatch(one, 1) == 0) return std::nullopt;
    return std::move(one.front());
  }

  // Blocks for the first item like pop(), then appends up to max-1 more without blocking.
  // Returns how many were appended; 0 means stopped, closed and drained, or max == 0.
  std::size_t popBatch(std::vector<T>& out, std::size_t max, std::stop_token st) {
    if (max == 0) return 0;
    std::unique_lock lock(mutex_);
    notEmpty_.wait(lock, st, [&] { return closed_ || !items_.empty(); });
    if (st.stop_requested()) return 0;
    return takeUpTo(out, max, lock);
  }

  // Appends up to max items without blocking; returns how many.
  std::size_t tryPopBatch(std::vector<T>& out, std::size_t max) {
    std::unique_lock lock(mutex_);
    return takeUpTo(out, max, lock);
  }

  // Like popBatch, but gives up after `timeout` with nothing to take (returns 0 then too).
  std::size_t popBatchFor(std::vector<T>& out, std::size_t max, std::stop_token st, std::chrono::milliseconds timeout) {
    if (max == 0) return 0;
    std::unique_lock lock(mutex_);
    notEmpty_.wait_for(lock, st, timeout, [&] { return closed_ || !items_.empty(); });
    if (st.stop_requested()) return 0;
    return takeUpTo(out, max, lock);
  }

  // Wakes every waiter: producers fail from now on, consumers drain what is left.
  void close() {
    {
      std::lock_guard lock(mutex_);
      closed_ = true;
    }
    notFull_.notify_all();
    notEmpty_.notify_all();
  }

  bool closed() const {
    std::lock_guard lock(mutex_);
    return closed_;
  }

  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return items_.size();
  }

  std::size_t capacity() const { return capacity_; }

 private:
  // Producers wait only while the queue is full, and are woken when it has drained to this,
  // not for every item taken: one that outruns its consumers then refills in large steps
  // instead of waking (and sleeping again) for each batch taken.
  std::size_t lowWater() const { return capacity_ / 2; }

  // Moves up to max items to `out`, releases the lock and wakes producers waiting for room.
  std::size_t takeUpTo(std::vector<T>& out, std::size_t max, std::unique_lock<std::mutex>& lock) {
    std::size_t taken = 0;
    while (taken < max && !items_.empty()) {
      out.push_back(std::move(items_.front()));
      items_.pop_front();
      ++taken;
    }
    const bool wake = items_.size() + taken > lowWater() && items_.size() <= lowWater();
    lock.unlock();
    if (wake) notFull_.notify_all();
    return taken;
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable_any notEmpty_;  // _any: its waits also wake on a stop_token
  std::condition_variable_any notFull_;
  std::deque<T> items_;
  bool closed_ = false;
  std::function<void()> onPush_;
};

}  // namespace fim::core
