#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "events/hash_type.h"
#include "support/temp_dir.h"
#include "watcher/file_hasher.h"
#include "watcher/hasher.h"
#include "watcher/rate_limiter.h"
#include "watcher/safe_file.h"
#include "support/path_at.h"

using namespace fim;
using fim::testing::TempDir;
using events::HashType;

namespace {

constexpr std::string_view kHello = "hello world!\n";

// Digests of exactly "hello world!\n" (13 bytes), computed with independent tools:
//   md5, sha*, sha512_*, sha3_*: printf 'hello world!\n' | openssl dgst -<alg>   (OpenSSL 3.0.22)
//   blake2b_*: python3 hashlib.blake2b(b"hello world!\n", digest_size=32/48/64).hexdigest()
//   xxh64: printf 'hello world!\n' | xxhsum -H1   (Debian package xxhash 0.8.1)
const std::map<HashType, std::string> kHelloDigests{
    {HashType::Blake2b256, "0f0cc1f0ea4ef962d6a150ae0b77bc320b57ed24e1609b933fa2274484f59145"},
    {HashType::Blake2b384,
     "b819d90f648da6effff2393acb1884d2638642b3524c329832c073c9364149fcdedb522914ef9c2c92f007a42366139a"},
    {HashType::Blake2b512,
     "fc13029e8a5ce67ad5a70f0cc659a4b30df9d791b125835e434606c6127ee37ebbc8b216389682ddfa84380789db09f2"
     "535d2a9837454414ea3ff00ec0801150"},
    {HashType::Md5, "c897d1410af8f2c74fba11b1db511e9e"},
    {HashType::Sha1, "f951b101989b2c3b7471710b4e78fc4dbdfa0ca6"},
    {HashType::Sha224, "d301812e62eec9b1e68c0b861e62f374e0d77e8365f5ddd6cccc8693"},
    {HashType::Sha256, "ecf701f727d9e2d77c4aa49ac6fbbcc997278aca010bddeeb961c10cf54d435a"},
    {HashType::Sha384,
     "ec8d147738b2e4bf6f5c5ac50a9a7593fb1ee2de01474d6f8a6c7fdb7ac945580772a5225a4c7251a7c0697acb7b8405"},
    {HashType::Sha512,
     "f5408390735bf3ef0bb8aaf66eff4f8ca716093d2fec50996b479b3527e5112e3ea3b403e9e62c72155ac1e08a49b476"
     "f43ab621e1a5fc2bbb0559d8258a614d"},
    {HashType::Sha512_224, "fde054253f43a95559f1b6eeb8e2edba4124957b43b85d7fcb4d20d5"},
    {HashType::Sha512_256, "3380f6a625aac19cbdddc598ab07aea195bae000f8d4c8cd6bb8870ac25df15d"},
    {HashType::Sha3_224, "62e3515dae95bbd0e105bee840b7dc3b47f6d6bc772c259dbc0da31a"},
    {HashType::Sha3_256, "3cb5385a2987ca45888d7877fbcf92b4854f7155ae19c96cecc7ea1300c6f5a4"},
    {HashType::Sha3_384,
     "f19539818b4f29fa0ee599db4113fd81b77cd1119682e6d799a052849d2e40ef0dad84bc947ba2dee742d9731f1b9e9b"},
    {HashType::Sha3_512,
     "f0a2c0f9090c1fd6dedf211192e36a6668d2b3c7f57a35419acb1c4fc7dfffc267bbcd90f5f38676caddcab652f6aacd"
     "1ed4e0ad0a8e1e4b98f890b62b6c7c5c"},
    {HashType::Xxh64, "d3e8573b7abf279a"},
};

// 1 MiB + 7 bytes, byte i = (i * 31 + 7) % 251: spans many 64 KiB chunks and ends mid-chunk.
std::string pattern() {
  std::string data((1u << 20) + 7, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 31 + 7) % 251);
  return data;
}

// Digests of pattern(): openssl dgst -sha256, python3 hashlib.blake2b(digest_size=64), xxhsum -H1.
constexpr const char* kPatternSha256 = "28945c699d6b4878af1b680be05aaf431e6906bd2d1cd0fcd80c91d527144927";
constexpr const char* kPatternBlake2b512 =
    "1cf16bbd3b4e88fb67a19f47cb73af8fd7c8e08646c6c9b422b98ac7ed13c695"
    "57158819e111ed7e1620314a8dc43110b2daf62fb2368ab1829f193a0497e737";
