#pragma once
// MultiHasher: every configured content hash computed in one pass over the data.

#include <cstddef>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "events/hash_type.h"
#include "core/result.h"

namespace fim::watcher {

// One per worker thread, reused file after file: finish() leaves it ready for the next input.
// Not thread-safe.
class MultiHasher {
 public:
  // Fails when the crypto library cannot provide one of the types (e.g. md5 under FIPS).
  [[nodiscard]] static core::Result<MultiHasher> create(std::vector<events::HashType> types);

  MultiHasher(MultiHasher&&) noexcept;
  MultiHasher& operator=(MultiHasher&&) noexcept;
  ~MultiHasher();

  void update(std::span<const std::byte> data);
  void update(const void* data, std::size_t size);

  // Lowercase hex digest per type, then reset(). Fails only if the crypto library failed.
  [[nodiscard]] core::Result<std::map<events::HashType, std::string>> finish();

  // Discards the input so far.
  void reset();

  // The configured types, without duplicates.
  const std::vector<events::HashType>& types() const { return types_; }

 private:
  struct State;
  MultiHasher(std::vector<events::HashType> types, std::unique_ptr<State> state);

  std::vector<events::HashType> types_;
  std::unique_ptr<State> state_;
};

// Lowercase hex of raw bytes.
std::string toHex(std::span<const unsigned char> bytes);

}  // namespace fim::watcher
