// One source, two test binaries (MEMX_SUITE_VARIANT 1 and 2, built as a/print_test and
// b/print_test): the same test name in two binaries, as a suite of many binaries has it.
// PLANT_REGRESSION=1 in the environment plants a regression in variant 2's test only.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "memx/gtest.hpp"

TEST(Print, Ostream) {
  std::size_t bytes = 1000 * MEMX_SUITE_VARIANT;
  if (MEMX_SUITE_VARIANT == 2 && std::getenv("PLANT_REGRESSION") != nullptr) bytes += 256 * 1024;
  std::unique_ptr<char[]> block(new char[bytes]);
  std::memset(block.get(), 'p', bytes);
  EXPECT_EQ(block[bytes - 1], 'p');
}

TEST(Print, Variant) {
  std::unique_ptr<int> v(new int(MEMX_SUITE_VARIANT));
  EXPECT_EQ(*v, MEMX_SUITE_VARIANT);
}
