// The controls of issue 10 under the Catch2 plugin: the same tests as gtest_controls.cpp,
// picked by name on the command line.
#include "../catch2/catch2_include.hpp"

#include <memx/budget_macros.hpp>

#include "controls_code.hpp"

namespace {
// Started before main: not a test's.
const bool g_started = (controls::registry(), controls::server(), true);
}

TEST_CASE("Controls.Leaky") { controls::hand_to_registry(1); }

TEST_CASE("Controls.WarnBudget") {
  MEMX_BUDGET("net=0, warn");
  controls::hand_to_registry(1);
}

TEST_CASE("Controls.OverNet") {
  MEMX_BUDGET("net=0");
  controls::hand_to_registry(1);
}

TEST_CASE("Controls.ExpectedLeak") {
  MEMX_EXPECT_LEAK(2);
  controls::hand_to_registry(2);
}

TEST_CASE("Controls.WrongExpectedLeak") {
  MEMX_EXPECT_LEAK(2);
  controls::hand_to_registry(3);
}

TEST_CASE("Controls.Singleton") { CHECK(controls::CreateSingleton() != nullptr); }

TEST_CASE("Controls.ServerThreadCurrent") {
  MEMX_BUDGET("net=0, allocs=0, peak=0, threads=current");
  controls::server().request();
}

TEST_CASE("Controls.ServerThread") {
  MEMX_BUDGET("net=0, allocs=0");
  controls::server().request();
}

TEST_CASE("Controls.ManyKeys") {
  MEMX_BUDGET("peak=1, net=0, blocks=0, allocs=0, rss=1, leak=0");
  std::vector<char*> big;
  for (int i = 0; i < 64; ++i) big.push_back(new char[4096 + i]);
  for (char* p : big) delete[] p;
  controls::hand_to_registry(5);
  controls::CreateSingleton();
}
