#pragma once
// The processors that parse, convert and tag values: convert, decode_json_fields, dissect,
// extract_array, rate_limit, add_id and script, each with Beats' semantics (see docs/processors.md).

#include <memory>

#include "config/processors_config.h"
#include "core/metrics.h"
#include "core/result.h"
#include "mapper/processors/processor.h"

namespace fim::mapper::processors {

std::unique_ptr<Processor> makeConvert(const config::ConvertConfig& config);
std::unique_ptr<Processor> makeDecodeJsonFields(const config::DecodeJsonFieldsConfig& config);
// Fails on a tokenizer Beats would refuse.
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeDissect(const config::DissectConfig& config);
std::unique_ptr<Processor> makeExtractArray(const config::ExtractArrayConfig& config);
// Events it drops are counted in enricher.processors.rate_limit.dropped (when `metrics` is given).
std::unique_ptr<Processor> makeRateLimit(const config::RateLimitConfig& config, core::Metrics* metrics);
std::unique_ptr<Processor> makeAddId(const config::AddIdConfig& config);
// Starts the script's worker process and loads the script in it (register(params), test()); fails,
// naming the file and line, when the script does not load.
[[nodiscard]] core::Result<std::unique_ptr<Processor>> makeScript(const config::ScriptConfig& config, core::Metrics* metrics);

}  // namespace fim::mapper::processors
