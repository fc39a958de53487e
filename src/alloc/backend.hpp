// The allocators behind memx's counting operator new: mimalloc (default) or the C library,
// selected at build time with MEMX_BACKEND; every call is a thin inline forward.
//
// A mimalloc build still counts on the C library when the process runs inside a tool that
// must see every block (a sanitizer, Valgrind: src/alloc/tools.cpp). The choice is made once,
// at the first allocation, before any block is handed out, so a block is always freed by
// the allocator that made it. It costs the hot path one well-predicted branch on
// g_allocator, a byte written once.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>

#if defined(MEMX_BACKEND_MIMALLOC)
#include <mimalloc.h>
#endif

namespace memx::detail {

/// The C library's malloc family: memx's "system" backend, and what a mimalloc build counts
/// on inside a sanitizer or Valgrind (they intercept these calls).
struct LibcAllocator {
  static constexpr const char* kName = "system";
  /// Ignored blocks are told apart by a side table (alloc/ignored.hpp), not an arena.
  static constexpr bool kIgnoreArena = false;
  // malloc(0) may return nullptr on some C libraries; operator new must not.
  static void* malloc(std::size_t n) noexcept { return std::malloc(n == 0 ? 1 : n); }
  static void* aligned(std::size_t n, std::size_t align) noexcept {
    void* p = nullptr;
    if (align < sizeof(void*)) align = sizeof(void*);
    return posix_memalign(&p, align, n == 0 ? 1 : n) == 0 ? p : nullptr;
  }
  static std::size_t usable_size(const void* p) noexcept {
    return malloc_usable_size(const_cast<void*>(p));
  }
  static void free(void* p) noexcept { std::free(p); }
  /// Usable size of a block that operator new(n) returned.
  static std::size_t usable_size_of(const void* p, std::size_t) noexcept {
    return usable_size(p);
  }
  /// Whether size_of_request(n) is the usable size of any block operator new(n) returned.
  static constexpr bool kSizeClasses = false;
  static constexpr bool knows_size(std::size_t) noexcept { return false; }
  static constexpr std::size_t size_of_request(std::size_t n) noexcept { return n; }
};

#if defined(MEMX_BACKEND_MIMALLOC)
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
/// mimalloc 2.0.9 (Debian 12) can return a block that is NOT aligned when the size is a
/// multiple of the alignment (it assumes such blocks are naturally aligned, which does not
/// hold for every page). Asking for one byte more takes its general over-aligning path.
[[gnu::noinline, gnu::cold]] inline void* mimalloc_realign(void* p, std::size_t n,
                                                          std::size_t align) noexcept {
  mi_free(p);
  return mi_malloc_aligned(n + 1, align);
}

/// mimalloc: memx's default backend.
struct MimallocAllocator {
  static constexpr const char* kName = "mimalloc";
  /// Ignored blocks live in an arena of memx's own (alloc/ignored.hpp).
  static constexpr bool kIgnoreArena = true;
  static void* malloc(std::size_t n) noexcept { return mi_malloc(n); }
  static void* aligned(std::size_t n, std::size_t align) noexcept {
    void* p = mi_malloc_aligned(n, align);
    if (__builtin_expect((reinterpret_cast<std::uintptr_t>(p) & (align - 1)) != 0, 0)) {
      p = mimalloc_realign(p, n, align);
    }
    return p;
  }
  static std::size_t usable_size(const void* p) noexcept { return mi_usable_size(p); }
  static void free(void* p) noexcept { mi_free(p); }
  /// Usable size of a block that operator new(n) returned.
  static std::size_t usable_size_of(const void* p, std::size_t n) noexcept {
#if MEMX_SIZE_CLASSES
    return __builtin_expect(n <= kSizeClassMax, 1) ? size_class_of(n) : mi_usable_size(p);
#else
    (void)n;
    return mi_usable_size(p);
#endif
  }
  /// Whether size_of_request(n) is the usable size of any block operator new(n) returned.
  static constexpr bool kSizeClasses = MEMX_SIZE_CLASSES != 0;
  static constexpr bool knows_size(std::size_t n) noexcept {
    return MEMX_SIZE_CLASSES && n <= kSizeClassMax;
  }
  static constexpr std::size_t size_of_request(std::size_t n) noexcept { return size_class_of(n); }
};
/// The allocator memx was built with.
using BuiltAllocator = MimallocAllocator;
/// Whether the allocator can change at run time (only a build on mimalloc switches).
inline constexpr bool kAllocatorSwitchable = true;
#else
using BuiltAllocator = LibcAllocator;
inline constexpr bool kAllocatorSwitchable = false;
#endif
/// Name of the allocator memx was built with: "mimalloc" or "system".
inline constexpr const char* kBackendName = BuiltAllocator::kName;

/// Which allocator the counting operator new uses in this process.
enum AllocatorChoice : unsigned char {
  kAllocatorUndecided = 0,  // no block handed out yet: decide_allocator() runs first
  kAllocatorBuilt = 1,      // the one memx was built with (the fast path)
  kAllocatorLibc = 2,       // the C library's, because a tool that intercepts it is present
};
/// Written once, by decide_allocator(), before the first block is handed out; read by every
/// allocation. Zero-initialised, so it is valid before any static constructor runs.
/// Hidden: read PC-relative, without a GOT load (memx is a static library).
extern __attribute__((visibility("hidden"))) unsigned char g_allocator;
/// Detects the tools in the process (tools.cpp; allocation-free), records the choice in
/// g_allocator and returns it. Racing first calls from two threads decide the same.
[[gnu::noinline, gnu::cold, gnu::visibility("hidden")]] unsigned char decide_allocator() noexcept;

/// True when blocks go to the allocator memx was built with: one well-predicted branch
/// (none in a build on the C library, which every tool already sees).
__attribute__((always_inline)) inline bool built_allocator_in_use() noexcept {
  if constexpr (!kAllocatorSwitchable) {
    return true;
  } else {
    if (__builtin_expect(__atomic_load_n(&g_allocator, __ATOMIC_RELAXED) == kAllocatorBuilt, 1)) {
      return true;
    }
    return decide_allocator() == kAllocatorBuilt;
  }
}

// The backend as the rest of memx sees it (Uncounted's blocks, usable_size): whichever
// allocator this process counts on.
inline void* backend_malloc(std::size_t n) noexcept {
  return built_allocator_in_use() ? BuiltAllocator::malloc(n) : LibcAllocator::malloc(n);
}
inline void* backend_aligned(std::size_t n, std::size_t align) noexcept {
  return built_allocator_in_use() ? BuiltAllocator::aligned(n, align)
                                  : LibcAllocator::aligned(n, align);
}
inline std::size_t backend_usable_size(const void* p) noexcept {
  return built_allocator_in_use() ? BuiltAllocator::usable_size(p) : LibcAllocator::usable_size(p);
}
inline void backend_free(void* p) noexcept {
  if (built_allocator_in_use()) {
    BuiltAllocator::free(p);
  } else {
    LibcAllocator::free(p);
  }
}

}  // namespace memx::detail
