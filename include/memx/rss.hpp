// memx: resident set size, read from /proc/self/statm by a background sampler thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "memx/uncounted.hpp"

namespace memx {

/// The seven fields of /proc/<pid>/statm, in pages.
struct StatmPages {
  std::uint64_t size = 0;      ///< total program size (VmSize)
  std::uint64_t resident = 0;  ///< resident set size (VmRSS)
  std::uint64_t shared = 0;    ///< resident file-backed pages
  std::uint64_t text = 0;      ///< code
  std::uint64_t lib = 0;       ///< unused since Linux 2.6, always 0
  std::uint64_t data = 0;      ///< data + stack
  std::uint64_t dt = 0;        ///< unused since Linux 2.6, always 0
};

/// Parses the text of /proc/<pid>/statm ("size resident shared text lib data dt\n").
/// Returns nullopt unless it holds exactly seven whole numbers.
std::optional<StatmPages> parse_statm(std::string_view text) noexcept;

/// Reads /proc/self/statm with open/read/close (no stdio, no allocation).
std::optional<StatmPages> read_statm() noexcept;

/// Current resident set size in bytes (0 if /proc is unreadable).
std::int64_t current_rss_bytes() noexcept;

/// One RSS sample: when it was taken (steady clock), the resident bytes, and the process's
/// live heap (memx::counters().live_bytes) read with it.
struct RssSample {
  std::chrono::steady_clock::time_point time;  ///< when the sample was read
  std::int64_t rss_bytes = 0;                  ///< resident set size then
  std::int64_t heap_live_bytes = 0;            ///< live heap then (counting operator new)
};

/// A timeline of samples. Its memory is memx's own and never counted.
using Timeline = std::vector<RssSample, UncountedAllocator<RssSample>>;

/// RSS over an interval of time. While any window is open a sampler thread reads
/// /proc/self/statm every `interval` (the shortest interval among open windows) and
/// feeds every open window; the thread starts with the first window and is joined when
/// the last one closes. Each window also reads RSS itself when it opens, when it is
/// read and when it closes, so even a window shorter than one interval has a true
/// start, peak and end. The timeline is bounded: past `max_samples` it keeps every
/// other sample and halves its rate, so it always spans the whole window.
class RssWindow {
 public:
  /// Opens the window; `interval` <= 0 means memx::sample_interval().
  explicit RssWindow(std::chrono::microseconds interval = std::chrono::microseconds(0),
                     std::size_t max_samples = 1024);
  /// Closes the window if still open.
  ~RssWindow();
  RssWindow(const RssWindow&) = delete;
  RssWindow& operator=(const RssWindow&) = delete;

  /// RSS when the window opened.
  std::int64_t start_bytes() const noexcept;
  /// Highest RSS seen so far (including a fresh reading while open).
  std::int64_t peak_bytes() const noexcept;
  /// RSS at close (or now, while open).
  std::int64_t end_bytes() const noexcept;
  /// The samples taken so far, oldest first.
  Timeline timeline() const;
  /// Number of samples the background thread has delivered to this window.
  std::uint64_t background_samples() const noexcept;
  /// Stops sampling for this window; values stay readable.
  void close() noexcept;
  /// Starts an open window over without reading anything (a test of a run that keeps one
  /// window open): its samples and background count are dropped, its sampling rate is
  /// restored and its next sample is due one interval from now.
  void restart() noexcept;

  struct State;  ///< internal

 private:
  State* state_;
};

/// True while the sampler thread runs (that is, while an RssWindow is open).
bool rss_sampler_running() noexcept;

/// The sampler thread's most recent reading while it runs (no system call), otherwise a
/// fresh reading of /proc/self/statm.
std::int64_t rss_latest_bytes() noexcept;

/// A process-wide RSS high-water mark that the sampler thread raises on every reading:
/// the cheap per-test alternative to an RssWindow (which reads statm when it opens and
/// closes). Restart it when a test starts and read it when it ends; it has one owner at a
/// time (a test plugin). Keep an RssWindow open meanwhile so that the sampler runs.
/// Returns the level it restarted at (rss_latest_bytes()).
std::int64_t rss_quick_peak_restart() noexcept;

/// The high-water mark since the last restart, first raised to `also` (for example a fresh
/// reading at the end of a long test; 0 adds nothing).
std::int64_t rss_quick_peak(std::int64_t also = 0) noexcept;

}  // namespace memx
