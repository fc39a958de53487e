// memx: the Catch2 plugin. Linking memx::catch2 into a Catch2 test executable (the one
// with CATCH_CONFIG_MAIN, or your own main) registers a listener that measures every pass
// through a TEST_CASE (one per leaf SECTION path, named "case / section / subsection"),
// applies budgets, judges leaks and writes the report. memx::catch2_main is a main with
// memx's flags added to Catch2's command line. Include this header only for MEMX_BUDGET
// and for the functions a custom main uses.
//
// Flags (memx::catch2_main, or your main through memx::catch2::run):
//   --memx-report=PATH  --memx-budget=TEXT  --memx-fail-on-leak  --memx-repeat=N
// Environment (always, also with CATCH_CONFIG_MAIN): MEMX_REPORT, MEMX_BUDGET,
// MEMX_FAIL_ON_LEAK, MEMX_REPEAT, MEMX_QUIET, MEMX_COLOR.
// Budgets: MEMX_BUDGET("peak=4MiB") in a TEST_CASE or SECTION body, or a tag on the test
// case: TEST_CASE("parse", "[memx:peak=4MiB, net=0]").
//
// This header compiles as C++11 (linking memx::catch2 leaves the suite's C++ standard alone).
// Compiled as C++17 or later it also includes memx/session.hpp, the Session API.
#pragma once

#if defined(MEMX_DISABLED)
// memx::annotations (or -DMEMX_DISABLED): a build of the same tests without memx, where
// MEMX_BUDGET compiles to nothing (a custom main's memx::catch2::run is not there).
#include "memx/budget_macros.hpp"
#else

#include <functional>
#include <string>
#include <vector>

#include "memx/budget_macros.hpp"
#include "memx/ignore.hpp"
#if __cplusplus >= 201703L
#include "memx/session.hpp"
#endif

namespace memx {
class Session;
namespace catch2 {

/// The session of the running test program, or nullptr before the first test run.
Session* session() noexcept;

/// For a custom main: runs the tests `run_once` runs (Catch::Session::run) as many times
/// as --memx-repeat / MEMX_REPEAT ask, the first being the warm-up of the leak verdicts.
/// `flags` are memx's flags as parsed by the main ("--memx-report=PATH", ...);
/// `repetitions` is --memx-repeat (0: MEMX_REPEAT, else 1). `run_once(k, last)` runs
/// repetition k. Returns the highest exit code of the runs, 2 (kSettingsErrorExit) when memx's settings are bad.
int run(const std::vector<std::string>& flags, int repetitions,
        const std::function<int(int index, bool last)>& run_once);

}  // namespace catch2
}  // namespace memx
#endif  // MEMX_DISABLED
