#pragma once
// libcurl is loaded on first use (curl_loader.cpp): an agent that never makes an HTTP request
// never maps it or the ~25 libraries it needs.

#include "core/result.h"

namespace fim::core {

// Loads libcurl now (once); the error names the library and dlerror()'s reason. The curl_*
// functions load it themselves: this lets a stage that needs HTTP fail at start-up instead.
[[nodiscard]] Status loadCurl();

}  // namespace fim::core
