#include "mapper/document_builder.h"

#include <algorithm>
#include <array>

#include "core/time_format.h"
#include "mapper/dotted_keys.h"
#include "mapper/file_fields.h"
#include "mapper/metadata_fields.h"

namespace fim::mapper {
namespace {

constexpr std::size_t kPoolBytes = 32 * 1024;  // far more than a typical document needs

Value timestampValue(core::TimePoint t, Allocator& a) {
  std::array<char, 32> buffer;
  return copyString(core::formatTimestamp(t, buffer), a);
}

Value eventObject(const events::FileEvent& e, Allocator& a) {
  Value event(rapidjson::kObjectType);
  Value actions(rapidjson::kArrayType);
  Value types(rapidjson::kArrayType);
  std::array<const char*, 8> seen{};
  std::size_t distinct = 0;
  for (const auto action : e.actions) {
    actions.PushBack(rapidjson::StringRef(events::toString(action)), a);
    const char* type = events::eventType(action);  // static strings: compare pointers
    if (std::find(seen.begin(), seen.begin() + distinct, type) == seen.begin() + distinct && distinct < seen.size()) {
      seen[distinct++] = type;
      types.PushBack(rapidjson::StringRef(type), a);
    }
  }
  add(event, "action", std::move(actions), a);
  Value category(rapidjson::kArrayType);
  category.PushBack("file", a);
  add(event, "category", std::move(category), a);
  add(event, "created", timestampValue(e.created, a), a);
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
                           "mapper.fields.undeclared", "mapper.fields.dropped", "mapper.fields.invalid"}) {
    (void)metrics.counter(name);
  }
}

DocumentBuilder::DocumentBuilder(const config::Config& config, core::Metrics& metrics, const mapper::DocumentFilter* filter,
                                 const Schema& schema)
    : dataStream_{config.dataStream.name(), config.dataStream.type, config.dataStream.dataset, config.dataStream.ns},
      filter_(filter),
      events_(metrics.counter("mapper.events")),
      dropped_(metrics.counter("mapper.events.dropped")),
      invalid_(metrics.counter("mapper.events.invalid")),
      encoder_(schema, metrics),
      indices_(config),
      poolBuffer_(new char[kPoolBytes]),
      pool_(poolBuffer_.get(), kPoolBytes) {
  for (const auto& m : config.modules) {
    keepNull_.push_back(m.keepNull);
    serviceNames_.push_back(m.serviceName);
  }
}

void DocumentBuilder::buildDocument(const events::EnrichedEvent& enriched, rapidjson::Document& doc) const {
  const events::FileEvent& e = enriched.event;
  const events::Metadata* meta = enriched.metadata.get();
  auto& a = doc.GetAllocator();
  doc.SetObject();
  // Keys in the order of Elastic's sample event: @timestamp, then alphabetical.
  add(doc, "@timestamp", timestampValue(e.timestamp, a), a);
  if (meta) addIfNotEmpty(doc, "agent", agentObject(meta->agent, a), a);
  if (meta && meta->cloud) addIfNotEmpty(doc, "cloud", cloudObject(*meta->cloud, a), a);
  std::optional<ProcessObjects> who;
  if (e.process) who.emplace(processObjects(*e.process, meta ? std::string_view(meta->host.id) : std::string_view(), a));
  if (who) addIfNotEmpty(doc, "container", std::move(who->container), a);
  // The data stream of the configuration that produced the event, when the queue kept it.
  const events::DeliverySettings& target = e.delivery ? *e.delivery : dataStream_;
  Value dataStream(rapidjson::kObjectType);
  addRefIfSet(dataStream, "dataset", target.dataset, a);
  addRefIfSet(dataStream, "namespace", target.ns, a);
  addRefIfSet(dataStream, "type", target.type, a);
  addIfNotEmpty(doc, "data_stream", std::move(dataStream), a);
  add(doc, "ecs", oneMember("version", refString(kEcsVersion), a), a);
  if (e.errorMessage) add(doc, "error", oneMember("message", refString(*e.errorMessage), a), a);
  add(doc, "event", eventObject(e, a), a);
  Value file = isDeletion(e) ? deletedFileObject(e.file, a) : fileObject(e.file, a);
  if (e.elf && !isDeletion(e)) addIfNotEmpty(file, "elf", elfObject(*e.elf, a), a);
  add(doc, "file", std::move(file), a);
  addIfNotEmpty(doc, "file_integrity", fileIntegrityObject(e, a), a);
  if (who) addIfNotEmpty(doc, "group", std::move(who->group), a);
  if (meta) addIfNotEmpty(doc, "host", hostObject(meta->host, a), a);
  if (e.package) addIfNotEmpty(doc, "package", packageObject(*e.package, a), a);
  if (who) addIfNotEmpty(doc, "process", std::move(who->process), a);
  Value service(rapidjson::kObjectType);
  if (e.module < serviceNames_.size()) addRefIfSet(service, "name", serviceNames_[e.module], a);
  addRef(service, "type", kModule, a);
  add(doc, "service", std::move(service), a);
  if (!enriched.tags.empty()) {
    Value tags(rapidjson::kArrayType);
    tags.Reserve(static_cast<rapidjson::SizeType>(enriched.tags.size()), a);
    for (const auto& t : enriched.tags) tags.PushBack(refString(t), a);
    add(doc, "tags", std::move(tags), a);
  }
  if (who) addIfNotEmpty(doc, "user", std::move(who->user), a);
}

