// bench_queue_fill: puts a backlog of synthetic change events into fimbeat's durable queue, as if
// an output had been down while they happened. Used by `make bench-output`, never by tests.
//   bench_queue_fill <path.data> <count>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "baseline/rocksdb_store.h"
#include "queue/durable_queue.h"

using namespace fim;

namespace {

events::FileEvent sampleEvent(std::uint64_t i) {
  events::FileEvent e;
  e.timestamp = core::TimePoint(std::chrono::milliseconds(1763700000000 + static_cast<std::int64_t>(i)));
  e.actions = {events::Action::Updated, events::Action::AttributesModified};
  e.file.path = "/srv/www/site/assets/" + std::to_string(i % 1000) + "/page-" + std::to_string(i) + ".html";
  e.file.type = events::FileType::File;
  e.file.size = 4096 + i % 1000;
  e.file.inode = 1000000 + i;
  e.file.device = 2049;
  e.file.uid = 33;
  e.file.gid = 33;
  e.file.owner = "www-data";
  e.file.group = "www-data";
  e.file.mode = 0644;
  e.file.mtime = e.timestamp;
  e.file.ctime = e.timestamp;
  e.file.mimeType = "text/html";
  e.file.hashes[events::HashType::Sha1] = "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed";
  e.file.hashes[events::HashType::Sha256] = "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";
  e.changedAttributes = {"hash.sha1", "hash.sha256", "size", "mtime", "mode"};
  events::FileInfo previous = e.file;
  previous.size = 3000;
  previous.mode = 0664;
  previous.hashes[events::HashType::Sha1] = "0a4d55a8d778e5022fab701977c5d840bbc486d0";
  previous.hashes[events::HashType::Sha256] = "dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f";
  e.previous = previous;
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <path.data> <count>\n", argv[0]);
    return 2;
  }
  const std::string data = argv[1];
  const std::uint64_t count = std::strtoull(argv[2], nullptr, 10);
  auto store = baseline::RocksDbStore::open(data + "/fimbeat.db");
  if (!store) {
    std::fprintf(stderr, "%s\n", store.error().message().c_str());
    return 1;
  }
  core::Metrics metrics;
  queue::DurableQueue queue(**store, ~0ull, metrics);
  if (auto opened = queue.open(); !opened) {
    std::fprintf(stderr, "%s\n", opened.error().message().c_str());
    return 1;
  }
  constexpr std::uint64_t kBatch = 2000;
  for (std::uint64_t done = 0; done < count;) {
    core::WriteBatch batch;
    for (std::uint64_t i = 0; i < kBatch && done < count; ++i, ++done) {
      auto event = sampleEvent(done);
      queue.append(batch, event);
    }
    queue.seal(batch);
    auto written = (*store)->write(batch);
    queue.published(written);
    if (!written) {
      std::fprintf(stderr, "%s\n", written.error().message().c_str());
      return 1;
    }
  }
  std::printf("queued %llu events, %llu bytes\n", static_cast<unsigned long long>(queue.events()),
              static_cast<unsigned long long>(queue.bytes()));
  if (auto closed = (*store)->close(); !closed) {
    std::fprintf(stderr, "%s\n", closed.error().message().c_str());
    return 1;
  }
  return 0;
}
