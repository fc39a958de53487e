// Registry of per-thread counters, the out-of-line slow paths of the hot path, merging,
// peak epochs and windows, and the Uncounted guard.
//
// Everything here is constant-initialised (constexpr constructors, zero-initialised TLS) so that the counting operator new works before
// any static constructor of the program has run and after every static destructor.
#include <pthread.h>

#include <algorithm>
#include <mutex>

#include "alloc/ignored.hpp"
#include "alloc/numbers.hpp"
#include "alloc/thread_counters.hpp"
#include "memx/counters.hpp"
#include "memx/uncounted.hpp"
#include "stacks/record.hpp"

namespace memx {

/// Lets the registry update the windows it links (befriended by PeakWindow).
struct PeakWindowAccess {
  static PeakWindow* carry(PeakWindow& w, std::int64_t epoch_peak) noexcept {
    w.carried_ = std::max(w.carried_, epoch_peak);
    return w.next_;
  }
};

namespace detail {

__thread ThreadCounters tls_counters __attribute__((tls_model("initial-exec")));
std::atomic<std::uint64_t> g_epoch{1};  // 0 in a thread means "never synced"

/// The thread's net bytes: allocated minus freed by it.
std::int64_t net_of(const ThreadCounters& t) noexcept {
  return static_cast<std::int64_t>(t.bytes_allocated.load(std::memory_order_relaxed) -
                                   t.bytes_freed.load(std::memory_order_relaxed));
}

/// The thread's highest net bytes since its mark last restarted (joining an epoch, or
/// open_peak_watch): the current segment of its mark.
std::int64_t segment_high(const ThreadCounters& t) noexcept {
  return t.high.load(std::memory_order_relaxed);
}

/// The thread's highest net bytes in the epoch it last joined: its current mark's segment,
/// or an earlier one if its mark was restarted (open_peak_watch).
std::int64_t highest_net(const ThreadCounters& t) noexcept {
  return std::max(t.folded_high.load(std::memory_order_relaxed), segment_high(t));
}

/// The thread's highest rise above its level when it joined the epoch it last joined.
std::int64_t rise_in_epoch(const ThreadCounters& t) noexcept {
  return highest_net(t) - t.join_base.load(std::memory_order_relaxed);
}

namespace {

/// The highest net - published the thread has had in the current epoch, or a bound of it:
/// kPublishBatch if it published in the epoch (it publishes before exceeding it); else its
/// published level was fixed all epoch, so its highest net (highest_net) tells exactly; a
/// thread that has not joined has not changed.
std::int64_t max_unpublished(const ThreadCounters& t, std::uint64_t epoch) noexcept {
  const std::int64_t published = t.published.load(std::memory_order_relaxed);
  if (t.epoch.load(std::memory_order_acquire) != epoch) {
    return std::max<std::int64_t>(0, net_of(t) - published);
  }
  if (t.published_epoch.load(std::memory_order_relaxed) == epoch) return kPublishBatch;
  return std::max<std::int64_t>(0, highest_net(t) - published);
}

}  // namespace

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

// The published total (thread_counters.hpp): the sum of every thread's published net bytes,
// of exited threads' whole net, and of what threads did after their exit hook; and its
// high-water mark in the current epoch. Each on its own cache line: publishers from several
// threads meet here, readers of g_epoch must not be disturbed.
alignas(64) std::atomic<std::int64_t> g_published_total{0};
alignas(64) std::atomic<std::int64_t> g_published_peak{0};

/// Adds delta to the published total and raises its high-water mark.
void add_published(std::int64_t delta) noexcept {
  const std::int64_t total = g_published_total.fetch_add(delta, kRelaxed) + delta;
  std::int64_t seen = g_published_peak.load(kRelaxed);
  while (total > seen && !g_published_peak.compare_exchange_weak(seen, total, kRelaxed)) {
  }
}


/// Totals of threads that have exited, and of what they did after their exit hook ran.
struct DeadTotals {
  std::atomic<std::uint64_t> allocs{0};
  std::atomic<std::uint64_t> frees{0};
  std::atomic<std::uint64_t> bytes_allocated{0};
  std::atomic<std::uint64_t> bytes_freed{0};
};

struct Registry {
  std::mutex mutex;                   // guards the list, the epoch bookkeeping and windows
  ThreadCounters* head = nullptr;     // live registered threads
  DeadTotals dead;
  std::int64_t epoch_base = 0;        // live bytes when the current epoch began
  std::int64_t dead_epoch_peak = 0;   // high-water marks of threads that exited this epoch
  std::int64_t dead_epoch_unpublished = 0;  // their largest unpublished growths this epoch
  PeakWindow* windows = nullptr;      // open PeakWindows
};

Registry g_registry{};
pthread_once_t g_once = PTHREAD_ONCE_INIT;
pthread_key_t g_exit_key;

void release_watches(ThreadCounters& t) noexcept;  // below, with the peak watches

void on_thread_exit(void* arg) noexcept {
  auto& t = *static_cast<ThreadCounters*>(arg);
  stacks_thread_exit();
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  DeadTotals& d = g_registry.dead;
  d.allocs.fetch_add(t.allocs.load(kRelaxed), kRelaxed);
  d.frees.fetch_add(t.frees.load(kRelaxed), kRelaxed);
  d.bytes_allocated.fetch_add(t.bytes_allocated.load(kRelaxed), kRelaxed);
  d.bytes_freed.fetch_add(t.bytes_freed.load(kRelaxed), kRelaxed);
  const std::uint64_t epoch = g_epoch.load(kRelaxed);
  if (t.epoch.load(kRelaxed) == epoch) g_registry.dead_epoch_peak += rise_in_epoch(t);
  g_registry.dead_epoch_unpublished += max_unpublished(t, epoch);
  // From now on the thread counts straight into the totals: publish the rest of its change.
  add_published(net_of(t) - t.published.load(kRelaxed));
  t.published.store(net_of(t), kRelaxed);
  if (t.prev != nullptr) t.prev->next = t.next; else g_registry.head = t.next;
  if (t.next != nullptr) t.next->prev = t.prev;
  t.prev = t.next = nullptr;
  t.state = kExited;
  release_watches(t);
}

// fork(): no other thread may hold the registry lock in the child. The child keeps the
// counters of the threads that did not survive the fork: their totals stay in the sums.
void before_fork() noexcept { g_registry.mutex.lock(); }
void after_fork() noexcept { g_registry.mutex.unlock(); }

void init_once() noexcept {
  pthread_key_create(&g_exit_key, on_thread_exit);
  pthread_atfork(before_fork, after_fork, after_fork);
}

void register_thread(ThreadCounters& t) noexcept {
  pthread_once(&g_once, init_once);
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  t.prev = nullptr;
  t.next = g_registry.head;
  if (g_registry.head != nullptr) g_registry.head->prev = &t;
  g_registry.head = &t;
  t.publish_above.store(kPublishBatch, kRelaxed);
  t.publish_below.store(-kPublishBatch, kRelaxed);
  t.sample_at.store(kNoSample, kRelaxed);
  t.state = kCounting;
  pthread_setspecific(g_exit_key, &t);  // may call the C malloc: never operator new
}

/// Folds the segment of the thread's mark that ends now into its open peak watches.
void fold_into_watches(ThreadCounters& t) noexcept {
  if (t.watches == nullptr || t.epoch.load(kRelaxed) == 0) return;
  const std::int64_t high = segment_high(t);
  for (PeakWatch* w = t.watches; w != nullptr; w = w->next) w->high = std::max(w->high, high);
}

/// Joins the current peak epoch: the thread's high-water mark restarts at its current level.
void sync_epoch(ThreadCounters& t) noexcept {
  fold_into_watches(t);
  const std::int64_t net = net_of(t);
  t.base.store(net, kRelaxed);
  t.high.store(net, kRelaxed);
  t.join_base.store(net, kRelaxed);
  t.folded_high.store(net, kRelaxed);
  t.epoch.store(g_epoch.load(std::memory_order_acquire), std::memory_order_release);
}

/// Every thread's counters (and those of exited threads) merged, with the epoch's peak.
Counters merge_locked() noexcept {
  Counters c;
  const DeadTotals& d = g_registry.dead;
  std::uint64_t allocs = d.allocs.load(kRelaxed), frees = d.frees.load(kRelaxed);
  std::uint64_t ba = d.bytes_allocated.load(kRelaxed), bf = d.bytes_freed.load(kRelaxed);
  std::int64_t growth = g_registry.dead_epoch_peak;
  std::int64_t unpublished = g_registry.dead_epoch_unpublished;
  const std::uint64_t epoch = g_epoch.load(kRelaxed);
  for (const ThreadCounters* t = g_registry.head; t != nullptr; t = t->next) {
    allocs += t->allocs.load(kRelaxed);
    frees += t->frees.load(kRelaxed);
    ba += t->bytes_allocated.load(kRelaxed);
    bf += t->bytes_freed.load(kRelaxed);
    if (t->epoch.load(std::memory_order_acquire) == epoch) growth += rise_in_epoch(*t);
    unpublished += max_unpublished(*t, epoch);
  }
  c.allocs = allocs;
  c.frees = frees;
  c.bytes_allocated = ba;
  c.bytes_freed = bf;
  c.live_bytes = static_cast<std::int64_t>(ba - bf);
  c.live_blocks = static_cast<std::int64_t>(allocs - frees);
  // Two upper bounds of the epoch's true peak (thread_counters.hpp); the lower one is the
  // tighter. Allocations of exited threads are in neither high-water mark: never report a
  // peak below the current level.
  const std::int64_t by_threads = g_registry.epoch_base + growth;
  const std::int64_t by_total = g_published_peak.load(kRelaxed) + unpublished;
  c.peak_bytes = std::max(std::min(by_threads, by_total), c.live_bytes);
  return c;
}

/// Ends the current epoch (carrying its peak into every open window) and starts a new one
/// at the current live level. Returns the counters it merged.
Counters new_epoch_locked() noexcept {
  const Counters m = merge_locked();
  for (PeakWindow* w = g_registry.windows; w != nullptr;) {
    w = PeakWindowAccess::carry(*w, m.peak_bytes);
  }
  g_registry.epoch_base = m.live_bytes;
  g_registry.dead_epoch_peak = 0;
  g_registry.dead_epoch_unpublished = 0;
  // A publish racing with this store may leave a mark from just before the epoch: an
  // overestimate, never an underestimate, of the new epoch's peak.
  g_published_peak.store(g_published_total.load(kRelaxed), kRelaxed);
  g_epoch.fetch_add(1, std::memory_order_acq_rel);
  Counters c = m;
  c.peak_bytes = c.live_bytes;  // the new epoch's high-water mark starts here
  return c;
}

}  // namespace

void publish(ThreadCounters& t, std::int64_t net) noexcept {
  add_published(net - t.published.load(kRelaxed));
  t.published.store(net, kRelaxed);
  t.publish_above.store(net + kPublishBatch, kRelaxed);
  t.publish_below.store(net - kPublishBatch, kRelaxed);
  t.published_epoch.store(t.epoch.load(kRelaxed), kRelaxed);
}

void* publish_passing(ThreadCounters& t, std::int64_t net, void* p) noexcept {
  publish(t, net);
  return p;
}

// Stack mode (stacks/record.hpp): a thread in the counting state joins it at its next slow
// call (enable() ends the epoch, so that is its next allocation or free); in the stack state
// every call comes here, records or forgets the block, then counts as the fast path would.
// The hooks run with the thread guarded, so nothing they do is counted or recorded.

namespace {

/// Runs a stack-mode hook with the thread guarded; restores its state (kStacks or kExited).
template <class F>
StackHook guarded_hook(ThreadCounters& t, F&& hook) noexcept {
  const unsigned char saved = t.state;
  t.state = kGuarded;
  const StackHook h = hook();
  t.state = saved;
  return h;
}

/// Captures the stack into c with the thread guarded (an unwinder's first call in a thread
/// may allocate). Always inlined: the capture must start in count_alloc_slow's own frame.
[[gnu::always_inline]] inline void guarded_capture(ThreadCounters& t, StackCapture& c,
                                                   void* p) noexcept {
  const unsigned char saved = t.state;
  t.state = kGuarded;
  capture_here(c, p);
  t.state = saved;
}

}  // namespace

namespace {

/// Counts a block the way the thread would outside its ignore scopes (t.outer), and keeps
/// the thread in the ignoring state. For a block freed inside a scope that was counted when
/// allocated, and for one that could not be ignored.
template <class F>
void count_as_outer(ThreadCounters& t, F&& count) noexcept {
  t.state = t.outer;
  count();
  t.outer = t.state;  // registered, or back from stack mode meanwhile
  t.state = kIgnoring;
}

/// Numbers a counted allocation while allocation numbers are on (alloc/numbers.hpp).
inline void maybe_number_alloc(ThreadCounters& t, void* p, std::size_t usable) noexcept {
  if (__builtin_expect(numbering_wanted(), 0)) {
    const unsigned char saved = t.state;
    t.state = kGuarded;
    number_alloc(p, usable);
    t.state = saved;
  }
}

/// Forgets a numbered block being freed while allocation numbers are on.
inline void maybe_number_free(ThreadCounters& t, void* p) noexcept {
  if (__builtin_expect(numbering_wanted(), 0)) {
    const unsigned char saved = t.state;
    t.state = kGuarded;
    number_free(p);
    t.state = saved;
  }
}

/// Sampling (stacks::enable_sampling): arms the thread's threshold, or at the allocation
/// that reaches it captures the stack (in count_alloc_slow's own frame: always inlined) and
/// hands the block to stack mode, which returns the block to hand out (moved into memx's
/// arena, where a free recognises it). Returns p otherwise.
[[gnu::always_inline]] inline void* maybe_sample(ThreadCounters& t, StackCapture& c, void* p,
                                                std::size_t usable, std::size_t align) noexcept {
  const std::uint64_t interval = sample_interval();
  if (__builtin_expect(interval == 0, 1)) {
    t.sample_at.store(kNoSample, kRelaxed);
    return p;
  }
  const std::uint64_t allocated = t.bytes_allocated.load(kRelaxed) + usable;
  const std::uint32_t generation = g_sample_generation.load(kRelaxed);
  if (tls_sample_generation != generation || t.sample_at.load(kRelaxed) == kNoSample) {
    tls_sample_generation = generation;  // (re)armed for the current mean
    t.sample_at.store(allocated + next_sample_gap(interval), kRelaxed);
    return p;
  }
  if (allocated < t.sample_at.load(kRelaxed)) return p;
  t.sample_at.store(allocated + next_sample_gap(interval), kRelaxed);
  guarded_capture(t, c, p);
  void* q = p;
  guarded_hook(t, [&] {
    q = stacks_on_sample(p, usable, align, c);
    return StackHook::kCount;
  });
  return q;
}

/// The state a thread counts in outside stack mode: the counting state, or the numbering
/// state while allocation numbers are on (every call then comes to the slow path).
inline unsigned char plain_state() noexcept {
  return numbering_wanted() ? kNumbering : kCounting;
}

}  // namespace

// The stack is captured here, in this function's own frame (capture_here is inlined), so
// that the unwinder walks no frame of stack mode's own: the first frame it skips is this one.
void* count_alloc_slow(ThreadCounters& t, void* p, std::size_t usable, std::size_t align) noexcept {
  StackCapture c;
  switch (t.state) {
    case kIgnoring: {
      // An exiting thread's heaps are mimalloc's to delete: its blocks are counted.
      if (t.outer != kExited) {
        t.state = kGuarded;  // nothing the arena does is counted
        void* q = ignore_block(p, usable, align);
        t.state = kIgnoring;
        if (q != nullptr) return q;
      }
      note_not_ignored();
      count_as_outer(t, [&] {
        if (fast_path(t)) {
          count_alloc_fast(t, usable);
        } else {
          p = count_alloc_slow(t, p, usable, 0);
        }
      });
      return p;
    }
    case kUnregistered:
      register_thread(t);
      [[fallthrough]];
    case kCounting:  // here because its epoch is stale
    case kNumbering:
      if (t.epoch.load(kRelaxed) != g_epoch.load(kRelaxed)) sync_epoch(t);
      if (stacks_wanted()) {
        t.state = kStacks;
        guarded_capture(t, c, p);
        if (guarded_hook(t, [&] { return stacks_on_alloc(p, usable, c); }) == StackHook::kSkip) {
          return p;
        }
      } else {
        t.state = plain_state();
        p = maybe_sample(t, c, p, usable, align);
      }
      maybe_number_alloc(t, p, usable);
      count_alloc_fast(t, usable);
      return p;
    case kStacks: {
      guarded_capture(t, c, p);
      const StackHook h = guarded_hook(t, [&] { return stacks_on_alloc(p, usable, c); });
      if (h == StackHook::kSkip) return p;
      if (h == StackHook::kOff) t.state = plain_state();
      if (t.epoch.load(kRelaxed) != g_epoch.load(kRelaxed)) sync_epoch(t);
      maybe_number_alloc(t, p, usable);
      count_alloc_fast(t, usable);
      return p;
    }
    case kGuarded:
      return p;
    default: {  // kExited
      if (stacks_wanted()) {
        guarded_capture(t, c, p);
        if (guarded_hook(t, [&] { return stacks_on_alloc(p, usable, c); }) == StackHook::kSkip) {
          return p;
        }
      }
      maybe_number_alloc(t, p, usable);
      DeadTotals& d = g_registry.dead;
      d.allocs.fetch_add(1, kRelaxed);
      d.bytes_allocated.fetch_add(usable, kRelaxed);
      add_published(static_cast<std::int64_t>(usable));
      return p;
    }
  }
}

void count_free_slow(ThreadCounters& t, void* p, std::size_t usable) noexcept {
  switch (t.state) {
    case kIgnoring:  // a counted block freed inside a scope: counted, as outside it
      count_as_outer(t, [&] {
        if (fast_path(t)) {
          count_free_fast(t, usable);
        } else {
          count_free_slow(t, p, usable);
        }
      });
      return;
    case kUnregistered:
      register_thread(t);
      [[fallthrough]];
    case kCounting:  // here because its epoch is stale
    case kNumbering:
      if (t.epoch.load(kRelaxed) != g_epoch.load(kRelaxed)) sync_epoch(t);
      if (stacks_wanted()) {
        t.state = kStacks;
        if (guarded_hook(t, [&] { return stacks_on_free(p); }) == StackHook::kSkip) return;
      } else {
        t.state = plain_state();
      }
      maybe_number_free(t, p);
      count_free_fast(t, usable);
      return;
    case kStacks: {
      const StackHook h = guarded_hook(t, [&] { return stacks_on_free(p); });
      if (h == StackHook::kSkip) return;
      if (h == StackHook::kOff) t.state = plain_state();
      if (t.epoch.load(kRelaxed) != g_epoch.load(kRelaxed)) sync_epoch(t);
      maybe_number_free(t, p);
      count_free_fast(t, usable);
      return;
    }
    case kGuarded:
      return;
    default: {  // kExited
      if (stacks_wanted() &&
          guarded_hook(t, [&] { return stacks_on_free(p); }) == StackHook::kSkip) {
        return;
      }
      maybe_number_free(t, p);
      DeadTotals& d = g_registry.dead;
      d.frees.fetch_add(1, kRelaxed);
      d.bytes_freed.fetch_add(usable, kRelaxed);
      add_published(-static_cast<std::int64_t>(usable));
      return;
    }
  }
}

namespace {
void free_watch(PeakWatch* w) noexcept {
  w->~PeakWatch();
  uncounted_free(w);
}

/// Unlinks the watches whose span ended on another thread, and frees them.
void drop_orphans(ThreadCounters& t) noexcept {
  for (PeakWatch** link = &t.watches; *link != nullptr;) {
    PeakWatch* w = *link;
    if (w->state.load(std::memory_order_acquire) == PeakWatch::kOrphaned) {
      *link = w->next;
      free_watch(w);
    } else {
      link = &w->next;
    }
  }
}

/// The thread exits: frees its orphaned watches, and marks the others so that whoever ends
/// their span frees them.
void release_watches(ThreadCounters& t) noexcept {
  for (PeakWatch* w = t.watches; w != nullptr;) {
    PeakWatch* next = w->next;
    if (w->state.exchange(PeakWatch::kThreadGone, std::memory_order_acq_rel) ==
        PeakWatch::kOrphaned) {
      free_watch(w);
    }
    w = next;
  }
  t.watches = nullptr;
}
}  // namespace

void open_peak_watch(ThreadCounters& t, PeakWatch& w) noexcept {
  drop_orphans(t);
  const std::int64_t net = net_of(t);
  if (t.state != kUnregistered && t.state != kExited) {
    std::lock_guard<std::mutex> lock(g_registry.mutex);
    fold_into_watches(t);
    if (t.epoch.load(kRelaxed) == g_epoch.load(kRelaxed)) {
      // The segment that ends stays in the epoch's figures (folded_high); merges read the
      // three fields under the lock, so they never see a lower peak.
      t.folded_high.store(highest_net(t), kRelaxed);
    }
    // A thread behind the epoch joins it at its next counted call (not here: that call
    // also moves it into stack mode if wanted); meanwhile nothing reads its mark but its
    // watches, which then take this level.
    t.base.store(net, kRelaxed);
    t.high.store(net, kRelaxed);
  }
  // An unregistered thread has counted nothing (net 0, mark 0): it joins an epoch at its
  // first counted call. An exited one counts into the shared totals: its counters no longer
  // move.
  w.high = net;
  w.next = t.watches;
  t.watches = &w;
}

std::int64_t peak_watch_high(const ThreadCounters& t, const PeakWatch& w) noexcept {
  // The thread's last segment began after w opened (whatever epoch it is of).
  return std::max(w.high, segment_high(t));
}

void close_peak_watch(ThreadCounters& t, PeakWatch* w) noexcept {
  for (PeakWatch** link = &t.watches; *link != nullptr; link = &(*link)->next) {
    if (*link == w) {
      *link = w->next;
      break;
    }
  }
  free_watch(w);
  drop_orphans(t);
}

void end_peak_watch_elsewhere(PeakWatch* w) noexcept {
  if (w->state.exchange(PeakWatch::kOrphaned, std::memory_order_acq_rel) ==
      PeakWatch::kThreadGone) {
    free_watch(w);
  }
}

}  // namespace detail

