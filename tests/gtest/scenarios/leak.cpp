// Should fail with --memx-fail-on-leak --gtest_repeat=5: one 16-byte block per repetition.
// The static cache filled once must pass.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {
std::vector<char*>* g_kept = new std::vector<char*>();  // the program's, reserved below
}

TEST(Leak, SixteenBytesPerRepetition) {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->push_back(new char[16]);
}

TEST(Leak, StaticCacheFilledOnce) {
  static const std::map<int, std::string> cache = [] {
    std::map<int, std::string> m;
    for (int i = 0; i < 100; ++i) m[i] = std::string(64, 'c');
    return m;
  }();
  EXPECT_EQ(cache.size(), 100u);
}
