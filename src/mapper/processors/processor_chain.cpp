#include "mapper/processors/processor_chain.h"

namespace fim::mapper::processors {

core::Result<std::unique_ptr<ProcessorChain>> ProcessorChain::build(const config::Config& config,
                                                                    core::Metrics& metrics, MetadataSources* sources) {
  auto global = ProcessorList::build(config.processors, &metrics, sources);
  if (!global) return std::unexpected(global.error().context("processors"));
  std::vector<ProcessorList> modules;
  for (std::size_t i = 0; i < config.modules.size(); ++i) {
    auto list = ProcessorList::build(config.modules[i].processors, &metrics, sources);
    if (!list) return std::unexpected(list.error().context("module " + std::to_string(i) + " processors"));
    modules.push_back(std::move(*list));
  }
  return std::unique_ptr<ProcessorChain>(new ProcessorChain(std::move(*global), std::move(modules), metrics));
}

ProcessorChain::ProcessorChain(ProcessorList global, std::vector<ProcessorList> modules, core::Metrics& metrics)
    : global_(std::move(global)),
      modules_(std::move(modules)),
      dropped_(metrics.counter("enricher.processors.dropped")),
      failures_(metrics.counter("enricher.processors.failures")) {}

bool ProcessorChain::apply(rapidjson::Document& document, std::size_t module, const EventContext& context) const {
  std::size_t failures = 0;
  Outcome outcome = Outcome::Keep;
  if (module < modules_.size()) outcome = modules_[module].run(document, failures, context);
  if (outcome != Outcome::Drop) outcome = global_.run(document, failures, context);
  if (failures > 0) failures_.add(static_cast<std::int64_t>(failures));
  if (outcome == Outcome::Drop) {
    dropped_.add();
    return false;
  }
  return true;
}

bool ProcessorChain::empty() const {
  if (!global_.empty()) return false;
  for (const auto& list : modules_) {
    if (!list.empty()) return false;
  }
  return true;
}

}  // namespace fim::mapper::processors
