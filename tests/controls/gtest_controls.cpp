// The controls of issue 10 under the GoogleTest plugin, one test per control; CTest picks
// them with --gtest_filter and judges exit code and output (tests/controls/CMakeLists.txt).
#include <gtest/gtest.h>

#include <memx/budget_macros.hpp>

#include "controls_code.hpp"

namespace {
// Started before main: not a test's.
const bool g_started = (controls::registry(), controls::server(), true);
}

// Leaks one block per repetition, nothing declared: fails with --memx-fail-on-leak unless
// warn-only or suppressed (test:Controls.Leaky*).
TEST(Controls, Leaky) { controls::hand_to_registry(1); }

// A budget broken, but the budget only warns.
TEST(Controls, WarnBudget) {
  MEMX_BUDGET("net=0, warn");
  controls::hand_to_registry(1);
}

// A budget broken and enforced (fails, unless --memx-warn-only).
TEST(Controls, OverNet) {
  MEMX_BUDGET("net=0");
  controls::hand_to_registry(1);
}

// Hands two blocks per repetition to the registry and says so.
TEST(Controls, ExpectedLeak) {
  MEMX_EXPECT_LEAK(2);
  controls::hand_to_registry(2);
}

// Says two, leaks three: fails.
TEST(Controls, WrongExpectedLeak) {
  MEMX_EXPECT_LEAK(2);
  controls::hand_to_registry(3);
}

// Leaks through the factory: suppressed by leak:*CreateSingleton* in stack mode.
TEST(Controls, Singleton) { ASSERT_NE(controls::CreateSingleton(), nullptr); }

// Beside a server thread that keeps 4 KiB per request: clean with threads=current.
TEST(Controls, ServerThreadCurrent) {
  MEMX_BUDGET("net=0, allocs=0, peak=0, threads=current");
  controls::server().request();
}

// The same without the thread filter (or with --memx-threads=current).
TEST(Controls, ServerThread) {
  MEMX_BUDGET("net=0, allocs=0");
  controls::server().request();
}

// Breaks every key at once, and leaks: its message must stay short.
TEST(Controls, ManyKeys) {
  MEMX_BUDGET("peak=1, net=0, blocks=0, allocs=0, rss=1, leak=0");
  std::vector<char*> big;
  for (int i = 0; i < 64; ++i) big.push_back(new char[4096 + i]);
  for (char* p : big) delete[] p;
  controls::hand_to_registry(5);
  controls::CreateSingleton();
}
