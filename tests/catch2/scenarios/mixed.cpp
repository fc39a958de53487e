// A deterministic mix of test cases for the golden report and for the one-process-per-test
// run (catch_discover_tests + ctest -j) whose figures must match a single-process run.
#include "../catch2_include.hpp"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "memx/catch2.hpp"

namespace {
std::vector<std::unique_ptr<char[]>> g_kept = [] {
  std::vector<std::unique_ptr<char[]>> v;
  v.reserve(64);  // the program's, before any test
  return v;
}();
}  // namespace

TEST_CASE("Mixed vector", "[mixed][memx:peak=1MiB]") {
  std::vector<int> v(1000, 3);
  CHECK(v[999] == 3);
}

TEST_CASE("Mixed map", "[mixed]") {
  std::map<int, int> m;
  for (int i = 0; i < 100; ++i) m[i] = i;
  CHECK(m.size() == 100u);
}

TEST_CASE("Mixed budgeted", "[mixed]") {
  MEMX_BUDGET("peak=64KiB, net=0, allocs=10");
  std::vector<char> v(1000, 'b');
  CHECK(v[10] == 'b');
}

TEST_CASE("Mixed keeps a block", "[mixed]") { g_kept.emplace_back(new char[64]); }

TEST_CASE("Mixed sections", "[mixed]") {
  std::vector<char> common(100);
  SECTION("first") {
    std::vector<char> v(1000);
    CHECK(v.size() == 1000u);
  }
  SECTION("second") {
    SECTION("inner") { g_kept.emplace_back(new char[32]); }
  }
}
