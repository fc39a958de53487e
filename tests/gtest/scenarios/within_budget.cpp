// Passes on its own; made to fail by a global budget (--memx-budget / MEMX_BUDGET), and
// used for the summary, the flag handling and the XML/JSON output tests.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "memx/gtest.hpp"

TEST(Within, SmallVector) {
  std::vector<int> v(100, 1);
  EXPECT_EQ(v.size(), 100u);
}

TEST(Within, SomeStrings) {
  std::vector<std::string> words;
  for (int i = 0; i < 20; ++i) words.push_back(std::string(50, 'w'));
  EXPECT_EQ(words.size(), 20u);
}
