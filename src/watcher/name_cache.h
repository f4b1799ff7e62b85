#pragma once
// NameCache: uid → user name and gid → group name, looked up once per id (NSS can be slow).

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fim::watcher {

// Thread-safe. An id with no name maps to "" and that answer is cached too.
class NameCache {
 public:
  NameCache() = default;
  NameCache(const NameCache&) = delete;
  NameCache& operator=(const NameCache&) = delete;

  std::string user(std::uint32_t uid);
  std::string group(std::uint32_t gid);

 private:
  std::mutex mutex_;
  std::unordered_map<std::uint32_t, std::string> users_;
  std::unordered_map<std::uint32_t, std::string> groups_;
};

}  // namespace fim::watcher
