// Should fail: more allocations than the budget allows.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "memx/gtest.hpp"

TEST(OverBudget, Allocs) {
  MEMX_BUDGET("allocs=100");
  for (int i = 0; i < 1000; ++i) {
    auto p = std::make_unique<int>(i);
    EXPECT_EQ(*p, i);
  }
}

// A skipped test is measured but not judged against its budget: GoogleTest builds the skip
// message before memx can tell it from the test's own work, and the test did not finish.
TEST(OverBudget, SkippedIsNotJudged) {
  MEMX_BUDGET("allocs=0, peak=0");
  std::vector<int> v(1000, 1);
  if (v[0] == 1) GTEST_SKIP() << "skipped after allocating";
}
