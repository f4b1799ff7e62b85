#pragma once
// Where an event goes when the config names an index with Beats' format strings: the module's
// `index`, else output.elasticsearch.index when it holds %{...}. Empty: the output's own target.

#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "config/index_format.h"
#include "events/file_event.h"

namespace fim::mapper {

class IndexSelector {
 public:
  explicit IndexSelector(const config::Config& config);

  // "" when the event goes to the output's configured target (the data stream or a fixed index).
  std::string select(const events::EnrichedEvent& event) const;

 private:
  std::vector<std::optional<config::IndexFormat>> modules_;  // by module index
  std::optional<config::IndexFormat> output_;                // only when it has placeholders
};

}  // namespace fim::mapper
