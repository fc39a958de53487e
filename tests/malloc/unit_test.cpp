// memx::count_malloc (src/alloc/malloc.cpp): the C allocation functions counted like
// operator new, with glibc's and POSIX's semantics for the edge cases.
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>

#include <gtest/gtest.h>
#include <mimalloc.h>

#include "memx/counters.hpp"
#include "memx/ignore.hpp"
#include "memx/tools.hpp"
#include "memx/uncounted.hpp"

namespace memx::detail {
void* count_malloc_bootstrap_block(std::size_t n) noexcept;
bool count_malloc_in_bootstrap(const void* p) noexcept;
}  // namespace memx::detail

namespace {

// Through volatile pointers: the compiler may not pair and remove the calls it knows.
void* (*volatile c_malloc)(std::size_t) = &std::malloc;
void* (*volatile c_calloc)(std::size_t, std::size_t) = &std::calloc;
void* (*volatile c_realloc)(void*, std::size_t) = &std::realloc;
void* (*volatile c_reallocarray)(void*, std::size_t, std::size_t) = &reallocarray;
void (*volatile c_free)(void*) = &std::free;
void* (*volatile c_aligned_alloc)(std::size_t, std::size_t) = &aligned_alloc;
void* (*volatile c_memalign)(std::size_t, std::size_t) = &memalign;
int (*volatile c_posix_memalign)(void**, std::size_t, std::size_t) = &posix_memalign;
char* (*volatile c_strdup)(const char*) = &strdup;
char* (*volatile c_strndup)(const char*, std::size_t) = &strndup;

/// This thread's figures, net of the start.
struct Delta {
  memx::Counters start = memx::this_thread_counters();
  std::int64_t blocks() const {
    return memx::this_thread_counters().live_blocks - start.live_blocks;
  }
  std::int64_t bytes() const { return memx::this_thread_counters().live_bytes - start.live_bytes; }
  std::uint64_t allocs() const { return memx::this_thread_counters().allocs - start.allocs; }
};

bool aligned_to(const void* p, std::size_t a) {
  return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0;
}

// Under a sanitizer or Valgrind every C call goes to the tool's malloc, uncounted.
#define SKIP_UNDER_A_TOOL()                                                              \
  if (memx::allocator_switched_for_tool())                                               \
  GTEST_SKIP() << "a heap tool is in the process: C allocations go to it, uncounted"


TEST(CountMalloc, MallocAndFreeAreCountedAtMimallocsUsableSize) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  void* p = c_malloc(100);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(d.blocks(), 1);
  EXPECT_EQ(d.bytes(), static_cast<std::int64_t>(malloc_usable_size(p)));
  EXPECT_EQ(malloc_usable_size(p), mi_usable_size(p));
  EXPECT_TRUE(mi_is_in_heap_region(p));
  c_free(p);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
  EXPECT_EQ(d.allocs(), 1u);
}

TEST(CountMalloc, EverySizeClassIsCountedAsItIsFreed) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  for (std::size_t n : {0, 1, 8, 9, 100, 4096, 128 * 1024, 128 * 1024 + 1, 3 << 20}) {
    void* p = c_malloc(n);
    ASSERT_NE(p, nullptr) << n;
    EXPECT_EQ(d.bytes(), static_cast<std::int64_t>(mi_usable_size(p))) << n;
    c_free(p);
    EXPECT_EQ(d.bytes(), 0) << n;
  }
}

TEST(CountMalloc, FreeOfNullIsNothing) {
  Delta d;
  c_free(nullptr);
  EXPECT_EQ(d.allocs(), 0u);
  EXPECT_EQ(malloc_usable_size(nullptr), 0u);
}

