// Benchmark, skipped by default: what a chain costs per event. It prints a table and asserts
// nothing about time. Run it with:
//   build/test_enricher -tc='benchmark*' --no-skip

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>

#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Scenario {
  const char* name;
  std::string processors;
  bool mutates;  // a fresh copy of the document is needed for every run
};

double nanosPerRun(const mapper::processors::ProcessorChain& chain, const rapidjson::Document& sample, bool mutates,
                   bool applyChain, int runs) {
  rapidjson::Document document;
  document.CopyFrom(sample, document.GetAllocator());
  std::size_t kept = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < runs; ++i) {
    if (mutates) {
      rapidjson::Document fresh;
      fresh.CopyFrom(sample, fresh.GetAllocator());
      kept += applyChain ? chain.apply(fresh, 0) : fresh.IsObject();
    } else {
      kept += chain.apply(document, 0);
    }
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  CHECK(kept > 0);  // keeps the loop from being optimised away
  return std::chrono::duration<double, std::nano>(elapsed).count() / runs;
}

}  // namespace

TEST_CASE("benchmark: processor chain cost per event" * doctest::skip()) {
  const Scenario scenarios[] = {
      {"3 processors, no condition matches",
       "- drop_event.when.equals.event.action: deleted\n"
       "- add_tags: {tags: [tmp], when.contains.file.path: /tmp/}\n"
       "- drop_fields: {fields: [file.mtime], when.regexp.file.path: '\\.sw[nop]$'}\n",
       false},
      {"3 processors, network/range/or conditions, none matches",
       "- drop_event.when.network.source.ip: [loopback, '10.0.0.0/8']\n"
       "- add_tags: {tags: [big], when.range.file.size.gt: 1048576}\n"
       "- drop_fields: {fields: [file.mtime], when.or: [{has_fields: [file.owner]}, {equals: {file.type: dir}}]}\n",
       false},
      {"3 processors applied (add_tags, add_fields, drop_fields)",
       "- add_tags: {tags: [pci]}\n- add_fields: {target: '', fields: {labels: {env: prod}}}\n"
       "- drop_fields: {fields: [file.hash.sha256, file.ratio]}\n",
       true},
  };
  constexpr int kRuns = 200000;
  const auto sample = parseDocument(kSampleDocument);
  std::printf("\n%-58s %12s\n", "scenario", "ns/event");
  for (const auto& scenario : scenarios) {
    const auto config = loadConfig("processors:\n" + scenario.processors);
    core::Metrics metrics;
    auto chain = buildChain(config, metrics);
    const double total = nanosPerRun(*chain, *sample, scenario.mutates, true, kRuns);
    if (scenario.mutates) {
      const double copy = nanosPerRun(*chain, *sample, true, false, kRuns);
      std::printf("%-58s %12.1f  (%.1f with the document copy the run needs, %.1f for the copy alone)\n",
                  scenario.name, total - copy, total, copy);
    } else {
      std::printf("%-58s %12.1f\n", scenario.name, total);
    }
  }
}
