// The counting replacements of all 20 replaceable global allocation functions of C++17.
//
// This file is the hot path. Rules: no allocation, no lock, no logging, no shared
// read-modify-write. A block is counted after the backend returns it and before it is
// given back; everything that is not the common case (first allocation of a thread,
// a guard, a reset peak epoch, an exited thread, allocation failure) is out of line.
#include <cstddef>
#include <new>

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

/// The new_handler loop of [new.delete.single]: call the handler until the backend
/// succeeds; no handler means failure. Returns nullptr only when nothrow is set.
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
    void* p = align != 0 ? backend_aligned(n, align) : backend_malloc(n);
    if (p != nullptr) return p;
  }
}

MEMX_ALWAYS_INLINE void* allocate(std::size_t n) {
  void* p = backend_malloc(n);
  if (MEMX_UNLIKELY(p == nullptr)) p = retry_with_new_handler(n, 0, false);
  count_alloc_usable(p, backend_usable_size_of(p, n));
  return p;
}

MEMX_ALWAYS_INLINE void* allocate_nothrow(std::size_t n) noexcept {
  void* p = backend_malloc(n);
  if (MEMX_UNLIKELY(p == nullptr)) {
    p = retry_with_new_handler(n, 0, true);
    if (p == nullptr) return nullptr;
  }
  count_alloc_usable(p, backend_usable_size_of(p, n));
  return p;
}

MEMX_ALWAYS_INLINE void* allocate_aligned(std::size_t n, std::align_val_t al) {
  const auto align = static_cast<std::size_t>(al);
  void* p = backend_aligned(n, align);
  if (MEMX_UNLIKELY(p == nullptr)) p = retry_with_new_handler(n, align, false);
  count_alloc(p);
  return p;
}

MEMX_ALWAYS_INLINE void* allocate_aligned_nothrow(std::size_t n, std::align_val_t al) noexcept {
  const auto align = static_cast<std::size_t>(al);
  void* p = backend_aligned(n, align);
  if (MEMX_UNLIKELY(p == nullptr)) {
    p = retry_with_new_handler(n, align, true);
    if (p == nullptr) return nullptr;
  }
  count_alloc(p);
  return p;
}

MEMX_ALWAYS_INLINE void deallocate_sized(void* p, std::size_t n) noexcept {
  if (MEMX_LIKELY(p != nullptr)) {
    count_free_usable(p, backend_usable_size_of(p, n));
    backend_free(p);
  }
}

MEMX_ALWAYS_INLINE void deallocate(void* p) noexcept {
  if (MEMX_LIKELY(p != nullptr)) {
    count_free(p);
    backend_free(p);
  }
}

}  // namespace
}  // namespace memx::detail

using memx::detail::allocate;
using memx::detail::allocate_aligned;
using memx::detail::allocate_aligned_nothrow;
using memx::detail::allocate_nothrow;
using memx::detail::deallocate;
using memx::detail::deallocate_sized;

// Both backends free aligned blocks with their plain free. A sized delete's size gives the
// block's usable size without asking the allocator (backend.hpp: size classes); the
// aligned forms always ask, since over-aligned blocks do not follow the size classes.
void* operator new(std::size_t n) { return allocate(n); }
void* operator new[](std::size_t n) { return allocate(n); }
void* operator new(std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n); }
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept { return allocate_nothrow(n); }
void* operator new(std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new[](std::size_t n, std::align_val_t al) { return allocate_aligned(n, al); }
void* operator new(std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_aligned_nothrow(n, al);
}
void* operator new[](std::size_t n, std::align_val_t al, const std::nothrow_t&) noexcept {
  return allocate_aligned_nothrow(n, al);
}

void operator delete(void* p) noexcept { deallocate(p); }
void operator delete[](void* p) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t n) noexcept { deallocate_sized(p, n); }
void operator delete[](void* p, std::size_t n) noexcept { deallocate_sized(p, n); }
void operator delete(void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { deallocate(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { deallocate(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept {
  deallocate(p);
}
