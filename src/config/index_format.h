#pragma once
// Beats' index format strings: "auditbeat-%{[agent.version]}-%{+yyyy.MM.dd}". fimbeat resolves
// the agent's name, version and type and the event's @timestamp (UTC, Joda-style date pattern),
// which is what Beats allow in a module's `index`; other fields are refused when the config loads.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"

namespace fim::config {

class IndexFormat {
 public:
  // Fails with a message naming what is not supported; the text without %{...} is taken as is.
  [[nodiscard]] static core::Result<IndexFormat> parse(std::string_view text);

  // The index for an event at `timestamp`, lower-cased as Beats do. `agent` holds "name",
  // "version" and "type".
  std::string expand(const std::map<std::string, std::string, std::less<>>& agent, core::TimePoint timestamp) const;

  bool hasDate() const;
  bool empty() const { return parts_.empty(); }

 private:
  enum class Kind { Literal, AgentField, Date };
  struct Part {
    Kind kind;
    std::string text;  // the literal, the agent field ("version"), or the date pattern
  };
  std::vector<Part> parts_;
};

// Why `text` cannot name an Elasticsearch index once expanded ("" when it can): lower case after
// expansion, none of \ / * ? " < > | space , # :, not starting with _ - +.
std::string indexNameProblem(std::string_view text);

}  // namespace fim::config
