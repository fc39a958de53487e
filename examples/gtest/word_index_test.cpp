// A word index and its tests, with memory budgets. Try:
//   ./memx_example_gtest
//   ./memx_example_gtest --gtest_repeat=5 --memx-fail-on-leak --memx-report=report.json
//   ./memx_example_gtest --gtest_output=xml:out.xml   (memx_* properties per test)
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "memx/gtest.hpp"

namespace {

/// Maps each word of a text to the positions where it occurs.
class WordIndex {
 public:
  explicit WordIndex(const std::string& text) {
    std::istringstream in(text);
    std::string word;
    for (std::size_t pos = 0; in >> word; ++pos) index_[word].push_back(pos);
  }
  std::size_t count(const std::string& word) const {
    auto it = index_.find(word);
    return it == index_.end() ? 0 : it->second.size();
  }
  std::size_t distinct() const { return index_.size(); }

 private:
  std::map<std::string, std::vector<std::size_t>> index_;
};

std::string repeated_text(int words) {
  std::string text;
  for (int i = 0; i < words; ++i) text += "word" + std::to_string(i % 100) + " ";
  return text;
}

}  // namespace

// Every WordIndexTest may use at most 1 MiB above its start and must free everything.
MEMX_SUITE_BUDGET(WordIndexTest, "peak=1MiB, net=0");

TEST(WordIndexTest, CountsWords) {
  const WordIndex index("the cat and the hat");
  EXPECT_EQ(index.count("the"), 2u);
  EXPECT_EQ(index.count("dog"), 0u);
}

TEST(WordIndexTest, LargeTextStaysWithinItsBudget) {
  // Tighter than the suite's default on allocations; peak and net come from the suite.
  MEMX_BUDGET("allocs=50000");
  const WordIndex index(repeated_text(10000));
  EXPECT_EQ(index.distinct(), 100u);
}

TEST(WordIndexTest, CacheFilledOnceIsNotALeak) {
  // A function-local static filled on first use: it grows the heap in the first
  // repetition only, which memx's leak detection treats as warm-up. Its first run leaves
  // the dictionary behind, so this test allows some net growth.
  MEMX_BUDGET("net=256KiB");
  static const WordIndex& dictionary = *new WordIndex(repeated_text(500));
  EXPECT_EQ(dictionary.count("word7"), 5u);
}
