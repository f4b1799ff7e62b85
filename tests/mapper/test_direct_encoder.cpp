// The direct path (no processors) must write exactly what the checked path (document + schema
// walk) writes: compared byte for byte over generated events, with the same counts.

#include <doctest/doctest.h>

#include <limits>
#include <random>

#include "core/document_filter.h"
#include "core/metrics.h"
#include "mapper/document_builder.h"
#include "mapper/schema.h"
#include "mapper_fixtures.h"

using namespace fim;

namespace {

// A processor that changes nothing: it makes the builder take the checked path.
class KeepEverything : public core::DocumentFilter {
 public:
  bool apply(rapidjson::Document&, std::size_t) const override { return true; }
};

class EventGenerator {
 public:
  explicit EventGenerator(std::uint32_t seed) : random_(seed) {}

  core::EnrichedEvent next() {
    core::EnrichedEvent e;
    e.event.timestamp = time();
    const std::size_t actions = pick(4);
    for (std::size_t i = 0; i < actions; ++i) e.event.actions.push_back(static_cast<core::Action>(pick(7)));
    e.event.file = file();
    if (chance(5)) e.event.errorMessage = text();
    e.event.module = pick(2);
    if (chance(2)) {
      const std::size_t changed = pick(6);
      for (std::size_t i = 0; i < changed; ++i) e.event.changedAttributes.push_back(pickOf(kChangeNames));
    }
    if (chance(2)) e.event.previous = file();
    if (chance(6)) e.event.previousPath = text();
    if (chance(2)) e.event.process = process();
    e.event.sequence = random_();
    e.metadata = metadata_[pick(metadata_.size())];
    const std::size_t tags = pick(4);
    for (std::size_t i = 0; i < tags; ++i) e.tags.push_back(text());
    return e;
  }

 private:
  static constexpr std::array<const char*, 12> kTexts{
      "/etc/hosts", "/var/www/app/bundle.min.js", "/", "", ".bashrc", "/tmp/archive.tar.gz",
      "/tmp/quote\"and\\backslash", "/tmp/new\nline\ttab", "/tmp/caf\xc3\xa9", "/tmp/bad\xff\xfe", "/tmp/ends.", "x"};
  static constexpr std::array<const char*, 22> kChangeNames{
      "type", "size", "inode", "uid", "gid", "owner", "group", "mode", "setuid", "setgid", "mtime",
      "ctime", "target_path", "mime_type", "selinux", "acl", "hash.sha256", "hash.sha1", "hash.md5",
      "hash.xxh64", "device", "bogus"};

  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(random_); }
  bool chance(std::size_t oneIn) { return pick(oneIn) == 0; }
  template <typename Array>
  std::string pickOf(const Array& a) { return a[pick(a.size())]; }
  std::string text() { return pickOf(kTexts); }

