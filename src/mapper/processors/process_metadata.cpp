// add_process_metadata: the process a pid field names, read from /proc (through a ProcessSource)
// and written where Beats writes it: process.* and container.id under `target`, only the
// include_fields, never over an existing field unless overwrite_keys.

#include <array>
#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "core/time_format.h"
#include "mapper/processors/field_path.h"
#include "mapper/processors/metadata_sources.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

// Beats' defaultFields: the objects include_fields may name and what is under each.
struct Known {
  std::string_view name;
  std::vector<std::string_view> children;  // empty: a field
};

const std::vector<Known>& knownFields() {
  static const std::vector<Known> kKnown{
      {"process", {"name", "title", "executable", "args", "pid", "parent", "entity_id", "start_time", "owner", "group", "thread"}},
      {"process.parent", {"pid"}},
      {"process.owner", {"name", "id"}},
      {"process.group", {"name", "id"}},
      {"process.thread", {"capabilities"}},
      {"process.thread.capabilities", {"effective", "permitted"}},
      {"container", {"id"}},
  };
  return kKnown;
}

// Beats' constructPath: a `parent` target takes the process's fields directly.
std::string destination(const std::string& prefix, const std::string& source) {
  if (prefix == "parent." || prefix.ends_with(".parent.")) {
    return prefix + (source.starts_with("process.") ? source.substr(8) : source);
  }
  return prefix + source;
}

// (destination, source) pairs: Beats' getMappings.
std::vector<std::pair<FieldPath, FieldPath>> mappings(const config::ProcessMetadataConfig& config) {
  const std::string prefix = config.target.empty() ? "" : config.target + ".";
  std::vector<std::string> wanted = config.includeFields;
  if (wanted.empty()) wanted = {"process", "container"};
  std::vector<std::pair<FieldPath, FieldPath>> out;
  for (const auto& source : wanted) {
    const std::string dest = destination(prefix, source);
    std::vector<std::string_view> children;
    for (const auto& known : knownFields()) {
      if (known.name == source) children = known.children;
    }
    if (source == "process" && config.restrictedFields) children.push_back("env");
    if (children.empty()) {
      out.emplace_back(FieldPath(dest), FieldPath(source));
      continue;
    }
    for (const auto child : children) out.emplace_back(FieldPath(dest + "." + std::string(child)), FieldPath(source + "." + std::string(child)));
  }
  return out;
}

Value text(std::string_view s, Allocator& a) { return Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a); }

Value textArray(const std::vector<std::string>& items, Allocator& a) {
  Value array(rapidjson::kArrayType);
  for (const auto& item : items) array.PushBack(text(item, a), a);
  return array;
}

// What Beats' processMetadata.toMap() holds, plus container.id.
Value metadataObject(const ProcessMetadata* p, const std::string& containerId, Allocator& a) {
  Value meta(rapidjson::kObjectType);
  if (p) {
    Value process(rapidjson::kObjectType);
    process.AddMember("name", text(p->name, a), a);
    process.AddMember("title", text(p->title, a), a);
    process.AddMember("executable", text(p->executable, a), a);
    process.AddMember("args", textArray(p->args, a), a);
    Value env(rapidjson::kObjectType);
    for (const auto& [key, value] : p->env) env.AddMember(text(key, a), text(value, a), a);
    process.AddMember("env", env, a);
    process.AddMember("pid", Value(p->pid), a);
    Value parent(rapidjson::kObjectType);
    parent.AddMember("pid", Value(p->parentPid), a);
    process.AddMember("parent", parent, a);
    if (p->startTime) {
      std::array<char, 32> buffer;
      process.AddMember("start_time", text(core::formatTimestamp(*p->startTime, buffer), a), a);
    }
    if (!p->entityId.empty()) process.AddMember("entity_id", text(p->entityId, a), a);
    const auto person = [&](const char* key, const std::string& name, const std::string& id) {
      if (name.empty() && id.empty()) return;
      Value who(rapidjson::kObjectType);
      if (!name.empty()) who.AddMember("name", text(name, a), a);
      if (!id.empty()) who.AddMember("id", text(id, a), a);
      process.AddMember(rapidjson::StringRef(key), who, a);
    };
    person("owner", p->ownerName, p->ownerId);
    person("group", p->groupName, p->groupId);
    if (!p->capEffective.empty() || !p->capPermitted.empty()) {
      Value capabilities(rapidjson::kObjectType);
      if (!p->capEffective.empty()) capabilities.AddMember("effective", textArray(p->capEffective, a), a);
      if (!p->capPermitted.empty()) capabilities.AddMember("permitted", textArray(p->capPermitted, a), a);
      Value thread(rapidjson::kObjectType);
      thread.AddMember("capabilities", capabilities, a);
      process.AddMember("thread", thread, a);
    }
    meta.AddMember("process", process, a);
  }
  if (!containerId.empty()) {
    Value container(rapidjson::kObjectType);
    container.AddMember("id", text(containerId, a), a);
    meta.AddMember("container", container, a);
  }
  return meta;
}

