// A test case with two sections, one of which leaks one 16-byte block per pass, next to a
// test case without sections: each pass is measured on its own and named after its path.
#include "../catch2_include.hpp"

#include <memory>
#include <vector>

namespace {
std::vector<std::unique_ptr<char[]>>* g_kept = [] {
  auto* v = new std::vector<std::unique_ptr<char[]>>();
  v->reserve(64);  // the program's, before any test
  return v;
}();
}  // namespace

TEST_CASE("Sections", "[sections]") {
  std::vector<int> common(100, 1);  // every pass runs this
  SECTION("clean") {
    std::vector<int> v(1000, 2);
    CHECK(v.size() == 1000);
  }
  SECTION("leaks") {
    g_kept->emplace_back(new char[16]);
    CHECK(g_kept->size() > 0);
  }
  SECTION("nested") {
    SECTION("inner one") { std::vector<char> v(64); }
    SECTION("inner two") { std::vector<char> v(128); }
  }
}

TEST_CASE("No sections") {
  std::vector<int> v(10, 3);
  CHECK(v[9] == 3);
}