using detail::g_registry;

namespace {
/// A registered thread whose allocations are counted into its own counters.
bool counted_state(unsigned char s) noexcept {
  return s == detail::kCounting || s == detail::kStacks || s == detail::kNumbering;
}
}  // namespace

Counters counters() noexcept {
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  return detail::merge_locked();
}

Counters this_thread_counters() noexcept {
  const detail::ThreadCounters& t = detail::tls_counters;
  Counters c;
  c.allocs = t.allocs.load(std::memory_order_relaxed);
  c.frees = t.frees.load(std::memory_order_relaxed);
  c.bytes_allocated = t.bytes_allocated.load(std::memory_order_relaxed);
  c.bytes_freed = t.bytes_freed.load(std::memory_order_relaxed);
  c.live_bytes = static_cast<std::int64_t>(c.bytes_allocated - c.bytes_freed);
  c.live_blocks = static_cast<std::int64_t>(c.allocs - c.frees);
  const bool current = t.epoch.load(std::memory_order_relaxed) ==
                       detail::g_epoch.load(std::memory_order_relaxed);
  c.peak_bytes = current ? detail::rise_in_epoch(t) : 0;
  return c;
}

void reset_peak() noexcept {
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  detail::new_epoch_locked();
}

std::size_t usable_size(const void* block) noexcept {
  return block == nullptr ? 0 : detail::backend_usable_size(block);
}

