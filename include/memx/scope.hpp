// memx: measuring a block of code or a function, the C++ form of a Python profiler's
// @track_memory decorator and memory context managers.
#pragma once

#include <chrono>
#include <cstdint>
#include <type_traits>
#include <utility>

#include "memx/counters.hpp"
#include "memx/rss.hpp"
#include "memx/stacks.hpp"

namespace memx {

/// What a Scope measured. Heap figures count allocations from every thread.
struct Usage {
  std::int64_t net_bytes = 0;           ///< live bytes at the end minus at the start
  std::int64_t net_blocks = 0;          ///< live blocks at the end minus at the start
  std::int64_t peak_bytes = 0;          ///< highest live heap above the starting level
  std::uint64_t allocs = 0;             ///< allocations made
  std::uint64_t frees = 0;              ///< frees made
  std::uint64_t bytes_allocated = 0;    ///< bytes allocated (cumulative)
  std::int64_t rss_start_bytes = 0;     ///< RSS at the start
  std::int64_t rss_end_bytes = 0;       ///< RSS at the end
  std::int64_t rss_peak_bytes = 0;      ///< highest RSS seen
  std::int64_t rss_peak_growth_bytes = 0;  ///< rss_peak_bytes - rss_start_bytes
  Timeline rss_timeline;                ///< RSS samples over the scope's lifetime
  std::chrono::nanoseconds duration{};  ///< wall time
};

/// RAII measurement of its own lifetime: open it, run code, read usage() or stop().
///
///     memx::Scope scope;
///     build_index();
///     memx::Usage u = scope.stop();   // u.peak_bytes, u.net_bytes, ...
class Scope {
 public:
  /// Starts measuring; `rss_interval` <= 0 means memx::sample_interval().
  explicit Scope(std::chrono::microseconds rss_interval = std::chrono::microseconds(0));
  /// Stops measuring if still open.
  ~Scope() = default;
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  /// The figures so far (the scope stays open), or the final ones after stop().
  Usage usage() const;
  /// Stops measuring and returns the final figures (idempotent).
  Usage stop();
  /// Stack mode (memx/stacks.hpp): the blocks allocated inside the scope (from any thread)
  /// that are still live, by call stack, most bytes first; empty when stack mode is off.
  /// Symbolise with memx/symbols.hpp, or group by line with memx/heap_snapshot.hpp.
  stacks::List<stacks::Site> live_sites() const;

 private:
  PeakWindow peak_;  // first: its counters are the scope's start (and end) snapshots
  std::chrono::steady_clock::time_point started_;
  std::chrono::steady_clock::time_point stopped_;
  RssWindow rss_;
  std::uint64_t first_number_ = 0;          // stack mode's allocation numbers of the scope
  std::uint64_t end_number_ = UINT64_MAX;
  bool open_ = true;
};

/// The result of memx::track: the function's value and what it used.
template <class R>
struct Tracked {
  R value;      ///< what the function returned
  Usage usage;  ///< what it used
};

/// memx::track for a function returning void.
template <>
struct Tracked<void> {
  Usage usage;  ///< what it used
};

/// Runs fn() inside a Scope and returns its result with the figures. If fn throws, the
/// scope closes and the exception propagates.
template <class F>
auto track(F&& fn, std::chrono::microseconds rss_interval = std::chrono::microseconds(0))
    -> Tracked<std::invoke_result_t<F&>> {
  using R = std::invoke_result_t<F&>;
  Scope scope(rss_interval);
  if constexpr (std::is_void_v<R>) {
    fn();
    return Tracked<void>{scope.stop()};
  } else {
    R value = fn();
    return Tracked<R>{std::move(value), scope.stop()};
  }
}

}  // namespace memx
