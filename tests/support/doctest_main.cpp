// The test binaries' main: doctest's, plus the exit code ctest reads as "skipped" (77) when every
// test case that ran called testing::markSkipped() (support/skip.h) and none failed, and a failure
// when no test case ran at all (a filter that matches nothing must never count as a pass).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <atomic>
#include <cstdio>

#include "support/skip.h"

namespace {

std::atomic<int> casesRun{0};
std::atomic<int> casesSkipped{0};
std::atomic<bool> skippedThisCase{false};

// Counts the test cases that ran and those that skipped.
class SkipCounter final : public doctest::IReporter {
 public:
  explicit SkipCounter(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats&) override {}
  void test_case_start(const doctest::TestCaseData&) override {
    ++casesRun;
    skippedThisCase = false;
  }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {
    if (skippedThisCase.exchange(false)) ++casesSkipped;
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

DOCTEST_REGISTER_LISTENER("skip-counter", 1, SkipCounter);

namespace fim::testing {

void markSkipped() { skippedThisCase = true; }

}  // namespace fim::testing

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int result = context.run();
  if (context.shouldExit()) return result;
  if (result != 0) return result;
  if (casesRun == 0) {
    std::fprintf(stderr, "no test case ran: the filter matched none\n");
    return 1;
  }
  return casesSkipped == casesRun ? 77 : 0;
}
