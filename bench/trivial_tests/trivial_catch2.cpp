// Trivial Catch2 test cases, 10,000 by default (BENCH_TRIVIAL_TESTS=N for another number): the
// per-test cost of the Catch2 plugin, and of its report at 100,000 tests (bench/scale.py).
// Built twice, with Catch2's own main (plain) and with memx::catch2_main (memx). The test
// cases are registered while the program starts, as TEST_CASE does, one per number.
#include <cstdlib>
#include <string>

#include <catch2/catch.hpp>

namespace {

int test_count() {
  const char* text = std::getenv("BENCH_TRIVIAL_TESTS");
  const int n = text != nullptr ? std::atoi(text) : 0;
  return n > 0 ? n : 10000;
}

int g_runs = 0;

void passes() { CHECK(++g_runs > 0); }

struct Registered {
  Registered() {
    const int n = test_count();
    for (int i = 0; i < n; ++i) {
      const std::string name = "Many/Trivial.Passes/" + std::to_string(i);
      Catch::AutoReg(Catch::makeTestInvoker(&passes), CATCH_INTERNAL_LINEINFO, Catch::StringRef(),
                     Catch::NameAndTags{name, "[trivial]"});
    }
  }
} g_registered;

}  // namespace
