// add_fields, add_tags, drop_fields, include_fields and rename, with Beats' semantics.

#include <re2/re2.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <string>
#include <vector>

#include "mapper/processors/field_path.h"
#include "mapper/processors/node_json.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

bool isProtected(std::string_view field) {
  for (const auto& name : config::protectedFields()) {
    if (field == name || (field.size() > name.size() && field.starts_with(name) && field[name.size()] == '.')) return true;
  }
  return false;
}

// Deep-merges `fields` (already nested under the target) into the document.
class AddFields final : public Processor {
 public:
  explicit AddFields(const config::AddFieldsConfig& config) {
    Value fields = config.fields.isMap() ? nodeToJson(config.fields, patch_.GetAllocator()) : Value(rapidjson::kObjectType);
    const FieldPath target(config.target);
    for (auto part = target.parts().rbegin(); part != target.parts().rend(); ++part) {
      Value wrapper(rapidjson::kObjectType);
      wrapper.AddMember(Value(part->data(), static_cast<rapidjson::SizeType>(part->size()), patch_.GetAllocator()),
                        fields, patch_.GetAllocator());
      fields = std::move(wrapper);
    }
    static_cast<Value&>(patch_) = std::move(fields);
  }

  Outcome run(rapidjson::Document& document) const override {
    if (!document.IsObject()) return Outcome::Failed;
    deepUpdate(document, patch_, document.GetAllocator());
    return Outcome::Keep;
  }

 private:
  rapidjson::Document patch_;
};

// Appends to the target array, creating it; a target that is not an array is an error (Beats).
class AddTags final : public Processor {
 public:
  explicit AddTags(const config::AddTagsConfig& config) : target_(config.target), tags_(config.tags) {}

  Outcome run(rapidjson::Document& document) const override {
    auto& allocator = document.GetAllocator();
    Value* existing = findField(document, target_);
    if (existing && !existing->IsArray()) return Outcome::Failed;
    if (!existing) {
      Value empty(rapidjson::kArrayType);
      if (!putField(document, target_, empty, allocator)) return Outcome::Failed;
      existing = findField(document, target_);
    }
    for (const auto& tag : tags_) {
      existing->PushBack(Value(tag.data(), static_cast<rapidjson::SizeType>(tag.size()), allocator), allocator);
    }
    return Outcome::Keep;
  }

 private:
  FieldPath target_;
  std::vector<std::string> tags_;
};

class DropFields final : public Processor {
 public:
  static core::Result<std::unique_ptr<Processor>> create(const config::DropFieldsConfig& config) {
    auto processor = std::unique_ptr<DropFields>(new DropFields());
    processor->ignoreMissing_ = config.ignoreMissing;
    processor->cleanup_ = config.cleanup;
    for (const auto& field : config.fields) {
      if (!isProtected(field)) processor->fields_.emplace_back(field);
    }
    for (const auto& pattern : config.patterns) {
      auto regex = std::make_unique<RE2>(pattern, RE2::Quiet);
      if (!regex->ok()) {
        return core::failf(core::ErrorCode::InvalidArgument, "drop_fields: invalid regular expression \"{}\": {}",
                           pattern, regex->error());
      }
      processor->patterns_.push_back(std::move(regex));
    }
    return std::unique_ptr<Processor>(std::move(processor));
  }

  Outcome run(rapidjson::Document& document) const override {
    bool failed = false;
    for (const auto& field : fields_) {
      if (!eraseField(document, field, cleanup_) && !ignoreMissing_) failed = true;
    }
    if (!patterns_.empty() && document.IsObject()) {
      std::string path;
      dropMatching(document, path);
    }
    return failed ? Outcome::Failed : Outcome::Keep;
  }

 private:
  DropFields() = default;

