#include "core/health.h"

#include <algorithm>

namespace fim::core {

const char* toString(HealthState state) {
  switch (state) {
    case HealthState::Healthy: return "HEALTHY";
    case HealthState::Starting: return "STARTING";
    case HealthState::Degraded: return "DEGRADED";
    case HealthState::Failed: return "FAILED";
  }
  return "FAILED";
}

void Health::set(std::string_view unit, std::string_view condition, HealthState state, std::string message) {
  if (state == HealthState::Healthy) return clear(unit, condition);
  std::lock_guard lock(mutex_);
  auto& conditions = units_[std::string(unit)];
  auto it = conditions.find(condition);
  if (it != conditions.end() && it->second.state == state && it->second.message == message) return;
  conditions[std::string(condition)] = Condition{state, std::move(message)};
  ++generation_;
}

void Health::clear(std::string_view unit, std::string_view condition) {
  std::lock_guard lock(mutex_);
  auto u = units_.find(unit);
  if (u == units_.end()) return;
  auto c = u->second.find(condition);
  if (c == u->second.end()) return;
  u->second.erase(c);
  if (u->second.empty()) units_.erase(u);
  ++generation_;
}

HealthReport Health::worst(const std::map<std::string, Condition, std::less<>>& conditions) {
  HealthReport report;
  for (const auto& [name, c] : conditions) report.state = std::max(report.state, c.state);
  for (const auto& [name, c] : conditions) {
    if (c.state != report.state) continue;
    if (!report.message.empty()) report.message += "; ";
    report.message += c.message;
  }
  return report;
}

bool Health::has(std::string_view unit, std::string_view condition) const {
  std::lock_guard lock(mutex_);
  auto u = units_.find(unit);
  return u != units_.end() && u->second.find(condition) != u->second.end();
}

HealthReport Health::unit(std::string_view name) const {
  std::lock_guard lock(mutex_);
  auto u = units_.find(name);
  return u == units_.end() ? HealthReport{} : worst(u->second);
}

HealthReport Health::overall() const {
  std::lock_guard lock(mutex_);
  HealthReport report;
  std::vector<std::pair<std::string, HealthReport>> reports;
  for (const auto& [name, conditions] : units_) {
    reports.emplace_back(name, worst(conditions));
    report.state = std::max(report.state, reports.back().second.state);
  }
  for (const auto& [name, r] : reports) {
    if (r.state != report.state || r.state == HealthState::Healthy) continue;
    if (!report.message.empty()) report.message += "; ";
    report.message += name + ": " + r.message;
  }
  return report;
}

std::vector<std::pair<std::string, HealthReport>> Health::units() const {
  std::lock_guard lock(mutex_);
  std::vector<std::pair<std::string, HealthReport>> out;
  for (const auto& [name, conditions] : units_) out.emplace_back(name, worst(conditions));
  return out;
}

std::uint64_t Health::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

}  // namespace fim::core
