// The GoogleTest suite of the CTest helper's consumer: each test runs in its own process
// (gtest_discover_tests), repeated, with its report in the group's directory.
// HELPER_GROW=1 in the environment plants a regression in Helper.Grows (64 KiB more at its peak).
#include <cstdlib>
#include <vector>

#include <gtest/gtest.h>
#include <memx/gtest.hpp>

MEMX_SUITE_BUDGET(Helper, "net=0");

TEST(Helper, Small) {
  std::vector<int> v(100, 1);
  EXPECT_EQ(v.size(), 100u);
}

TEST(Helper, Grows) {
  MEMX_BUDGET("peak=1MiB");
  const char* grow = std::getenv("HELPER_GROW");
  std::vector<char> v(grow != nullptr && *grow == '1' ? 65536 + 1024 : 1024, 'x');
  EXPECT_EQ(v.back(), 'x');
}

TEST(Helper, Steady) {
  std::vector<std::vector<int>> v(10, std::vector<int>(10));
  EXPECT_EQ(v.size(), 10u);
}
