#include "app/agent.h"

#include <cstdio>

#include "core/logging.h"
#include "output/console_output.h"
#include "output/file_output.h"
#include "watcher/scanner.h"

namespace fim::app {

core::Result<std::unique_ptr<output::Output>> makeOutput(const config::Config& config, const core::Clock& clock) {
  switch (config.output.kind) {
    case config::OutputKind::File: {
      auto file = output::FileOutput::open(config.output.file, clock);
      if (!file) return std::unexpected(file.error());
      return std::unique_ptr<output::Output>(std::move(*file));
    }
    case config::OutputKind::Console:
      return std::unique_ptr<output::Output>(std::make_unique<output::ConsoleOutput>(config.output.console, stdout));
    case config::OutputKind::Elasticsearch:
      break;
  }
  return core::fail(core::ErrorCode::InvalidArgument,
                    "output.elasticsearch is accepted by `test config` but not implemented yet in this version: "
                    "use output.file or output.console");
}

core::Result<std::unique_ptr<Agent>> Agent::create(const config::Config& config, core::Metrics& metrics,
                                                   const core::Clock& clock) {
  auto output = makeOutput(config, clock);
  if (!output) return std::unexpected(output.error());
  return std::unique_ptr<Agent>(new Agent(config, metrics, clock, std::move(*output)));
}

Agent::Agent(const config::Config& config, core::Metrics& metrics, const core::Clock& clock,
             std::unique_ptr<output::Output> output)
    : config_(config),
      metrics_(metrics),
      output_(std::move(output)),
      source_(std::make_unique<watcher::Scanner>(config.modules, clock, metrics)),
      enricher_(config, metrics),
      builder_(metrics),
      worker_(*output_, metrics) {}

Agent::~Agent() {
  if (outputThread_.joinable()) stop(std::chrono::milliseconds(0));
}

template <typename Body>
std::jthread Agent::spawn(const char* component, Body body) {
  return std::jthread([this, component, body](std::stop_token stop) {
    try {
      body(stop);
    } catch (const std::exception& e) {
      core::logger(component).critical("stage stopped by an unexpected error: {}", e.what());
      failed_ = true;
    } catch (...) {
      core::logger(component).critical("stage stopped by an unexpected error");
      failed_ = true;
    }
  });
}

void Agent::start() {
  outputThread_ = spawn("output", [this](std::stop_token stop) {
    worker_.run(stop, documents_);
    outputDone_.set_value();
  });
  mapperThread_ = spawn("mapper", [this](std::stop_token stop) { builder_.run(stop, enriched_, documents_); });
  enricherThread_ = spawn("enricher", [this](std::stop_token stop) { enricher_.run(stop, changes_, enriched_); });
  watcherThread_ = spawn("watcher", [this](std::stop_token stop) {
    source_->run(stop, changes_);
    changes_.close();
  });
  core::logger("agent").info("fimbeat started: {} module(s), {}", config_.modules.size(), output_->describe());
}

bool Agent::stop(std::chrono::milliseconds grace) {
  watcherThread_.request_stop();
  changes_.close();
  const bool drained = outputDoneFuture_.wait_for(grace) == std::future_status::ready;
  if (!drained) {
    core::logger("agent").warn("pipeline did not drain within {} ms; stopping every stage", grace.count());
    for (auto* t : {&enricherThread_, &mapperThread_, &outputThread_}) t->request_stop();
  }
  for (auto* t : {&watcherThread_, &enricherThread_, &mapperThread_, &outputThread_}) {
    if (t->joinable()) t->join();
  }
  return drained && metrics_.counter("output.events.failed").value() == 0;
}

}  // namespace fim::app
