#pragma once
// ForwardingStore: a MemoryStore behind the KvStore interface, every call forwarded; a test
// overrides the one call it makes fail (a damaged or busy store).

#include "support/memory_store.h"

namespace fim::testing {

class ForwardingStore : public core::KvStore {
 public:
  core::Result<std::optional<std::string>> get(core::Family f, std::string_view key) override { return inner.get(f, key); }
  core::Status write(const core::WriteBatch& batch) override { return inner.write(batch); }
  core::Status scan(core::Family f, std::string_view prefix,
                    const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return inner.scan(f, prefix, visit);
  }
  std::unique_ptr<core::KvCursor> cursor(core::Family f) override { return inner.cursor(f); }
  core::Status scanFrom(core::Family f, std::string_view start,
                        const std::function<bool(std::string_view, std::string_view)>& visit) override {
    return inner.scanFrom(f, start, visit);
  }
  core::Result<std::optional<std::string>> lastKey(core::Family f) override { return inner.lastKey(f); }
  std::uint64_t approximateCount(core::Family f) override { return inner.approximateCount(f); }
  core::Status close() override { return inner.close(); }

  MemoryStore inner;
};

}  // namespace fim::testing