TEST(CountMalloc, StrdupAndStrndupOfTheCLibraryAreCounted) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  char* a = c_strdup("a string of the C library");
  char* b = c_strndup("abcdef", 3);
  EXPECT_STREQ(a, "a string of the C library");
  EXPECT_STREQ(b, "abc");
  EXPECT_EQ(d.blocks(), 2);  // glibc's strdup calls malloc through the PLT: ours
  EXPECT_TRUE(mi_is_in_heap_region(a));
  c_free(a);
  c_free(b);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, CallocZeroesAndRefusesAnOverflowingProduct) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  auto* p = static_cast<unsigned char*>(c_calloc(100, 10));
  ASSERT_NE(p, nullptr);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(p[i], 0) << i;
  EXPECT_EQ(d.blocks(), 1);
  c_free(p);
  errno = 0;
  EXPECT_EQ(c_calloc(SIZE_MAX / 2, 3), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, ReallocFollowsGlibc) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  // realloc(NULL, n) is malloc(n).
  auto* p = static_cast<char*>(c_realloc(nullptr, 10));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(d.blocks(), 1);
  std::memcpy(p, "012345678", 10);
  // Growing keeps the contents and counts the new block instead of the old one.
  p = static_cast<char*>(c_realloc(p, 5000));
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(p, "012345678");
  EXPECT_EQ(d.blocks(), 1);
  EXPECT_EQ(d.bytes(), static_cast<std::int64_t>(malloc_usable_size(p)));
  EXPECT_EQ(d.allocs(), 2u);
  // Shrinking to half or more stays in place, uncounted.
  void* same = c_realloc(p, 4000);
  EXPECT_EQ(same, p);
  EXPECT_EQ(d.allocs(), 2u);
  // Shrinking further moves it.
  p = static_cast<char*>(c_realloc(p, 4));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(std::memcmp(p, "0123", 4), 0);
  EXPECT_EQ(d.bytes(), static_cast<std::int64_t>(malloc_usable_size(p)));
  // realloc(p, 0) frees p and returns NULL (glibc).
  EXPECT_EQ(c_realloc(p, 0), nullptr);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, ReallocThatFailsLeavesTheBlockAlone) {
  SKIP_UNDER_A_TOOL();
  auto* p = static_cast<char*>(c_malloc(16));
  std::memcpy(p, "kept", 5);
  Delta d;
  errno = 0;
  EXPECT_EQ(c_realloc(p, SIZE_MAX - 4096), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_STREQ(p, "kept");
  errno = 0;
  EXPECT_EQ(c_reallocarray(p, SIZE_MAX / 4, 8), nullptr);  // the product overflows
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_STREQ(p, "kept");
  EXPECT_EQ(d.blocks(), 0);
  p = static_cast<char*>(c_reallocarray(p, 100, 8));
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(p, "kept");
  EXPECT_GE(malloc_usable_size(p), 800u);
  c_free(p);
  EXPECT_EQ(d.blocks(), -1);
}

TEST(CountMalloc, MallocOfTooMuchIsNullWithEnomem) {
  errno = 0;
  EXPECT_EQ(c_malloc(SIZE_MAX - 64), nullptr);
  EXPECT_EQ(errno, ENOMEM);
}

TEST(CountMalloc, AlignedAllocWantsAPowerOfTwo) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  errno = 0;
  EXPECT_EQ(c_aligned_alloc(48, 96), nullptr);
  EXPECT_EQ(errno, EINVAL);
  errno = 0;
  EXPECT_EQ(c_aligned_alloc(0, 16), nullptr);
  EXPECT_EQ(errno, EINVAL);
  for (std::size_t a : {1, 2, 8, 16, 64, 4096, 1 << 16}) {
    void* p = c_aligned_alloc(a, 100);  // C17: the size need not be a multiple
    ASSERT_NE(p, nullptr) << a;
    EXPECT_TRUE(aligned_to(p, a)) << a;
    EXPECT_EQ(d.bytes(), static_cast<std::int64_t>(malloc_usable_size(p))) << a;
    c_free(p);
  }
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, PosixMemalignReturnsItsErrorsAndLeavesThePointerAlone) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  void* marker = &d;
  void* p = marker;
  errno = 0;
  EXPECT_EQ(c_posix_memalign(&p, 24, 64), EINVAL);  // not a power of two
  EXPECT_EQ(c_posix_memalign(&p, 4, 64), EINVAL);   // not a multiple of sizeof(void*)
  EXPECT_EQ(c_posix_memalign(&p, 0, 64), EINVAL);
  EXPECT_EQ(c_posix_memalign(&p, 64, SIZE_MAX - 4096), ENOMEM);
  EXPECT_EQ(p, marker);
  EXPECT_EQ(errno, 0);  // reported through the result only
  // mimalloc 2.0.9 misaligns a size that is a multiple of the alignment (backend.hpp).
  for (std::size_t n : {std::size_t{0}, std::size_t{64}, std::size_t{4096}, std::size_t{100}}) {
    ASSERT_EQ(c_posix_memalign(&p, 64, n), 0) << n;
    EXPECT_TRUE(aligned_to(p, 64)) << n;
    EXPECT_EQ(d.blocks(), 1);
    c_free(p);
  }
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, MemalignRoundsTheAlignmentUpAndVallocAlignsToPages) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  void* p = c_memalign(48, 10);  // glibc: rounded up to 64
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(aligned_to(p, 64));
  c_free(p);
  errno = 0;
  EXPECT_EQ(c_memalign(SIZE_MAX, 10), nullptr);
  EXPECT_EQ(errno, EINVAL);
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  void* v = valloc(10);
  ASSERT_NE(v, nullptr);
  EXPECT_TRUE(aligned_to(v, page));
  void* pv = pvalloc(page + 1);  // rounded up to whole pages
  ASSERT_NE(pv, nullptr);
  EXPECT_TRUE(aligned_to(pv, page));
  EXPECT_GE(malloc_usable_size(pv), 2 * page);
  EXPECT_EQ(d.blocks(), 2);
  c_free(v);
  c_free(pv);
  errno = 0;
  EXPECT_EQ(pvalloc(SIZE_MAX - 10), nullptr);
  EXPECT_EQ(errno, ENOMEM);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, UncountedLeavesCAllocationsOutLikeOperatorNew) {
  SKIP_UNDER_A_TOOL();
  Delta d;
  void* p = nullptr;
  char* s = nullptr;
  {
    memx::Uncounted guard;  // memx's own bookkeeping: fmt, the report, the session
    p = c_malloc(64);
    s = c_strdup("memx's own");
  }
  EXPECT_EQ(d.allocs(), 0u);
  {
    memx::Uncounted guard;
    c_free(p);
    c_free(s);
  }
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
}

