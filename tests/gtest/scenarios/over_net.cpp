// Should fail: a test that leaves live bytes behind under "net=0".
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "memx/gtest.hpp"

namespace {
std::vector<std::unique_ptr<char[]>> g_registry;
}

TEST(OverBudget, Net) {
  MEMX_BUDGET("net=0");
  g_registry.reserve(16);
  g_registry.emplace_back(new char[4000]);
}
