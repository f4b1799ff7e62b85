#pragma once
// Health: what each part of the agent says of itself, as Elastic Agent's units do: a state and a
// message a person can act on. Stages set and clear conditions ("the disk is full", "retrying the
// output"); the monitoring endpoint, the log and Fleet read the worst of them. Thread-safe;
// owned by the application and passed by reference, like Metrics.

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fim::core {

// Elastic Agent's unit states, in order of how bad they are for the worst-of rule.
enum class HealthState { Healthy, Starting, Degraded, Failed };

const char* toString(HealthState state);  // "HEALTHY", "STARTING", "DEGRADED", "FAILED"

struct HealthReport {
  HealthState state = HealthState::Healthy;
  std::string message;  // the worst conditions' messages, "; "-separated ("" when healthy)
};

class Health {
 public:
  // The units fimbeat reports on.
  static constexpr std::string_view kWatcher = "watcher";
  static constexpr std::string_view kBaseline = "baseline";
  static constexpr std::string_view kQueue = "queue";
  static constexpr std::string_view kOutput = "output";

  // Sets (or replaces) `condition` of `unit`; HealthState::Healthy clears it.
  void set(std::string_view unit, std::string_view condition, HealthState state, std::string message);
  void clear(std::string_view unit, std::string_view condition);

  // Whether `unit` has `condition` now (e.g. the watcher's "start" while it places its watches).
  bool has(std::string_view unit, std::string_view condition) const;
  // The worst condition of `unit` (Healthy with no message when it has none).
  HealthReport unit(std::string_view unit) const;
  // The worst over every unit; the message names each unit in trouble ("queue: ...; output: ...").
  HealthReport overall() const;
  // Every unit that has a condition now, with its report, by name.
  std::vector<std::pair<std::string, HealthReport>> units() const;
  // Counts every change of state (for observers that poll, e.g. Fleet's fast check-in).
  std::uint64_t generation() const;

 private:
  struct Condition {
    HealthState state;
    std::string message;
  };
  static HealthReport worst(const std::map<std::string, Condition, std::less<>>& conditions);

  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, Condition, std::less<>>, std::less<>> units_;
  std::uint64_t generation_ = 0;
};

}  // namespace fim::core
