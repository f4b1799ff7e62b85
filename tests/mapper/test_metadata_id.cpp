// @metadata set by processors: never in the document; a string @metadata._id is the event's
// Elasticsearch _id (Beats' output: libbeat/outputs/elasticsearch client.go createEventBulkMeta).

#include <doctest/doctest.h>

#include "core/metrics.h"
#include "mapper/document_builder.h"
#include "mapper_fixtures.h"
#include "processor_test_support.h"

using namespace fim;
using namespace fim::testing;

namespace {

struct Mapped {
  std::string id;
  std::string json;
};

Mapped mapWith(const std::string& processors, events::EnrichedEvent event) {
  const auto config = loadConfig("processors:\n" + processors);
  core::Metrics metrics;
  auto chain = buildChain(config, metrics);
  mapper::DocumentBuilder builder(config, metrics, chain.get());
  auto encoded = builder.map(event);
  REQUIRE(encoded.has_value());
  return {encoded->id, encoded->json};
}

events::EnrichedEvent sample() { return enrichedEvent({events::Action::Updated}, regularFile("/etc/hosts", 220)); }

}  // namespace

TEST_CASE("@metadata._id from add_id is the _id, and @metadata is not in the document") {
  const auto plain = mapWith("- add_tags: {tags: [x]}\n", sample());
  const auto withId = mapWith("- add_id: ~\n", sample());
  CHECK(withId.id != plain.id);
  CHECK(withId.id.size() == 20);
  CHECK(withId.json.find("@metadata") == std::string::npos);
  CHECK(withId.json.find(withId.id) == std::string::npos);
  CHECK(mapWith("- add_id: ~\n", sample()).id == withId.id);  // the same queued event, the same _id
  auto later = sample();
  later.event.sequence += 1;
  CHECK(mapWith("- add_id: ~\n", later).id != withId.id);
}

TEST_CASE("decode_json_fields' document_id and a script's @metadata._id become the _id, other @metadata is dropped") {
  const auto fromJson = mapWith("- add_fields: {target: '', fields: {message: '{\"key\":\"doc-7\",\"a\":1}'}}\n"
                                "- decode_json_fields: {fields: [message], document_id: key}\n",
                                sample());
  CHECK(fromJson.id == "doc-7");
  CHECK(fromJson.json.find("doc-7") == std::string::npos);
  const auto fromScript =
      mapWith("- script:\n    lang: javascript\n    source: \"function process(e) { e.Put('@metadata._id', 'js-1'); "
              "e.Put('@metadata.pipeline', 'p'); }\"\n",
              sample());
  CHECK(fromScript.id == "js-1");
  CHECK(fromScript.json.find("@metadata") == std::string::npos);
  const auto notText = mapWith("- add_fields: {target: '@metadata', fields: {_id: 42}}\n", sample());
  CHECK(notText.id == mapWith("- add_tags: {tags: [x]}\n", sample()).id);  // not a string: the default _id stays
}
