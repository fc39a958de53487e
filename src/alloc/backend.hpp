// The allocator behind memx's counting operator new: mimalloc (default) or the C library.
// Selected at build time with MEMX_BACKEND; every call is a thin inline forward.
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(MEMX_BACKEND_MIMALLOC)
#include <mimalloc.h>
#else
#include <malloc.h>
#include <cstdlib>
#endif

namespace memx::detail {

#if defined(MEMX_BACKEND_MIMALLOC)
inline constexpr const char* kBackendName = "mimalloc";
inline void* backend_malloc(std::size_t n) noexcept { return mi_malloc(n); }
/// mimalloc 2.0.9 (Debian 12) can return a block that is NOT aligned when the size is a
/// multiple of the alignment (it assumes such blocks are naturally aligned, which does not
/// hold for every page). Asking for one byte more takes its general over-aligning path.
[[gnu::noinline, gnu::cold]] inline void* backend_realign(void* p, std::size_t n,
                                                         std::size_t align) noexcept {
  mi_free(p);
  return mi_malloc_aligned(n + 1, align);
}
inline void* backend_aligned(std::size_t n, std::size_t align) noexcept {
  void* p = mi_malloc_aligned(n, align);
  if (__builtin_expect((reinterpret_cast<std::uintptr_t>(p) & (align - 1)) != 0, 0)) {
    p = backend_realign(p, n, align);
  }
  return p;
}
inline std::size_t backend_usable_size(const void* p) noexcept { return mi_usable_size(p); }
inline void backend_free(void* p) noexcept { mi_free(p); }
#else
inline constexpr const char* kBackendName = "system";
// malloc(0) may return nullptr on some C libraries; operator new must not.
inline void* backend_malloc(std::size_t n) noexcept { return std::malloc(n == 0 ? 1 : n); }
inline void* backend_aligned(std::size_t n, std::size_t align) noexcept {
  void* p = nullptr;
  if (align < sizeof(void*)) align = sizeof(void*);
  return posix_memalign(&p, align, n == 0 ? 1 : n) == 0 ? p : nullptr;
}
inline std::size_t backend_usable_size(const void* p) noexcept {
  return malloc_usable_size(const_cast<void*>(p));
}
inline void backend_free(void* p) noexcept { std::free(p); }
#endif

}  // namespace memx::detail
