// extract_array: copies elements of an array field into other fields, as Beats'
// libbeat/processors/extract_array. With fail_on_error a failing event is left as it was, with
// error.message saying why.

#include <string>
#include <vector>

#include <fmt/format.h>

#include "mapper/processors/event_values.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

using rapidjson::Value;

bool isEmpty(const Value& v) {
  if (v.IsNull()) return true;
  if (v.IsString()) return v.GetStringLength() == 0;
  if (v.IsArray()) return v.Empty();
  if (v.IsObject()) return v.ObjectEmpty();
  return false;
}

class ExtractArray final : public Processor {
 public:
  explicit ExtractArray(const config::ExtractArrayConfig& config) : config_(config), field_(config.field) {
    for (const auto& [to, index] : config.mappings) targets_.emplace_back(to);
  }

  Outcome run(rapidjson::Document& document) const override {
    auto& a = document.GetAllocator();
    const Value* array = findField(document, field_);
    if (!array) {
      if (config_.ignoreMissing) return Outcome::Keep;
      return fail(document, nullptr, fmt::format("could not fetch value for field {}: key not found", config_.field));
    }
    if (!array->IsArray()) {
      if (!config_.failOnError) return Outcome::Keep;
      return fail(document, nullptr, fmt::format("unsupported type for field {}: got: {} needed: array", config_.field, goTypeName(*array)));
    }
    // The elements are copied first: writing a target may move the array itself.
    Value cells(*array, a);
    rapidjson::Document saved(&a);
    if (config_.failOnError) saved.CopyFrom(document, a);
    const std::size_t n = cells.Size();
    bool failed = false;
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      const auto& [to, index] = config_.mappings[i];
      std::string error;
      if (index >= n) {
        error = fmt::format("index {} exceeds length of {} when processing mapping for field {}", index, n, to);
      } else if (config_.omitEmpty && isEmpty(cells[static_cast<rapidjson::SizeType>(index)])) {
        continue;
      } else if (!config_.overwriteKeys && findField(document, targets_[i])) {
        error = fmt::format("target field {} already has a value. Set the overwrite_keys flag or drop/rename the field first", to);
      } else {
        Value copy(cells[static_cast<rapidjson::SizeType>(index)], a);
        if (setField(document, targets_[i], copy, a)) continue;
        error = fmt::format("failed setting field {}", to);
      }
      failed = true;
      if (config_.failOnError) return fail(document, &saved, error);
    }
    return failed ? Outcome::Failed : Outcome::Keep;
  }

 private:
  // With fail_on_error: the event as it was before, and error.message.
  Outcome fail(rapidjson::Document& document, rapidjson::Document* saved, const std::string& error) const {
    if (saved) static_cast<Value&>(document) = std::move(static_cast<Value&>(*saved));
    if (config_.failOnError) setErrorMessage(document, error);
    return Outcome::Failed;
  }

  config::ExtractArrayConfig config_;
  FieldPath field_;
  std::vector<FieldPath> targets_;
};

}  // namespace

std::unique_ptr<Processor> makeExtractArray(const config::ExtractArrayConfig& config) {
  return std::make_unique<ExtractArray>(config);
}

}  // namespace fim::mapper::processors
