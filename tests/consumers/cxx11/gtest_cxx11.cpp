// A GoogleTest suite compiled as C++11 with memx's budget macros.
#include <gtest/gtest.h>

#include <memx/gtest.hpp>
#include <string>
#include <vector>

#if __cplusplus != 201103L
#error "linking memx::gtest changed the suite's C++ standard (expected C++11)"
#endif

MEMX_SUITE_BUDGET(Cxx11Suite, "peak=1KiB");

TEST(Cxx11Suite, OverSuiteBudget) {
  std::vector<char> v(64 * 1024, 'x');
  EXPECT_EQ(v.size(), 64u * 1024u);
}

TEST(Cxx11Suite, OwnBudgetWins) {
  MEMX_BUDGET("peak=1MiB");
  std::vector<char> v(64 * 1024, 'x');
  EXPECT_EQ(v.size(), 64u * 1024u);
}

TEST(Cxx11, BudgetFromString) {
  const std::string budget = "peak=64KiB, net=0";
  MEMX_BUDGET(budget);
  std::vector<char> v(16 * 1024, 'x');
  EXPECT_EQ(v.size(), 16u * 1024u);
}

// The controls' macros compile as C++11 too (a single run judges no expected leak).
TEST(Cxx11, ControlsCompile) {
  MEMX_EXPECT_LEAK(0);
  MEMX_BUDGET("threads=current, warn");
}

// An ignore scope (memx/ignore.hpp, included by memx/gtest.hpp) in C++11: the singleton made
// inside it breaks no "net=0".
std::vector<int>* g_singleton = nullptr;
TEST(Cxx11, IgnoredSingleton) {
  MEMX_BUDGET("net=0");
  MEMX_IGNORE(if (g_singleton == nullptr) g_singleton = new std::vector<int>(1000, 1));
  EXPECT_EQ(g_singleton->size(), 1000u);
}
