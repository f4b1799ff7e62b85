#pragma once
// Condition: a compiled `when:` (Beats' equals, contains, regexp, range, has_fields, network,
// and, or, not). Paths are split, regexes compiled and networks parsed once, at build time.

#include <memory>

#include <rapidjson/document.h>

#include "config/processors_config.h"
#include "core/result.h"

namespace fim::mapper::processors {

class Condition {
 public:
  virtual ~Condition() = default;
  // Safe to call from several threads at once.
  virtual bool check(const rapidjson::Value& document) const = 0;
};

// Fails only on what the config decoder already rejects (a bad regexp or CIDR), so that a
// config built by hand cannot slip through either.
[[nodiscard]] core::Result<std::unique_ptr<Condition>> compileCondition(const config::ConditionConfig& config);

}  // namespace fim::mapper::processors
