#include <doctest/doctest.h>

#include <chrono>

#include "output/elasticsearch/http_client.h"

using namespace fim::output::es;
using std::chrono::milliseconds;

namespace {

HttpResponse withRetryAfter(const char* value) {
  HttpResponse r;
  r.status = 503;
  r.headers["retry-after"] = value;
  return r;
}

// Sun, 06 Nov 1994 08:49:37 GMT: the example date of RFC 9110 §5.6.7.
const auto kExample = std::chrono::system_clock::from_time_t(784111777);

}  // namespace

TEST_CASE("Retry-After: delay-seconds, the three HTTP-date forms, past dates, absent and unreadable values") {
  CHECK(retryAfter(withRetryAfter("120"), kExample) == milliseconds(120'000));
  CHECK(retryAfter(withRetryAfter("0"), kExample) == milliseconds(0));
  CHECK(retryAfter(withRetryAfter("99999999999999999999"), kExample).value() >= std::chrono::hours(24 * 365));
  const auto before = kExample - std::chrono::milliseconds(2500);
  CHECK(retryAfter(withRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"), before) == milliseconds(2500));   // IMF-fixdate
  CHECK(retryAfter(withRetryAfter("Sunday, 06-Nov-94 08:49:37 GMT"), before) == milliseconds(2500));  // RFC 850
  CHECK(retryAfter(withRetryAfter("Sun Nov  6 08:49:37 1994"), before) == milliseconds(2500));        // asctime
  CHECK(retryAfter(withRetryAfter("Sun, 06 Nov 1994 08:49:37 GMT"), kExample + std::chrono::hours(1)) ==
        milliseconds(0));
  CHECK_FALSE(retryAfter(withRetryAfter("soon"), kExample).has_value());
  CHECK_FALSE(retryAfter(withRetryAfter(""), kExample).has_value());
  CHECK_FALSE(retryAfter(HttpResponse{}, kExample).has_value());
}
