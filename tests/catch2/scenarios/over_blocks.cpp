// Should fail: three blocks kept under "blocks=1", the budget given to a SECTION.
#include "../catch2_include.hpp"

#include <memory>
#include <vector>

#include "memx/catch2.hpp"

namespace {
std::vector<std::unique_ptr<int>> g_kept = [] {
  std::vector<std::unique_ptr<int>> v;
  v.reserve(16);  // the program's, before any test
  return v;
}();
}  // namespace

TEST_CASE("OverBudget.Blocks") {
  SECTION("keeps three") {
    MEMX_BUDGET("blocks=1");
    for (int i = 0; i < 3; ++i) g_kept.emplace_back(new int(i));
  }
  SECTION("keeps none") {
    MEMX_BUDGET("blocks=1");
    auto p = std::make_unique<int>(1);
    CHECK(*p == 1);
  }
}
