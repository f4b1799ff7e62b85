// dissect: splits a text field with a tokenizer into fields under target_prefix, as Beats'
// libbeat/processors/dissect/processor.go. A text that does not match gets the flag
// dissect_parsing_error in log.flags.

#include <string>
#include <vector>

#include "mapper/processors/dissector.h"
#include "mapper/processors/event_values.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

class Dissect final : public Processor {
 public:
  Dissect(const config::DissectConfig& config, Dissector dissector)
      : config_(config), field_(config.field), dissector_(std::move(dissector)) {}

  Outcome run(rapidjson::Document& document) const override {
    auto& a = document.GetAllocator();
    const rapidjson::Value* source = findField(document, field_);
    if (!source || !source->IsString()) return Outcome::Failed;
    auto fields = dissector_.dissect(textOf(*source), a);
    if (!fields) {
      static const FieldPath kFlags("log.flags");
      if (!appendToList(document, kFlags, "dissect_parsing_error", a)) return Outcome::Failed;
      return config_.ignoreFailure ? Outcome::Keep : Outcome::Failed;
    }
    std::vector<FieldPath> targets;
    targets.reserve(fields->size());
    for (const auto& [key, value] : *fields) {
      targets.emplace_back(config_.targetPrefix.empty() ? key : config_.targetPrefix + "." + key);
      // Every key is checked before any is written, so that a clash changes nothing.
      if (!config_.overwriteKeys && (findField(document, targets.back()) || !canPutField(document, targets.back()))) {
        return Outcome::Failed;  // "cannot override existing key"
      }
    }
    for (std::size_t i = 0; i < fields->size(); ++i) setField(document, targets[i], (*fields)[i].second, a);
    return Outcome::Keep;
  }

 private:
  config::DissectConfig config_;
  FieldPath field_;
  Dissector dissector_;
};

Dissector::Trim trimOf(config::DissectConfig::Trim trim) {
  switch (trim) {
    case config::DissectConfig::Trim::Left: return Dissector::Trim::Left;
    case config::DissectConfig::Trim::Right: return Dissector::Trim::Right;
    case config::DissectConfig::Trim::All: return Dissector::Trim::All;
    case config::DissectConfig::Trim::None: break;
  }
  return Dissector::Trim::None;
}

}  // namespace

core::Result<std::unique_ptr<Processor>> makeDissect(const config::DissectConfig& config) {
  auto dissector = Dissector::compile(config.tokenizer, trimOf(config.trimValues), config.trimChars);
  if (!dissector) return std::unexpected(dissector.error().context("tokenizer \"" + config.tokenizer + "\""));
  return std::make_unique<Dissect>(config, std::move(*dissector));
}

}  // namespace fim::mapper::processors
