// memx::count_malloc under the GoogleTest plugin: a test leaking through a C library is
// found (--memx-fail-on-leak fails it), one that frees every C block has net 0, and stack
// mode names the C library's lines (tests/malloc/CMakeLists.txt).
#include <gtest/gtest.h>

#include <memx/gtest.hpp>

#include <vector>

#include "c_library.h"

namespace {
std::vector<void*>* g_kept = new std::vector<void*>();  // the program's, reserved below
}

TEST(CMalloc, LeaksThroughACLibrary) {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->push_back(clib_copy_name("a name of twenty-four"));  // 22 B with its NUL
  g_kept->push_back(clib_buffer(100));
}

TEST(CMalloc, BalancedCAllocations) {
  MEMX_BUDGET("net=0, blocks=0");
  ASSERT_TRUE(clib_balanced());
}