enum class PidField { Missing, Invalid, Found };

// Beats' pidToInt: an integer, or a string of one.
PidField pidOf(const rapidjson::Value& document, const FieldPath& field, std::int64_t& pid) {
  const Value* value = findField(document, field);
  if (!value) return PidField::Missing;
  if (value->IsInt64()) {
    pid = value->GetInt64();
    return PidField::Found;
  }
  if (value->IsString()) {
    const char* begin = value->GetString();
    const char* end = begin + value->GetStringLength();
    const auto [at, ec] = std::from_chars(begin, end, pid);
    return ec == std::errc() && at == end ? PidField::Found : PidField::Invalid;
  }
  return PidField::Invalid;
}

class AddProcessMetadata final : public Processor {
 public:
  AddProcessMetadata(const config::ProcessMetadataConfig& config, std::unique_ptr<ProcessSource> source)
      : ignoreMissing_(config.ignoreMissing), overwrite_(config.overwriteKeys), mappings_(mappings(config)),
        source_(std::move(source)) {
    for (const auto& f : config.matchPids) pids_.emplace_back(f);
    for (const auto& [dest, src] : mappings_) wantsContainer_ = wantsContainer_ || src.text() == "container.id";
  }

  Outcome run(rapidjson::Document& document) const override {
    for (const auto& field : pids_) {
      std::int64_t pid = 0;
      switch (pidOf(document, field, pid)) {
        case PidField::Missing: continue;
        case PidField::Invalid: return Outcome::Failed;  // "cannot parse pid field"
        case PidField::Found: return enrich(document, pid);
      }
    }
    return ignoreMissing_ ? Outcome::Keep : Outcome::Failed;  // "none of the fields in match_pids found"
  }

 private:
  Outcome enrich(rapidjson::Document& document, std::int64_t pid) const {
    const auto process = source_->process(pid);
    const std::string cid = wantsContainer_ ? source_->containerId(pid) : std::string();
    if (!process && cid.empty()) return Outcome::Failed;  // Beats' ErrNoProcess: the event stays as it was
    auto& a = document.GetAllocator();
    Value meta = metadataObject(process.get(), cid, a);
    if (!overwrite_) {
      for (const auto& [dest, src] : mappings_) {
        if (findField(document, dest)) return Outcome::Failed;  // "already exists and overwrite_keys is false"
      }
    }
    for (const auto& [dest, src] : mappings_) {
      const Value* value = findField(meta, src);
      if (!value) continue;
      Value copy(*value, a);
      if (!putField(document, dest, copy, a)) return Outcome::Failed;
    }
    return Outcome::Keep;
  }

  bool ignoreMissing_;
  bool overwrite_;
  bool wantsContainer_ = false;
  std::vector<FieldPath> pids_;
  std::vector<std::pair<FieldPath, FieldPath>> mappings_;
  std::unique_ptr<ProcessSource> source_;
};

}  // namespace

core::Result<std::unique_ptr<Processor>> makeAddProcessMetadata(const config::ProcessMetadataConfig& config,
                                                               MetadataSources& sources) {
  ProcessSourceOptions options;
  options.hostPath = config.hostPath;
  options.restrictedFields = config.restrictedFields;
  options.cgroupPrefixes = config.cgroupPrefixes;
  options.cgroupRegex = config.cgroupRegex;
  options.containerCacheExpiry = config.cgroupCacheExpireTime;
  auto source = sources.processes(options);
  if (!source) return std::unexpected(source.error());
  return std::make_unique<AddProcessMetadata>(config, std::move(*source));
}

}  // namespace fim::mapper::processors
