#pragma once
// ProcessorChain: every configured processor, compiled from the config once. For each event the
// processors of the module that reported it run first, then the global ones, as in Beats.

#include <cstddef>
#include <memory>
#include <vector>

#include "config/config.h"
#include "mapper/document_filter.h"
#include "core/metrics.h"
#include "core/result.h"
#include "mapper/processors/processor_list.h"

namespace fim::mapper::processors {

class ProcessorChain final : public mapper::DocumentFilter {
 public:
  // Counts into enricher.processors.dropped (events dropped) and enricher.processors.failures
  // (processor steps that failed; the event went on).
  // `sources` (may be null when no metadata processor is configured) must outlive the chain.
  [[nodiscard]] static core::Result<std::unique_ptr<ProcessorChain>> build(const config::Config& config,
                                                                           core::Metrics& metrics,
                                                                           MetadataSources* sources = nullptr);

  // False: drop the event. A module index past the configured modules runs the global processors only.
  bool apply(rapidjson::Document& document, std::size_t module, const EventContext& context) const override;
  using DocumentFilter::apply;

  bool empty() const;  // nothing to run for any module

 private:
  ProcessorChain(ProcessorList global, std::vector<ProcessorList> modules, core::Metrics& metrics);

  ProcessorList global_;
  std::vector<ProcessorList> modules_;
  core::Counter& dropped_;
  core::Counter& failures_;
};

}  // namespace fim::mapper::processors
