// GENERATE: Catch2 builds the generator in the first pass of the test case and keeps it
// until the last generated value has run. That storage is Catch2's: the tests that only
// generate must be clean, the two that leak one 16-byte block in one generated value (the
// first one, a later one) must be found leaking there. Built twice: with memx::catch2_main
// (--memx-repeat: whole runs) and with Catch2's own main (MEMX_REPEAT: whole runs too).
// With Catch2's own main, that main is ../catch_own_main.cpp's (compiled once for every
// scenario that runs with it); keep the lines below where they are: the expected output
// names them.
#include "../catch2_include.hpp"

#include <memory>
#include <string>
#include <tuple>
#include <vector>

namespace {
std::vector<std::unique_ptr<char[]>>* g_kept = [] {
  auto* v = new std::vector<std::unique_ptr<char[]>>();
  v->reserve(256);  // the program's, before any test
  return v;
}();
}  // namespace

TEST_CASE("Generate strings") {
  auto s = GENERATE(as<std::string>{}, "a-long-string-not-in-sso-1", "a-long-string-not-in-sso-2");
  CHECK(!s.empty());
}

TEST_CASE("Generate vectors") {
  const auto v = GENERATE(std::vector<int>(100, 1), std::vector<int>(200, 2), std::vector<int>(300, 3));
  CHECK(v.size() >= 100u);
}

TEST_CASE("Generate a table") {
  std::string word;
  std::size_t length = 0;
  std::tie(word, length) = GENERATE(table<std::string, std::size_t>({
      {"a first word long enough to allocate", 36},
      {"a second word long enough to allocate", 37},
  }));
  CHECK(word.size() == length);
}

TEST_CASE("Generate leaks on the first value") {
  const auto n = GENERATE(as<std::string>{}, "first-value-long-enough-to-allocate", "second-value-long-enough-to-allocate");
  if (n[0] == 'f') g_kept->emplace_back(new char[16]);
  CHECK(!n.empty());
}

TEST_CASE("Generate leaks on another value") {
  const int n = GENERATE(1, 2, 3);
  if (n == 2) g_kept->emplace_back(new char[16]);
  CHECK(n > 0);
}
