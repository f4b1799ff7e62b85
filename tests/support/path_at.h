#pragma once
// locate(path): the open directory that holds `path`, as the watcher's readers take a path
// (tests name files by their full path; the watcher never looks a path up whole). Watcher tests only.

#include <doctest/doctest.h>

#include <string>
#include <utility>

#include "watcher/open_beneath.h"

namespace fim::testing {

inline watcher::OpenParent locate(const std::string& path) {
  auto parent = watcher::openParentUnder(path, path);  // its directory, opened as given
  REQUIRE_MESSAGE(parent.has_value(), (parent ? "" : parent.error().message()));
  return std::move(*parent);
}

}  // namespace fim::testing
