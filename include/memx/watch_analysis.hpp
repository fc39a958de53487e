// memx: the growth analysis of a leak watch (memx/leak_watch.hpp): samples of a running
// program's memory, descriptors and threads over time, a robust slope of each series, a
// confidence and recommendations. Pure functions on data (no allocator, no thread), shared
// by memx::LeakWatch and the JSON report's `watch` section. The rule: docs/leak-watch.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace memx {

/// One reading of a leak watch.
struct WatchSample {
  double ms = 0;                 ///< milliseconds since the watch started
  std::int64_t heap_bytes = 0;   ///< live heap (memx::counters().live_bytes)
  std::int64_t heap_blocks = 0;  ///< live heap blocks
  std::int64_t rss_bytes = 0;    ///< resident set size (/proc/self/statm)
  std::int64_t fds = -1;         ///< open descriptors (/proc/self/fd); -1: unreadable
  std::int64_t threads = -1;     ///< threads (/proc/self/task); -1: unreadable

  /// Field-wise equality.
  friend bool operator==(const WatchSample& a, const WatchSample& b) {
    return a.ms == b.ms && a.heap_bytes == b.heap_bytes && a.heap_blocks == b.heap_blocks &&
           a.rss_bytes == b.rss_bytes && a.fds == b.fds && a.threads == b.threads;
  }
};

/// How sure a growth is (docs/leak-watch.md, "The confidence rule").
enum class GrowthConfidence { low, medium, high };

/// "low", "medium" or "high".
inline const char* to_string(GrowthConfidence c) noexcept {
  return c == GrowthConfidence::high ? "high" : c == GrowthConfidence::medium ? "medium" : "low";
}

/// The trend of one series (bytes, blocks, descriptors, ...) over a watch.
struct Trend {
  /// Theil-Sen slope per second: the median of the slopes between every two samples.
  double per_second = 0;
  /// How well the robust line fits: 1 - residual / total sum of squares (0 for a flat series).
  double r2 = 0;
  double rise = 0;         ///< per_second x the watch's duration
  double first_half = 0;   ///< Theil-Sen slope of the first half of the samples, per second
  double second_half = 0;  ///< the same of the second half
  /// That the series grows (low: it does not, or not surely).
  GrowthConfidence confidence = GrowthConfidence::low;

  /// True when the series grows with medium or high confidence.
  bool growing() const noexcept { return confidence != GrowthConfidence::low; }

  /// Field-wise equality.
  friend bool operator==(const Trend& a, const Trend& b) {
    return a.per_second == b.per_second && a.r2 == b.r2 && a.rise == b.rise &&
           a.first_half == b.first_half && a.second_half == b.second_half &&
           a.confidence == b.confidence;
  }
};

/// One allocation site's live heap over a watch (stack mode: memx/stacks.hpp), as
/// memx::LeakWatch samples it: the sites with the most live bytes at each sample, and every
/// site once it has been among them.
struct WatchSiteSeries {
  std::uint32_t stack_id = 0;        ///< stack mode's id of the site's stack (this process only)
  std::string where;                 ///< "file:line in function" when symbolised; "" otherwise
  std::vector<double> ms;            ///< when each reading was taken (the watch's time)
  std::vector<std::int64_t> bytes;   ///< its live bytes then
  std::vector<std::int64_t> blocks;  ///< its live blocks then
};

/// An allocation site whose live bytes grow (WatchAnalysis::sites).
struct SiteGrowth {
  std::uint32_t stack_id = 0;  ///< stack mode's id (this process only)
  std::string where;           ///< "file:line in function"; "stack #ID" when not symbolised
  std::int64_t bytes = 0;      ///< live bytes at its last reading
  std::int64_t blocks = 0;     ///< live blocks at its last reading
  Trend trend;                 ///< of its live bytes (floor: 4 KiB)

