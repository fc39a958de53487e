// memx: a leak watch for long-running code (services, soak tests, a main that loops): a
// background thread samples the live heap, the RSS, the open descriptors and the threads
// every interval, and analyze() rates their growth with a confidence and recommendations
// (memx/watch_analysis.hpp; the rule: docs/leak-watch.md).
#pragma once

#include <chrono>
#include <cstddef>
#include <vector>

#include "memx/watch_analysis.hpp"

namespace memx {

/// Samples the process's memory, descriptors and threads (and, in stack mode, the live bytes
/// of its largest allocation sites) on a thread of its own while
/// started. Its own memory and its thread's allocations are never counted (memx::Uncounted);
/// its thread is counted among the threads (a constant one). A watch is not inherited by a
/// child made with fork(): stop it before forking, or start another one in the child.
class LeakWatch {
 public:
  /// A watch that is not started (no thread, no samples).
  LeakWatch();
  /// Stops the watch if it runs.
  ~LeakWatch();
  LeakWatch(const LeakWatch&) = delete;
  LeakWatch& operator=(const LeakWatch&) = delete;

  /// Takes a first sample now and starts the thread that takes one every `interval`. Past
  /// `max_samples` (at least 16) it keeps every other sample and halves its rate, so the
  /// samples always span the whole watch. Starting again after stop() drops the earlier
  /// samples. Throws std::invalid_argument for an interval of 0 or less (naming it),
  /// std::logic_error when the watch already runs, std::runtime_error when its thread
  /// cannot be created.
  void start(std::chrono::milliseconds interval, std::size_t max_samples = 1024);

  /// Takes a last sample and joins the thread. Does nothing when the watch is not running
  /// (never started, or already stopped): stop() twice is harmless. The samples stay.
  void stop() noexcept;

  /// True between start() and stop().
  bool running() const noexcept;

  /// The interval start() was given (0 before the first start).
  std::chrono::milliseconds interval() const noexcept;

  /// The samples so far, oldest first (while running too).
  std::vector<WatchSample> samples() const;

  /// In stack mode (memx/stacks.hpp), the live bytes of the allocation sites that were among
  /// the 16 with most live bytes at some sample, from then on (at most 64 sites); empty
  /// otherwise. Their `where` is empty: memx::write_watch_report names them.
  std::vector<WatchSiteSeries> site_series() const;

  /// analyze_watch(samples(), site_series()): callable while running. Sites are named by
  /// their stack id ("stack #12"): memx::watch_report symbolises them. Without samples (never
  /// started), or with too few, every confidence is low and one recommendation says the watch was
  /// too short.
  WatchAnalysis analyze() const;

  /// The samples and their analysis, as a report's `watch` section holds them.
  WatchRecord record() const;

  struct State;  ///< internal

 private:
  State* state_;
};

}  // namespace memx