constexpr const char* kPatternXxh64 = "3955eaf605aa98d0";

watcher::MultiHasher allHasher() {
  auto hasher = watcher::MultiHasher::create(events::allHashTypes());
  REQUIRE(hasher.has_value());
  return std::move(*hasher);
}

std::map<HashType, std::string> oneShot(std::string_view data) {
  auto hasher = allHasher();
  hasher.update(data.data(), data.size());
  auto digests = hasher.finish();
  REQUIRE(digests.has_value());
  return *digests;
}

double secondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::string makeFifo(const TempDir& dir) {
  const std::string path = dir.str() + "/fifo";
  REQUIRE(::mkfifo(path.c_str(), 0600) == 0);
  return path;
}

void append(const std::string& path, std::string_view text) {
  std::ofstream(path, std::ios::binary | std::ios::app) << text;
}

}  // namespace

TEST_SUITE("hasher") {
  TEST_CASE("every algorithm matches an independent tool's digest of the same bytes") {
    const auto digests = oneShot(kHello);
    REQUIRE(digests.size() == 16);
    for (const auto& [type, expected] : kHelloDigests) {
      INFO(events::toString(type));
      CHECK(digests.at(type) == expected);
    }
  }

  TEST_CASE("the empty input has the well-known digests") {
    auto hasher = allHasher();
    auto digests = hasher.finish();
    REQUIRE(digests.has_value());
    CHECK(digests->at(HashType::Sha1) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(digests->at(HashType::Xxh64) == "ef46db3751d8e999");  // xxhsum -H1 of empty input
  }

  TEST_CASE("uneven update() pieces give the one-shot digests and the tools' digests") {
    const std::string data = pattern();
    const auto expected = oneShot(data);
    CHECK(expected.at(HashType::Sha256) == kPatternSha256);
    CHECK(expected.at(HashType::Blake2b512) == kPatternBlake2b512);
    CHECK(expected.at(HashType::Xxh64) == kPatternXxh64);

    auto hasher = allHasher();
    const std::vector<std::size_t> sizes{1, 63, 64, 127, 4096, 65537, 3, 131072, 999};
    const auto bytes = std::as_bytes(std::span(data));
    std::size_t offset = 0;
    for (std::size_t i = 0; offset < bytes.size(); ++i) {
      const std::size_t n = std::min(sizes[i % sizes.size()], bytes.size() - offset);
      hasher.update(bytes.subspan(offset, n));
      offset += n;
    }
    auto digests = hasher.finish();
    REQUIRE(digests.has_value());
    CHECK(*digests == expected);
  }

  TEST_CASE("finish() and reset() leave the hasher ready for the next input") {
    auto hasher = allHasher();
    hasher.update(kHello.data(), kHello.size());
    REQUIRE(hasher.finish().has_value());
    hasher.update(kHello.data(), kHello.size());
    auto again = hasher.finish();
    REQUIRE(again.has_value());
    CHECK(*again == kHelloDigests);

    hasher.update("garbage", 7);
    hasher.reset();
    hasher.update(kHello.data(), kHello.size());
    auto afterReset = hasher.finish();
    REQUIRE(afterReset.has_value());
    CHECK(*afterReset == kHelloDigests);
  }

  TEST_CASE("only the configured types are computed, each once") {
    auto hasher = watcher::MultiHasher::create({HashType::Sha1, HashType::Xxh64, HashType::Sha1});
    REQUIRE(hasher.has_value());
    CHECK(hasher->types() == std::vector<HashType>{HashType::Sha1, HashType::Xxh64});
    hasher->update(kHello.data(), kHello.size());
    auto digests = hasher->finish();
    REQUIRE(digests.has_value());
    CHECK(*digests == std::map<HashType, std::string>{{HashType::Sha1, kHelloDigests.at(HashType::Sha1)},
                                                      {HashType::Xxh64, kHelloDigests.at(HashType::Xxh64)}});

    auto none = watcher::MultiHasher::create({});
    REQUIRE(none.has_value());
    none->update(kHello.data(), kHello.size());
    auto empty = none->finish();
    REQUIRE(empty.has_value());
    CHECK(empty->empty());
  }
}

TEST_SUITE("file_hasher") {
  TEST_CASE("a real file gets the reference digests, its head, size and metadata") {
    TempDir dir;
    const std::string path = dir.write("hello.txt", std::string(kHello));
    watcher::FileHasher hasher(events::allHashTypes(), nullptr);
    std::stop_source stop;
    auto outcome = hasher.hash(testing::locate(path).at(), stop.get_token());
    REQUIRE(outcome.has_value());
    CHECK(outcome->hashes == kHelloDigests);
    CHECK(outcome->head == kHello);
    CHECK(outcome->bytesRead == kHello.size());
    CHECK(outcome->stat.st_size == static_cast<off_t>(kHello.size()));
    CHECK(S_ISREG(outcome->stat.st_mode));

    // The same FileHasher serves the next file.
    const std::string other = dir.write("other.txt", "");
    auto second = hasher.hash(testing::locate(other).at(), stop.get_token());
    REQUIRE(second.has_value());
    CHECK(second->hashes.at(HashType::Sha1) == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(second->head.empty());
    CHECK(second->bytesRead == 0);
  }

  TEST_CASE("a multi-chunk file read through a limiter equals the one-shot digests, head is 4096 bytes") {
    TempDir dir;
    const std::string data = pattern();
    const std::string path = dir.write("big.bin", data);
    watcher::RateLimiter limiter(256u << 20, 1u << 20);
    watcher::FileHasher hasher(events::allHashTypes(), &limiter);
    auto outcome = hasher.hash(testing::locate(path).at(), std::stop_source().get_token());
    REQUIRE(outcome.has_value());
    CHECK(outcome->hashes == oneShot(data));
    CHECK(outcome->hashes.at(HashType::Sha256) == kPatternSha256);
    CHECK(outcome->head == data.substr(0, watcher::FileHasher::kHeadSize));
    CHECK(outcome->bytesRead == data.size());
    CHECK(outcome->stat.st_size == static_cast<off_t>(data.size()));
  }

  TEST_CASE("a FIFO is refused at once, never read and never blocks") {
    TempDir dir;
    const std::string fifo = makeFifo(dir);
    watcher::FileHasher hasher({HashType::Sha1}, nullptr);
    auto outcome = hasher.hash(testing::locate(fifo).at(), std::stop_source().get_token());
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().message() == "failed to hash " + fifo + ": not a regular file");
    auto head = watcher::readHead(testing::locate(fifo).at());
    REQUIRE_FALSE(head.has_value());
    CHECK(head.error().message().find("not a regular file") != std::string::npos);
  }

  TEST_CASE("a symlink, a directory and a missing file are errors") {
    TempDir dir;
    const std::string target = dir.write("target.txt", std::string(kHello));
    const std::string link = dir.str() + "/link";
    std::filesystem::create_symlink(target, link);
    watcher::FileHasher hasher({HashType::Sha256}, nullptr);
    std::stop_source stop;

    auto viaLink = hasher.hash(testing::locate(link).at(), stop.get_token());
    REQUIRE_FALSE(viaLink.has_value());
    CHECK(viaLink.error().message().find("symlink") != std::string::npos);

    auto directory = hasher.hash(testing::locate(dir.str()).at(), stop.get_token());
    REQUIRE_FALSE(directory.has_value());
    CHECK(directory.error().message() == "failed to hash " + dir.str() + ": not a regular file");

    const std::string missing = dir.str() + "/missing";
    auto gone = hasher.hash(testing::locate(missing).at(), stop.get_token());
    REQUIRE_FALSE(gone.has_value());
    CHECK(std::string(core::toString(gone.error().code())) == "not_found");
    CHECK(gone.error().message() == "failed to hash " + missing + ": No such file or directory");
  }

  TEST_CASE("a stop request interrupts hashing with a retryable error") {
    TempDir dir;
    const std::string path = dir.write("hello.txt", std::string(kHello));
    watcher::FileHasher hasher({HashType::Sha1}, nullptr);
    std::stop_source stop;
    stop.request_stop();
    auto outcome = hasher.hash(testing::locate(path).at(), stop.get_token());
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().retryable());
    CHECK(outcome.error().message() == "failed to hash " + path + ": hashing interrupted");
  }

  TEST_CASE("a file that keeps changing while it is read is an error after three attempts") {
    TempDir dir;
    const std::string path = dir.write("growing.log", std::string(kHello));
    watcher::FileHasher hasher({HashType::Sha1}, nullptr);
    std::vector<int> attempts;
    hasher.setAfterReadHookForTesting([&](int attempt) {
      attempts.push_back(attempt);
      append(path, "more\n");  // the size changes: detected whatever the timestamp granularity
    });
    auto outcome = hasher.hash(testing::locate(path).at(), std::stop_source().get_token());
    REQUIRE_FALSE(outcome.has_value());
    CHECK(outcome.error().message() == "failed to hash " + path + ": file changed while it was being hashed");
    CHECK(outcome.error().retryable());
    CHECK(attempts == std::vector<int>{1, 2, 3});
  }

  TEST_CASE("a file that changed once is read again and the result matches the new content") {
    TempDir dir;
    const std::string path = dir.write("edited.txt", std::string(kHello));
    watcher::FileHasher hasher(events::allHashTypes(), nullptr);
    hasher.setAfterReadHookForTesting([&](int attempt) {
      if (attempt == 1) append(path, "second line\n");
    });
    auto outcome = hasher.hash(testing::locate(path).at(), std::stop_source().get_token());
    REQUIRE(outcome.has_value());
    const std::string now = std::string(kHello) + "second line\n";
    CHECK(outcome->hashes == oneShot(now));
    CHECK(outcome->head == now);
    CHECK(outcome->bytesRead == now.size());
    CHECK(outcome->stat.st_size == static_cast<off_t>(now.size()));
  }

  TEST_CASE("an open file is hashed as opened, though its path names another file meanwhile") {
    TempDir dir;
    const std::string path = dir.write("hello.txt", std::string(kHello));
    auto file = watcher::SafeFile::openForRead(testing::locate(path).at());
    REQUIRE(file.has_value());
    const std::string other = dir.write("other.txt", "replacement\n");
    REQUIRE(::rename(other.c_str(), path.c_str()) == 0);
    watcher::FileHasher hasher({HashType::Sha256}, nullptr);
    auto outcome = hasher.hash(*file, std::stop_source().get_token());
    REQUIRE(outcome.has_value());
    CHECK(outcome->hashes.at(HashType::Sha256) == kHelloDigests.at(HashType::Sha256));
    CHECK(outcome->stat.st_ino == file->stat().st_ino);
  }

  TEST_CASE("an open file that changed once is read again from its start") {
    TempDir dir;
    const std::string path = dir.write("edited.txt", std::string(kHello));
    auto file = watcher::SafeFile::openForRead(testing::locate(path).at());
    REQUIRE(file.has_value());
    watcher::FileHasher hasher({HashType::Sha256}, nullptr);
    std::vector<int> attempts;
    hasher.setAfterReadHookForTesting([&](int attempt) {
      attempts.push_back(attempt);
      if (attempt == 1) append(path, "second line\n");
    });
    auto outcome = hasher.hash(*file, std::stop_source().get_token());
    REQUIRE(outcome.has_value());
    const std::string now = std::string(kHello) + "second line\n";
    CHECK(attempts == std::vector<int>{1, 2});
    CHECK(outcome->hashes.at(HashType::Sha256) == oneShot(now).at(HashType::Sha256));
    CHECK(outcome->head == now);
  }

  TEST_CASE("readHead returns up to max bytes of files that are not hashed") {
    TempDir dir;
    const std::string small = dir.write("hello.txt", std::string(kHello));
    const std::string data = pattern();
    const std::string big = dir.write("big.bin", data);

    auto five = watcher::readHead(testing::locate(small).at(), 5);
    REQUIRE(five.has_value());
    CHECK(*five == "hello");
    auto whole = watcher::readHead(testing::locate(small).at());
    REQUIRE(whole.has_value());
    CHECK(*whole == kHello);
    auto head = watcher::readHead(testing::locate(big).at());
    REQUIRE(head.has_value());
    CHECK(*head == data.substr(0, 4096));
    CHECK_FALSE(watcher::readHead(testing::locate(dir.str()).at()).has_value());
  }
}