  /// Field-wise equality.
  friend bool operator==(const SiteGrowth& a, const SiteGrowth& b) {
    return a.stack_id == b.stack_id && a.where == b.where && a.bytes == b.bytes &&
           a.blocks == b.blocks && a.trend == b.trend;
  }
};

/// At most this many growing sites in an analysis (the fastest).
inline constexpr std::size_t kWatchSites = 10;

/// What a watch found.
struct WatchAnalysis {
  double duration_s = 0;     ///< from the first sample to the last, seconds
  std::int64_t samples = 0;  ///< samples analysed
  Trend heap_bytes;          ///< live heap bytes
  Trend heap_blocks;         ///< live heap blocks
  Trend rss_bytes;           ///< resident set size
  Trend fds;                 ///< open descriptors (low when unreadable)
  Trend threads;             ///< threads (low when unreadable)
  /// The headline: heap_bytes's confidence, lowered from high to medium when the blocks do
  /// not grow with it (one block reallocated ever larger). Low also when nothing grows.
  GrowthConfidence confidence = GrowthConfidence::low;
  bool leak = false;  ///< the heap, the descriptors or the threads grow (medium or high)
  /// Allocation sites whose live bytes grow (medium or high), fastest first, at most
  /// kWatchSites; empty without stack mode.
  std::vector<SiteGrowth> sites;
  /// What to look at, one sentence each, from what grew (empty: nothing grew).
  std::vector<std::string> recommendations;

  /// Field-wise equality.
  friend bool operator==(const WatchAnalysis& a, const WatchAnalysis& b) {
    return a.duration_s == b.duration_s && a.samples == b.samples && a.heap_bytes == b.heap_bytes &&
           a.heap_blocks == b.heap_blocks && a.rss_bytes == b.rss_bytes && a.fds == b.fds &&
           a.threads == b.threads && a.confidence == b.confidence && a.leak == b.leak &&
           a.sites == b.sites && a.recommendations == b.recommendations;
  }
};

/// A watch as a report holds it (the JSON report's `watch` section): its samples and analysis.
struct WatchRecord {
  double interval_ms = 0;            ///< the sampling interval asked for
  std::vector<WatchSample> samples;  ///< oldest first
  WatchAnalysis analysis;            ///< analyze_watch(samples) when it was written

  /// Field-wise equality.
  friend bool operator==(const WatchRecord& a, const WatchRecord& b) {
    return a.interval_ms == b.interval_ms && a.samples == b.samples && a.analysis == b.analysis;
  }
};

/// The Theil-Sen slope of the points (x[i], y[i]): the median of (y[j]-y[i])/(x[j]-x[i])
/// over every pair with x[j] != x[i]. 0 with fewer than two distinct x. Above 512 points,
/// 512 evenly spaced points stand for them (the pairs of every point would be too many).
double theil_sen_slope(const std::vector<double>& x, const std::vector<double>& y);

/// The trend of the series `y` at times `seconds` (same length, ascending): its robust slope
/// and fit, and the confidence that it grows given `floor`, the smallest rise that counts
/// (docs/leak-watch.md, "The confidence rule").
Trend fit_trend(const std::vector<double>& seconds, const std::vector<double>& y, double floor);

/// Analyses a watch's samples (oldest first) and, in stack mode, its sites' series: each
/// series' trend, the growing sites (stacks that end at the same "file:line in function"
/// counted as one site), the headline confidence and the recommendations. No
/// samples, or fewer than 5, or under 1 s: every confidence low and one recommendation
/// saying the watch was too short.
WatchAnalysis analyze_watch(const std::vector<WatchSample>& samples,
                            const std::vector<WatchSiteSeries>& sites = {});

/// "3.0 KiB/s" style rate of bytes per second (IEC units, one decimal).
std::string bytes_rate(double per_second);

/// The analysis as text for people, several lines, each ending with '\n': the verdict, the
/// rates with their confidence and fit, and the recommendations.
std::string describe(const WatchAnalysis& a);

}  // namespace memx
