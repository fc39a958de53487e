// Should fail: a peak of 1 MiB under a 64 KiB budget (MEMX_BUDGET in the body); the test
// case within the same budget passes.
#include "../catch2_include.hpp"

#include <vector>

#include "memx/catch2.hpp"

TEST_CASE("OverBudget.Peak") {
  MEMX_BUDGET("peak=64KiB");
  std::vector<char> big(1 << 20, 'x');
  CHECK(big.back() == 'x');
}

TEST_CASE("OverBudget.WithinPeak") {
  MEMX_BUDGET("peak=64KiB");
  std::vector<char> small(1000, 'x');
  CHECK(small.back() == 'x');
}
