// memx::count_malloc under the Catch2 plugin: the same C library leak and balance as
// gtest_malloc.cpp.
#include <memx/catch2.hpp>

#include <vector>

#include "../catch2/catch2_include.hpp"
#include "c_library.h"

namespace {
std::vector<void*>* g_kept = new std::vector<void*>();  // the program's, reserved below
}

TEST_CASE("CMalloc.LeaksThroughACLibrary") {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->push_back(clib_copy_name("a name of twenty-four"));
  g_kept->push_back(clib_buffer(100));
}

TEST_CASE("CMalloc.BalancedCAllocations") {
  MEMX_BUDGET("net=0, blocks=0");
  REQUIRE(clib_balanced());
}
