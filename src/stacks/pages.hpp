// Memory for the stack table and the live-block map: anonymous mappings, never operator new,
// so that memx's own bookkeeping is never counted or recorded as the user's.
#pragma once

#include <sched.h>
#include <sys/mman.h>

#include <atomic>
#include <cstddef>

namespace memx::detail {

/// Maps size bytes of zeroed memory (reserved lazily by the kernel). nullptr on failure.
inline void* map_pages(std::size_t size) noexcept {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  return p == MAP_FAILED ? nullptr : p;
}

/// Unmaps memory from map_pages (nullptr is harmless).
inline void unmap_pages(void* p, std::size_t size) noexcept {
  if (p != nullptr) munmap(p, size);
}

/// A test-and-test-and-set spinlock: the critical sections it guards are a few dozen
/// instructions (plus, rarely, an mmap). After a short spin a waiter yields the CPU: with
/// more threads than cores the holder may have been preempted, and spinning through its
/// time slice would cost milliseconds (measured: most of stack mode's time on 2 cores).
class SpinLock {
 public:
  /// Takes the lock.
  void lock() noexcept {
    for (int spins = 0;; ++spins) {
      if (!locked_.exchange(true, std::memory_order_acquire)) return;
      while (locked_.load(std::memory_order_relaxed)) {
        if (++spins < 64) {
          __builtin_ia32_pause();
        } else {
          sched_yield();
        }
      }
    }
  }
  /// Takes the lock if it is free; false (without waiting) otherwise.
  bool try_lock() noexcept {
    return !locked_.load(std::memory_order_relaxed) &&
           !locked_.exchange(true, std::memory_order_acquire);
  }
  /// Releases the lock.
  void unlock() noexcept { locked_.store(false, std::memory_order_release); }

 private:
  std::atomic<bool> locked_{false};
};

/// Holds a SpinLock for a scope.
class SpinGuard {
 public:
  explicit SpinGuard(SpinLock& l) noexcept : l_(l) { l_.lock(); }
  ~SpinGuard() { l_.unlock(); }
  SpinGuard(const SpinGuard&) = delete;
  SpinGuard& operator=(const SpinGuard&) = delete;

 private:
  SpinLock& l_;
};

}  // namespace memx::detail
