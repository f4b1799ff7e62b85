#pragma once
// ProcessorList: processors in config order, each behind its optional `when`, compiled once.

#include <cstddef>
#include <memory>
#include <vector>

#include <rapidjson/document.h>

#include "config/processors_config.h"
#include "core/metrics.h"
#include "core/result.h"
#include "mapper/processors/condition.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {

class MetadataSources;

class ProcessorList {
 public:
  // add_host_metadata and add_cloud_metadata configure the enrichers and are left out. `metrics`
  // (may be null) receives the counters of processors that keep their own (rate_limit, script);
  // the metadata processors (add_docker_metadata, ...) take their sources from `sources`.
  [[nodiscard]] static core::Result<ProcessorList> build(const std::vector<config::ProcessorConfig>& configs,
                                                         core::Metrics* metrics = nullptr,
                                                         MetadataSources* sources = nullptr);

  // Runs the steps in order until one drops the event. `failures` counts steps that failed.
  Outcome run(rapidjson::Document& document, std::size_t& failures, const EventContext& context = {}) const;
  bool empty() const { return steps_.empty(); }
  std::size_t size() const { return steps_.size(); }

 private:
  struct Step {
    std::unique_ptr<Condition> when;  // null: always
    std::unique_ptr<Processor> processor;
  };
  std::vector<Step> steps_;
};

}  // namespace fim::mapper::processors
