// Should fail with --memx-fail-on-leak --memx-repeat=5: one 16-byte block per repetition.
// The static cache filled once must pass. Built twice: with memx::catch2_main (the
// repetitions are whole runs) and with Catch2's own main (MEMX_REPEAT repeats the run's
// list of test cases): that main is compiled once, in ../catch_own_main.cpp, for every
// scenario that runs with it (this file only includes the header, as test files do in the
// usual Catch2 2 layout). Keep the lines below where they are: the expected output names
// them.
#include "../catch2_include.hpp"

#include <map>
#include <string>
#include <vector>

namespace {
std::vector<char*>* g_kept = new std::vector<char*>();  // the program's, reserved below
}

TEST_CASE("Leak.SixteenBytesPerRepetition") {
  if (g_kept->capacity() == 0) g_kept->reserve(64);
  g_kept->push_back(new char[16]);
}

TEST_CASE("Leak.StaticCacheFilledOnce") {
  static const std::map<int, std::string> cache = [] {
    std::map<int, std::string> m;
    for (int i = 0; i < 100; ++i) m[i] = std::string(64, 'c');
    return m;
  }();
  CHECK(cache.size() == 100u);
}
