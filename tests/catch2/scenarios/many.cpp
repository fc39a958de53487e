// 5,000 test cases, registered while the program starts as TEST_CASE registers its own (one
// per number): a run large enough for the plugin to make room and write its report ahead,
// as it does for GoogleTest (4,096 selected test cases or more), with one test case that
// leaks 16 bytes per repetition. A test spec selecting fewer runs without that preparation.
#include "../catch2_include.hpp"

#include <string>
#include <vector>

namespace {

constexpr int kTestCases = 5000;
constexpr int kLeaking = 4321;
std::vector<char*>* g_kept = new std::vector<char*>();  // the program's, reserved below
int g_runs = 0;

void passes() { CHECK(++g_runs > 0); }

void leaks() {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->push_back(new char[16]);
  CHECK(++g_runs > 0);
}

struct Registered {
  Registered() {
    for (int i = 0; i < kTestCases; ++i) {
      const std::string name = "Many/" + std::to_string(i);
      Catch::AutoReg(Catch::makeTestInvoker(i == kLeaking ? &leaks : &passes), CATCH_INTERNAL_LINEINFO,
                     Catch::StringRef(), Catch::NameAndTags{name, "[many]"});
    }
  }
} g_registered;

}  // namespace
