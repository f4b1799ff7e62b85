#include "management/monitoring_documents.h"

#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace fim::management {
namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

void text(JsonWriter& w, std::string_view key, std::string_view value) {
  w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
  w.String(value.data() != nullptr ? value.data() : "", static_cast<rapidjson::SizeType>(value.size()));
}

void key(JsonWriter& w, std::string_view name) { w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size())); }

std::string done(const rapidjson::StringBuffer& buffer) { return std::string(buffer.GetString(), buffer.GetSize()); }

void healthReport(JsonWriter& w, const core::HealthReport& report) {
  text(w, "status", core::toString(report.state));
  text(w, "message", report.message);
}

}  // namespace

std::string infoDocument(const BeatInfo& info) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  text(w, "beat", info.beat);
  text(w, "ephemeral_id", info.ephemeralId);
  text(w, "hostname", info.hostname);
  text(w, "name", info.name);
  text(w, "uuid", info.uuid);
  text(w, "version", info.version);
  w.EndObject();
  return done(buffer);
}

std::string stateDocument(const BeatInfo& info, std::int64_t modulesRunning) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  key(w, "beat");
  w.StartObject();
  text(w, "name", info.name);
  w.EndObject();
  key(w, "host");
  w.StartObject();
  text(w, "architecture", info.architecture);
  text(w, "hostname", info.hostname);
  w.EndObject();
  key(w, "management");
  w.StartObject();
  key(w, "enabled");
  w.Bool(info.managed);
  w.EndObject();
  key(w, "module");
  w.StartObject();
  key(w, "count");
  w.Int64(modulesRunning);
  key(w, "names");
  w.StartArray();
  for (std::int64_t i = 0; i < modulesRunning; ++i) w.String("file_integrity");
  w.EndArray();
  w.EndObject();
  key(w, "output");
  w.StartObject();
  text(w, "name", info.outputType);
  w.EndObject();
  key(w, "queue");
  w.StartObject();
  text(w, "name", "disk");  // the durable queue; Beats' name for an on-disk queue
  w.EndObject();
  key(w, "service");
  w.StartObject();
  text(w, "id", info.uuid);
  text(w, "name", info.beat);
  text(w, "version", info.version);
  w.EndObject();
  w.EndObject();
  return done(buffer);
}

HealthDocument healthDocument(const core::Health& health, bool failOnlyWhenFailed) {
  const core::HealthReport overall = health.overall();
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  healthReport(w, overall);
  key(w, "units");
  w.StartObject();
  for (const auto& [unit, report] : health.units()) {
    key(w, unit);
    w.StartObject();
    healthReport(w, report);
    w.EndObject();
  }
  w.EndObject();
  w.EndObject();
  const bool failing = overall.state == core::HealthState::Failed ||
                       (overall.state == core::HealthState::Degraded && !failOnlyWhenFailed);
  return HealthDocument{failing ? 503 : 200, done(buffer)};
}

}  // namespace fim::management
