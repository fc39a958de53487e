// Should fail: 1000 allocations under "allocs=100" (a tag), while MEMX_BUDGET in the body
// adds a key the tag does not set.
#include "../catch2_include.hpp"

#include <memory>

#include "memx/catch2.hpp"

TEST_CASE("OverBudget.Allocs", "[memx:allocs=100]") {
  MEMX_BUDGET("peak=1MiB");
  for (int i = 0; i < 1000; ++i) {
    auto p = std::make_unique<long>(i);
    REQUIRE(*p == i);
  }
}