TEST(CountMalloc, IgnoreScopesKeepCallocsZerosAndReallocsContents) {
  SKIP_UNDER_A_TOOL();
  const memx::IgnoredCounters ignored_before = memx::ignored_counters();
  Delta d;
  // Dirty some blocks of memx's arena first, so that a fresh block there is not zero by
  // chance (fresh pages are).
  {
    memx::IgnoreScope ignore;
    for (int i = 0; i < 64; ++i) {
      void* q = c_malloc(256);
      std::memset(q, 0xab, 256);
      c_free(q);
    }
  }
  unsigned char* z = nullptr;
  char* r = static_cast<char*>(c_malloc(8));
  std::memcpy(r, "content", 8);
  {
    memx::IgnoreScope ignore;  // blocks move into memx's arena
    z = static_cast<unsigned char*>(c_calloc(1, 256));
    r = static_cast<char*>(c_realloc(r, 1000));
  }
  ASSERT_NE(z, nullptr);
  for (int i = 0; i < 256; ++i) ASSERT_EQ(z[i], 0) << i;
  ASSERT_NE(r, nullptr);
  EXPECT_STREQ(r, "content");
  // r's first block was counted, and its free with it; both replacements are ignored.
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.allocs(), 1u);
  c_free(z);
  c_free(r);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
  EXPECT_EQ(memx::ignored_counters().allocs - ignored_before.allocs, 66u);
}

TEST(CountMalloc, ABlockFreedOnAnotherThreadBalancesTheProcess) {
  SKIP_UNDER_A_TOOL();
  std::thread([] {}).join();  // glibc's first thread: its stack and DTV stay cached
  const memx::Counters before = memx::counters();
  char* s = c_strdup("handed over");
  EXPECT_EQ(memx::counters().live_blocks - before.live_blocks, 1);
  std::thread([s] { c_free(s); }).join();
  const memx::Counters after = memx::counters();
  EXPECT_EQ(after.live_blocks - before.live_blocks, 0);
  EXPECT_EQ(after.live_bytes - before.live_bytes, 0);
}

TEST(CountMalloc, BootstrapBlocksAreNeverReleasedAndCanBeReallocated) {
  // Valgrind replaces the C functions themselves: no bootstrap block is ever handed out.
  SKIP_UNDER_A_TOOL();
  // A block handed out while a thread chooses the route (dlsym's error message).
  auto* b = static_cast<char*>(memx::detail::count_malloc_bootstrap_block(40));
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(memx::detail::count_malloc_in_bootstrap(b));
  EXPECT_TRUE(aligned_to(b, 16));
  EXPECT_EQ(malloc_usable_size(b), 40u);
  std::memcpy(b, "from the bootstrap buffer", 26);
  Delta d;
  auto* moved = static_cast<char*>(c_realloc(b, 100));
  ASSERT_NE(moved, nullptr);
  EXPECT_FALSE(memx::detail::count_malloc_in_bootstrap(moved));
  EXPECT_STREQ(moved, "from the bootstrap buffer");
  c_free(b);  // a no-op: never mimalloc's
  EXPECT_STREQ(b, "from the bootstrap buffer");
  c_free(moved);
  EXPECT_EQ(d.blocks(), 0);
  EXPECT_EQ(d.bytes(), 0);
  EXPECT_FALSE(memx::detail::count_malloc_in_bootstrap(&d));
}

TEST(CountMalloc, TheDynamicLinkersOwnBlocksSurviveDlopenAndThreads) {
  // dlopen/dlclose and threads make the dynamic linker allocate and free link maps, scopes
  // and TLS through malloc; its early blocks (its minimal malloc) must never reach free.
  for (int i = 0; i < 3; ++i) {
    void* h = dlopen("libunwind.so.8", RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(h, nullptr) << dlerror();
    std::thread([] {
      thread_local char tls[4096];
      tls[0] = 1;
      asm volatile("" ::"r"(tls) : "memory");
    }).join();
    EXPECT_EQ(dlclose(h), 0);
  }
  EXPECT_EQ(dlsym(RTLD_DEFAULT, "memx_no_such_symbol"), nullptr);  // dlerror's malloc
  EXPECT_NE(dlerror(), nullptr);
}

TEST(CountMalloc, TheProcessCountsOnMimallocWithoutATool) {
  if (memx::allocator_switched_for_tool()) {
    // Under a sanitizer or Valgrind every C call goes to the tool's malloc, uncounted.
    Delta d;
    void* p = c_malloc(100);
    EXPECT_EQ(d.allocs(), 0u);
    c_free(p);
    return;
  }
  void* p = c_malloc(100);
  EXPECT_TRUE(mi_is_in_heap_region(p));
  c_free(p);
}

}  // namespace