PeakWindow::PeakWindow() noexcept {
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  start_counters_ = detail::new_epoch_locked();
  carried_ = start_counters_.live_bytes;
  open_ = true;
  next_ = g_registry.windows;
  if (next_ != nullptr) next_->prev_ = this;
  g_registry.windows = this;
}

PeakWindow::~PeakWindow() { close(); }

std::int64_t PeakWindow::peak_bytes() const noexcept {
  // Only the owner opens and closes a window, and a closed window is unlinked: once closed,
  // nothing else writes carried_, so no lock is needed to read it.
  if (!open_) return carried_;
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  return std::max(carried_, detail::merge_locked().peak_bytes);
}

void PeakWindow::close() noexcept {
  // Only the owner opens and closes it (as peak_bytes() relies on): a closed window, which
  // every window is when it is destroyed after a test, needs no lock.
  if (!open_) return;
  std::lock_guard<std::mutex> lock(g_registry.mutex);
  end_counters_ = detail::merge_locked();
  carried_ = std::max(carried_, end_counters_.peak_bytes);
  open_ = false;
  if (prev_ != nullptr) prev_->next_ = next_; else g_registry.windows = next_;
  if (next_ != nullptr) next_->prev_ = prev_;
  prev_ = next_ = nullptr;
}

PeakExcluded::PeakExcluded() noexcept {
  detail::ThreadCounters& t = detail::tls_counters;
  if (!counted_state(t.state)) return;  // not counted, or not registered: no mark yet
  // Join the current epoch now, as the thread's next allocation would: the mark restored
  // at the end must belong to the epoch it was read in.
  if (t.epoch.load(std::memory_order_relaxed) != detail::g_epoch.load(std::memory_order_relaxed)) {
    detail::sync_epoch(t);
  }
  peak_ = t.high.load(std::memory_order_relaxed);
  base_ = t.base.load(std::memory_order_relaxed);
  epoch_ = t.epoch.load(std::memory_order_relaxed);
}

