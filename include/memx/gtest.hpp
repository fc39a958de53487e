// memx: the GoogleTest plugin. Linking memx::gtest (or memx::gtest_main) into a test
// executable is the whole set-up; include this header only for MEMX_BUDGET and
// MEMX_SUITE_BUDGET.
//
// Flags (also read when the program has its own main): --memx-report=PATH,
// --memx-budget=TEXT, --memx-fail-on-leak; environment: MEMX_REPORT, MEMX_BUDGET,
// MEMX_FAIL_ON_LEAK, MEMX_QUIET, MEMX_COLOR.
//
// This header compiles as C++11 (linking memx::gtest leaves the suite's C++ standard alone).
// Compiled as C++17 or later it also includes memx/session.hpp, the Session API.
#pragma once

#include "memx/budget_macros.hpp"
#include "memx/ignore.hpp"
#if defined(MEMX_DISABLED)
// memx::annotations (or -DMEMX_DISABLED): a build of the same tests without memx; the suite
// budget declares nothing and links nothing.
#define MEMX_SUITE_BUDGET(suite, text) static_assert(sizeof(text) > 0, #suite)
#else
#if __cplusplus >= 201703L
#include "memx/session.hpp"
#endif

namespace memx {
class Session;
namespace gtest {

/// The session of the running test program, or nullptr before RUN_ALL_TESTS (and in a
/// death test's child process, where memx stays out of the way).
Session* session() noexcept;

/// True when the plugin's listener is registered with GoogleTest (always, once the
/// program has started, except in a death test's re-executed child).
bool listener_registered() noexcept;

}  // namespace gtest
}  // namespace memx

#define MEMX_GTEST_CONCAT_INNER_(a, b) a##b
#define MEMX_GTEST_CONCAT_(a, b) MEMX_GTEST_CONCAT_INNER_(a, b)
#if __cplusplus >= 201703L
#define MEMX_GTEST_UNUSED_ [[maybe_unused]]
#elif defined(__GNUC__)
#define MEMX_GTEST_UNUSED_ __attribute__((unused))
#else
#define MEMX_GTEST_UNUSED_
#endif

/// Declares the default budget of every test of a suite, at namespace scope:
/// `MEMX_SUITE_BUDGET(ParserTest, "peak=1MiB, net=0");`. A test's own MEMX_BUDGET overrides
/// it key by key; it overrides the global --memx-budget key by key. Parameterised and
/// typed suites use their plain name (ParserTest, not Instance/ParserTest/0).
#define MEMX_SUITE_BUDGET(suite, text)                                                  \
  MEMX_GTEST_UNUSED_ static const bool MEMX_GTEST_CONCAT_(memx_suite_budget_, __LINE__) = \
      ::memx::register_group_budget(#suite, (text), __FILE__, __LINE__)
#endif  // MEMX_DISABLED
