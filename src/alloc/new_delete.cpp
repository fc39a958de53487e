// The counting replacements of all 20 replaceable global allocation functions of C++17.
//
// This file is the hot path. Rules: no allocation, no lock, no logging, no shared
// read-modify-write. A block is counted after the backend returns it and before it is
// given back; everything that is not the common case (first allocation of a thread,
// a guard, a reset peak epoch, an exited thread, allocation failure, a process whose
// blocks go to the C library because a sanitizer or Valgrind watches it) is out of line.
#include <cstddef>
#include <new>

#include "alloc/ignored.hpp"
#include "alloc/thread_counters.hpp"

// memx::memx's link interface passes --undefined=memx_counting_allocator_anchor, so the
// linker extracts this object from the static library even when another library on the
// command line (a sanitizer runtime, libmimalloc.so itself) already defines operator new:
// definitions in the executable's own objects take precedence over shared libraries'.
extern "C" {
extern const char memx_counting_allocator_anchor;
__attribute__((used)) const char memx_counting_allocator_anchor = 1;
}

namespace memx::detail {
namespace {

/// The new_handler loop of [new.delete.single]: call the handler until the allocator
/// succeeds; no handler means failure. Returns nullptr only when nothrow is set.
template <class A>
[[gnu::noinline, gnu::cold]] void* retry_with_new_handler(std::size_t n, std::size_t align,
                                                          bool nothrow) {
  for (;;) {
    std::new_handler handler = std::get_new_handler();
    if (handler == nullptr) {
      if (nothrow) return nullptr;
      throw std::bad_alloc();
    }
    if (nothrow) {
      try {
        handler();
      } catch (...) {
        return nullptr;
      }
    } else {
      handler();
    }
    void* p = align != 0 ? A::aligned(n, align) : A::malloc(n);
    if (p != nullptr) return p;
  }
}

// Each function below is written once for an allocator A: the allocator memx was built
// with (inlined into the operators: the fast path) and the C library's (out of line,
// taken when a tool in the process must see every block: backend.hpp, tools.cpp).

/// Counts a block whose size the request does not give (a large one): asks the allocator,
/// out of line, so that operator new keeps only n across its call of the allocator. A tail
/// call, as count_alloc_usable's slow path is: stack mode's capture sees the same frames.
template <class A>
[[gnu::noinline]] void* count_alloc_asking(void* p) noexcept {
  return count_alloc_usable(p, A::usable_size(p));
}

/// Counts the block operator new(n) returned.
template <class A>
MEMX_ALWAYS_INLINE void* count_new(void* p, std::size_t n) noexcept {
  if constexpr (A::kSizeClasses) {
    if (MEMX_LIKELY(A::knows_size(n))) return count_alloc_usable(p, A::size_of_request(n));
    return count_alloc_asking<A>(p);
  } else {
    return count_alloc_usable(p, A::usable_size_of(p, n));
  }
}

template <class A>
MEMX_ALWAYS_INLINE void* allocate(std::size_t n) {
  void* p = A::malloc(n);
  if (MEMX_UNLIKELY(p == nullptr)) p = retry_with_new_handler<A>(n, 0, false);
  return count_new<A>(p, n);
}

template <class A>
MEMX_ALWAYS_INLINE void* allocate_nothrow(std::size_t n) noexcept {
  void* p = A::malloc(n);
  if (MEMX_UNLIKELY(p == nullptr)) {
    p = retry_with_new_handler<A>(n, 0, true);
    if (p == nullptr) return nullptr;
  }
  return count_new<A>(p, n);
}

template <class A>
MEMX_ALWAYS_INLINE void* allocate_aligned(std::size_t n, std::align_val_t al) {
  const auto align = static_cast<std::size_t>(al);
  void* p = A::aligned(n, align);
  if (MEMX_UNLIKELY(p == nullptr)) p = retry_with_new_handler<A>(n, align, false);
  return count_alloc_usable(p, A::usable_size(p), align);
}

template <class A>
MEMX_ALWAYS_INLINE void* allocate_aligned_nothrow(std::size_t n, std::align_val_t al) noexcept {
  const auto align = static_cast<std::size_t>(al);
  void* p = A::aligned(n, align);
  if (MEMX_UNLIKELY(p == nullptr)) {
    p = retry_with_new_handler<A>(n, align, true);
    if (p == nullptr) return nullptr;
  }
  return count_alloc_usable(p, A::usable_size(p), align);
}

/// True when p was allocated inside an ignore scope (ignored.hpp): its free is not counted,
/// and an arena block is freed here. On mimalloc an address-range compare; on the C library a
/// look-up only while the side table holds a block.
template <class A>
MEMX_ALWAYS_INLINE bool freed_ignored(void* p) noexcept {
  if constexpr (A::kIgnoreArena) {
    if (MEMX_UNLIKELY(in_ignore_arena(p))) {
      free_ignored(p);
      return true;
    }
    return false;
  } else {
    if (MEMX_UNLIKELY(g_ignore_side.load(std::memory_order_relaxed) != 0) && forget_ignored(p)) {
      A::free(p);
      return true;
    }
    return false;
  }
}

/// A sized delete whose size does not give the usable size: asks the allocator, out of line
/// (the call of usable_size would otherwise give every sized delete a frame).
template <class A>
[[gnu::noinline]] void deallocate_asking(void* p) noexcept {
  count_free_then_free<A>(p, A::usable_size(p));
}

template <class A>
MEMX_ALWAYS_INLINE void deallocate_sized(void* p, std::size_t n) noexcept {
  if (MEMX_LIKELY(p != nullptr)) {
    if (freed_ignored<A>(p)) return;
    if constexpr (A::kSizeClasses) {
      if (MEMX_LIKELY(A::knows_size(n))) {
        count_free_then_free<A>(p, A::size_of_request(n));
      } else {
        deallocate_asking<A>(p);
      }
    } else {
      count_free_then_free<A>(p, A::usable_size_of(p, n));
    }
  }
}

template <class A>
MEMX_ALWAYS_INLINE void deallocate(void* p) noexcept {
  if (MEMX_LIKELY(p != nullptr)) {
    if (freed_ignored<A>(p)) return;
    count_free_then_free<A>(p, A::usable_size(p));
  }
}

// The C library's path, out of line (a build on the C library never calls these).
using Libc = LibcAllocator;
[[gnu::noinline, gnu::cold]] void* libc_allocate(std::size_t n) { return allocate<Libc>(n); }
[[gnu::noinline, gnu::cold]] void* libc_allocate_nothrow(std::size_t n) noexcept {
  return allocate_nothrow<Libc>(n);
}
[[gnu::noinline, gnu::cold]] void* libc_allocate_aligned(std::size_t n, std::align_val_t al) {
  return allocate_aligned<Libc>(n, al);
}
[[gnu::noinline, gnu::cold]] void* libc_allocate_aligned_nothrow(std::size_t n,
                                                                 std::align_val_t al) noexcept {
  return allocate_aligned_nothrow<Libc>(n, al);
}
[[gnu::noinline, gnu::cold]] void libc_deallocate_sized(void* p, std::size_t n) noexcept {
  deallocate_sized<Libc>(p, n);
}
[[gnu::noinline, gnu::cold]] void libc_deallocate(void* p) noexcept { deallocate<Libc>(p); }

using Built = BuiltAllocator;

MEMX_ALWAYS_INLINE void* new_(std::size_t n) {
  return MEMX_LIKELY(built_allocator_in_use()) ? allocate<Built>(n) : libc_allocate(n);
}
MEMX_ALWAYS_INLINE void* new_nothrow(std::size_t n) noexcept {
  return MEMX_LIKELY(built_allocator_in_use()) ? allocate_nothrow<Built>(n)
                                               : libc_allocate_nothrow(n);
}
MEMX_ALWAYS_INLINE void* new_aligned(std::size_t n, std::align_val_t al) {
  return MEMX_LIKELY(built_allocator_in_use()) ? allocate_aligned<Built>(n, al)
                                               : libc_allocate_aligned(n, al);
}
MEMX_ALWAYS_INLINE void* new_aligned_nothrow(std::size_t n, std::align_val_t al) noexcept {
  return MEMX_LIKELY(built_allocator_in_use()) ? allocate_aligned_nothrow<Built>(n, al)
                                               : libc_allocate_aligned_nothrow(n, al);
}
// A delete decides nothing inline: a process not (yet) known to count on the built allocator
// goes out of line, so that every way out of operator delete is a jump (no frame).
MEMX_ALWAYS_INLINE bool built_allocator_decided() noexcept {
  if constexpr (!kAllocatorSwitchable) {
    return true;
  } else {
    return __atomic_load_n(&g_allocator, __ATOMIC_RELAXED) == kAllocatorBuilt;
  }
}
[[gnu::noinline, gnu::cold]] void delete_sized_undecided(void* p, std::size_t n) noexcept {
  if (built_allocator_in_use()) {
    deallocate_sized<Built>(p, n);
  } else {
    libc_deallocate_sized(p, n);
  }
}
[[gnu::noinline, gnu::cold]] void delete_undecided(void* p) noexcept {
  if (built_allocator_in_use()) {
    deallocate<Built>(p);
  } else {
    libc_deallocate(p);
  }
}
MEMX_ALWAYS_INLINE void delete_sized(void* p, std::size_t n) noexcept {
  if (MEMX_LIKELY(built_allocator_decided())) {
    deallocate_sized<Built>(p, n);
  } else {
    delete_sized_undecided(p, n);
  }
}
MEMX_ALWAYS_INLINE void delete_(void* p) noexcept {
  if (MEMX_LIKELY(built_allocator_decided())) {
    deallocate<Built>(p);
  } else {
    delete_undecided(p);
  }
}

}  // namespace
}  // namespace memx::detail

