#include "mapper/index_selector.h"

namespace fim::mapper {

IndexSelector::IndexSelector(const config::Config& config) {
  if (config.output.kind != config::OutputKind::Elasticsearch) return;  // Beats' raw_index: only Elasticsearch reads it
  for (const auto& module : config.modules) {
    auto format = module.index.empty() ? std::nullopt : std::optional(config::IndexFormat::parse(module.index));
    modules_.push_back(format && *format ? std::optional(std::move(**format)) : std::nullopt);  // validated at load
  }
  const std::string& index = config.output.elasticsearch.index;
  if (index.find("%{") != std::string::npos) {
    if (auto format = config::IndexFormat::parse(index)) output_ = std::move(*format);
  }
}

std::string IndexSelector::select(const events::EnrichedEvent& enriched) const {
  const auto& event = enriched.event;
  const config::IndexFormat* format = nullptr;
  if (event.module < modules_.size() && modules_[event.module]) format = &*modules_[event.module];
  else if (output_) format = &*output_;
  if (!format) return {};
  std::map<std::string, std::string, std::less<>> agent;
  if (enriched.metadata) {
    agent = {{"name", enriched.metadata->agent.name}, {"version", enriched.metadata->agent.version},
             {"type", enriched.metadata->agent.type}};
  }
  return format->expand(agent, event.timestamp);
}

}  // namespace fim::mapper
