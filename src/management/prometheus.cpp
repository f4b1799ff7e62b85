#include "management/prometheus.h"

#include <fmt/format.h>

namespace fim::management {
namespace {

void family(std::string& out, const std::string& name, const char* type, std::string_view help) {
  fmt::format_to(std::back_inserter(out), "# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void sample(std::string& out, const std::string& name, std::int64_t value) {
  fmt::format_to(std::back_inserter(out), "{} {}\n", name, value);
}

void processFamilies(std::string& out, const ProcessSample& p, double startTimeSeconds) {
  family(out, "process_cpu_seconds_total", "counter", "User and system CPU time spent in seconds.");
  fmt::format_to(std::back_inserter(out), "process_cpu_seconds_total {:.3f}\n",
                 static_cast<double>(p.cpuUserMs + p.cpuSystemMs) / 1000.0);
  family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  sample(out, "process_resident_memory_bytes", p.rssBytes);
  family(out, "process_open_fds", "gauge", "Number of open file descriptors.");
  sample(out, "process_open_fds", p.openFiles);
  family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.");
  sample(out, "process_max_fds", p.filesSoftLimit);
  family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.");
  fmt::format_to(std::back_inserter(out), "process_start_time_seconds {:.3f}\n", startTimeSeconds);
}

}  // namespace

std::string prometheusName(std::string_view dottedName) {
  std::string name = "fimbeat_";
  for (const char c : dottedName) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    name.push_back(ok ? c : '_');
  }
  return name;
}

std::string prometheusText(const core::MetricSamples& samples, const ProcessSample& process, double startTimeSeconds) {
  std::string out;
  for (const auto& [dotted, value] : samples.counters) {
    const std::string name = prometheusName(dotted) + "_total";
    family(out, name, "counter", "fimbeat counter " + dotted + ".");
    sample(out, name, value);
  }
  for (const auto& [dotted, value] : samples.gauges) {
    const std::string name = prometheusName(dotted);
    family(out, name, "gauge", "fimbeat gauge " + dotted + ".");
    sample(out, name, value);
  }
  for (const auto& [dotted, h] : samples.histograms) {
    const std::string name = prometheusName(dotted);
    family(out, name, "summary", "fimbeat histogram " + dotted + ".");
    fmt::format_to(std::back_inserter(out), "{}{{quantile=\"0.5\"}} {}\n{}{{quantile=\"0.99\"}} {}\n{}_sum {}\n{}_count {}\n",
                   name, h.p50, name, h.p99, name, h.sum, name, h.count);
    family(out, name + "_max", "gauge", "The largest value of fimbeat histogram " + dotted + ".");
    fmt::format_to(std::back_inserter(out), "{}_max {}\n", name, h.max);
  }
  processFamilies(out, process, startTimeSeconds);
  return out;
}

}  // namespace fim::management
