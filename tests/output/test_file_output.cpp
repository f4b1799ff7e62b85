#include "output/file_output.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "support/encoded_events.h"

namespace fim::output {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A unique directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "fimbeat-output-test-XXXXXX").string();
    REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

class FakeClock final : public core::Clock {
 public:
  explicit FakeClock(core::TimePoint now) : now_(now) {}
  core::TimePoint now() const override { return now_; }
  void set(core::TimePoint now) { now_ = now; }
  void advance(std::chrono::system_clock::duration by) { now_ += by; }

 private:
  core::TimePoint now_;
};

// Sets the process umask for one test and restores it.
class UmaskGuard {
 public:
  explicit UmaskGuard(mode_t mask) : old_(::umask(mask)) {}
  ~UmaskGuard() { ::umask(old_); }

 private:
  mode_t old_;
};

core::TimePoint utc(int year, unsigned month, unsigned day, std::chrono::seconds timeOfDay = 12h) {
  return std::chrono::sys_days{std::chrono::year{year} / month / day} + timeOfDay;
}

config::FileOutputConfig configFor(const fs::path& dir) {
  config::FileOutputConfig config;
  config.path = dir.string();
  return config;
}

// A JSON document of exactly `size` bytes (size >= 20), distinguishable by n.
std::string makeDoc(int n, std::size_t size) {
  std::string doc = fmt::format(R"({{"n":{},"pad":"")", n);
  REQUIRE(doc.size() + 1 <= size);
  doc.insert(doc.size() - 1, size - doc.size() - 1, 'x');
  doc += "}";
  REQUIRE(doc.size() == size);
  return doc;
}

std::vector<std::string> readLines(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  REQUIRE(in.good());
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

std::string readAll(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::vector<std::string> namesIn(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

void touch(const fs::path& file, const std::string& content = "old\n") {
  std::ofstream out(file, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

unsigned modeOf(const fs::path& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return st.st_mode & 07777;
}

std::unique_ptr<FileOutput> openOk(const config::FileOutputConfig& config, const core::Clock& clock) {
  auto output = FileOutput::open(config, clock);
  REQUIRE_MESSAGE(output.has_value(), (output ? "" : output.error().message()));
  return std::move(*output);
}

void writeOk(Output& output, const std::vector<std::string>& docs) {
  auto status = output.write(testing::encoded(docs), {});
  REQUIRE_MESSAGE(status.has_value(), (status ? "" : status.error().message()));
}

}  // namespace

TEST_CASE("file output names the first file of a UTC date <filename>-<YYYYMMDD>.ndjson") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21, 23h + 59min + 59s));
  auto output = openOk(configFor(dir.path()), clock);
  CHECK(output->currentFile() == dir.path() / "fimbeat-20261121.ndjson");
  CHECK(fs::is_regular_file(output->currentFile()));
  CHECK(output->describe() == "file output writing to " + (dir.path() / "fimbeat-20261121.ndjson").string());

  auto config = configFor(dir.path());
  config.filename = "audit";
  FakeClock newYear(utc(2027, 1, 2, 0s));
  auto other = openOk(config, newYear);
  CHECK(other->currentFile() == dir.path() / "audit-20270102.ndjson");
}

TEST_CASE("file output: close() syncs and closes the file, a second close has nothing to do") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));
  auto output = openOk(configFor(dir.path()), clock);
  writeOk(*output, {R"({"a":1})"});
  const auto file = output->currentFile();
  REQUIRE(output->close().has_value());
  CHECK(output->close().has_value());
  CHECK(readAll(file) == "{\"a\":1}\n");
}

TEST_CASE("file output writes one document per line and reads back") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));
  auto output = openOk(configFor(dir.path()), clock);
  const std::vector<std::string> first{R"({"a":1})", R"({"b":"two"})", R"({"c":[3]})"};
  writeOk(*output, first);
  writeOk(*output, {});
  writeOk(*output, {R"({"d":null})"});
  REQUIRE(output->flush().has_value());

  CHECK(readAll(output->currentFile()) == "{\"a\":1}\n{\"b\":\"two\"}\n{\"c\":[3]}\n{\"d\":null}\n");
  const std::vector<std::string> expected{first[0], first[1], first[2], R"({"d":null})"};
  CHECK(readLines(output->currentFile()) == expected);
  CHECK(namesIn(dir.path()) == std::vector<std::string>{"fimbeat-20261121.ndjson"});
}

