// memx::count_malloc: the C library's allocation functions, counted like operator new.
//
// Linked into a program (a static library whose object the link always extracts), these
// definitions take the place of the C library's malloc family for the whole process,
// shared libraries included: the executable's definitions come first in the dynamic
// linker's search, and glibc's own callers (strdup, strndup, asprintf, getline, fopen ...)
// call malloc through the PLT. Blocks come from mimalloc, like operator new's, and are
// counted into the same per-thread counters through the same inline functions
// (thread_counters.hpp), so the thread states (Uncounted, ignore scopes, stack mode,
// sampling, allocation numbers) apply to them unchanged.
//
// Three routes, chosen per call from one byte (backend.hpp's g_allocator):
// - mimalloc, counted: the process counts on the allocator memx was built with;
// - the next malloc, uncounted: a sanitizer or Valgrind is in the process (tools.cpp) and
//   must see every block. Every call then goes to the definition the process would have
//   used without this library (dlsym(RTLD_NEXT): the sanitizer's, or libmimalloc's, which
//   Debian's libmimalloc.so exports), and nothing is counted; memx's operator new counts on
//   the C library then, through these same functions, so nothing is counted twice;
// - a static bootstrap buffer: while a thread is choosing the route (the choice calls dlsym,
//   which may call malloc for its error message), its allocations come from a buffer in this
//   file, which free() recognises by address and never releases.
//
// Which blocks free() may be given: ours (mimalloc's, or memx's ignore arena's, which are
// mimalloc's too), the bootstrap buffer's, or the next malloc's on the tool route. The
// dynamic linker's early blocks (its minimal malloc, before relocation binds malloc here)
// are never passed to free: glibc keeps them apart (the initial DTV, the first link maps),
// which is what every replacement malloc relies on, Debian's libmimalloc.so included.
//
// Error semantics follow glibc 2.36 and POSIX: malloc(0) returns a unique block;
// realloc(p, 0) frees p and returns NULL; calloc and reallocarray return NULL with ENOMEM
// when the product overflows; aligned_alloc needs a power-of-two alignment (else NULL,
// EINVAL, as glibc 2.38 does); posix_memalign returns EINVAL for an alignment that is not a
// power of two multiple of sizeof(void*), ENOMEM when memory runs out, and leaves *memptr
// alone then; memalign rounds an alignment up to a power of two (glibc's behaviour).
#include <dlfcn.h>
#include <errno.h>
#include <unistd.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "alloc/ignored.hpp"
#include "alloc/thread_counters.hpp"

#if !defined(MEMX_BACKEND_MIMALLOC)
#error "memx::count_malloc counts on mimalloc: build memx with MEMX_BACKEND=mimalloc"
#endif

// memx::count_malloc's link interface passes --undefined=memx_count_malloc_anchor.
extern "C" {
extern const char memx_count_malloc_anchor;
__attribute__((used)) const char memx_count_malloc_anchor = 1;
}

