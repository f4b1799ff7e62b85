#pragma once
// GET /metrics: the registry in Prometheus' text exposition format (version 0.0.4). Each metric
// is fimbeat_<name with '.' as '_'>; a counter ends in _total, a histogram is a summary
// (quantiles 0.5 and 0.99, _sum, _count) with its maximum as the gauge <name>_max. The
// process's own figures use Prometheus' standard process_* names.

#include <string>

#include "core/metrics.h"
#include "management/process_sample.h"

namespace fim::management {

std::string prometheusText(const core::MetricSamples& samples, const ProcessSample& process, double startTimeSeconds);

// "output.events.acked" -> "fimbeat_output_events_acked": characters outside [a-zA-Z0-9_] become '_'.
std::string prometheusName(std::string_view dottedName);

}  // namespace fim::management