TEST_CASE("file output rotates before a write would pass rotate_every_kb") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));
  auto config = configFor(dir.path());
  config.rotateEveryKb = 1;  // 1024 bytes

  SUBCASE("one batch spreads over -1, -2 in order") {
    auto output = openOk(config, clock);
    std::vector<std::string> docs;
    for (int i = 0; i < 8; ++i) docs.push_back(makeDoc(i, 300));  // 301 bytes a line: 3 fit in 1024
    writeOk(*output, docs);
    REQUIRE(output->flush().has_value());

    CHECK(namesIn(dir.path()) == std::vector<std::string>{"fimbeat-20261121-1.ndjson", "fimbeat-20261121-2.ndjson",
                                                           "fimbeat-20261121.ndjson"});
    CHECK(readLines(dir.path() / "fimbeat-20261121.ndjson") == std::vector<std::string>{docs[0], docs[1], docs[2]});
    CHECK(readLines(dir.path() / "fimbeat-20261121-1.ndjson") ==
          std::vector<std::string>{docs[3], docs[4], docs[5]});
    CHECK(readLines(dir.path() / "fimbeat-20261121-2.ndjson") == std::vector<std::string>{docs[6], docs[7]});
    CHECK(fs::file_size(dir.path() / "fimbeat-20261121.ndjson") == 903);
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-2.ndjson");
  }

  SUBCASE("a file may reach the limit exactly") {
    auto output = openOk(config, clock);
    writeOk(*output, {makeDoc(1, 511)});
    writeOk(*output, {makeDoc(2, 511)});
    CHECK(fs::file_size(dir.path() / "fimbeat-20261121.ndjson") == 1024);
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121.ndjson");
    writeOk(*output, {R"({"n":3})"});
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-1.ndjson");
    CHECK(readLines(output->currentFile()) == std::vector<std::string>{R"({"n":3})"});
  }

  SUBCASE("a document larger than the limit goes alone into a fresh file") {
    auto output = openOk(config, clock);
    const std::string big = makeDoc(2, 3000);
    writeOk(*output, {R"({"n":1})", big, R"({"n":3})"});
    CHECK(readLines(dir.path() / "fimbeat-20261121.ndjson") == std::vector<std::string>{R"({"n":1})"});
    CHECK(readLines(dir.path() / "fimbeat-20261121-1.ndjson") == std::vector<std::string>{big});
    CHECK(readLines(dir.path() / "fimbeat-20261121-2.ndjson") == std::vector<std::string>{R"({"n":3})"});
  }

  SUBCASE("rotation uses the date at the moment the new file is opened") {
    auto output = openOk(config, clock);
    writeOk(*output, {makeDoc(1, 1000)});
    clock.advance(24h);
    writeOk(*output, {makeDoc(2, 1000)});
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261122.ndjson");
  }

  SUBCASE("a name taken by something else is skipped, never overwritten") {
    fs::create_directory(dir.path() / "fimbeat-20261121-1.ndjson");
    auto output = openOk(config, clock);
    writeOk(*output, {makeDoc(1, 1000), makeDoc(2, 1000)});
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-2.ndjson");
    CHECK(fs::is_directory(dir.path() / "fimbeat-20261121-1.ndjson"));
  }
}

TEST_CASE("file output keeps the newest number_of_files files and leaves other files alone") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));
  auto config = configFor(dir.path());
  config.rotateEveryKb = 1;
  config.numberOfFiles = 3;

  SUBCASE("older dates go first, unrelated names stay") {
    touch(dir.path() / "fimbeat-20261120.ndjson");
    touch(dir.path() / "fimbeat-20261120-1.ndjson");
    const std::vector<std::string> unrelated{"fimbeat.log",
                                             "other-20261121.ndjson",
                                             "fimbeat-20261121.json",
                                             "fimbeat-2026112.ndjson",
                                             "fimbeat-20261121-01.ndjson",
                                             "fimbeat-20261121-x.ndjson",
                                             "fimbeatx-20261121.ndjson",
                                             "fimbeat-extra-20261121.ndjson"};
    for (const auto& name : unrelated) touch(dir.path() / name);

    auto output = openOk(config, clock);
    CHECK(fs::exists(dir.path() / "fimbeat-20261120.ndjson"));  // 3 files so far: nothing to prune yet
    for (int i = 0; i < 4; ++i) writeOk(*output, {makeDoc(i, 600)});  // each document needs its own file

    std::vector<std::string> expected{"fimbeat-20261121-1.ndjson", "fimbeat-20261121-2.ndjson",
                                      "fimbeat-20261121-3.ndjson"};
    expected.insert(expected.end(), unrelated.begin(), unrelated.end());
    std::sort(expected.begin(), expected.end());
    CHECK(namesIn(dir.path()) == expected);
    CHECK(readLines(dir.path() / "fimbeat-20261121-3.ndjson") == std::vector<std::string>{makeDoc(3, 600)});
  }

  SUBCASE("indexes order numerically and continue after the highest one") {
    config.numberOfFiles = 2;
    touch(dir.path() / "fimbeat-20261121-2.ndjson");
    touch(dir.path() / "fimbeat-20261121-9.ndjson");
    auto output = openOk(config, clock);
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-10.ndjson");
    CHECK(namesIn(dir.path()) == std::vector<std::string>{"fimbeat-20261121-10.ndjson", "fimbeat-20261121-9.ndjson"});
    writeOk(*output, {makeDoc(1, 1000), makeDoc(2, 1000)});
    CHECK(namesIn(dir.path()) ==
          std::vector<std::string>{"fimbeat-20261121-10.ndjson", "fimbeat-20261121-11.ndjson"});
  }
}

