#pragma once
// testing::skip(): a test case that cannot run here (no privilege, no SELinux, no ACL support)
// says why and returns; ctest then reports it as skipped, never as passed (doctest_main.cpp
// exits 77 when every test case it ran skipped, and CMake registers each test case on its own
// with SKIP_RETURN_CODE 77).

#include <string>

#include <doctest/doctest.h>

namespace fim::testing {

// Records that the running test case skipped; call it, then return from the test case.
void markSkipped();

}  // namespace fim::testing

#define FIM_SKIP(reason)                       \
  do {                                         \
    MESSAGE("skipped: " << reason);            \
    ::fim::testing::markSkipped();             \
    return;                                    \
  } while (false)
