// Should fail: a test whose peak heap exceeds its MEMX_BUDGET.
#include <gtest/gtest.h>

#include <vector>

#include "memx/gtest.hpp"

TEST(OverBudget, Peak) {
  MEMX_BUDGET("peak=64KiB");
  std::vector<char> buffer(1 << 20, 'x');  // 1 MiB, freed at the end
  EXPECT_EQ(buffer[100], 'x');
}

TEST(OverBudget, WithinPeak) {
  MEMX_BUDGET("peak=64KiB");
  std::vector<char> buffer(1 << 10, 'x');
  EXPECT_EQ(buffer[100], 'x');
}
