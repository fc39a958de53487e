// The shared workload under the Catch2 plugin (see same_figures_gtest.cpp).
#include "catch2_include.hpp"

#include "workload.hpp"

#define MEMX_CATCH2_WORKLOAD(name, fn) \
  TEST_CASE("Workload." #name) { fn(); }
MEMX_WORKLOADS(MEMX_CATCH2_WORKLOAD)