TEST_SUITE("safe_file_open") {
  TEST_CASE("a regular file opens with its metadata and reads to end of file") {
    TempDir dir;
    const std::string path = dir.write("hello.txt", std::string(kHello));
    auto file = watcher::SafeFile::openForRead(testing::locate(path).at());
    REQUIRE(file.has_value());
    CHECK(file->fd() >= 0);
    CHECK(file->stat().st_size == static_cast<off_t>(kHello.size()));
    std::vector<std::byte> buffer(64);
    auto n = file->read(buffer);
    REQUIRE(n.has_value());
    CHECK(std::string(reinterpret_cast<const char*>(buffer.data()), *n) == kHello);
    auto end = file->read(buffer);
    REQUIRE(end.has_value());
    CHECK(*end == 0);

    // Moving hands the fd over; only one owner closes it.
    const int fd = file->fd();
    watcher::SafeFile moved = std::move(*file);
    CHECK(moved.fd() == fd);
    CHECK(file->fd() == -1);
  }

  TEST_CASE("FIFOs, directories and symlinks are refused, a missing file is NotFound") {
    TempDir dir;
    const std::string fifo = makeFifo(dir);
    auto fromFifo = watcher::SafeFile::openForRead(testing::locate(fifo).at());
    REQUIRE_FALSE(fromFifo.has_value());
    CHECK(fromFifo.error().message() == fifo + ": not a regular file");

    auto fromDir = watcher::SafeFile::openForRead(testing::locate(dir.str()).at());
    REQUIRE_FALSE(fromDir.has_value());
    CHECK(fromDir.error().message() == dir.str() + ": not a regular file");

    const std::string link = dir.str() + "/link";
    std::filesystem::create_symlink(dir.write("target", "x"), link);
    auto fromLink = watcher::SafeFile::openForRead(testing::locate(link).at());
    REQUIRE_FALSE(fromLink.has_value());
    CHECK(fromLink.error().message() == link + ": is a symlink (not followed)");

    auto missing = watcher::SafeFile::openForRead(testing::locate(dir.str() + "/missing").at());
    REQUIRE_FALSE(missing.has_value());
    CHECK(std::string(core::toString(missing.error().code())) == "not_found");
  }
}

