// Tests of a project that builds GoogleTest from source: memx measures them all the same.
#include <gtest/gtest.h>

#include <memx/gtest.hpp>
#include <vector>

#ifndef MEMX_CONSUMER_GTEST_FROM_SOURCE
#error "compiled against a GoogleTest other than the one this project builds"
#endif
#if defined(MEMX_CONSUMER_NO_RTTI) && (defined(__GXX_RTTI) || GTEST_HAS_RTTI)
#error "the no-RTTI consumer is compiled with RTTI"
#endif

TEST(FromSource, WithinBudget) {
  MEMX_BUDGET("peak=1MiB, net=0");
  std::vector<int> v(1000, 1);
  EXPECT_EQ(v.size(), 1000u);
}

TEST(FromSource, OverBudget) {
  MEMX_BUDGET("peak=1KiB");
  std::vector<char> v(64 * 1024, 'x');
  EXPECT_EQ(v.size(), 64u * 1024u);
}
