// Should fail: a malformed MEMX_BUDGET and a malformed budget tag each fail their test
// case with a message naming the bad token; the other test case still runs and passes.
#include "../catch2_include.hpp"

#include <vector>

#include "memx/catch2.hpp"

TEST_CASE("Malformed.BadUnit") {
  MEMX_BUDGET("peak=4XB");
  std::vector<int> v(10);
  CHECK(v.size() == 10u);
}

TEST_CASE("Malformed.BadTag", "[memx:speed=3]") { CHECK(true); }

TEST_CASE("Malformed.StillRuns") {
  std::vector<int> v(10);
  CHECK(v.size() == 10u);
}
