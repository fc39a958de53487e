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
// Size classes: operator new(n) and a sized delete know n, and for n up to
// MI_MEDIUM_OBJ_SIZE_MAX mimalloc's usable size is the bin size, a function of n alone. Computing
// it saves a call of mi_usable_size (a PLT call and a segment/page lookup, about half of
// memx's cost per allocate/free pair). The formula is mimalloc 2.0's; tests/core checks it
// against mi_usable_size for every n up to the limit. MEMX_SIZE_CLASSES=0 (the CMake option
// MEMX_SIZED_DELETE_HINT=OFF) makes every count ask mimalloc instead.
#if !defined(MEMX_SIZE_CLASSES)
#define MEMX_SIZE_CLASSES 1
#endif
#if MEMX_SIZE_CLASSES && (MI_MALLOC_VERSION < 200 || MI_MALLOC_VERSION >= 210)
#undef MEMX_SIZE_CLASSES
#define MEMX_SIZE_CLASSES 0  // another mimalloc: its bins are unverified, ask it
#endif
/// Blocks up to this size come from mimalloc's size-class bins (MI_MEDIUM_OBJ_SIZE_MAX).
inline constexpr std::size_t kSizeClassMax = 128 * 1024;
/// The bin size of mimalloc 2.x (_mi_bin + _mi_bin_size, MI_ALIGN2W on 64-bit), computed
/// without touching the block. Equal to mi_usable_size(mi_malloc(n)) for n <= kSizeClassMax.
inline constexpr std::size_t size_class_of(std::size_t n) noexcept {
  const std::size_t w = (n + 7) / 8;
  if (w <= 1) return 8;
  if (w <= 8) return ((w + 1) & ~std::size_t{1}) * 8;
  const std::size_t x = w - 1;
  const unsigned b = 63u - static_cast<unsigned>(__builtin_clzll(x));
  return ((5 + ((x >> (b - 2)) & 3)) << (b - 2)) * 8;
}
/// Usable size of a block that operator new(n) returned.
inline std::size_t backend_usable_size_of(const void* p, std::size_t n) noexcept {
#if MEMX_SIZE_CLASSES
  return __builtin_expect(n <= kSizeClassMax, 1) ? size_class_of(n) : mi_usable_size(p);
#else
  (void)n;
  return mi_usable_size(p);
#endif
}
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
inline std::size_t backend_usable_size_of(const void* p, std::size_t) noexcept {
  return backend_usable_size(p);
}
#endif

}  // namespace memx::detail