  // Removes every key whose dotted path matches a pattern (and everything under it).
  void dropMatching(Value& object, std::string& path) const {
    for (auto member = object.MemberBegin(); member != object.MemberEnd();) {
      const std::size_t length = path.size();
      if (!path.empty()) path += '.';
      path.append(member->name.GetString(), member->name.GetStringLength());
      const bool drop = !isProtected(path) && std::any_of(patterns_.begin(), patterns_.end(), [&](const auto& re) {
        return RE2::PartialMatch(path, *re);
      });
      bool emptied = false;
      if (!drop && member->value.IsObject() && !member->value.ObjectEmpty()) {
        dropMatching(member->value, path);
        emptied = cleanup_ && member->value.ObjectEmpty();
      }
      member = drop || emptied ? object.EraseMember(member) : member + 1;
      path.resize(length);
    }
  }

  std::vector<FieldPath> fields_;
  std::vector<std::unique_ptr<RE2>> patterns_;
  bool ignoreMissing_ = false;
  bool cleanup_ = false;
};

// Keeps only the listed fields (and @timestamp and type); missing ones are ignored, as in Beats.
class IncludeFields final : public Processor {
 public:
  explicit IncludeFields(const config::IncludeFieldsConfig& config) {
    for (const auto& field : config.fields) fields_.emplace_back(field);
    for (const auto& field : config::protectedFields()) {
      if (std::find(config.fields.begin(), config.fields.end(), field) == config.fields.end()) fields_.emplace_back(field);
    }
  }

  Outcome run(rapidjson::Document& document) const override {
    if (!document.IsObject()) return Outcome::Failed;
    Value kept(rapidjson::kObjectType);
    for (const auto& field : fields_) {
      Value value;
      if (takeField(document, field, value)) putField(kept, field, value, document.GetAllocator());
    }
    static_cast<Value&>(document).Swap(kept);
    return Outcome::Keep;
  }

 private:
  std::vector<FieldPath> fields_;
};

// Moves each `from` to `to`. A missing `from` is an error unless ignore_missing; an existing `to`
// always is. With fail_on_error (the default) the first error restores the document as it was.
class Rename final : public Processor {
 public:
  explicit Rename(const config::RenameConfig& config)
      : ignoreMissing_(config.ignoreMissing), failOnError_(config.failOnError) {
    for (const auto& pair : config.fields) pairs_.push_back({FieldPath(pair.from), FieldPath(pair.to)});
  }

  Outcome run(rapidjson::Document& document) const override {
    auto& allocator = document.GetAllocator();
    // A failed rename changes nothing, so only a list of several can need the document back.
    Value backup;
    if (failOnError_ && pairs_.size() > 1) backup.CopyFrom(document, allocator);
    bool failed = false;
    for (std::size_t i = 0; i < pairs_.size(); ++i) {
      if (!renameOne(document, pairs_[i], allocator)) {
        failed = true;
        if (failOnError_) break;
      }
    }
    if (failed && failOnError_ && !backup.IsNull()) static_cast<Value&>(document).Swap(backup);
    return failed ? Outcome::Failed : Outcome::Keep;
  }

 private:
  struct Pair {
    FieldPath from;
    FieldPath to;
  };

  bool renameOne(Value& document, const Pair& pair, Allocator& allocator) const {
    if (!findField(document, pair.from)) return ignoreMissing_;
    if (findField(document, pair.to) || !canPutField(document, pair.to)) return false;
    Value value;
    takeField(document, pair.from, value);
    return putField(document, pair.to, value, allocator);
  }

  std::vector<Pair> pairs_;
  bool ignoreMissing_;
  bool failOnError_;
};

}  // namespace

core::Result<std::unique_ptr<Processor>> makeAddFields(const config::AddFieldsConfig& config) {
  return std::make_unique<AddFields>(config);
}
std::unique_ptr<Processor> makeAddTags(const config::AddTagsConfig& config) { return std::make_unique<AddTags>(config); }
core::Result<std::unique_ptr<Processor>> makeDropFields(const config::DropFieldsConfig& config) {
  return DropFields::create(config);
}
std::unique_ptr<Processor> makeIncludeFields(const config::IncludeFieldsConfig& config) {
  return std::make_unique<IncludeFields>(config);
}
std::unique_ptr<Processor> makeRename(const config::RenameConfig& config) { return std::make_unique<Rename>(config); }

}  // namespace fim::mapper::processors
