// memx::gtest_main: GoogleTest's main for test programs that have none. The listener is
// registered by memx::gtest before main runs, so this is GoogleTest's own main unchanged.
#include <gtest/gtest.h>

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
