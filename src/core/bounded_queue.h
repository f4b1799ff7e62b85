#pragma once
// BoundedQueue<T>: the only shared mutable state between stages; a full queue pauses the producer.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <utility>
#include <vector>

#include "core/spin.h"

namespace fim::core {

// A FIFO in one array that grows by doubling (up to a bound) and never shrinks: no allocation
// per item, where std::deque makes one for every item over 512 bytes (an Observation is about
// 1.2 KB, and a scan passes tens of thousands through each queue).
template <typename T>
class RingBuffer {
 public:
  explicit RingBuffer(std::size_t bound) : bound_(bound) {}

  bool empty() const { return size_ == 0; }
  std::size_t size() const { return size_; }
  T& front() { return *slots_[head_]; }

  void push_back(T&& item) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) % slots_.size()].emplace(std::move(item));
    ++size_;
  }

  void pop_front() {
    slots_[head_].reset();
    head_ = (head_ + 1) % slots_.size();
    --size_;
  }

 private:
  void grow() {
    constexpr std::size_t kFirst = 16;
    std::vector<std::optional<T>> bigger(std::max(size_ + 1, std::min(bound_, std::max(kFirst, slots_.size() * 2))));
    for (std::size_t i = 0; i < size_; ++i) bigger[i] = std::move(slots_[(head_ + i) % slots_.size()]);
    slots_ = std::move(bigger);
    head_ = 0;
  }

  const std::size_t bound_;  // the most it grows to, unless more is pushed
  std::vector<std::optional<T>> slots_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
};

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(std::size_t capacity) : capacity_(capacity), items_(capacity) {
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
    published();
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
      published();
    }
    notEmpty_.notify_one();
    if (onPush_) onPush_();
    return true;
  }

  // Blocks while empty. nullopt when stop is requested (even if items remain) or when the
  // queue is closed and drained, so consumers still get what was queued before close().
  std::optional<T> pop(std::stop_token st) {
    std::unique_lock lock(mutex_);
    if (!waitForItem(lock, st)) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    if (items_.empty()) pushed_.store(false, std::memory_order_relaxed);
    const bool wake = items_.size() + 1 > lowWater() && items_.size() <= lowWater();
    lock.unlock();
    if (wake) notFull_.notify_all();
    return item;
  }

  std::optional<T> tryPop() {
    std::unique_lock lock(mutex_);
    if (items_.empty()) return std::nullopt;
    std::optional<T> item(std::move(items_.front()));
    items_.pop_front();
    if (items_.empty()) pushed_.store(false, std::memory_order_relaxed);
    const bool wake = items_.size() + 1 > lowWater() && items_.size() <= lowWater();
    lock.unlock();
    if (wake) notFull_.notify_all();
    return item;
  }

  // Blocks for the first item like pop(), then appends up to max-1 more without blocking.
  // Returns how many were appended; 0 means stopped, closed and drained, or max == 0.
  std::size_t popBatch(std::vector<T>& out, std::size_t max, std::stop_token st) {
    if (max == 0) return 0;
    std::unique_lock lock(mutex_);
    if (!waitForItem(lock, st)) return 0;
    return takeUpTo(out, max, lock);
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
      published();
      lock.unlock();
      notEmpty_.notify_all();
      if (onPush_) onPush_();
    }
    items.clear();
    return true;
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

  // An item is about to be pushed (a producer started on a few live changes): an idle consumer
  // wakes now and spins for it briefly, so that its wake-up overlaps the producer's work rather
  // than following it.
  void expect() {
    {
      std::lock_guard lock(mutex_);
      if (!items_.empty() || closed_) return;
      expected_ = true;
    }
    notEmpty_.notify_all();
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
    if (items_.empty()) pushed_.store(false, std::memory_order_relaxed);
    const bool wake = items_.size() + taken > lowWater() && items_.size() <= lowWater();
    lock.unlock();
    if (wake) notFull_.notify_all();
    return taken;
  }

  // True when an item is ready to take; false when stopped or closed and empty.
  bool waitForItem(std::unique_lock<std::mutex>& lock, const std::stop_token& st) {
    for (;;) {
      notEmpty_.wait(lock, st, [&] { return closed_ || !items_.empty() || expected_; });
      if (!expected_ || !items_.empty() || closed_ || st.stop_requested()) break;
      expected_ = false;
      lock.unlock();
      spinUntil([&] { return pushed_.load(std::memory_order_acquire); }, kExpectSpin);
      lock.lock();
    }
    return !st.stop_requested() && !items_.empty();
  }

  // Called with the lock held after items were added.
  void published() {
    expected_ = false;
    pushed_.store(true, std::memory_order_release);
  }

  static constexpr std::chrono::microseconds kExpectSpin{300};

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::condition_variable_any notEmpty_;  // _any: its waits also wake on a stop_token
  std::condition_variable_any notFull_;
  RingBuffer<T> items_;
  bool closed_ = false;
  bool expected_ = false;             // expect() was called and nothing was pushed since
  std::atomic<bool> pushed_{false};
  std::function<void()> onPush_;   // something was pushed since the last take: what a spinner watches
};

}  // namespace fim::core
