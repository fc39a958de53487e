// Should fail: malformed budgets fail their tests, naming the bad token; others still run.
#include <gtest/gtest.h>

#include "memx/gtest.hpp"

MEMX_SUITE_BUDGET(BadSuite, "net=0, speed=fast");

TEST(Malformed, BadUnit) {
  MEMX_BUDGET("peak=4XB");
  SUCCEED();
}

TEST(BadSuite, Anything) { SUCCEED(); }

TEST(Malformed, StillRuns) {
  MEMX_BUDGET("peak=4MiB");
  SUCCEED();
}
