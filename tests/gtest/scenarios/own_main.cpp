// A test program with its own main that parses its own flags after InitGoogleTest: the
// --memx-* flags still work, and GoogleTest leaves them in argv without a warning.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <vector>

TEST(OwnMain, Allocates) {
  std::vector<int> v(1000, 1);
  EXPECT_EQ(v.size(), 1000u);
}

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int memx_flags = 0;
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], "--memx-", 7) == 0) ++memx_flags;
  }
  std::printf("own main: %d --memx-* flag(s) left in argv\n", memx_flags);
  return RUN_ALL_TESTS();
}
