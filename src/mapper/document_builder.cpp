#include "mapper/document_builder.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "core/time_format.h"
#include "mapper/file_fields.h"

namespace fim::mapper {
namespace {

constexpr std::size_t kBatch = 256;  // events taken per wake-up

void writeEvent(JsonWriter& w, const core::FileEvent& e) {
  w.Key("event");
  w.StartObject();
  putKeyString(w, "kind", "event");
  w.Key("category");
  w.StartArray();
  w.String("file");
  w.EndArray();
  w.Key("type");
  w.StartArray();
  std::vector<std::string> types;
  for (auto action : e.actions) {
    const std::string type = core::eventType(action);
    if (std::find(types.begin(), types.end(), type) == types.end()) types.push_back(type);
  }
  for (const auto& t : types) w.String(t.c_str());
  w.EndArray();
  w.Key("action");
  w.StartArray();
  for (auto action : e.actions) w.String(core::toString(action));
  w.EndArray();
  putKeyString(w, "module", kModule);
  putKeyString(w, "dataset", kDataset);
  w.EndObject();
}

void writeFile(JsonWriter& w, const core::FileInfo& f) {
  w.Key("file");
  w.StartObject();
  writeFileMembers(w, f);
  w.EndObject();
}

}  // namespace

DocumentBuilder::DocumentBuilder(core::Metrics& metrics) : events_(metrics.counter("mapper.events")) {}

std::string DocumentBuilder::build(const core::EnrichedEvent& enriched) const {
  const core::FileEvent& e = enriched.event;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  std::array<char, 32> timestamp;
  putKeyString(w, "@timestamp", core::formatTimestamp(e.timestamp, timestamp));
  writeEvent(w, e);
  writeFile(w, e.file);
  w.Key("host");
  w.StartObject();
  putKeyString(w, "name", enriched.metadata ? enriched.metadata->host.name : std::string());
  w.EndObject();
  if (!enriched.tags.empty()) {
    w.Key("tags");
    w.StartArray();
    for (const auto& t : enriched.tags) putString(w, t);
    w.EndArray();
  }
  writeFileIntegrity(w, e);
  if (e.errorMessage) {
    w.Key("error");
    w.StartObject();
    putKeyString(w, "message", *e.errorMessage);
    w.EndObject();
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

void DocumentBuilder::run(std::stop_token stop, core::BoundedQueue<core::EnrichedEvent>& in,
                          core::BoundedQueue<core::EncodedEvent>& out) const {
  std::vector<core::EnrichedEvent> batch;
  std::vector<core::EncodedEvent> documents;
  while (in.popBatch(batch, kBatch, stop) > 0) {
    events_.add(static_cast<std::int64_t>(batch.size()));
    for (const auto& event : batch) documents.push_back(core::EncodedEvent{event.event.sequence, {}, build(event)});
    batch.clear();
    if (!out.pushBatch(documents, stop)) break;
  }
  out.close();
}

}  // namespace fim::mapper
