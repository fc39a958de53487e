// Linking memx must not change what a test sees of its thread: the floating-point exception
// flags and traps that memx's own arithmetic between tests could raise or trip. Built twice,
// with memx and without it (plain GoogleTest): both must pass, with any repeat count.
#include <gtest/gtest.h>

#include <fenv.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#if __has_include(<memx/gtest.hpp>) && defined(MEMX_SCENARIO_WITH_MEMX)
#include <memx/gtest.hpp>
#else
#define MEMX_BUDGET(text)
#endif

namespace {

constexpr int kTraps = FE_DIVBYZERO | FE_INVALID | FE_OVERFLOW | FE_INEXACT;

// Work that gives memx figures to compute (durations, peaks, a budget to compare against).
void allocate_and_free() {
  std::map<std::string, std::vector<int>> m;
  for (int i = 0; i < 200; ++i) m["key number " + std::to_string(i)].assign(100, i);
}

TEST(ThreadState, A_AllocatesAndLeavesNoFlagRaised) {
  MEMX_BUDGET("peak=10MiB, net=0");
  allocate_and_free();
  feclearexcept(FE_ALL_EXCEPT);  // whatever the next test sees was raised between tests
}

TEST(ThreadState, B_SeesNoFlagRaisedBetweenTests) {
  EXPECT_EQ(fetestexcept(FE_ALL_EXCEPT), 0) << "raised: inexact " << fetestexcept(FE_INEXACT)
                                            << ", invalid " << fetestexcept(FE_INVALID)
                                            << ", divbyzero " << fetestexcept(FE_DIVBYZERO);
  allocate_and_free();
}

TEST(ThreadState, C_RaisesAFlagItselfAndEnablesTraps) {
  allocate_and_free();
  volatile double third = 1.0;
  third = third / 3.0;  // FE_INEXACT: the test's own flag, which must still be raised later
  (void)third;
  feclearexcept(FE_ALL_EXCEPT & ~FE_INEXACT);
  feenableexcept(kTraps);  // a numerics suite trapping every exception from here on
}

TEST(ThreadState, D_KeepsTheTestsTrapsAndFlags) {
  // Reaching this line at all means nothing between the tests tripped a trap (SIGFPE).
  const int traps = fegetexcept();
  fedisableexcept(kTraps);
  EXPECT_EQ(traps, kTraps) << "the traps the previous test enabled are still enabled";
  EXPECT_NE(fetestexcept(FE_INEXACT), 0) << "the previous test's own flag is still raised";
  feclearexcept(FE_ALL_EXCEPT);
}

}  // namespace
