// memx: keeping memx's own bookkeeping out of the user's figures.
#pragma once

#include <cstddef>
#include <limits>
#include <new>

namespace memx {

/// While an Uncounted guard is alive, allocations and frees made by the calling thread are
/// not counted. Blocks allocated under a guard must also be freed under one (or with
/// uncounted_free); prefer UncountedAllocator for containers that outlive the guard.
class Uncounted {
 public:
  /// Stops counting on this thread until destruction (nests).
  Uncounted() noexcept;
  /// Restores the thread's previous counting state.
  ~Uncounted();
  Uncounted(const Uncounted&) = delete;
  Uncounted& operator=(const Uncounted&) = delete;

 private:
  unsigned char saved_;
};

/// True when allocations of the calling thread are counted right now.
bool counting_this_thread() noexcept;

/// Allocates straight from memx's backend, never counted. Returns nullptr on failure.
void* uncounted_malloc(std::size_t size) noexcept;
/// Frees a block from uncounted_malloc (nullptr is harmless).
void uncounted_free(void* block) noexcept;

/// A standard allocator whose memory never appears in memx's counters: for memx's own
/// containers and for results (such as RSS timelines) that memx hands to the user.
template <class T>
struct UncountedAllocator {
  using value_type = T;
  UncountedAllocator() noexcept = default;
  template <class U>
  UncountedAllocator(const UncountedAllocator<U>&) noexcept {}
  /// Allocates n objects' worth of uncounted memory or throws std::bad_alloc.
  T* allocate(std::size_t n) {
    if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned types are not supported");
    if (void* p = uncounted_malloc(n * sizeof(T))) return static_cast<T*>(p);
    throw std::bad_alloc();
  }
  /// Returns memory from allocate().
  void deallocate(T* p, std::size_t) noexcept { uncounted_free(p); }
  template <class U>
  bool operator==(const UncountedAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const UncountedAllocator<U>&) const noexcept { return false; }
};

}  // namespace memx
