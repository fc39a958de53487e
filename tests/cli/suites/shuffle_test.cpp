// A suite whose tests share a cache filled on first use (a one-time 64 KiB, as a library's
// lazy initialisation has it): the warm-up run of whichever test runs first pays for it,
// so the figures of the first run move between tests when the order changes
// (--gtest_shuffle). PLANT_REGRESSION=1 in the environment plants a regression in
// Cache.Third: 128 KiB more peak in every run.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "memx/gtest.hpp"

namespace {

const std::vector<std::string>& table() {
  static const std::vector<std::string> entries = [] {
    std::vector<std::string> v;
    for (int i = 0; i < 512; ++i) v.push_back(std::string(100, static_cast<char>('a' + i % 26)));
    return v;
  }();
  return entries;
}

// A test's own work: `bytes` allocated and freed, looked up in the shared table.
void work(std::size_t bytes, int key) {
  std::unique_ptr<char[]> block(new char[bytes]);
  std::memset(block.get(), 0, bytes);
  block[0] = table()[static_cast<std::size_t>(key)][0];
  EXPECT_EQ(block[0], static_cast<char>('a' + key % 26));
}

}  // namespace

TEST(Cache, First) { work(1000, 1); }
TEST(Cache, Second) { work(2000, 2); }
TEST(Cache, Third) {
  work(std::getenv("PLANT_REGRESSION") != nullptr ? 3000 + 128 * 1024 : 3000, 3);
}
TEST(Cache, Fourth) { work(4000, 4); }
TEST(Cache, Fifth) { work(5000, 5); }
TEST(Cache, Sixth) { work(6000, 6); }
