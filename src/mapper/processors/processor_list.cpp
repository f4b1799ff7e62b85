#include "mapper/processors/processor_list.h"

#include "mapper/processors/transform_processors.h"

#include <variant>

namespace fim::mapper::processors {
namespace {

class DropEvent final : public Processor {
 public:
  Outcome run(rapidjson::Document&) const override { return Outcome::Drop; }
};

// `if: <condition> then: [...] else: [...]`
class IfThenElse final : public Processor {
 public:
  IfThenElse(std::unique_ptr<Condition> condition, ProcessorList then, ProcessorList otherwise)
      : condition_(std::move(condition)), then_(std::move(then)), otherwise_(std::move(otherwise)) {}

  Outcome run(rapidjson::Document& document) const override { return run(document, EventContext{}); }

  Outcome run(rapidjson::Document& document, const EventContext& context) const override {
    std::size_t failures = 0;
    const Outcome outcome = (condition_->check(document) ? then_ : otherwise_).run(document, failures, context);
    if (outcome == Outcome::Drop) return Outcome::Drop;
    return failures > 0 ? Outcome::Failed : Outcome::Keep;
  }

 private:
  std::unique_ptr<Condition> condition_;
  ProcessorList then_;
  ProcessorList otherwise_;
};

core::Result<std::unique_ptr<Processor>> makeProcessor(const config::ProcessorConfig& config, core::Metrics* metrics,
                                                       MetadataSources* sources) {
  using Made = core::Result<std::unique_ptr<Processor>>;
  return std::visit(
      [metrics, sources](const auto& options) -> Made {
        using T = std::decay_t<decltype(options)>;
        if constexpr (std::is_same_v<T, config::AddFieldsConfig>) return makeAddFields(options);
        else if constexpr (std::is_same_v<T, config::AddTagsConfig>) return makeAddTags(options);
        else if constexpr (std::is_same_v<T, config::DropFieldsConfig>) return makeDropFields(options);
        else if constexpr (std::is_same_v<T, config::IncludeFieldsConfig>) return makeIncludeFields(options);
        else if constexpr (std::is_same_v<T, config::RenameConfig>) return makeRename(options);
        else if constexpr (std::is_same_v<T, config::DropEventConfig>) return std::make_unique<DropEvent>();
        else if constexpr (std::is_same_v<T, config::MetadataConfig>) return std::unique_ptr<Processor>();
        else if constexpr (std::is_same_v<T, config::FieldCopyConfig>) return makeFieldCopy(options);
        else if constexpr (std::is_same_v<T, config::TruncateFieldsConfig>) return makeTruncateFields(options);
        else if constexpr (std::is_same_v<T, config::ReplaceConfig>) return makeReplace(options);
        else if constexpr (std::is_same_v<T, config::AddLocaleConfig>) return makeAddLocale(options);
        else if constexpr (std::is_same_v<T, config::FingerprintConfig>) return makeFingerprint(options);
        else if constexpr (std::is_same_v<T, config::ConvertConfig>) return makeConvert(options);
        else if constexpr (std::is_same_v<T, config::DecodeJsonFieldsConfig>) return makeDecodeJsonFields(options);
        else if constexpr (std::is_same_v<T, config::DissectConfig>) return makeDissect(options);
        else if constexpr (std::is_same_v<T, config::ExtractArrayConfig>) return makeExtractArray(options);
        else if constexpr (std::is_same_v<T, config::RateLimitConfig>) return makeRateLimit(options, metrics);
        else if constexpr (std::is_same_v<T, config::AddIdConfig>) return makeAddId(options);
        else if constexpr (std::is_same_v<T, config::ScriptConfig>) return makeScript(options, metrics);
        else if constexpr (std::is_same_v<T, config::MetadataProcessorConfig>) return makeMetadataProcessor(options, sources);
        else {
          auto condition = compileCondition(options.condition);
          if (!condition) return std::unexpected(condition.error());
          auto then = ProcessorList::build(options.then, metrics, sources);
          if (!then) return std::unexpected(then.error());
          auto otherwise = ProcessorList::build(options.otherwise, metrics, sources);
          if (!otherwise) return std::unexpected(otherwise.error());
          return std::make_unique<IfThenElse>(std::move(*condition), std::move(*then), std::move(*otherwise));
        }
      },
      config.options);
}

}  // namespace

core::Result<ProcessorList> ProcessorList::build(const std::vector<config::ProcessorConfig>& configs, core::Metrics* metrics,
                                                 MetadataSources* sources) {
  ProcessorList list;
  for (const auto& config : configs) {
    auto processor = makeProcessor(config, metrics, sources);
    if (!processor) return std::unexpected(processor.error().context(config.origin.describe() + ": " + config.name));
    if (!*processor) continue;
    Step step{nullptr, std::move(*processor)};
    if (config.when) {
      auto when = compileCondition(*config.when);
      if (!when) return std::unexpected(when.error().context(config.origin.describe() + ": " + config.name + " when"));
      step.when = std::move(*when);
    }
    list.steps_.push_back(std::move(step));
  }
  return list;
}

Outcome ProcessorList::run(rapidjson::Document& document, std::size_t& failures, const EventContext& context) const {
  for (const auto& step : steps_) {
    if (step.when && !step.when->check(document)) continue;
    const Outcome outcome = step.processor->run(document, context);
    if (outcome == Outcome::Drop) return Outcome::Drop;
    if (outcome == Outcome::Failed) ++failures;
  }
  return Outcome::Keep;
}

}  // namespace fim::mapper::processors