  core::TimePoint time() {
    switch (pick(8)) {
      case 0: return core::TimePoint(std::chrono::milliseconds(253402300800000));  // year 10000: not a date ES takes
      case 1: return core::TimePoint(std::chrono::milliseconds(-62200000000000));  // before year 1
      case 2: return core::TimePoint(std::chrono::nanoseconds(-1));
      default: return testing::fixedTime(1650445339365 + static_cast<std::int64_t>(pick(1'000'000'000)));
    }
  }

  core::FileInfo file() {
    core::FileInfo f;
    f.path = text();
    f.type = static_cast<core::FileType>(pick(8));
    if (chance(2)) f.size = chance(8) ? std::numeric_limits<std::uint64_t>::max() - pick(10) : pick(1'000'000);
    f.inode = random_();
    f.uid = static_cast<std::uint32_t>(pick(70000));
    f.gid = static_cast<std::uint32_t>(pick(70000));
    if (chance(2)) f.owner = text();
    if (chance(2)) f.group = text();
    f.mode = static_cast<std::uint32_t>(pick(07777 + 1));
    f.setuid = chance(3);
    f.setgid = chance(3);
    f.mtime = time();
    f.ctime = time();
    if (chance(4)) f.targetPath = text();
    if (chance(3)) f.mimeType = text();
    if (chance(4)) f.selinux = text();
    if (chance(4)) f.acl = text();
    for (const auto type : core::allHashTypes()) {
      if (chance(4)) f.hashes[type] = chance(5) ? text() : "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    }
    return f;
  }

  core::ProcessInfo process() {
    core::ProcessInfo p;
    p.pid = static_cast<std::int64_t>(pick(4'000'000)) - 1;
    p.exited = chance(4);
    if (chance(2)) p.name = text();
    if (chance(2)) p.executable = text();
    const std::size_t args = pick(4);
    for (std::size_t i = 0; i < args; ++i) p.args.push_back(text());
    if (chance(2)) p.parentPid = static_cast<std::int64_t>(pick(100000));
    if (chance(2)) p.workingDirectory = text();
    if (chance(2)) p.userId = static_cast<std::uint32_t>(pick(70000));
    if (chance(2)) p.userName = text();
    if (chance(2)) p.groupId = static_cast<std::uint32_t>(pick(70000));
    if (chance(2)) p.groupName = text();
    if (chance(3)) p.containerId = text();
    if (chance(3)) p.containerRuntime = "docker";
    return p;
  }

  static std::vector<std::shared_ptr<const core::Metadata>> metadataVariants() {
    auto odd = std::make_shared<core::Metadata>(*testing::fullMetadata(true));
    odd->host.ip = {"10.0.0.1", "not-an-ip"};  // dropped and counted by the schema walk
    odd->agent = {};
    odd->host.hostname = "caf\xc3\xa9\xff";
    return {testing::fullMetadata(true), testing::fullMetadata(false), nullptr, odd};
  }

  std::mt19937_64 random_;
  std::vector<std::shared_ptr<const core::Metadata>> metadata_ = metadataVariants();
};

}  // namespace

TEST_CASE("the direct path writes what the checked path writes, byte for byte, with the same counts") {
  const auto config = testing::testConfig();
  core::Metrics directMetrics;
  core::Metrics checkedMetrics;
  const KeepEverything keep;
  mapper::DocumentBuilder direct(config, directMetrics);
  mapper::DocumentBuilder checked(config, checkedMetrics, &keep);
  REQUIRE(direct.direct());
  REQUIRE_FALSE(checked.direct());

  EventGenerator events(20260421);
  std::size_t withProcess = 0;
  std::size_t withPrevious = 0;
  std::size_t withCloud = 0;
  for (int i = 0; i < 20000; ++i) {
    const auto event = events.next();
    withProcess += event.event.process.has_value();
    withPrevious += event.event.previous.has_value();
    withCloud += event.metadata && event.metadata->cloud;
    const auto fast = direct.map(event);
    const auto slow = checked.map(event);
    REQUIRE(fast.has_value());
    REQUIRE(slow.has_value());
    if (fast->json != slow->json) {
      INFO("event " << i << "\ndirect:  " << fast->json << "\nchecked: " << slow->json);
      REQUIRE(fast->json == slow->json);
    }
    REQUIRE(fast->id == slow->id);
    REQUIRE(direct.buildChecked(event) == slow->json);  // the builder's own checked path agrees too
  }
  CHECK(withProcess > 1000);
  CHECK(withPrevious > 1000);
  CHECK(withCloud > 1000);
  // buildChecked() counted each event's drops once more on the direct builder.
  const auto count = [](core::Metrics& m, const char* name) { return m.counter(name).value(); };
  CHECK(count(directMetrics, "mapper.fields.invalid") == 2 * count(checkedMetrics, "mapper.fields.invalid"));
  CHECK(count(directMetrics, "mapper.fields.undeclared") == 2 * count(checkedMetrics, "mapper.fields.undeclared"));
  CHECK(count(checkedMetrics, "mapper.fields.invalid") > 1000);  // out-of-range dates and sizes, the odd host.ip
}

TEST_CASE("the direct path is used only without processors and with a schema that declares its fields as written") {
  const auto config = testing::testConfig();
  core::Metrics metrics;
  const KeepEverything keep;
  CHECK(mapper::DocumentBuilder(config, metrics).direct());
  CHECK_FALSE(mapper::DocumentBuilder(config, metrics, &keep).direct());
  CHECK(mapper::DirectEncoder::covers(mapper::builtinSchema()));

  std::string yaml(mapper::builtinFieldsYaml());
  const std::string pidAsLong = "{name: pid, level: core, type: long";
  const auto at = yaml.find(pidAsLong);
  REQUIRE(at != std::string::npos);
  yaml.replace(at, pidAsLong.size(), "{name: pid, level: core, type: keyword");
  auto changed = mapper::Schema::parse(yaml);
  REQUIRE(changed.has_value());
  CHECK_FALSE(mapper::DirectEncoder::covers(*changed));
  CHECK_FALSE(mapper::DocumentBuilder(config, metrics, nullptr, *changed).direct());

  // There the checked path runs and coerces process.pid to the changed type.
  mapper::DocumentBuilder fallback(config, metrics, nullptr, *changed);
  const auto updated = testing::goldenEvents()[1];
  REQUIRE(updated.first == "updated");
  CHECK(fallback.build(updated.second).find(R"("pid":"4242")") != std::string::npos);
  CHECK(mapper::DocumentBuilder(config, metrics).build(updated.second).find(R"("pid":4242)") != std::string::npos);
}
