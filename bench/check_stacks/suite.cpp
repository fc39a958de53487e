// Benchmark suite of `memx check --stacks` (issue 9's target: at most 1.3 times a plain
// `memx check` when about 5% of the tests leak). 100 tests that each do some allocation
// work (maps of strings, vectors, a parse-like loop); 5 of them (every 20th) leak one block
// per repetition. Linked with memx::gtest_main; run by bench/check_stacks.py.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

std::vector<std::unique_ptr<std::string>>* g_kept = new std::vector<std::unique_ptr<std::string>>;

/// CHECK_SCALE (default 1): how much work each test does (bench/check_stacks.py --scale).
int scale() {
  const char* s = std::getenv("CHECK_SCALE");
  const int v = s != nullptr ? std::atoi(s) : 1;
  return v > 0 ? v : 1;
}

std::size_t churn(int seed) {
  std::map<int, std::string> index;
  std::vector<std::vector<int>> rows;
  std::size_t total = 0;
  const int n = 3000 * scale();
  for (int i = 0; i < n; ++i) {
    index.emplace(i * 7 + seed, std::string(24 + (i % 40), static_cast<char>('a' + i % 26)));
    if (i % 10 == 0) rows.emplace_back(static_cast<std::size_t>(16 + i % 64), i);
  }
  for (const auto& [k, v] : index) total += v.size() + static_cast<std::size_t>(k % 3);
  for (const auto& r : rows) total += r.size();
  return total;
}

class Work : public ::testing::TestWithParam<int> {};

TEST_P(Work, Churns) {
  const int n = GetParam();
  EXPECT_GT(churn(n), 0u);
  if (n % 20 == 0) {  // the culprits: 5 of 100
    if (g_kept->capacity() == 0) g_kept->reserve(4096);
    g_kept->push_back(std::make_unique<std::string>(100, 'k'));
  }
}

INSTANTIATE_TEST_SUITE_P(Suite, Work, ::testing::Range(0, 100));

}  // namespace
