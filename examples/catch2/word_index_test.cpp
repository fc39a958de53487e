// A word index and its Catch2 tests, with memory budgets. Try:
//   ./memx_example_catch2
//   ./memx_example_catch2 --memx-repeat=5 --memx-fail-on-leak --memx-report=report.json
//   ./memx_example_catch2 -r junit -o junit.xml      (memx's failures are Catch2 failures)
// Each pass through a TEST_CASE is one memx test: "WordIndex / counts words" and
// "WordIndex / finds nothing in an empty text" are measured separately.
#if defined(MEMX_CATCH2_V3)  // memx::catch2 was built with Catch2 3 (its usage requirement)
#include <catch2/catch_test_macros.hpp>
#else
#include <catch2/catch.hpp>
#endif

#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "memx/catch2.hpp"

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

// A budget as a tag: every pass of the test case gets it.
TEST_CASE("WordIndex", "[index][memx:net=0, peak=1MiB]") {
  SECTION("counts words") {
    MEMX_BUDGET("allocs=5000");  // this section only, on top of the tag's keys
    const WordIndex index(repeated_text(2000));
    CHECK(index.distinct() == 100u);
    CHECK(index.count("word7") == 20u);
  }
  SECTION("finds nothing in an empty text") {
    const WordIndex index("");
    CHECK(index.count("word7") == 0u);
  }
}

TEST_CASE("A big index stays under 4 MiB", "[index]") {
  MEMX_BUDGET("peak=4MiB, net=0");
  const WordIndex index(repeated_text(20000));
  CHECK(index.distinct() == 100u);
}
