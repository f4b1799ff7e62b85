#include "mapper/processors/token_bucket.h"

#include <algorithm>

namespace fim::mapper::processors {

TokenBucket::TokenBucket(double perSecond, double depth, std::uint64_t gcEvery)
    : perSecond_(perSecond), depth_(depth), gcEvery_(gcEvery == 0 ? 1 : gcEvery) {}

void TokenBucket::refill(Bucket& bucket, Clock::time_point now) const {
  const double seconds = std::chrono::duration<double>(now - bucket.refilled).count();
  // Capped at the depth: a bucket idle for an hour must not allow an hour's worth at once.
  if (seconds > 0) bucket.tokens = std::min(depth_, bucket.tokens + seconds * perSecond_);
  bucket.refilled = now;
}

void TokenBucket::collect(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= depth_ ? buckets_.erase(it) : std::next(it);
  }
}

bool TokenBucket::allow(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  if (++calls_ >= gcEvery_) {
    collect(now);
    calls_ = 0;
  }
  auto [it, created] = buckets_.try_emplace(key, Bucket{depth_, now});
  Bucket& bucket = it->second;
  if (!created) refill(bucket, now);
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

std::size_t TokenBucket::buckets() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace fim::mapper::processors
