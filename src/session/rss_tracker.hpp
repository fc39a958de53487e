// Internal: a process-wide RSS tracker cheap enough to read around every test.
//
// A core RssWindow per test reads /proc/self/statm when it opens and closes and wakes the
// sampler thread: several microseconds, more than a trivial test costs. The tracker keeps
// one thread reading statm every interval into two atomics (latest value, running peak),
// so a test reads a start value and a peak with no system call at all.
#pragma once

#include <chrono>
#include <cstdint>

namespace memx::detail {

/// Starts the sampler thread (idempotent). `interval` <= 0 means memx::sample_interval().
void rss_tracker_start(std::chrono::microseconds interval);
/// Stops and joins the thread (idempotent).
void rss_tracker_stop() noexcept;
/// Starts a new running peak at the latest sample (read now when not running); returns it.
std::int64_t rss_tracker_restart_peak() noexcept;
/// Highest sample since the last restart, raised to `also` (a fresh reading) if higher.
std::int64_t rss_tracker_peak(std::int64_t also) noexcept;

}  // namespace memx::detail
