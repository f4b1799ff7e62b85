#pragma once
// SeenPaths: the paths a scan has seen, by 64-bit key (core::pathKey), for its deletion sweep.

#include <algorithm>
#include <cstdint>
#include <unordered_set>
#include <vector>

namespace fim::baseline {

// Two kinds: paths observed one by one (the baseline may have written their records since), and
// the many a scan reports unchanged, appended in bulk and sorted once, when a sweep first asks.
// A key collision (odds ~n²/2⁶⁴) could only delay one deletion to the next scan.
class SeenPaths {
 public:
  // False when the path was observed before (unchanged reports do not count: they write nothing).
  bool insert(std::uint64_t key) { return observed_.insert(key).second; }

  void addUnchanged(const std::vector<std::uint64_t>& keys) {
    unchanged_.insert(unchanged_.end(), keys.begin(), keys.end());
    if (!keys.empty()) sorted_ = false;
  }

  bool contains(std::uint64_t key) {
    if (!sorted_) {
      std::sort(unchanged_.begin(), unchanged_.end());
      sorted_ = true;
    }
    return observed_.count(key) > 0 || std::binary_search(unchanged_.begin(), unchanged_.end(), key);
  }

  void clear() {
    observed_.clear();
    unchanged_.clear();
    sorted_ = true;
  }

 private:
  std::unordered_set<std::uint64_t> observed_;
  std::vector<std::uint64_t> unchanged_;
  bool sorted_ = true;
};

}  // namespace fim::baseline
