// Per-thread heap counters: the only state the allocation hot path touches.
//
// Each thread owns one ThreadCounters in static TLS. Only the owner writes it, with
// relaxed load+store pairs (plain moves on x86, no lock prefix); readers merge all threads
// under the registry lock in counters.cpp. The hot path reads one shared word, g_epoch,
// which only changes when a peak is reset, so its cache line stays shared and clean.
//
// The process-wide peak has two bounds, and readers take the lower (counters.cpp):
// - the sum of each thread's own high-water mark: exact when one thread allocates and frees,
//   but unbounded when one thread allocates what another frees (a producer's mark grows
//   with everything it ever produced);
// - a published total (the kernel's percpu_counter idea): a thread adds its net change to
//   one shared atomic only when its unpublished change passes +-kPublishBatch, and the
//   shared total's high-water mark is kept at each publish. The true live peak is at most
//   that mark plus each thread's largest unpublished growth (at most kPublishBatch; exactly
//   known for a thread that has not published in the epoch), and at least the mark minus
//   the other threads' unpublished shrinkage: within a few batches, whatever the threads
//   do. The hot path compares the thread's net bytes with two precomputed thresholds; a
//   publish is one shared read-modify-write every 64 KiB of a thread's net change, out of
//   line.
#pragma once

#include <atomic>
#include <cstdint>

#include "alloc/backend.hpp"

#define MEMX_LIKELY(x) __builtin_expect(!!(x), 1)
#define MEMX_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define MEMX_ALWAYS_INLINE inline __attribute__((always_inline))

