// Trivial tests, 10,000 by default (BENCH_TRIVIAL_TESTS=N for another number): the per-test cost
// of the GoogleTest plugin, and of its report at 100,000 tests (bench/scale). Built twice,
// with GTest::gtest_main (plain) and with memx::gtest_main (memx); run_trivial_tests.py compares.
#include <cstdlib>

#include <gtest/gtest.h>

namespace {

int test_count() {
  const char* text = std::getenv("BENCH_TRIVIAL_TESTS");
  const int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 10000;
}

}  // namespace

class Trivial : public ::testing::TestWithParam<int> {};

TEST_P(Trivial, Passes) { EXPECT_GE(GetParam(), 0); }

INSTANTIATE_TEST_SUITE_P(Many, Trivial, ::testing::Range(0, test_count()));
