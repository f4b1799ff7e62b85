#include "mapper/document_builder.h"

#include <algorithm>
#include <array>

#include "mapper/iso_time.h"
#include "mapper/dotted_keys.h"
#include "mapper/file_fields.h"
#include "mapper/metadata_fields.h"

namespace fim::mapper {
namespace {

constexpr std::size_t kPoolBytes = 32 * 1024;  // far more than a typical document needs

Value timestampValue(core::TimePoint t, Allocator& a) {
  std::array<char, 32> buffer;
  return copyString(formatIsoMillis(t, buffer), a);
}

Value eventObject(const core::FileEvent& e, Allocator& a) {
  Value event(rapidjson::kObjectType);
  Value actions(rapidjson::kArrayType);
  Value types(rapidjson::kArrayType);
  std::array<const char*, 8> seen{};
  std::size_t distinct = 0;
  for (const auto action : e.actions) {
    actions.PushBack(rapidjson::StringRef(core::toString(action)), a);
    const char* type = core::eventType(action);  // static strings: compare pointers
    if (std::find(seen.begin(), seen.begin() + distinct, type) == seen.begin() + distinct && distinct < seen.size()) {
      seen[distinct++] = type;
      types.PushBack(rapidjson::StringRef(type), a);
    }
  }
  add(event, "action", std::move(actions), a);
  Value category(rapidjson::kArrayType);
  category.PushBack("file", a);
  add(event, "category", std::move(category), a);
  addRef(event, "dataset", kDataset, a);
  addRef(event, "kind", "event", a);
  addRef(event, "module", kModule, a);
  add(event, "type", std::move(types), a);
  return event;
}

Value oneMember(std::string_view key, Value&& value, Allocator& a) {
  Value object(rapidjson::kObjectType);
  add(object, key, std::move(value), a);
  return object;
}

}  // namespace

void DocumentBuilder::declareMetrics(core::Metrics& metrics) {
  for (const char* name : {"mapper.events", "mapper.events.dropped", "mapper.events.invalid",
                           "mapper.fields.undeclared", "mapper.fields.invalid"}) {
    (void)metrics.counter(name);
  }
}

DocumentBuilder::DocumentBuilder(const config::Config& config, core::Metrics& metrics, const core::DocumentFilter* filter,
                                 const Schema& schema)
    : dataStream_(config.dataStream),
      filter_(filter),
      events_(metrics.counter("mapper.events")),
      dropped_(metrics.counter("mapper.events.dropped")),
      invalid_(metrics.counter("mapper.events.invalid")),
      encoder_(schema, metrics),
      fragmentEncoder_(schema, fragmentMetrics_),
      poolBuffer_(new char[kPoolBytes]),
      pool_(poolBuffer_.get(), kPoolBytes) {
  for (const auto& m : config.modules) keepNull_.push_back(m.keepNull);
  if (!filter_ && DirectEncoder::covers(schema)) direct_.emplace(metrics);
}

void DocumentBuilder::buildDocument(const core::EnrichedEvent& enriched, rapidjson::Document& doc) const {
  const core::FileEvent& e = enriched.event;
  const core::Metadata* meta = enriched.metadata.get();
  auto& a = doc.GetAllocator();
  doc.SetObject();
  // Keys in the order of Elastic's sample event: @timestamp, then alphabetical.
  add(doc, "@timestamp", timestampValue(e.timestamp, a), a);
  if (meta) addIfNotEmpty(doc, "agent", agentObject(meta->agent, a), a);
  if (meta && meta->cloud) addIfNotEmpty(doc, "cloud", cloudObject(*meta->cloud, a), a);
  std::optional<ProcessObjects> who;
  if (e.process) who.emplace(processObjects(*e.process, a));
  if (who) addIfNotEmpty(doc, "container", std::move(who->container), a);
  Value dataStream(rapidjson::kObjectType);
  addRefIfSet(dataStream, "dataset", dataStream_.dataset, a);
  addRefIfSet(dataStream, "namespace", dataStream_.ns, a);
  addRefIfSet(dataStream, "type", dataStream_.type, a);
  addIfNotEmpty(doc, "data_stream", std::move(dataStream), a);
  add(doc, "ecs", oneMember("version", refString(kEcsVersion), a), a);
  if (e.errorMessage) add(doc, "error", oneMember("message", refString(*e.errorMessage), a), a);
  add(doc, "event", eventObject(e, a), a);
  add(doc, "file", fileObject(e.file, a), a);
  addIfNotEmpty(doc, "file_integrity", fileIntegrityObject(e, a), a);
  if (who) addIfNotEmpty(doc, "group", std::move(who->group), a);
  if (meta) addIfNotEmpty(doc, "host", hostObject(meta->host, a), a);
  if (who) addIfNotEmpty(doc, "process", std::move(who->process), a);
  add(doc, "service", oneMember("type", refString(kModule), a), a);
  if (!enriched.tags.empty()) {
    Value tags(rapidjson::kArrayType);
    tags.Reserve(static_cast<rapidjson::SizeType>(enriched.tags.size()), a);
    for (const auto& t : enriched.tags) tags.PushBack(refString(t), a);
    add(doc, "tags", std::move(tags), a);
  }
  if (who) addIfNotEmpty(doc, "user", std::move(who->user), a);
}

std::optional<core::EncodedEvent> DocumentBuilder::map(const core::EnrichedEvent& enriched) {
  if (direct_) {
    direct_->encode(enriched, fragmentsFor(enriched.metadata), json_);
  } else if (!encodeChecked(enriched)) {
    return std::nullopt;
  }
  return core::EncodedEvent{enriched.event.sequence, ids_.id(enriched), std::string(json_.GetString(), json_.GetSize())};
}

bool DocumentBuilder::encodeChecked(const core::EnrichedEvent& enriched) {
  pool_.Clear();  // the previous document's memory; the first chunk is kept
  rapidjson::Document doc(&pool_);
  buildDocument(enriched, doc);
  if (filter_) {
    if (!filter_->apply(doc, enriched.event.module)) {
      dropped_.add();
      return false;
    }
    if (doc.IsObject()) {
      expandDottedKeys(doc, doc.GetAllocator());
      if (!doc.HasMember("@timestamp")) {  // a data stream rejects documents without it
        add(doc, "@timestamp", timestampValue(enriched.event.timestamp, doc.GetAllocator()), doc.GetAllocator());
      }
    }
  }
  if (!encoder_.encode(doc, keepNull(enriched.event.module), json_)) {
    invalid_.add();
    return false;
  }
  return true;
}

const MetadataFragments& DocumentBuilder::fragmentsFor(const std::shared_ptr<const core::Metadata>& snapshot) {
  if (fragmentsReady_ && fragmentsOf_ == snapshot) return fragments_;
  core::EnrichedEvent probe;  // only its metadata members are encoded
  probe.metadata = snapshot;
  pool_.Clear();
  rapidjson::Document doc(&pool_);
  buildDocument(probe, doc);
  auto& undeclared = fragmentMetrics_.counter("mapper.fields.undeclared");
  auto& invalid = fragmentMetrics_.counter("mapper.fields.invalid");
  const std::int64_t undeclaredBefore = undeclared.value();
  const std::int64_t invalidBefore = invalid.value();
  // Each member on its own (an object the walk leaves empty is omitted), then the group's
  // members side by side as the document has them.
  const auto encodeMembers = [&](std::initializer_list<std::string_view> keys, MetadataFragments::Members& into) {
    rapidjson::StringBuffer group;
    JsonTextWriter writer;
    writer.Reset(group);
    writer.StartObject();
    for (const auto key : keys) {
      const auto it = doc.FindMember(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size())));
      if (it == doc.MemberEnd()) continue;
      Value one(rapidjson::kObjectType);
      add(one, key, std::move(it->value), doc.GetAllocator());
      (void)fragmentEncoder_.encode(one, false, json_);  // an object: always encodes
      const std::string_view written(json_.GetString(), json_.GetSize());  // {"key":VALUE} or {} if all was dropped
      const std::size_t prefix = key.size() + 4;
      if (written.size() <= prefix + 1) continue;
      writer.plainString(key);
      writer.rawValue(written.substr(prefix, written.size() - prefix - 1), rapidjson::kObjectType);
      ++into.count;
    }
    writer.EndObject();
    into.json.assign(group.GetString() + 1, group.GetSize() - 2);  // the members without the braces
  };
  fragments_ = MetadataFragments{};
  encodeMembers({"agent", "cloud"}, fragments_.beforeContainer);
  encodeMembers({"data_stream", "ecs"}, fragments_.beforeError);
  encodeMembers({"host"}, fragments_.beforeProcess);
  encodeMembers({"service"}, fragments_.beforeTags);
  // Counted per event by the direct path, as the schema walk of each whole document would count them.
  fragments_.undeclared = undeclared.value() - undeclaredBefore;
  fragments_.invalid = invalid.value() - invalidBefore;
  fragmentsOf_ = snapshot;
  fragmentsReady_ = true;
  return fragments_;
}

std::string DocumentBuilder::build(const core::EnrichedEvent& event) {
  auto encoded = map(event);
  return encoded ? std::move(encoded->json) : std::string();
}

std::string DocumentBuilder::buildChecked(const core::EnrichedEvent& event) {
  return encodeChecked(event) ? std::string(json_.GetString(), json_.GetSize()) : std::string();
}

void DocumentBuilder::mapBatch(std::vector<core::EnrichedEvent>& in, std::vector<core::EncodedEvent>& out) {
  events_.add(static_cast<std::int64_t>(in.size()));
  out.reserve(out.size() + in.size());
  for (const auto& event : in) {
    if (auto encoded = map(event)) out.push_back(std::move(*encoded));
  }
  in.clear();
}

}  // namespace fim::mapper
