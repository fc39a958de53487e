// Should fail: more allocations than the budget allows.
#include <gtest/gtest.h>

#include <memory>

#include "memx/gtest.hpp"

TEST(OverBudget, Allocs) {
  MEMX_BUDGET("allocs=100");
  for (int i = 0; i < 1000; ++i) {
    auto p = std::make_unique<int>(i);
    EXPECT_EQ(*p, i);
  }
}
