// memx::RequestScope: the calling thread's counters read at the opening and the closing.
//
// It only reads the hot path's per-thread counters (alloc/thread_counters.hpp), never
// writes them: allocations, frees and bytes are exact differences of the thread's own
// counters. The peak comes from the thread's high-water mark, which is kept per peak
// epoch and relative to the thread's level when it joined the epoch; it gives the peak
// above the scope's start exactly when the mark was at the thread's level at the start (or
// the thread had not joined the current epoch yet) and no epoch ended meanwhile, or when
// the mark rose during the scope. Otherwise it gives an upper bound and says so
// (RequestUsage::peak_exact). To make the first case the usual one, a scope that finds its
// thread below its mark starts a new epoch (memx::reset_peak()) when no other request
// scope or Attach is open in the process: a new epoch does not disturb any open
// PeakWindow, but it would turn other open request scopes' peaks into bounds.
#include "memx/request_scope.hpp"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>

#include "alloc/thread_counters.hpp"
#include "memx/counters.hpp"
#include "memx/uncounted.hpp"

namespace memx {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

/// Request scopes and Attach objects measuring right now, in the whole process.
std::atomic<int> g_open{0};

/// The calling thread's counters (read-only: only the owner writes them).
detail::ThreadMark read_mark() noexcept {
  const detail::ThreadCounters& t = detail::tls_counters;
  detail::ThreadMark m;
  m.allocs = t.allocs.load(kRelaxed);
  m.frees = t.frees.load(kRelaxed);
  m.allocated = t.bytes_allocated.load(kRelaxed);
  m.freed = t.bytes_freed.load(kRelaxed);
  m.base = t.base.load(kRelaxed);
  m.peak = t.peak.load(kRelaxed);
  m.epoch = t.epoch.load(kRelaxed);
  m.global_epoch = detail::g_epoch.load(std::memory_order_acquire);
  // A thread that has not joined the current epoch (or never counted) joins it, at its
  // level then, at its next counted allocation or free.
  m.current = m.epoch == m.global_epoch;
  return m;
}

std::int64_t net(const detail::ThreadMark& m) noexcept {
  return static_cast<std::int64_t>(m.allocated - m.freed);
}

/// Reads the calling thread's counters for a scope or an Attach that opens now; `alone`:
/// nothing else measures, so a new peak epoch disturbs no other request scope.
detail::ThreadMark open_mark(bool alone) noexcept {
  detail::ThreadMark m = read_mark();
  if (alone && m.current && m.peak > net(m) - m.base) {
    reset_peak();  // takes a lock, allocates nothing
    m = read_mark();
  }
  return m;
}

/// One thread's share of a request.
struct Part {
  std::int64_t delta = 0;
  std::int64_t peak = 0;
  std::uint64_t allocs = 0;
  std::uint64_t frees = 0;
  std::uint64_t bytes = 0;
  bool exact = true;
};

/// The thread's activity between two reads of its counters (file comment: the peak).
Part part_between(const detail::ThreadMark& s, const detail::ThreadMark& e) noexcept {
  Part p;
  p.allocs = e.allocs - s.allocs;
  p.frees = e.frees - s.frees;
  p.bytes = e.allocated - s.allocated;
  p.delta = net(e) - net(s);
  const auto bytes = static_cast<std::int64_t>(p.bytes);
  if (p.bytes == 0) {
    p.peak = 0;  // nothing allocated: the level never rose above the start
  } else if (s.current && e.epoch == s.epoch) {
    const std::int64_t start_level = net(s) - s.base;  // relative to the epoch's base
    if (e.peak > s.peak || s.peak <= start_level) {
      p.peak = e.peak - start_level;  // the mark rose in the scope, or started at the level
    } else {
      p.peak = std::min(s.peak - start_level, bytes);  // somewhere below the old mark
      p.exact = false;
    }
  } else if (!s.current && e.epoch == s.global_epoch && e.base == net(s)) {
    p.peak = e.peak;  // joined the epoch at its first call in the scope, at the start level
  } else {
    p.peak = bytes;  // an epoch ended meanwhile: the level rose by at most what was allocated
    p.exact = false;
  }
  p.peak = std::max<std::int64_t>({p.peak, p.delta, 0});
  return p;
}

/// Sums of parts: RequestUsage without the flags that only the scope knows.
struct Sum {
  RequestUsage u;
  unsigned active = 0;  // parts with any allocation or free

