// A deterministic mix of tests for the golden report and for the sharded and one-process-
// per-test runs whose figures must match a single-process run.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "memx/gtest.hpp"

namespace {
std::vector<std::unique_ptr<char[]>> g_kept = [] {
  std::vector<std::unique_ptr<char[]>> v;
  v.reserve(64);  // the program's, before any test
  return v;
}();
}  // namespace

MEMX_SUITE_BUDGET(Mixed, "peak=1MiB");

TEST(Mixed, Vector) {
  std::vector<int> v(1000, 3);
  EXPECT_EQ(v[999], 3);
}

TEST(Mixed, Map) {
  std::map<int, int> m;
  for (int i = 0; i < 100; ++i) m[i] = i;
  EXPECT_EQ(m.size(), 100u);
}

TEST(Mixed, Budgeted) {
  MEMX_BUDGET("peak=64KiB, net=0, allocs=10");
  std::vector<char> v(1000, 'b');
  EXPECT_EQ(v[10], 'b');
}

TEST(Mixed, KeepsABlock) { g_kept.emplace_back(new char[64]); }

TEST(Mixed, Skipped) { GTEST_SKIP() << "skipped on purpose"; }

TEST(Other, Strings) {
  std::vector<std::string> words;
  words.reserve(10);
  for (int i = 0; i < 10; ++i) words.push_back(std::string(100, static_cast<char>('a' + i)));
  EXPECT_EQ(words.size(), 10u);
}