namespace memx::detail {
namespace {

using Mi = MimallocAllocator;

// --- The bootstrap buffer ------------------------------------------------------------------

/// Blocks handed out while a thread chooses the route. dlsym's error state is a few hundred
/// bytes per failed look-up; 64 KiB is far more than the choice ever needs.
constexpr std::size_t kBootSize = 64 * 1024;
/// Each block is preceded by a header of this size holding its size (also its alignment).
constexpr std::size_t kBootHeader = 16;
alignas(64) unsigned char g_boot[kBootSize];
std::atomic<std::size_t> g_boot_used{0};
/// True while this thread chooses the route: its allocations come from g_boot.
__thread bool tls_choosing __attribute__((tls_model("initial-exec")));

MEMX_ALWAYS_INLINE bool in_boot(const void* p) noexcept {
  return reinterpret_cast<std::uintptr_t>(p) - reinterpret_cast<std::uintptr_t>(g_boot) <
         kBootSize;
}

[[gnu::cold, gnu::noinline]] void* boot_alloc(std::size_t n, std::size_t align) noexcept {
  if (align < kBootHeader) align = kBootHeader;
  if (n > kBootSize || align > kBootSize / 4) {
    errno = ENOMEM;
    return nullptr;
  }
  const std::size_t need = ((n + kBootHeader - 1) & ~(kBootHeader - 1)) + align;
  const std::size_t at = g_boot_used.fetch_add(need, std::memory_order_relaxed);
  if (at + need > kBootSize) {
    errno = ENOMEM;
    return nullptr;
  }
  // The block starts at the first aligned address after room for the header. The buffer is
  // static, so it is zero: calloc's promise holds.
  const auto base = reinterpret_cast<std::uintptr_t>(g_boot) + at + kBootHeader;
  const std::uintptr_t block = (base + align - 1) & ~(align - 1);
  std::memcpy(reinterpret_cast<void*>(block - sizeof(std::size_t)), &n, sizeof n);
  return reinterpret_cast<void*>(block);
}

std::size_t boot_size(const void* p) noexcept {
  std::size_t n = 0;
  std::memcpy(&n, static_cast<const unsigned char*>(p) - sizeof n, sizeof n);
  return n;
}

// --- The next definitions (the tool route) -------------------------------------------------

struct Next {
  void* (*malloc)(std::size_t);
  void (*free)(void*);
  void* (*calloc)(std::size_t, std::size_t);
  void* (*realloc)(void*, std::size_t);
  void* (*memalign)(std::size_t, std::size_t);
  int (*posix_memalign)(void**, std::size_t, std::size_t);
  void* (*aligned_alloc)(std::size_t, std::size_t);
  void* (*valloc)(std::size_t);
  void* (*pvalloc)(std::size_t);
  std::size_t (*usable_size)(void*);
  void* (*reallocarray)(void*, std::size_t, std::size_t);
};
Next g_next{};
std::atomic<bool> g_next_ready{false};

template <class F>
void resolve(F& f, const char* name) noexcept {
  f = reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

void resolve_next() noexcept {
  if (g_next_ready.load(std::memory_order_acquire)) return;
  // Threads racing here store the same addresses.
  resolve(g_next.malloc, "malloc");
  resolve(g_next.free, "free");
  resolve(g_next.calloc, "calloc");
  resolve(g_next.realloc, "realloc");
  resolve(g_next.memalign, "memalign");
  resolve(g_next.posix_memalign, "posix_memalign");
  resolve(g_next.aligned_alloc, "aligned_alloc");
  resolve(g_next.valloc, "valloc");
  resolve(g_next.pvalloc, "pvalloc");
  resolve(g_next.usable_size, "malloc_usable_size");
  resolve(g_next.reallocarray, "reallocarray");
  g_next_ready.store(true, std::memory_order_release);
}

// --- The route -------------------------------------------------------------------------------

enum Route : unsigned char { kRouteMimalloc, kRouteNext, kRouteBoot };

[[gnu::cold, gnu::noinline]] Route choose_route() noexcept {
  if (tls_choosing) return kRouteBoot;
  tls_choosing = true;
  const int saved_errno = errno;
  const bool built = decide_allocator() == kAllocatorBuilt;
  if (!built) resolve_next();
  errno = saved_errno;
  tls_choosing = false;
  return built ? kRouteMimalloc : kRouteNext;
}

/// mimalloc, counted: one well-predicted branch on a byte written once.
MEMX_ALWAYS_INLINE Route route() noexcept {
  if (MEMX_LIKELY(__atomic_load_n(&g_allocator, __ATOMIC_RELAXED) == kAllocatorBuilt)) {
    return kRouteMimalloc;
  }
  if (__atomic_load_n(&g_allocator, __ATOMIC_ACQUIRE) == kAllocatorLibc &&
      g_next_ready.load(std::memory_order_acquire)) {
    return kRouteNext;
  }
  return choose_route();
}

constexpr bool power_of_two(std::size_t a) noexcept { return a != 0 && (a & (a - 1)) == 0; }

std::size_t page_size() noexcept {
  static const std::size_t size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}

// --- The counted functions on mimalloc (always inlined into the public ones) --------------
//
// A public function ends with count_alloc_usable (a tail call of the slow path, as in
// operator new) where it can, so that stack mode's capture sees the same frames as for
// operator new; where it cannot (calloc's and realloc's copy, posix_memalign's return code),
// the extra frame is the function's own, which the site analysis treats as the allocator's
// (analysis/sites.cpp).

MEMX_ALWAYS_INLINE void* fail_enomem() noexcept {
  errno = ENOMEM;
  return nullptr;
}

MEMX_ALWAYS_INLINE void* mi_counted_malloc(std::size_t n) noexcept {
  void* p = Mi::malloc(n);
  if (MEMX_UNLIKELY(p == nullptr)) return fail_enomem();
  return count_alloc_usable(p, Mi::usable_size_of(p, n));
}

MEMX_ALWAYS_INLINE void* mi_counted_aligned(std::size_t n, std::size_t align) noexcept {
  void* p = Mi::aligned(n, align);
  if (MEMX_UNLIKELY(p == nullptr)) return fail_enomem();
  return count_alloc_usable(p, Mi::usable_size(p), align);
}

MEMX_ALWAYS_INLINE void mi_counted_free(void* p) noexcept {
  if (MEMX_UNLIKELY(in_ignore_arena(p))) {
    free_ignored(p);
    return;
  }
  count_free_then_free<Mi>(p, Mi::usable_size(p));
}

/// realloc on mimalloc: like mi_realloc (which never grows a block in place), a new block,
/// the copy, the old block freed; a block that shrinks to at least half of its usable size
/// stays where it is, uncounted (mi_realloc's rule).
MEMX_ALWAYS_INLINE void* mi_counted_realloc(void* p, std::size_t n) noexcept {
  const std::size_t old = Mi::usable_size(p);
  if (n <= old && n >= old / 2) return p;
  void* q = Mi::malloc(n);
  if (MEMX_UNLIKELY(q == nullptr)) return fail_enomem();  // p is left as it was
  std::memcpy(q, p, n < old ? n : old);
  mi_counted_free(p);
  // Counted last (the block handed out may be a copy in memx's arena: kKeepContents).
  return count_alloc_usable(q, Mi::usable_size_of(q, n), kKeepContents);
}

[[gnu::cold, gnu::noinline]] void* realloc_from_boot(void* p, std::size_t n) noexcept;

MEMX_ALWAYS_INLINE bool multiply(std::size_t a, std::size_t b, std::size_t* out) noexcept {
  return !__builtin_mul_overflow(a, b, out);
}

/// memalign's alignment: rounded up to a power of two, at least a pointer's size; 0 when it
/// cannot be (glibc: EINVAL).
MEMX_ALWAYS_INLINE std::size_t memalign_alignment(std::size_t align) noexcept {
  if (align <= sizeof(void*)) return sizeof(void*);
  if (power_of_two(align)) return align;
  if (align > (std::size_t{1} << 63)) return 0;
  return std::size_t{1} << (64 - __builtin_clzll(align));
}

}  // namespace
}  // namespace memx::detail

using namespace memx::detail;

extern "C" {

void* malloc(std::size_t n) noexcept {
  switch (route()) {
    case kRouteMimalloc: return mi_counted_malloc(n);
    case kRouteNext: return g_next.malloc(n);
    default: return boot_alloc(n, 0);
  }
}

void free(void* p) noexcept {
  if (p == nullptr) return;
  if (MEMX_UNLIKELY(in_boot(p))) return;  // the bootstrap buffer's: never released
  switch (route()) {
    case kRouteMimalloc: mi_counted_free(p); return;
    case kRouteNext: g_next.free(p); return;
    default: return;  // a block freed while choosing the route: left alone
  }
}

void* calloc(std::size_t count, std::size_t size) noexcept {
  std::size_t n = 0;
  if (MEMX_UNLIKELY(!multiply(count, size, &n))) return fail_enomem();
  switch (route()) {
    case kRouteMimalloc: {
      void* p = mi_zalloc(n);
      if (MEMX_UNLIKELY(p == nullptr)) return fail_enomem();
      return count_alloc_usable(p, Mi::usable_size_of(p, n), kKeepContents);
    }
    case kRouteNext: return g_next.calloc(count, size);
    default: return boot_alloc(n, 0);
  }
}

void* realloc(void* p, std::size_t n) noexcept {
  if (p == nullptr) return malloc(n);
  if (MEMX_UNLIKELY(in_boot(p))) return realloc_from_boot(p, n);
  switch (route()) {
    case kRouteMimalloc:
      if (MEMX_UNLIKELY(n == 0)) {  // glibc: frees the block, returns NULL
        mi_counted_free(p);
        return nullptr;
      }
      return mi_counted_realloc(p, n);
    case kRouteNext: return g_next.realloc(p, n);
    default: return realloc_from_boot(p, n);
  }
}

void* reallocarray(void* p, std::size_t count, std::size_t size) noexcept {
  std::size_t n = 0;
  if (MEMX_UNLIKELY(!multiply(count, size, &n))) return fail_enomem();
  return realloc(p, n);
}

void* memalign(std::size_t align, std::size_t n) noexcept {
  const std::size_t a = memalign_alignment(align);
  if (MEMX_UNLIKELY(a == 0)) {
    errno = EINVAL;
    return nullptr;
  }
  switch (route()) {
    case kRouteMimalloc: return mi_counted_aligned(n, a);
    case kRouteNext: return g_next.memalign(align, n);
    default: return boot_alloc(n, a);
  }
}

void* aligned_alloc(std::size_t align, std::size_t n) noexcept {
  if (MEMX_UNLIKELY(!power_of_two(align))) {
    errno = EINVAL;
    return nullptr;
  }
  switch (route()) {
    case kRouteMimalloc: return mi_counted_aligned(n, align < sizeof(void*) ? sizeof(void*) : align);
    case kRouteNext:
      return g_next.aligned_alloc != nullptr ? g_next.aligned_alloc(align, n)
                                             : g_next.memalign(align, n);
    default: return boot_alloc(n, align);
  }
}

int posix_memalign(void** out, std::size_t align, std::size_t n) noexcept {
  if (MEMX_UNLIKELY(!power_of_two(align) || align % sizeof(void*) != 0)) return EINVAL;
  void* p = nullptr;
  switch (route()) {
    case kRouteMimalloc: {
      const int saved_errno = errno;  // posix_memalign reports through its result only
      p = mi_counted_aligned(n, align);
      errno = saved_errno;
      break;
    }
    case kRouteNext:
      if (g_next.posix_memalign != nullptr) return g_next.posix_memalign(out, align, n);
      p = g_next.memalign(align, n);
      break;
    default: p = boot_alloc(n, align); break;
  }
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t n) noexcept { return memalign(page_size(), n); }

void* pvalloc(std::size_t n) noexcept {
  const std::size_t page = page_size();
  if (MEMX_UNLIKELY(n > SIZE_MAX - page)) return fail_enomem();
  return memalign(page, (n + page - 1) & ~(page - 1));
}

std::size_t malloc_usable_size(void* p) noexcept {
  if (p == nullptr) return 0;
  if (MEMX_UNLIKELY(in_boot(p))) return boot_size(p);
  switch (route()) {
    case kRouteMimalloc: return Mi::usable_size(p);
    case kRouteNext: return g_next.usable_size(p);
    default: return 0;
  }
}

}  // extern "C"

namespace memx::detail {
namespace {

void* realloc_from_boot(void* p, std::size_t n) noexcept {
  if (n == 0) return nullptr;  // freed (a bootstrap block is never released)
  void* q = malloc(n);
  if (q == nullptr) return nullptr;
  const std::size_t old = boot_size(p);
  std::memcpy(q, p, n < old ? n : old);
  return q;
}

}  // namespace

/// For the unit tests: a block of the bootstrap buffer, as a thread choosing the route gets.
void* count_malloc_bootstrap_block(std::size_t n) noexcept { return boot_alloc(n, 0); }
/// For the unit tests: whether p lies in the bootstrap buffer.
bool count_malloc_in_bootstrap(const void* p) noexcept { return in_boot(p); }

}  // namespace memx::detail