using memx::detail::delete_;
using memx::detail::delete_sized;
using memx::detail::new_;
using memx::detail::new_aligned;
using memx::detail::new_aligned_nothrow;
using memx::detail::new_nothrow;

// Both backends free aligned blocks with their plain free. A sized delete's size gives the
// block's usable size without asking the allocator (backend.hpp: size classes); the
// aligned forms always ask, since over-aligned blocks do not follow the size classes.
void* operator new(std::size_t n) { return new_(n); }
void* operator new[](std::size_t n) { return new_(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return new_nothrow(n); }
void* operator new(std::size_t n, std::align_val_t al) { return new_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return new_aligned(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return new_aligned_nothrow(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return new_aligned_nothrow(n, al);
}

void operator delete(void* p) noexcept { delete_(p); }
void operator delete[](void* p) noexcept { delete_(p); }
void operator delete(void* p, std::size_t n) noexcept { delete_sized(p, n); }
void operator delete[](void* p, std::size_t n) noexcept { delete_sized(p, n); }
void operator delete(void* p, std::align_val_t) noexcept { delete_(p); }
void operator delete[](void* p, std::align_val_t) noexcept { delete_(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { delete_(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { delete_(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { delete_(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { delete_(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { delete_(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  delete_(p);
}
