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
  // The thread joins the window's peak epoch at its next allocation or free, at this level:
  // its high-water mark from then on is relative to here.
  thread_start_ = this_thread_counters();
  started_ = std::chrono::steady_clock::now();
  running_ = true;
}

RunRecord TestMeter::stop(const FrameworkShare& share) {
  const Counters thread_end = this_thread_counters();
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

  // The test's own thread. Its high-water mark is the epoch's (a memx::Scope opened inside
  // the test starts a new one): never below what the thread still holds.
  RunRecord& t = thread_run_;
  t = r;
  t.net_bytes = thread_end.live_bytes - thread_start_.live_bytes - share.bytes;
  t.net_blocks = thread_end.live_blocks - thread_start_.live_blocks - share.blocks;
  const std::uint64_t thread_allocs = thread_end.allocs - thread_start_.allocs;
  t.allocs = thread_allocs > share.allocs ? thread_allocs - share.allocs : 0;
  t.peak_bytes = std::max<std::int64_t>(
      {0, thread_end.peak_bytes - share.peak_bytes, t.net_bytes});
  return r;
}

}  // namespace memx