std::optional<events::EncodedEvent> DocumentBuilder::map(const events::EnrichedEvent& enriched) {
  if (!encode(enriched)) return std::nullopt;
  return events::EncodedEvent{enriched.event.sequence, metadataId_.empty() ? ids_.id(enriched) : std::move(metadataId_),
                              std::string(json_.GetString(), json_.GetSize()), indices_.select(enriched),
                              enriched.event.delivery};
}

// @metadata (add_id's target, decode_json_fields' document_id, a script's Put) is never part of
// the document; a string @metadata._id is the document's _id, as Beats' Elasticsearch output
// takes it. Other @metadata keys have no use here and are dropped.
void DocumentBuilder::takeMetadata(rapidjson::Document& doc) {
  metadataId_.clear();
  auto meta = doc.FindMember("@metadata");
  if (meta == doc.MemberEnd()) return;
  if (meta->value.IsObject()) {
    if (auto id = meta->value.FindMember("_id"); id != meta->value.MemberEnd() && id->value.IsString()) {
      metadataId_.assign(id->value.GetString(), id->value.GetStringLength());
    }
  }
  doc.EraseMember(meta);
}

bool DocumentBuilder::encode(const events::EnrichedEvent& enriched) {
  pool_.Clear();  // the previous document's memory; the first chunk is kept
  rapidjson::Document doc(&pool_);
  buildDocument(enriched, doc);
  metadataId_.clear();
  if (filter_) {
    const EventContext context{
        enriched.event.sequence,
        std::chrono::duration_cast<std::chrono::milliseconds>(enriched.event.created.time_since_epoch()).count(),
        enriched.metadata ? std::string_view(enriched.metadata->agent.id) : std::string_view()};
    if (!filter_->apply(doc, enriched.event.module, context)) {
      dropped_.add();
      return false;
    }
    if (doc.IsObject()) {
      expandDottedKeys(doc, doc.GetAllocator());
      takeMetadata(doc);
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

std::string DocumentBuilder::build(const events::EnrichedEvent& event) {
  auto encoded = map(event);
  return encoded ? std::move(encoded->json) : std::string();
}

void DocumentBuilder::mapBatch(std::vector<events::EnrichedEvent>& in, std::vector<events::EncodedEvent>& out) {
  events_.add(static_cast<std::int64_t>(in.size()));
  out.reserve(out.size() + in.size());
  for (const auto& event : in) {
    if (auto encoded = map(event)) out.push_back(std::move(*encoded));
  }
  in.clear();
}

}  // namespace fim::mapper
