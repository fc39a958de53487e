// memx::Scope: a PeakWindow and an RssWindow opened together, with counter snapshots.
#include "memx/scope.hpp"

#include "memx/uncounted.hpp"

namespace memx {

Scope::Scope(std::chrono::microseconds rss_interval)
    : started_(std::chrono::steady_clock::now()),
      rss_(rss_interval),
      first_number_(stacks::next_allocation_number()) {}

stacks::List<stacks::Site> Scope::live_sites() const {
  if (!stacks::enabled()) {
    Uncounted guard;
    return {};
  }
  stacks::Filter f;
  f.first_number = first_number_;
  f.end_number = end_number_;
  return stacks::live_sites(f);
}

Usage Scope::usage() const {
  Uncounted guard;
  const Counters& start = peak_.start_counters();
  const Counters end = open_ ? counters() : peak_.end_counters();
  Usage u;
  u.net_bytes = end.live_bytes - start.live_bytes;
  u.net_blocks = end.live_blocks - start.live_blocks;
  u.peak_bytes = std::max<std::int64_t>(0, peak_.peak_bytes() - start.live_bytes);
  u.allocs = end.allocs - start.allocs;
  u.frees = end.frees - start.frees;
  u.bytes_allocated = end.bytes_allocated - start.bytes_allocated;
  u.rss_start_bytes = rss_.start_bytes();
  u.rss_end_bytes = rss_.end_bytes();
  u.rss_peak_bytes = rss_.peak_bytes();
  u.rss_peak_growth_bytes = u.rss_peak_bytes - u.rss_start_bytes;
  u.rss_timeline = rss_.timeline();
  u.duration = (open_ ? std::chrono::steady_clock::now() : stopped_) - started_;
  return u;
}

Usage Scope::stop() {
  if (open_) {
    stopped_ = std::chrono::steady_clock::now();
    end_number_ = stacks::next_allocation_number();
    peak_.close();
    rss_.close();
    open_ = false;
  }
  return usage();
}

}  // namespace memx
