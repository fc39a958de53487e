// Per-thread heap counters: the only state the allocation hot path touches.
//
// Each thread owns one ThreadCounters in static TLS. Only the owner writes it, with
// relaxed load+store pairs (plain moves on x86, no lock prefix); readers merge all threads
// under the registry lock in counters.cpp. The hot path reads one shared word, g_epoch,
// which only changes when a peak is reset, so its cache line stays shared and clean.
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
};

struct ThreadCounters {
  std::atomic<std::uint64_t> allocs;
  std::atomic<std::uint64_t> frees;
  std::atomic<std::uint64_t> bytes_allocated;
  std::atomic<std::uint64_t> bytes_freed;
  // High-water mark bookkeeping for the current peak epoch: base is this thread's net bytes
  // (allocated - freed) when it joined the epoch, peak the highest net - base seen since.
  // Only an allocation can raise it, so a free touches nothing but its two counters.
  std::atomic<std::int64_t> base;
  std::atomic<std::int64_t> peak;
  std::atomic<std::uint64_t> epoch;
  unsigned char state;  // ThreadState, read and written by the owner thread only
  ThreadCounters* prev;
  ThreadCounters* next;
};

// __thread rather than thread_local: it promises no dynamic initialisation, so users of the
// variable in other translation units need no TLS wrapper call and no guard check.
extern __thread ThreadCounters tls_counters __attribute__((tls_model("initial-exec")));
extern std::atomic<std::uint64_t> g_epoch;

void count_alloc_slow(ThreadCounters& t, std::size_t usable) noexcept;
void count_free_slow(ThreadCounters& t, std::size_t usable) noexcept;

template <class T>
MEMX_ALWAYS_INLINE void bump(std::atomic<T>& a, T n) noexcept {
  a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

MEMX_ALWAYS_INLINE bool fast_path(const ThreadCounters& t) noexcept {
  return MEMX_LIKELY(t.state == kCounting && t.epoch.load(std::memory_order_relaxed) ==
                                                 g_epoch.load(std::memory_order_relaxed));
}

MEMX_ALWAYS_INLINE void count_alloc_fast(ThreadCounters& t, std::size_t usable) noexcept {
  bump<std::uint64_t>(t.allocs, 1);
  const std::uint64_t allocated = t.bytes_allocated.load(std::memory_order_relaxed) + usable;
  t.bytes_allocated.store(allocated, std::memory_order_relaxed);
  const std::int64_t rel =
      static_cast<std::int64_t>(allocated - t.bytes_freed.load(std::memory_order_relaxed)) -
      t.base.load(std::memory_order_relaxed);
  if (rel > t.peak.load(std::memory_order_relaxed)) t.peak.store(rel, std::memory_order_relaxed);
}

MEMX_ALWAYS_INLINE void count_free_fast(ThreadCounters& t, std::size_t usable) noexcept {
  bump<std::uint64_t>(t.frees, 1);
  bump<std::uint64_t>(t.bytes_freed, usable);
}

/// Counts a block that the backend just returned (p is never nullptr).
MEMX_ALWAYS_INLINE void count_alloc_usable(std::size_t usable) noexcept {
  ThreadCounters& t = tls_counters;
  if (fast_path(t)) {
    count_alloc_fast(t, usable);
  } else {
    count_alloc_slow(t, usable);
  }
}

/// Counts a block about to be returned to the backend (p is never nullptr).
MEMX_ALWAYS_INLINE void count_free_usable(std::size_t usable) noexcept {
  ThreadCounters& t = tls_counters;
  if (fast_path(t)) {
    count_free_fast(t, usable);
  } else {
    count_free_slow(t, usable);
  }
}

/// Counts a block that the backend just returned (p is never nullptr).
MEMX_ALWAYS_INLINE void count_alloc(void* p) noexcept { count_alloc_usable(backend_usable_size(p)); }
/// Counts a block about to be returned to the backend (p is never nullptr).
MEMX_ALWAYS_INLINE void count_free(void* p) noexcept { count_free_usable(backend_usable_size(p)); }

}  // namespace memx::detail