  void add(const Part& p) noexcept {
    u.delta_bytes += p.delta;
    u.peak_bytes += p.peak;  // each thread's own peak: their sum bounds the request's
    u.allocs += p.allocs;
    u.frees += p.frees;
    u.bytes_allocated += p.bytes;
    u.threads += 1;
    u.peak_exact = u.peak_exact && p.exact;
    if (p.allocs + p.frees > 0) active += 1;
  }

  /// Added: the request's figures; the peak is exact only if one thread was active.
  RequestUsage result() const noexcept {
    RequestUsage r = u;
    r.peak_exact = u.peak_exact && active <= 1;
    return r;
  }
};

}  // namespace

/// What a scope shares with its Attach objects, in memory memx does not count.
struct RequestScope::Shared {
  std::mutex mutex;
  const void* owner = nullptr;  // the opening thread's counters
  bool open = true;
  unsigned attached = 0;  // Attach objects alive and counting
  Sum handed;             // the closed Attach objects' parts
};

namespace {
const void* this_thread_id() noexcept {
  return &detail::tls_counters;
}
}  // namespace

RequestScope::RequestScope(OnClose on_close)
    : shared_(std::allocate_shared<Shared>(UncountedAllocator<Shared>())),
      on_close_(std::move(on_close)),
      owner_(this_thread_id()),
      uncaught_(std::uncaught_exceptions()) {
  shared_->owner = owner_;
  const bool alone = g_open.fetch_add(1, std::memory_order_acq_rel) == 0;
  start_ = open_mark(alone);  // last: nothing the scope does itself is counted
}

RequestScope::~RequestScope() {
  if (!open_) return;
  stop();
}

RequestUsage RequestScope::usage() const {
  if (!open_) return final_;
  const bool here = this_thread_id() == owner_;
  const detail::ThreadMark end = here ? read_mark() : start_;
  Sum sum;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    sum = shared_->handed;
  }
  if (here) sum.add(part_between(start_, end));
  RequestUsage u = sum.result();
  u.complete = here;  // the opening thread's figures can only be read on it
  return u;
}

RequestUsage RequestScope::stop() {
  if (!open_) return final_;
  const bool here = this_thread_id() == owner_;
  const detail::ThreadMark end = here ? read_mark() : start_;  // first: before any other work
  Sum sum;
  bool all_closed = true;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->open = false;
    sum = shared_->handed;
    all_closed = shared_->attached == 0;
  }
  if (here) sum.add(part_between(start_, end));
  final_ = sum.result();
  final_.complete = here && all_closed;
  final_.unwound = std::uncaught_exceptions() > uncaught_;
  open_ = false;
  g_open.fetch_sub(1, std::memory_order_acq_rel);
  if (on_close_) {
    try {
      on_close_(final_);
    } catch (...) {  // documented: dropped (it may run in a destructor during unwinding)
    }
  }
  return final_;
}

RequestScope::Handoff RequestScope::handoff() const {
  Handoff h;
  h.shared_ = shared_;
  return h;
}

RequestScope::Attach::Attach(const Handoff& handoff) : shared_(handoff.shared_) {
  if (shared_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    // Too late, or on the scope's own thread (already counted): counts nowhere.
    if (!shared_->open || shared_->owner == this_thread_id()) return;
    shared_->attached += 1;
  }
  counted_ = true;
  g_open.fetch_add(1, std::memory_order_acq_rel);  // never alone: the scope is open
  start_ = read_mark();
}

RequestScope::Attach::~Attach() {
  if (!counted_) return;
  const Part p = part_between(start_, read_mark());
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->attached -= 1;
    if (shared_->open) shared_->handed.add(p);  // else dropped: the scope said incomplete
  }
  g_open.fetch_sub(1, std::memory_order_acq_rel);
}

}  // namespace memx
