// Death tests next to a report: the children (forked, or re-executed with
// --gtest_death_test_style=threadsafe) must never write over the parent's report.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

TEST(Death, Aborts) {
  EXPECT_DEATH(
      {
        std::vector<std::string> v(10, std::string(100, 'd'));
        std::abort();
      },
      "");
}

TEST(Death, ExitsCleanly) {
  // The child runs atexit handlers and static destructors: memx's included.
  EXPECT_EXIT(
      {
        std::vector<int> v(1000, 1);
        std::exit(0);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(Death, AfterTheChildren) {
  std::vector<int> v(10, 1);
  EXPECT_EQ(v.size(), 10u);
}
