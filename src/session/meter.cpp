// TestMeter: the windows around one run of a test.
#include <algorithm>

#include "memx/session.hpp"

namespace memx {

TestMeter::TestMeter() = default;
TestMeter::~TestMeter() = default;

void TestMeter::start() {
  // RSS first and the heap last, so that opening the RSS window is not inside the heap's
  // interval. The per-test RSS window keeps two samples: only its peak is used.
  rss_.reset();
  rss_.emplace(std::chrono::microseconds(0), 2);
  peak_.reset();
  peak_.emplace();
  start_ = counters();
  started_ = std::chrono::steady_clock::now();
  running_ = true;
}

RunRecord TestMeter::stop(const FrameworkShare& share) {
  const Counters end = counters();
  const auto stopped = std::chrono::steady_clock::now();
  peak_->close();
  rss_->close();
  running_ = false;

  RunRecord r;
  r.net_bytes = end.live_bytes - start_.live_bytes - share.bytes;
  r.net_blocks = end.live_blocks - start_.live_blocks - share.blocks;
  r.peak_bytes = std::max<std::int64_t>(0, peak_->peak_bytes() - peak_->start_bytes() - share.peak_bytes);
  const std::uint64_t allocs = end.allocs - start_.allocs;
  r.allocs = allocs > share.allocs ? allocs - share.allocs : 0;
  r.rss_peak_bytes = std::max<std::int64_t>(0, rss_->peak_bytes() - rss_->start_bytes());
  r.duration_ms = std::chrono::duration<double, std::milli>(stopped - started_).count();
  return r;
}

}  // namespace memx
