// TestMeter: the windows around one run of a test.
#include <algorithm>

#include "memx/session.hpp"

namespace memx {

namespace {
// Tests at least this long also get an exact RSS reading at their end (one statm read is a
// few microseconds: noise for them, a large cost for a trivial test).
constexpr auto kExactRssAfter = std::chrono::milliseconds(1);
}  // namespace

TestMeter::TestMeter() = default;
TestMeter::~TestMeter() = default;

void TestMeter::start() {
  rss_start_ = rss_quick_peak_restart();
  peak_.reset();
  peak_.emplace();
  start_ = peak_->start_counters();
  started_ = std::chrono::steady_clock::now();
  running_ = true;
}

RunRecord TestMeter::stop(const FrameworkShare& share) {
  peak_->close();
  const Counters& end = peak_->end_counters();
  const auto stopped = std::chrono::steady_clock::now();
  running_ = false;
  const std::int64_t rss_end = stopped - started_ >= kExactRssAfter ? current_rss_bytes() : 0;
  const std::int64_t rss_peak = rss_quick_peak(rss_end);

  RunRecord r;
  r.net_bytes = end.live_bytes - start_.live_bytes - share.bytes;
  r.net_blocks = end.live_blocks - start_.live_blocks - share.blocks;
  r.peak_bytes = std::max<std::int64_t>(0, peak_->peak_bytes() - peak_->start_bytes() - share.peak_bytes);
  const std::uint64_t allocs = end.allocs - start_.allocs;
  r.allocs = allocs > share.allocs ? allocs - share.allocs : 0;
  r.rss_peak_bytes = std::max<std::int64_t>(0, rss_peak - rss_start_);
  r.duration_ms = std::chrono::duration<double, std::milli>(stopped - started_).count();
  return r;
}

}  // namespace memx
