#pragma once
// A config value (YAML) as JSON, typed as Beats read their config: quoted text stays a string;
// plain text that spells an integer, a finite number or a boolean becomes one.

#include <rapidjson/document.h>

#include "config/node.h"

namespace fim::mapper::processors {

rapidjson::Value nodeToJson(const config::Node& node, rapidjson::Document::AllocatorType& allocator);

}  // namespace fim::mapper::processors
