// memx::RequestScope: the calling thread's counters read at the opening and the closing.
//
// Allocations, frees and bytes are exact differences of the thread's own counters, which
// only the hot path writes. The peak comes from a peak watch (alloc/thread_counters.hpp):
// opening a scope restarts the thread's high-water mark at its current level (the old mark
// stays in the process's figures, so no test's or window's peak changes) and links a watch
// that keeps the highest level of every segment of the mark that ends while the scope is
// open (a nested scope's restart, the thread joining a new peak epoch). The thread's highest
// level during the scope is then exact, whatever other threads, scopes or epochs do.
#include "memx/request_scope.hpp"

#include <algorithm>
#include <exception>
#include <mutex>
#include <new>

#include "alloc/thread_counters.hpp"
#include "memx/uncounted.hpp"

namespace memx {

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

/// The calling thread's counters (read-only: only the owner writes them).
detail::ThreadMark read_mark() noexcept {
  const detail::ThreadCounters& t = detail::tls_counters;
  detail::ThreadMark m;
  m.allocs = t.allocs.load(kRelaxed);
  m.frees = t.frees.load(kRelaxed);
  m.allocated = t.bytes_allocated.load(kRelaxed);
  m.freed = t.bytes_freed.load(kRelaxed);
  return m;
}

std::int64_t net(const detail::ThreadMark& m) noexcept {
  return static_cast<std::int64_t>(m.allocated - m.freed);
}

/// Opens a peak watch on the calling thread, in memory memx does not count (it may outlive
/// the scope: close_watch). nullptr if that memory cannot be had: the peak is then a bound.
detail::PeakWatch* open_watch() noexcept {
  void* memory = uncounted_malloc(sizeof(detail::PeakWatch));
  if (memory == nullptr) return nullptr;
  auto* w = new (memory) detail::PeakWatch;
  detail::open_peak_watch(detail::tls_counters, *w);
  return w;
}

/// Ends a watch: on its thread it is unlinked and freed; on another thread it is marked, and
/// freed by its thread (alloc/thread_counters.hpp, PeakWatch).
void close_watch(detail::PeakWatch* w, bool on_its_thread) noexcept {
  if (w == nullptr) return;
  if (on_its_thread) {
    detail::close_peak_watch(detail::tls_counters, w);
  } else {
    detail::end_peak_watch_elsewhere(w);
  }
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

/// The calling thread's activity since s, read now; w: its watch opened with s.
Part part_since(const detail::ThreadMark& s, const detail::PeakWatch* w) noexcept {
  const detail::ThreadMark e = read_mark();
  Part p;
  p.allocs = e.allocs - s.allocs;
  p.frees = e.frees - s.frees;
  p.bytes = e.allocated - s.allocated;
  p.delta = net(e) - net(s);
  if (w != nullptr) {
    p.peak = detail::peak_watch_high(detail::tls_counters, *w) - net(s);
  } else {
    p.peak = static_cast<std::int64_t>(p.bytes);  // the level rose by at most this much
    p.exact = p.bytes == 0;
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
  bool lost = false;      // an Attach was destroyed on another thread: its part is missing
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
  watch_ = open_watch();
  start_ = read_mark();  // last: nothing the scope does itself is counted
}

RequestScope::~RequestScope() {
  if (!open_) return;
  stop();
}

RequestUsage RequestScope::usage() const {
  if (!open_) return final_;
  const bool here = this_thread_id() == owner_;
  Part mine;
  if (here) mine = part_since(start_, watch_);
  Sum sum;
  bool lost = false;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    sum = shared_->handed;
    lost = shared_->lost;
  }
  if (here) sum.add(mine);
  RequestUsage u = sum.result();
  u.complete = here && !lost;  // the opening thread's figures can only be read on it
  return u;
}

RequestUsage RequestScope::stop() {
  if (!open_) return final_;
  const bool here = this_thread_id() == owner_;
  Part mine;
  if (here) mine = part_since(start_, watch_);  // first: before any other work
  close_watch(watch_, here);
  watch_ = nullptr;
  Sum sum;
  bool all_closed = true;
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->open = false;
    sum = shared_->handed;
    all_closed = shared_->attached == 0 && !shared_->lost;
  }
  if (here) sum.add(mine);
  final_ = sum.result();
  final_.complete = here && all_closed;
  final_.unwound = std::uncaught_exceptions() > uncaught_;
  open_ = false;
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
  thread_ = this_thread_id();
  watch_ = open_watch();
  start_ = read_mark();
}

RequestScope::Attach::~Attach() {
  if (!counted_) return;
  const bool here = this_thread_id() == thread_;
  // Destroyed on another thread (documented misuse): the attached thread's figures cannot
  // be read here; the part counts nothing and the scope says it is incomplete.
  const Part p = here ? part_since(start_, watch_) : Part{};
  close_watch(watch_, here);
  {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->attached -= 1;
    if (shared_->open && here) {
      shared_->handed.add(p);
    } else if (shared_->open) {
      shared_->lost = true;
    }
  }
}

}  // namespace memx
