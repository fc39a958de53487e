// Should fail: a test case that keeps 4000 bytes under "net=0", declared with a tag.
#include "../catch2_include.hpp"

#include <memory>
#include <vector>

namespace {
std::vector<std::unique_ptr<char[]>> g_kept = [] {
  std::vector<std::unique_ptr<char[]>> v;
  v.reserve(16);  // the program's, before any test
  return v;
}();
}  // namespace

TEST_CASE("OverBudget.Net", "[memx:net=0]") { g_kept.emplace_back(new char[4000]); }