TEST_CASE("file output rotate_on_startup") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));
  auto config = configFor(dir.path());

  SUBCASE("true: every start begins a new file") {
    config.rotateOnStartup = true;
    {
      auto output = openOk(config, clock);
      writeOk(*output, {R"({"run":1})"});
      REQUIRE(output->flush().has_value());
    }
    auto output = openOk(config, clock);
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-1.ndjson");
    writeOk(*output, {R"({"run":2})"});
    CHECK(readLines(dir.path() / "fimbeat-20261121.ndjson") == std::vector<std::string>{R"({"run":1})"});
    CHECK(readLines(dir.path() / "fimbeat-20261121-1.ndjson") == std::vector<std::string>{R"({"run":2})"});
  }

  SUBCASE("false: a start appends to the newest existing file, even from an earlier day") {
    config.rotateOnStartup = false;
    {
      auto output = openOk(config, clock);
      CHECK(output->currentFile() == dir.path() / "fimbeat-20261121.ndjson");
      writeOk(*output, {R"({"run":1})"});
    }
    clock.advance(24h);
    auto output = openOk(config, clock);
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121.ndjson");
    writeOk(*output, {R"({"run":2})"});
    CHECK(readLines(output->currentFile()) == std::vector<std::string>{R"({"run":1})", R"({"run":2})"});
    CHECK(namesIn(dir.path()) == std::vector<std::string>{"fimbeat-20261121.ndjson"});
  }

  SUBCASE("false: the size of the reopened file counts toward rotation") {
    config.rotateOnStartup = false;
    config.rotateEveryKb = 1;
    {
      auto output = openOk(config, clock);
      writeOk(*output, {makeDoc(1, 300), makeDoc(2, 300), makeDoc(3, 300)});
    }
    auto output = openOk(config, clock);
    writeOk(*output, {makeDoc(4, 300)});
    CHECK(output->currentFile() == dir.path() / "fimbeat-20261121-1.ndjson");
    CHECK(fs::file_size(dir.path() / "fimbeat-20261121.ndjson") == 903);
  }
}

TEST_CASE("file output sets exactly the configured permissions, whatever the umask") {
  TempDir dir;
  UmaskGuard umask(022);
  FakeClock clock(utc(2026, 11, 21));
  const fs::path nested = dir.path() / "a" / "b" / "events";
  auto config = configFor(nested);
  config.rotateEveryKb = 1;

  SUBCASE("0640, also after rotation") {
    config.permissions = 0640;
    auto output = openOk(config, clock);
    CHECK(modeOf(output->currentFile()) == 0640);
    writeOk(*output, {makeDoc(1, 1000), makeDoc(2, 1000)});
    CHECK(output->currentFile() == nested / "fimbeat-20261121-1.ndjson");
    CHECK(modeOf(output->currentFile()) == 0640);
  }

  SUBCASE("0666 is not narrowed by umask 022") {
    config.permissions = 0666;
    auto output = openOk(config, clock);
    CHECK(modeOf(output->currentFile()) == 0666);
  }

  SUBCASE("directories are created with parents, 0750") {
    auto output = openOk(config, clock);
    CHECK(modeOf(nested) == 0750);
    CHECK(modeOf(dir.path() / "a" / "b") == 0750);
    CHECK(modeOf(dir.path() / "a") == 0750);
    CHECK(modeOf(output->currentFile()) == 0600);  // the default
  }

  SUBCASE("a strict umask narrows neither directories nor files") {
    UmaskGuard strict(077);
    config.permissions = 0640;
    auto output = openOk(config, clock);
    CHECK(modeOf(nested) == 0750);
    CHECK(modeOf(dir.path() / "a") == 0750);
    CHECK(modeOf(output->currentFile()) == 0640);
  }
}

TEST_CASE("file output reports failures as errors naming the path") {
  TempDir dir;
  FakeClock clock(utc(2026, 11, 21));

  SUBCASE("the directory path is a regular file") {
    const fs::path file = dir.path() / "not-a-dir";
    touch(file);
    auto output = FileOutput::open(configFor(file), clock);
    REQUIRE_FALSE(output.has_value());
    CHECK(output.error().message().find(file.string()) != std::string::npos);
    CHECK(output.error().message().find("Not a directory") != std::string::npos);
    CHECK(readAll(file) == "old\n");
  }

  SUBCASE("a parent of the directory is a regular file") {
    const fs::path file = dir.path() / "not-a-dir";
    touch(file);
    auto output = FileOutput::open(configFor(file / "events"), clock);
    REQUIRE_FALSE(output.has_value());
    CHECK(output.error().message().find(file.string()) != std::string::npos);
  }

  SUBCASE("a file name with a slash is rejected") {
    auto config = configFor(dir.path());
    config.filename = "../escape";
    auto output = FileOutput::open(config, clock);
    REQUIRE_FALSE(output.has_value());
    CHECK(std::string(core::toString(output.error().code())) == "invalid_argument");
    CHECK(namesIn(dir.path()).empty());
  }
}

}  // namespace fim::output
