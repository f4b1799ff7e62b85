// BulkEncoder: the bodies it builds in reused buffers are exactly encodeBulk's, gzipped or not.

#include <zlib.h>

#include <doctest/doctest.h>

#include "support/gzip.h"

#include "output/elasticsearch/bulk_encoder.h"
#include "output/elasticsearch/bulk_request.h"

namespace fim::output::es {
namespace {

std::vector<events::EncodedEvent> eventsFrom(int first, int count) {
  std::vector<events::EncodedEvent> events;
  for (int i = first; i < first + count; ++i) {
    events.push_back({static_cast<std::uint64_t>(i), "id-" + std::to_string(i),
                      R"({"@timestamp":"2026-11-21T07:00:00.000Z","n":)" + std::to_string(i) + "}"});
  }
  return events;
}

std::vector<const events::EncodedEvent*> pointersTo(const std::vector<events::EncodedEvent>& events) {
  std::vector<const events::EncodedEvent*> out;
  for (const auto& e : events) out.push_back(&e);
  return out;
}

}  // namespace

TEST_CASE("bulk encoder: request after request, bodies equal encodeBulk's, gzipped at the configured level") {
  for (int level : {0, 1, 6}) {
    CAPTURE(level);
    BulkEncoder encoder(level);
    CHECK(encoder.gzip() == (level > 0));
    // A large body, then a smaller one in the recycled buffer, then a large one again.
    for (auto [first, count] : {std::pair{0, 5000}, {5000, 3}, {5003, 2000}}) {
      const auto events = eventsFrom(first, count);
      const auto pointers = pointersTo(events);
      auto body = encoder.encode(pointers, "logs-fim.event-default");
      REQUIRE(body.has_value());
      const std::string expected = encodeBulk(pointers, "logs-fim.event-default");
      CHECK((level > 0 ? testing::gunzip(*body) : *body) == expected);
      if (level > 0) CHECK(body->size() < expected.size());
      encoder.recycle(std::move(*body));
    }
  }
}

TEST_CASE("bulk encoder: a body that was not given back does not disturb the next one") {
  BulkEncoder encoder(1);
  const auto a = eventsFrom(0, 10), b = eventsFrom(10, 10);
  auto first = encoder.encode(pointersTo(a), "x");
  auto second = encoder.encode(pointersTo(b), "x");
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  CHECK(testing::gunzip(*first) == encodeBulk(pointersTo(a), "x"));
  CHECK(testing::gunzip(*second) == encodeBulk(pointersTo(b), "x"));
}

}  // namespace fim::output::es
