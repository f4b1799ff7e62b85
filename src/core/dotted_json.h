#pragma once
// Flat dotted names and their values written as nested JSON objects: "a.b.c"=3 gives
// {"a":{"b":{"c":3}}}. The metrics registry, /stats and the metrics log lines share it, and
// Docker and Kubernetes labels take this shape when they are not dedotted (Beats' safemapstr).

#include <cstdint>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace fim::core {

using DottedValue = std::variant<std::int64_t, double, std::string>;
using DottedEntries = std::vector<std::pair<std::string, DottedValue>>;

// A name that is also a prefix of others ("a" next to "a.b") is written under the key "value" of
// its object ({"a":{"b":2,"value":1}}); if "a.value" exists too, the leaf goes under the empty key
// "" instead, which no dotted name can use, so the JSON stays unambiguous. No entries: {}.
std::string nestDotted(const DottedEntries& entries);

}  // namespace fim::core
