// memx: ignore scopes, for memory a test knowingly keeps for the rest of the process.
//
// Allocations made on the calling thread inside a memx::IgnoreScope (or MEMX_IGNORE) are not
// counted: they break no budget, are no test's leak, and their later frees, from any
// thread and at any time, are not counted either. Typical use: a process-lifetime singleton,
// a logger or a registry first created inside a test.
//
//   TEST(Parser, UsesTheSharedRegistry) {
//     MEMX_IGNORE(Registry::instance());   // created here, kept for the process
//     ...
//   }
//
// Scopes nest and are per thread (threads started inside a scope are counted as usual). An
// unused IgnoreScope costs nothing; the free path's test of whether a block was ignored is
// an address-range compare. Compiles as C++11.
#pragma once

#include <cstdint>

#if defined(MEMX_DISABLED)
// memx::annotations (or -DMEMX_DISABLED): a build of the same tests without memx. The scope
// does nothing, the macro runs its statements, and nothing of memx is linked.
// Trivial, so that no code or symbol of memx is emitted even without optimisation;
// "unused" keeps `memx::IgnoreScope ignore;` from warning.
namespace memx {
class __attribute__((unused)) IgnoreScope {
 public:
  IgnoreScope() = default;
  IgnoreScope(const IgnoreScope&) = delete;
  IgnoreScope& operator=(const IgnoreScope&) = delete;
};
}  // namespace memx
#define MEMX_IGNORE(...) \
  do {                   \
    __VA_ARGS__;         \
  } while (false)
#else

namespace memx {

/// While alive, the calling thread's allocations are ignored (see above). Nests.
class IgnoreScope {
 public:
  IgnoreScope() noexcept;
  ~IgnoreScope();
  IgnoreScope(const IgnoreScope&) = delete;
  IgnoreScope& operator=(const IgnoreScope&) = delete;

 private:
  unsigned char saved_;
};

/// What ignore scopes have done in this process so far.
struct IgnoredCounters {
  std::uint64_t allocs = 0;           ///< blocks allocated inside a scope and ignored
  std::uint64_t frees = 0;            ///< of those, freed since (not counted)
  std::uint64_t bytes_allocated = 0;  ///< their usable bytes
  std::uint64_t bytes_freed = 0;
  /// Allocations inside a scope that could not be ignored and were counted as usual (memx's
  /// arena for ignored blocks could not be reserved or was full, or the thread was exiting).
  std::uint64_t counted = 0;
};

/// The process's ignore-scope totals.
IgnoredCounters ignored_counters() noexcept;

}  // namespace memx

/// Runs the statement(s) with the calling thread's allocations ignored (memx::IgnoreScope).
#define MEMX_IGNORE(...)                    \
  do {                                      \
    ::memx::IgnoreScope memx_ignore_scope_; \
    static_cast<void>(memx_ignore_scope_);  \
    __VA_ARGS__;                            \
  } while (false)
#endif  // MEMX_DISABLED
