// Stack mode under the Catch2 plugin: leaks planted at known lines (marked "SITE:"), through
// the standard library and another shared library, in a test case, a SECTION and a
// GENERATE pass. tests/sites/CMakeLists.txt checks that memx names these lines.
#include "../catch2/catch2_include.hpp"

#include <memory>
#include <string>
#include <vector>

#include "memx/budget_macros.hpp"
#include "sites_lib.hpp"

namespace {

std::vector<char*>* g_kept = new std::vector<char*>();  // the program's, reserved below
std::vector<std::string>* g_strings = new std::vector<std::string>();

[[gnu::noinline]] void keep_bytes(std::size_t n) {
  if (g_kept->capacity() == 0) g_kept->reserve(256);
  g_kept->push_back(new char[n]);  // SITE: catch2 direct
}

}  // namespace

TEST_CASE("Sites.Direct") { keep_bytes(24); }

TEST_CASE("Sites.Section") {
  SECTION("inner") {
    if (g_strings->capacity() == 0) g_strings->reserve(256);
    g_strings->emplace_back(120, 's');  // SITE: catch2 string
  }
}

TEST_CASE("Sites.OtherLibrary") { sites_lib::keep_block(512); }

TEST_CASE("Sites.OverBudget") {
  MEMX_BUDGET("blocks=0");
  static std::vector<std::unique_ptr<int>> kept;
  kept.reserve(64);
  kept.push_back(std::make_unique<int>(3));  // SITE: catch2 over budget
}

TEST_CASE("Sites.Clean") {
  std::vector<int> v(500, 1);
  CHECK(v.size() == 500u);
}
