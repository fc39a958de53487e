// 10,000 trivial tests: the per-test cost of the GoogleTest plugin. Built twice, with
// GTest::gtest_main (plain) and with memx::gtest_main (memx); run_trivial_tests.py compares.
#include <gtest/gtest.h>

class Trivial : public ::testing::TestWithParam<int> {};

TEST_P(Trivial, Passes) { EXPECT_GE(GetParam(), 0); }

INSTANTIATE_TEST_SUITE_P(Many, Trivial, ::testing::Range(0, 10000));
