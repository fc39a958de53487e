// memx: the budget macros a test writes (MEMX_BUDGET; MEMX_SUITE_BUDGET is in
// memx/gtest.hpp). This header, memx/gtest.hpp and memx/catch2.hpp compile as C++11, so a
// test suite linking memx::gtest or memx::catch2 keeps its own C++ standard. memx's other
// headers (memx/memx.hpp, scope.hpp, session.hpp, report.hpp, ...) need C++17.
#pragma once

#if defined(MEMX_DISABLED)
// memx::annotations (or -DMEMX_DISABLED): a build of the same tests without memx. The macro
// compiles to nothing; its argument is not evaluated, and nothing of memx is linked.
#define MEMX_BUDGET(text) static_cast<void>(sizeof(text))
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

}  // namespace detail
}  // namespace memx

/// Declares the memory budget of the test it is written in, e.g.
/// `MEMX_BUDGET("peak=4MiB, net=0, allocs=20000")`. Keys: peak, net, blocks, allocs, rss.
/// A test over budget fails; a malformed budget fails the test naming the bad token.
#define MEMX_BUDGET(text) ::memx::detail::declare_budget_of((text), __FILE__, __LINE__)
#endif  // MEMX_DISABLED
