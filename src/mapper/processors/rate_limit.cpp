// rate_limit: drops events beyond `limit` per second/minute/hour, per distinct combination of the
// values of `fields`, as Beats' libbeat/processors/ratelimit. A dropped event is dropped on
// purpose (it never reaches an output, and the baseline still moves on): counted in
// enricher.processors.rate_limit.dropped.

#include <string>
#include <vector>

#include "mapper/processors/event_values.h"
#include "mapper/processors/token_bucket.h"
#include "mapper/processors/transform_processors.h"

namespace fim::mapper::processors {
namespace {

class RateLimit final : public Processor {
 public:
  RateLimit(const config::RateLimitConfig& config, core::Counter* dropped)
      : bucket_(config.perSecond, config.depth, config.gcNumCalls), dropped_(dropped) {
    for (const auto& f : config.fields) fields_.emplace_back(f);
  }

  Outcome run(rapidjson::Document& document) const override {
    std::string key;  // the values of the fields, in name order; a missing field counts as ""
    for (const auto& field : fields_) {
      if (const rapidjson::Value* v = findField(document, field)) key += goFormat(*v);
      key += '\0';
    }
    if (bucket_.allow(key, TokenBucket::Clock::now())) return Outcome::Keep;
    if (dropped_) dropped_->add();
    return Outcome::Drop;
  }

 private:
  mutable TokenBucket bucket_;
  std::vector<FieldPath> fields_;
  core::Counter* dropped_;
};

}  // namespace

std::unique_ptr<Processor> makeRateLimit(const config::RateLimitConfig& config, core::Metrics* metrics) {
  return std::make_unique<RateLimit>(config, metrics ? &metrics->counter("enricher.processors.rate_limit.dropped") : nullptr);
}

}  // namespace fim::mapper::processors