namespace memx::detail {

/// What the hot path does with the calling thread's allocations.
enum ThreadState : unsigned char {
  kUnregistered = 0,  // first allocation of the thread: register it (zero-initialised TLS)
  kCounting = 1,      // the fast path
  kGuarded = 2,       // inside memx::Uncounted: not counted
  kExited = 3,        // after the thread's exit hook: counted straight into the shared totals
  kStacks = 4,        // stack mode (memx/stacks.hpp): every allocation and free out of line
  kIgnoring = 5,      // inside memx::IgnoreScope: blocks moved out of the counts (ignored.hpp)
  kNumbering = 6,     // allocation numbers on (memx/alloc_numbers.hpp): every call out of line
};

// Aligned to a cache line: the fast path's ten words then take exactly two lines, wherever
// the linker puts the variable in the thread's static TLS block (whose layout moves with
// every other TLS variable in the program).
struct alignas(64) ThreadCounters {
  std::atomic<std::uint64_t> allocs;
  std::atomic<std::uint64_t> frees;
  std::atomic<std::uint64_t> bytes_allocated;
  // Sampling (stacks::enable_sampling): the allocation that takes bytes_allocated to this
  // value or past it goes to the slow path and records its stack. kNoSample when not armed.
  std::atomic<std::uint64_t> sample_at;
  std::atomic<std::uint64_t> bytes_freed;
  // High-water mark bookkeeping for the current peak epoch: base is this thread's net bytes
  // (allocated - freed) when it joined the epoch (or its mark last restarted), high the
  // highest net seen since (absolute, so the fast path compares net with it directly).
  // Only an allocation can raise it, so a free touches nothing but its two counters.
  std::atomic<std::int64_t> base;
  std::atomic<std::int64_t> high;
  std::atomic<std::uint64_t> epoch;
  // Publishing: published is this thread's net bytes when it last added its change to the
  // shared total, publish_above/below = published +- kPublishBatch (set when the thread
  // registers), published_epoch the peak epoch of that publish.
  std::atomic<std::int64_t> publish_above;
  std::atomic<std::int64_t> publish_below;
  std::atomic<std::int64_t> published;
  std::atomic<std::uint64_t> published_epoch;
  // Restarted marks (open_peak_watch): join_base is this thread's net bytes when it
  // joined the current epoch, folded_high the highest net bytes it reached in the epoch
  // before its mark was last restarted (join_base if never). Its highest net in the epoch is
  // max(folded_high, high). Written by the owner under the registry lock, or in
  // sync_epoch before the epoch is published; read by merges under the lock.
  std::atomic<std::int64_t> join_base;
  std::atomic<std::int64_t> folded_high;
  struct PeakWatch* watches;  // open peak watches of this thread (owner only)
  unsigned char state;  // ThreadState, read and written by the owner thread only
  unsigned char outer;  // inside ignore scopes (kIgnoring): the state to count in otherwise
  ThreadCounters* prev;
  ThreadCounters* next;
};

// __thread rather than thread_local: it promises no dynamic initialisation, so users of the
// variable in other translation units need no TLS wrapper call and no guard check.
extern __thread ThreadCounters tls_counters __attribute__((tls_model("initial-exec")));
extern std::atomic<std::uint64_t> g_epoch;

/// sample_at of a thread that does not sample.
inline constexpr std::uint64_t kNoSample = ~std::uint64_t{0};

/// A thread publishes its net change once it exceeds this many bytes either way.
inline constexpr std::int64_t kPublishBatch = 64 * 1024;

/// The highest net bytes of one thread over a span of time (a RequestScope or an Attach):
/// each time the thread's mark restarts (open_peak_watch, or joining a new epoch) the
/// segment that ends is folded into `high`, so that max(high, base + peak) is exact.
/// Linked into its thread's list by the owner only. When the span ends on another thread
/// (end_peak_watch_elsewhere) the watch is left linked and marked; its thread unlinks and
/// frees it at its next open or close of a watch, or when it exits. A watch is allocated
/// with memx::uncounted_malloc and freed with memx::uncounted_free.
struct PeakWatch {
  enum : unsigned char { kLinked, kOrphaned, kThreadGone };
  PeakWatch* next = nullptr;
  std::int64_t high = 0;
  std::atomic<unsigned char> state{kLinked};
};

/// Owner thread only: restarts the calling thread's high-water mark at its current level
/// (the old mark stays in the process's figures) and links w, which from now on follows the
/// thread's highest net bytes. Takes the registry lock; allocates nothing.
void open_peak_watch(ThreadCounters& t, PeakWatch& w) noexcept;
/// Owner thread only: the highest net bytes the thread has reached since w was opened.
std::int64_t peak_watch_high(const ThreadCounters& t, const PeakWatch& w) noexcept;
/// Owner thread only: unlinks and frees w (and the orphaned watches).
void close_peak_watch(ThreadCounters& t, PeakWatch* w) noexcept;
/// Any other thread: ends w's span; w is freed by its thread, or here if that has exited.
void end_peak_watch_elsewhere(PeakWatch* w) noexcept;

/// Returns the block to hand out: p, or its replacement inside an ignore scope.
void* count_alloc_slow(ThreadCounters& t, void* p, std::size_t usable, std::size_t align) noexcept;
void count_free_slow(ThreadCounters& t, void* p, std::size_t usable) noexcept;
/// Adds the thread's unpublished change (net - published) to the shared total and moves
/// the thresholds around net. Rare (every 64 KiB of a thread's net change), but not
/// [[gnu::cold]]: GCC then treats the fast path that may call it as cold too.
[[gnu::noinline]] void publish(ThreadCounters& t, std::int64_t net) noexcept;
/// publish(), then returns p: the fast path's publish is then a tail call, so operator new
/// keeps no register of its own across it (no frame beyond the backend call's).
[[gnu::noinline]] void* publish_passing(ThreadCounters& t, std::int64_t net, void* p) noexcept;

template <class T>
MEMX_ALWAYS_INLINE void bump(std::atomic<T>& a, T n) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

MEMX_ALWAYS_INLINE bool fast_path(const ThreadCounters& t) noexcept {
  return MEMX_LIKELY(t.state == kCounting && t.epoch.load(std::memory_order_relaxed) ==
                                                 g_epoch.load(std::memory_order_relaxed));
}

/// Counts an allocation; `allocated` is the thread's allocated bytes with it included.
/// Returns the thread's net bytes, which the caller compares with publish_above.
MEMX_ALWAYS_INLINE std::int64_t count_alloc_unpublished(ThreadCounters& t,
                                                        std::uint64_t allocated) noexcept {
  bump<std::uint64_t>(t.allocs, 1);
  t.bytes_allocated.store(allocated, std::memory_order_relaxed);
  const auto net =
      static_cast<std::int64_t>(allocated - t.bytes_freed.load(std::memory_order_relaxed));
  if (net > t.high.load(std::memory_order_relaxed)) t.high.store(net, std::memory_order_relaxed);
  return net;
}

MEMX_ALWAYS_INLINE void count_alloc_fast_to(ThreadCounters& t, std::uint64_t allocated) noexcept {
  const std::int64_t net = count_alloc_unpublished(t, allocated);
  if (MEMX_UNLIKELY(net > t.publish_above.load(std::memory_order_relaxed))) publish(t, net);
}

MEMX_ALWAYS_INLINE void count_alloc_fast(ThreadCounters& t, std::size_t usable) noexcept {
  count_alloc_fast_to(t, t.bytes_allocated.load(std::memory_order_relaxed) + usable);
}

/// Counts a free; returns the thread's net bytes, which the caller compares with publish_below.
MEMX_ALWAYS_INLINE std::int64_t count_free_unpublished(ThreadCounters& t,
                                                       std::size_t usable) noexcept {
  bump<std::uint64_t>(t.frees, 1);
  const std::uint64_t freed = t.bytes_freed.load(std::memory_order_relaxed) + usable;
  t.bytes_freed.store(freed, std::memory_order_relaxed);
  return static_cast<std::int64_t>(t.bytes_allocated.load(std::memory_order_relaxed) - freed);
}

MEMX_ALWAYS_INLINE void count_free_fast(ThreadCounters& t, std::size_t usable) noexcept {
  const std::int64_t net = count_free_unpublished(t, usable);
  if (MEMX_UNLIKELY(net < t.publish_below.load(std::memory_order_relaxed))) publish(t, net);
}

/// Counts a block that the backend just returned (p is never nullptr) and returns the block
/// to hand out: p, except inside an ignore scope (align: the alignment asked for, 0 if none).
MEMX_ALWAYS_INLINE void* count_alloc_usable(void* p, std::size_t usable,
                                            std::size_t align = 0) noexcept {
  ThreadCounters& t = tls_counters;
  // The sampling threshold is compared with the thread's allocated bytes, which the fast
  // path computes anyway: one load and one compare; when sampling is off sample_at is
  // kNoSample. (publish() is noinline, not cold: a cold call inside the fast path made GCC 12
  // move the whole fast path into operator new's .cold clone, 10-15% slower.)
  // Every way out but the common one is a tail call: the caller keeps no register across it.
  const std::uint64_t allocated = t.bytes_allocated.load(std::memory_order_relaxed) + usable;
  if (fast_path(t) && MEMX_LIKELY(allocated < t.sample_at.load(std::memory_order_relaxed))) {
    const std::int64_t net = count_alloc_unpublished(t, allocated);
    if (MEMX_UNLIKELY(net > t.publish_above.load(std::memory_order_relaxed))) {
      return publish_passing(t, net, p);
    }
    return p;
  }
  return count_alloc_slow(t, p, usable, align);
}

/// Counts a block about to be returned to the backend (p is never nullptr).
MEMX_ALWAYS_INLINE void count_free_usable(void* p, std::size_t usable) noexcept {
  ThreadCounters& t = tls_counters;
  if (fast_path(t)) {
    count_free_fast(t, usable);
  } else {
    count_free_slow(t, p, usable);
  }
}

/// count_free_usable(p, usable), then Release::free(p); every way but the common one is a
/// call of one out-of-line function that ends with the free, so that the caller needs no
/// frame: operator delete is a few loads and stores and a jump to the backend's free.
template <class Release>
[[gnu::noinline]] void publish_then_free(ThreadCounters& t, std::int64_t net, void* p) noexcept {
  publish(t, net);
  Release::free(p);
}
template <class Release>
[[gnu::noinline]] void count_free_slow_then_free(ThreadCounters& t, void* p,
                                                 std::size_t usable) noexcept {
  count_free_slow(t, p, usable);
  Release::free(p);
}
template <class Release>
MEMX_ALWAYS_INLINE void count_free_then_free(void* p, std::size_t usable) noexcept {
  ThreadCounters& t = tls_counters;
  if (MEMX_LIKELY(fast_path(t))) {
    const std::int64_t net = count_free_unpublished(t, usable);
    if (MEMX_LIKELY(net >= t.publish_below.load(std::memory_order_relaxed))) {
      Release::free(p);
      return;
    }
    publish_then_free<Release>(t, net, p);
    return;
  }
  count_free_slow_then_free<Release>(t, p, usable);
}


}  // namespace memx::detail