TEST_SUITE("rate_limiter") {
  TEST_CASE("an unlimited limiter never blocks") {
    watcher::RateLimiter limiter(0, 0);
    CHECK(limiter.unlimited());
    std::stop_source stop;
    for (int i = 0; i < 1000; ++i) REQUIRE(limiter.acquire(1ull << 40, stop.get_token()));
  }

  TEST_CASE("a request larger than the burst passes by going into debt") {
    watcher::RateLimiter limiter(1u << 20, 64u << 10);
    CHECK_FALSE(limiter.unlimited());
    std::stop_source stop;
    CHECK(limiter.acquire(10u << 20, stop.get_token()));  // the bucket is full: granted at once
  }

  TEST_CASE("a stop request ends a wait promptly and the bytes do not pass") {
    watcher::RateLimiter limiter(1, 1024);  // 1 byte/s: a second 1 KiB would wait ~17 minutes
    std::stop_source stop;
    REQUIRE(limiter.acquire(1024, stop.get_token()));

    std::stop_source already;
    already.request_stop();
    CHECK_FALSE(limiter.acquire(1, already.get_token()));

    const auto start = std::chrono::steady_clock::now();
    std::jthread stopper([&] { stop.request_stop(); });
    CHECK_FALSE(limiter.acquire(1024, stop.get_token()));
    CHECK(secondsSince(start) < 60.0);
  }

  TEST_CASE("1 MiB/s with a 64 KiB burst takes at least ~0.4 s to pass 512 KiB") {
    watcher::RateLimiter limiter(1u << 20, 64u << 10);
    std::stop_source stop;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < 8; ++i) REQUIRE(limiter.acquire(64u << 10, stop.get_token()));
    // The first 64 KiB is the burst; the other 448 KiB need 0.4375 s of refill.
    CHECK(secondsSince(start) >= 0.4);
  }
}