PeakExcluded::~PeakExcluded() {
  detail::ThreadCounters& t = detail::tls_counters;
  if (epoch_ == 0 || !counted_state(t.state)) return;
  // A new epoch (the thread joins it lazily) has taken over the transient mark: keep it.
  // Likewise a restarted mark (a RequestScope opened meanwhile): peak_ is of another base.
  if (t.epoch.load(std::memory_order_relaxed) != epoch_ ||
      detail::g_epoch.load(std::memory_order_relaxed) != epoch_ ||
      t.base.load(std::memory_order_relaxed) != base_) {
    return;
  }
  const std::int64_t level = detail::net_of(t);
  // If an epoch ends between the check and the store, it has read the higher mark, and the
  // store lands in an epoch the thread has left: harmless either way. A publish made
  // meanwhile stays in the shared total's mark (an upper bound, never below the truth).
  t.high.store(std::max(peak_, level), std::memory_order_relaxed);
}

Uncounted::Uncounted() noexcept : saved_(detail::tls_counters.state) {
  if (saved_ != detail::kExited) detail::tls_counters.state = detail::kGuarded;
}

Uncounted::~Uncounted() { detail::tls_counters.state = saved_; }

bool counting_this_thread() noexcept {
  const unsigned char s = detail::tls_counters.state;
  return counted_state(s) || s == detail::kUnregistered;
}

void* uncounted_malloc(std::size_t size) noexcept { return detail::backend_malloc(size); }
void uncounted_free(void* block) noexcept {
  if (block != nullptr) detail::backend_free(block);
}

}  // namespace memx
