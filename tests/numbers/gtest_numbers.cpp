// Allocation numbers under the GoogleTest plugin (counting mode): the leak message names the
// allocation left live, and MEMX_BREAK_ON_ALLOC stops at it (tests/numbers/CMakeLists.txt).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace {
std::vector<std::unique_ptr<char[]>>* g_kept = new std::vector<std::unique_ptr<char[]>>();

[[gnu::noinline]] void keep(std::size_t n) {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->emplace_back(new char[n]);  // NUMBERED: the leak
}
}  // namespace

TEST(Numbers, LeaksOneBlock) {
  std::string scratch(100, 's');  // allocated and freed before the leak
  EXPECT_EQ(scratch.size(), 100u);
  keep(24);
}

TEST(Numbers, Clean) {
  std::vector<int> v(100, 1);
  EXPECT_EQ(v.size(), 100u);
}
