#include <doctest/doctest.h>

#include "baseline/seen_paths.h"

using fim::baseline::SeenPaths;

TEST_CASE("seen paths: observed keys report repeats, unchanged batches count as seen in any order") {
  SeenPaths seen;
  CHECK(seen.insert(7));
  CHECK_FALSE(seen.insert(7));  // observed before
  seen.addUnchanged({40, 10, 30});
  CHECK(seen.insert(10));  // an unchanged report wrote nothing: observing it is the first time
  CHECK(seen.contains(7));
  CHECK(seen.contains(30));
  CHECK(seen.contains(40));
  CHECK_FALSE(seen.contains(20));
  seen.addUnchanged({25, 5});  // after a lookup sorted the first batch
  seen.addUnchanged({});
  for (std::uint64_t key : {5u, 10u, 25u, 30u, 40u}) CHECK(seen.contains(key));
  CHECK_FALSE(seen.contains(26));
  seen.clear();
  CHECK_FALSE(seen.contains(7));
  CHECK_FALSE(seen.contains(40));
  CHECK(seen.insert(7));
}
