// Allocation numbers under the Catch2 plugin: a test case whose name has spaces and a quote.
#include "../catch2/catch2_include.hpp"

#include <memory>
#include <string>
#include <vector>

namespace {
std::vector<std::unique_ptr<char[]>>* g_kept = new std::vector<std::unique_ptr<char[]>>();

[[gnu::noinline]] void keep(std::size_t n) {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->emplace_back(new char[n]);  // NUMBERED: catch2 leak
}
}  // namespace

TEST_CASE("numbers: it's one block") {
  std::string scratch(100, 's');
  CHECK(scratch.size() == 100u);
  keep(24);
}

TEST_CASE("numbers: clean") {
  std::vector<int> v(100, 1);
  CHECK(v.size() == 100u);
}
