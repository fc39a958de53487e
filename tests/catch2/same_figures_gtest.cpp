// The shared workload under the GoogleTest plugin (see same_figures_catch2.cpp).
#include <gtest/gtest.h>

#include "workload.hpp"

#define MEMX_GTEST_WORKLOAD(name, fn) \
  TEST(Workload, name) { fn(); }
MEMX_WORKLOADS(MEMX_GTEST_WORKLOAD)
