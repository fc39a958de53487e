// Stack mode under the GoogleTest plugin: leaks planted at known lines (marked "SITE:"),
// through the standard library and through another shared library. CTest checks that the
// failure messages and the report name these lines (tests/sites/CMakeLists.txt finds them).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "memx/budget_macros.hpp"
#include "sites_lib.hpp"

namespace {

struct Widget {
  char payload[48];
};

std::vector<Widget*> g_widgets;
std::vector<std::shared_ptr<int>> g_shared;
std::vector<std::string> g_strings;

[[gnu::noinline]] void keep_widget() {
  g_widgets.push_back(new Widget{});  // SITE: direct
}

}  // namespace

TEST(Sites, Direct) { keep_widget(); }

TEST(Sites, MakeShared) {
  g_shared.reserve(64);
  g_shared.push_back(std::make_shared<int>(7));  // SITE: make_shared
}

TEST(Sites, String) {
  g_strings.reserve(64);
  g_strings.emplace_back(100, 'x');  // SITE: string
}

TEST(Sites, OtherLibrary) { sites_lib::keep_block(256); }

TEST(Sites, OverBudget) {
  MEMX_BUDGET("net=0");
  static std::vector<std::unique_ptr<long>> kept;
  kept.reserve(64);
  kept.push_back(std::make_unique<long>(1));  // SITE: over budget
}

// A cache filled once: clean, and its one-time site is named.
TEST(Sites, OneTimeCache) {
  static std::vector<int>* cache = new std::vector<int>(1000, 1);  // SITE: one-time
  EXPECT_EQ(cache->size(), 1000u);
}

// A queue handed to the next test, which frees it: no site left at the end of the run.
std::vector<std::unique_ptr<std::string>> g_handoff;
TEST(Sites, HandoffProducer) {
  g_handoff.reserve(8);
  g_handoff.push_back(std::make_unique<std::string>(200, 'h'));
}
TEST(Sites, HandoffConsumer) { g_handoff.clear(); }

// Over its peak budget: the peak is a temporary buffer, freed before the test ends.
[[gnu::noinline]] std::size_t parse_into_buffer() {
  std::vector<char> buffer(256 * 1024, 'p');  // SITE: peak
  return buffer.size();
}
TEST(Sites, OverPeak) {
  MEMX_BUDGET("peak=64KiB");
  std::vector<int> small(100, 1);
  EXPECT_EQ(parse_into_buffer() + small.size(), 256u * 1024 + 100);
}

TEST(Sites, Clean) {
  std::vector<int> v(1000, 2);
  EXPECT_EQ(v.size(), 1000u);
}
