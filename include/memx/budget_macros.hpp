// memx: the budget macros a test writes (MEMX_BUDGET; MEMX_SUITE_BUDGET is in
// memx/gtest.hpp). This header, memx/gtest.hpp and memx/catch2.hpp compile as C++11, so a
// test suite linking memx::gtest or memx::catch2 keeps its own C++ standard. memx's other
// headers (memx/memx.hpp, scope.hpp, session.hpp, report.hpp, ...) need C++17.
#pragma once

#if defined(MEMX_DISABLED)
// memx::annotations (or -DMEMX_DISABLED): a build of the same tests without memx. The macro
// compiles to nothing; its argument is not evaluated, and nothing of memx is linked.
#define MEMX_BUDGET(text) static_cast<void>(sizeof(text))
#define MEMX_EXPECT_LEAK(blocks) static_cast<void>(sizeof(blocks))
#else

#include <cstddef>
#include <cstring>
#include <string>
#if __cplusplus >= 201703L
#include <string_view>
#endif

namespace memx {

/// Registers a default budget for every test of `group` (a GoogleTest suite); what
/// MEMX_SUITE_BUDGET expands to. Returns true so that it can initialise a static.
bool register_group_budget(const char* group, const char* text, const char* file, int line) noexcept;

namespace detail {

/// Declares the budget of the running test from `size` characters at `text` (what
/// MEMX_BUDGET calls). Outside a test or without a plugin it does nothing.
void declare_budget_text(const char* text, std::size_t size, const char* file, int line) noexcept;

inline void declare_budget_of(const char* text, const char* file, int line) noexcept {
  declare_budget_text(text, text == nullptr ? 0 : std::strlen(text), file, line);
}
inline void declare_budget_of(const std::string& text, const char* file, int line) noexcept {
  declare_budget_text(text.data(), text.size(), file, line);
}
#if __cplusplus >= 201703L
inline void declare_budget_of(std::string_view text, const char* file, int line) noexcept {
  declare_budget_text(text.data(), text.size(), file, line);
}
#endif

/// Declares that the running test leaks `blocks` blocks per repetition (what
/// MEMX_EXPECT_LEAK calls): the budget key leak=N. The text is short enough to need no heap.
inline void declare_expected_leak(long long blocks, const char* file, int line) noexcept {
  char text[32] = "leak=";
  std::size_t n = 5;
  unsigned long long v = blocks < 0 ? 0ULL - static_cast<unsigned long long>(blocks)
                                    : static_cast<unsigned long long>(blocks);
  char digits[24];
  std::size_t d = 0;
  do {
    digits[d++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  if (blocks < 0) text[n++] = '-';  // rejected by the budget parser, naming the value
  while (d > 0) text[n++] = digits[--d];
  declare_budget_text(text, n, file, line);
}

}  // namespace detail
}  // namespace memx

/// Declares the memory budget of the test it is written in, e.g.
/// `MEMX_BUDGET("peak=4MiB, net=0, allocs=20000")`. Keys: peak, net, blocks, allocs, rss,
/// leak (blocks leaked per repetition), threads (current or all), and the bare word warn
/// (report without failing). A test over budget fails; a malformed budget fails the test
/// naming the bad token.
#define MEMX_BUDGET(text) ::memx::detail::declare_budget_of((text), __FILE__, __LINE__)

/// Declares that the test it is written in knowingly leaks `blocks` blocks per repetition
/// (it hands them to a global), like CppUTest's EXPECT_N_LEAKS: the budget key leak=N.
/// Judged over repetitions (--gtest_repeat, MEMX_REPEAT): the test fails when it leaks
/// another number of blocks per repetition; its leak verdict is "expected" when it leaks
/// exactly `blocks`. Combines with MEMX_BUDGET.
#define MEMX_EXPECT_LEAK(blocks) \
  ::memx::detail::declare_expected_leak(static_cast<long long>(blocks), __FILE__, __LINE__)
#endif  // MEMX_DISABLED
