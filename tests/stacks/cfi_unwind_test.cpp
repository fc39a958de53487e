// The cached-rule DWARF walk (src/stacks/cfi_unwind.hpp) against libunwind's unw_backtrace:
// from the same frame, over several shapes of call stack, it must give exactly libunwind's
// return addresses, or give up (-1, the capture is then libunwind's): never another stack.
// Then the same through stack mode itself, with MEMX_UNWIND_VERIFY's comparison of every
// capture. Built as user code usually is (no frame pointers).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "memx/stacks.hpp"
#include "stacks/cfi_unwind.hpp"
#include "stacks/unwind.hpp"

namespace memx::detail {
namespace {

constexpr int kMax = 256;

struct Both {
  void* cfi[kMax];
  void* lu[kMax];
  int cfi_n = -2;
  int lu_n = -2;
};

/// Captures with both from one frame (this one): the walk from its registers, libunwind by
/// its call. The first address of each is this function's own.
[[gnu::noinline]] void capture_both(Both& b) {
  b.cfi_n = cfi_backtrace(b.cfi, kMax, read_caller_regs());
  b.lu_n = dwarf_backtrace_fn()(b.lu, kMax);
  asm volatile("" ::: "memory");
}

std::string describe(const Both& b) {
  std::string s = "dwarf-cfi " + std::to_string(b.cfi_n) + " frames, libunwind " +
                  std::to_string(b.lu_n) + ":\n";
  for (int i = 0; i < std::max(b.cfi_n, b.lu_n); ++i) {
    char line[96];
    std::snprintf(line, sizeof line, "  #%-3d %18p %18p\n", i, i < b.cfi_n ? b.cfi[i] : nullptr,
                  i < b.lu_n ? b.lu[i] : nullptr);
    s += line;
  }
  return s;
}

/// The walk gave libunwind's capture: as many addresses, equal from the second on.
::testing::AssertionResult same_as_libunwind(const Both& b) {
  if (b.cfi_n < 2 || b.cfi_n != b.lu_n) return ::testing::AssertionFailure() << describe(b);
  for (int i = 1; i < b.cfi_n; ++i) {
    if (b.cfi[i] != b.lu[i]) return ::testing::AssertionFailure() << "frame " << i << "\n" << describe(b);
  }
  return ::testing::AssertionSuccess();
}

/// Gave up, or gave libunwind's capture.
::testing::AssertionResult gave_up_or_same(const Both& b) {
  if (b.cfi_n == -1) return ::testing::AssertionSuccess();
  return same_as_libunwind(b);
}

class CfiUnwind : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!load_dwarf_unwinder() || !dwarf_unwinder_is_libunwind()) {
      GTEST_SKIP() << "no libunwind to compare with (ThreadSanitizer build, or not installed)";
    }
    if (!load_cfi_unwinder()) GTEST_SKIP() << "no dwarf-cfi walk here (not x86-64, or no libdw)";
  }
};

[[gnu::noinline]] void recurse(Both& b, int n) {
  if (n == 0) {
    capture_both(b);
  } else {
    recurse(b, n - 1);
  }
  asm volatile("" ::: "memory");  // not a tail call
}

TEST_F(CfiUnwind, DeepRecursionGivesLibunwindsFrames) {
  Both b;
  recurse(b, 100);
  EXPECT_TRUE(same_as_libunwind(b));
  EXPECT_GE(b.cfi_n, 102);
  // Twice: the second walk reads only cached rules.
  Both again;
  recurse(again, 100);
  EXPECT_TRUE(same_as_libunwind(again));
}

/// A frame whose CFA is rbp-based even without frame pointers (alloca), under one with a
/// saved rbp: the rules that restore rbp from the stack are followed.
[[gnu::noinline]] void with_alloca(Both& b, int n) {
  char* p = static_cast<char*>(__builtin_alloca(static_cast<std::size_t>(n)));
  p[0] = 1;
  asm volatile("" ::"r"(p) : "memory");
  if (n > 64) {
    with_alloca(b, n - 16);
  } else {
    recurse(b, 2);
  }
  asm volatile("" ::: "memory");
}

TEST_F(CfiUnwind, FramesBasedOnRbpGiveLibunwindsFrames) {
  Both b;
  with_alloca(b, 128);
  EXPECT_TRUE(same_as_libunwind(b));
}

// Two callers with the same frame of the same callee: the callee's frame is at the same
// CFA with the same return address whichever called it, and only the word above it (the
// caller's return address) tells them apart. Each thread's last walk is reused only where
// the stack still holds every word it read.
[[gnu::noinline]] void callee(Both& b) {
  recurse(b, 1);
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void caller_one(Both& b) {
  callee(b);
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void caller_two(Both& b) {
  asm volatile("nop" ::: "memory");  // not folded into caller_one (identical code folding)
  callee(b);
  asm volatile("" ::: "memory");
}

TEST_F(CfiUnwind, TheLastWalkIsReusedOnlyWhereTheStackStillHoldsIt) {
  for (int round = 0; round < 3; ++round) {
    Both one;
    Both two;
    caller_one(one);
    caller_two(two);
    ASSERT_TRUE(same_as_libunwind(one)) << "round " << round;
    ASSERT_TRUE(same_as_libunwind(two)) << "round " << round;
    // The same frames up to the callee's return address, then each its own caller.
    ASSERT_EQ(one.cfi_n, two.cfi_n);
    int first_difference = -1;
    for (int i = 1; i < one.cfi_n && first_difference < 0; ++i) {
      if (one.cfi[i] != two.cfi[i]) first_difference = i;
    }
    EXPECT_EQ(first_difference, 4) << describe(one) << describe(two);  // capture_both, recurse x2, callee
    // And a capture from a shallower frame of the same walk, then the deeper one again.
    Both shallow;
    capture_both(shallow);
    ASSERT_TRUE(same_as_libunwind(shallow));
    Both again;
    caller_one(again);
    ASSERT_TRUE(same_as_libunwind(again));
  }
}

/// A deferred capture (CfiDeferred) from one frame, then libunwind's from the same frame.
struct Deferred {
  void* cfi[kMax];
  void* lu[kMax];
  int cfi_n = -2;
  int lu_n = -2;
  CfiDeferred d;
};
[[gnu::noinline]] void capture_deferred(Deferred& x) {
  x.cfi_n = cfi_backtrace(x.cfi, kMax, read_caller_regs(), &x.d);
  x.lu_n = dwarf_backtrace_fn()(x.lu, kMax);
  asm volatile("" ::: "memory");
}
[[gnu::noinline]] void deferred_at(Deferred& x, int n) {
  if (n == 0) {
    capture_deferred(x);
  } else {
    deferred_at(x, n - 1);
  }
  asm volatile("" ::: "memory");  // not a tail call
}
[[gnu::noinline]] void deferred_other(Deferred& x) {
  asm volatile("nop" ::: "memory");
  deferred_at(x, 3);
  asm volatile("" ::: "memory");
}

// A walk that joins the thread's last one leaves the shared outer frames in the memo; the
// fill gives exactly libunwind's frames; the same frames left out carry the same stamp, and
// another walk in between makes the fill refuse.
TEST_F(CfiUnwind, ADeferredWalkFilledGivesLibunwindsFramesAndItsStampNamesTheRest) {
  Deferred first, second, third, other;
  deferred_at(first, 3);
  deferred_at(second, 3);  // joins the first walk
  ASSERT_GT(second.cfi_n, 0);
  ASSERT_GT(second.d.total, second.d.inner) << "the second walk left nothing out";
  ASSERT_TRUE(cfi_fill_deferred(second.cfi, second.d));
  ASSERT_EQ(second.cfi_n, second.lu_n);
  for (int i = 1; i < second.cfi_n; ++i) EXPECT_EQ(second.cfi[i], second.lu[i]) << "frame " << i;
  deferred_at(third, 3);
  ASSERT_GT(third.d.total, third.d.inner);
  EXPECT_EQ(third.d.stamp, second.d.stamp) << "the same outer frames, another stamp";
  EXPECT_EQ(third.d.junction, second.d.junction);
  // Another caller one frame further out: its junction is outside the last walk's
  // differing frame, so what it left out is named by another stamp or junction.
  deferred_other(other);
  if (other.d.total > other.d.inner) {
    EXPECT_TRUE(other.d.stamp != third.d.stamp || other.d.junction != third.d.junction ||
                other.d.inner != third.d.inner);
    ASSERT_TRUE(cfi_fill_deferred(other.cfi, other.d));
  }
  ASSERT_EQ(other.cfi_n, other.lu_n);
  for (int i = 1; i < other.cfi_n; ++i) EXPECT_EQ(other.cfi[i], other.lu[i]) << "frame " << i;
  // third's rest was left in the memo; other's walk came since: the fill must refuse.
  void* copy[kMax];
  EXPECT_FALSE(cfi_fill_deferred(copy, third.d));
}

TEST_F(CfiUnwind, StopsAtMaxLikeLibunwind) {
  Both b;
  recurse(b, 20);
  void* few[5];
  void* lu[5];
  auto shallow = [&] {
    const int n = cfi_backtrace(few, 5, read_caller_regs());
    const int m = dwarf_backtrace_fn()(lu, 5);
    EXPECT_EQ(n, 5);
    EXPECT_EQ(m, 5);
    for (int i = 1; i < 5 && i < n; ++i) EXPECT_EQ(few[i], lu[i]) << i;
  };
  shallow();
}

TEST_F(CfiUnwind, AComparatorCalledFromStdSortGivesLibunwindsFrames) {
  std::vector<int> v(64);
  for (int i = 0; i < 64; ++i) v[i] = (i * 37) % 64;
  Both b;
  int calls = 0;
  std::sort(v.begin(), v.end(), [&](int x, int y) {
    if (++calls == 100) capture_both(b);
    return x < y;
  });
  EXPECT_TRUE(same_as_libunwind(b));
}

TEST_F(CfiUnwind, ALambdaThroughStdFunctionGivesLibunwindsFrames) {
  Both b;
  const std::function<void(int)> f = [&](int depth) {
    if (depth == 0) {
      capture_both(b);
    } else {
      recurse(b, depth);
    }
  };
  f(0);
  EXPECT_TRUE(same_as_libunwind(b));
  Both deeper;
  const std::function<void()> g = [&] { recurse(deeper, 5); };
  g();
  EXPECT_TRUE(same_as_libunwind(deeper));
}

TEST_F(CfiUnwind, AThreadsStackThroughLibstdcxxAndLibcGivesLibunwindsFrames) {
  // std::thread's start routine (execute_native_thread_routine, libstdc++.so), start_thread
  // and clone3 (libc, whose return address rule ends the walk).
  Both b;
  std::thread([&] { recurse(b, 3); }).join();
  EXPECT_TRUE(same_as_libunwind(b));
}

// Each thread's memo of its last walk is a block of memx's own pages taken on its first
// walk and given back at its exit (not static TLS): threads one after the other reuse one
// block, and the second walk of each new thread (which reuses its last) is still exact.
TEST_F(CfiUnwind, EachThreadsMemoIsTakenOnItsFirstWalkAndRecycledAtItsExit) {
  std::thread([] {
    Both warm;
    recurse(warm, 2);
  }).join();  // a block on the free list
  const std::uint64_t before = cfi_stats().memo_blocks;
  for (int i = 0; i < 100; ++i) {
    Both first, second;
    std::thread([&] {
      recurse(first, 3);
      recurse(second, 3);
    }).join();
    ASSERT_TRUE(same_as_libunwind(first)) << "thread " << i;
    ASSERT_TRUE(same_as_libunwind(second)) << "thread " << i;
  }
  EXPECT_EQ(cfi_stats().memo_blocks, before) << "100 threads in turn should reuse the block "
                                                "the first gave back";
  // Threads alive at once each hold their own.
  constexpr int kThreads = 8;
  std::vector<Both> caps(kThreads);
  std::vector<std::thread> threads;
  std::atomic<int> walked{0};
  std::atomic<bool> go{false};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      recurse(caps[static_cast<std::size_t>(i)], 2 + i);
      walked.fetch_add(1);
      while (!go.load()) std::this_thread::yield();  // hold the block until all have walked
    });
  }
  while (walked.load() < kThreads) std::this_thread::yield();
  go.store(true);
  for (std::thread& t : threads) t.join();
  for (const Both& b : caps) EXPECT_TRUE(same_as_libunwind(b));
  EXPECT_GE(cfi_stats().memo_blocks, before + kThreads - 1);
  EXPECT_LE(cfi_stats().memo_blocks, before + kThreads);
}

TEST_F(CfiUnwind, CallOnceThroughLibcAndLibstdcxxGivesLibunwindsFrames) {
  // pthread_once (libc) calls libstdc++'s __once_proxy, which calls the lambda.
  static std::once_flag once;
  Both b;
  std::call_once(once, [&] { capture_both(b); });
  EXPECT_TRUE(same_as_libunwind(b));
}

struct CapturesWhenDestroyed {
  Both* b;
  ~CapturesWhenDestroyed() { capture_both(*b); }
};

[[gnu::noinline]] void throw_through(Both& b) {
  CapturesWhenDestroyed c{&b};
  throw std::runtime_error("unwinding");
}

TEST_F(CfiUnwind, ADestructorRunByExceptionUnwindingGivesUpOrLibunwindsFrames) {
  // The frames of libgcc's unwinder (_Unwind_RaiseException and its helpers) are on the
  // stack: whatever their rules, the walk may give up but never differ.
  Both b;
  try {
    throw_through(b);
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(gave_up_or_same(b));
  std::printf("through the exception unwinder: %s\n",
              b.cfi_n == -1 ? "gave up (libunwind captures)" : "libunwind's frames");
}

Both* g_signal_capture = nullptr;

void capture_in_handler(int) { capture_both(*g_signal_capture); }

TEST_F(CfiUnwind, ASignalHandlersStackGivesUpOrLibunwindsFrames) {
  // __restore_rt's frame is a signal frame described by DWARF expressions: not a rule the
  // walk follows.
  Both b;
  g_signal_capture = &b;
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = capture_in_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  raise(SIGUSR2);
  sigaction(SIGUSR2, &old, nullptr);
  EXPECT_TRUE(gave_up_or_same(b));
  EXPECT_EQ(b.cfi_n, -1) << "a signal frame was followed: " << describe(b);
}

void capture_from_library(void* arg) { recurse(*static_cast<Both*>(arg), 2); }

TEST_F(CfiUnwind, ALibraryLoadedAfterTheFirstWalkIsFollowed) {
  Both before;
  recurse(before, 1);  // the module list has been read by now
  ASSERT_TRUE(same_as_libunwind(before));
  const CfiStats s0 = cfi_stats();
  void* handle = dlopen(MEMX_STACKS_DLOPENED_PATH, RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(handle, nullptr) << dlerror();
  using Call = void (*)(void (*)(void*), void*);
  auto call = reinterpret_cast<Call>(dlsym(handle, "memx_test_dlopened_call"));
  ASSERT_NE(call, nullptr);
  Both b;
  call(capture_from_library, &b);
  EXPECT_TRUE(same_as_libunwind(b));
  EXPECT_GT(cfi_stats().reports, s0.reports) << "the module list was not read again";
  dlclose(handle);
}

// Through stack mode: every capture made with the walk is compared with libunwind's
// (MEMX_UNWIND_VERIFY, read by enable()).
class CfiVerifyMode : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* was = std::getenv("MEMX_UNWIND_VERIFY");
    const std::string saved = was != nullptr ? was : "";
    setenv("MEMX_UNWIND_VERIFY", "1", 1);
    const bool on = stacks::enable(32);
    if (was != nullptr) {
      setenv("MEMX_UNWIND_VERIFY", saved.c_str(), 1);  // as the run was started
    } else {
      unsetenv("MEMX_UNWIND_VERIFY");
    }
    ASSERT_TRUE(on);
    if (stacks::unwinder() != stacks::Unwinder::kDwarfCfi) {
      stacks::disable();
      GTEST_SKIP() << "the probe chose " << stacks::unwinder_name(stacks::unwinder());
    }
  }
  void TearDown() override { stacks::disable(); }
};

[[gnu::noinline]] std::unique_ptr<int> allocate_at(int depth) {
  if (depth == 0) return std::make_unique<int>(depth);
  auto p = allocate_at(depth - 1);
  asm volatile("" ::: "memory");
  return p;
}

struct AllocatesWhenDestroyed {
  ~AllocatesWhenDestroyed() {
    std::string s(200, 'd');
    asm volatile("" ::"r"(s.data()) : "memory");
  }
};

[[gnu::noinline]] void throw_allocating() {
  AllocatesWhenDestroyed a;
  throw std::runtime_error("unwinding");
}

void allocate_in_handler(int) {
  auto* p = new std::vector<int>(10);  // not async-signal-safe in general; raise() here is synchronous
  delete p;
}

TEST_F(CfiVerifyMode, EveryCaptureOfManyShapesIsLibunwinds) {
  const CfiVerify v0 = cfi_verify_counts();
  // std::string growth: operator new called from libstdc++.so (_M_create).
  std::string s;
  for (int i = 0; i < 2000; ++i) s += static_cast<char>('a' + i % 26);
  // Deep recursion.
  for (int d : {0, 10, 60}) (void)allocate_at(d);
  // std::sort with a comparator that allocates.
  std::vector<std::string> words;
  for (int i = 0; i < 200; ++i) words.push_back(std::to_string((i * 7919) % 1000));
  std::sort(words.begin(), words.end(), [](const std::string& a, const std::string& b) {
    return std::string(a) + "x" < std::string(b) + "x";
  });
  // A lambda through std::function, and threads.
  const std::function<void()> f = [] { std::vector<int> v(100); };
  f();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back([] {
    for (int i = 0; i < 100; ++i) (void)allocate_at(i % 8);
  });
  for (std::thread& t : threads) t.join();
  // A library loaded with dlopen.
  if (void* h = dlopen(MEMX_STACKS_DLOPENED_PATH, RTLD_NOW | RTLD_LOCAL)) {
    auto allocate = reinterpret_cast<void* (*)(std::size_t)>(dlsym(h, "memx_test_dlopened_allocate"));
    ASSERT_NE(allocate, nullptr);
    delete[] static_cast<char*>(allocate(100));
    dlclose(h);
  }
  // A destructor run by exception unwinding, and a signal handler (both may give up).
  try {
    throw_allocating();
  } catch (const std::runtime_error&) {
  }
  struct sigaction sa {};
  struct sigaction old {};
  sa.sa_handler = allocate_in_handler;
  sigemptyset(&sa.sa_mask);
  ASSERT_EQ(sigaction(SIGUSR2, &sa, &old), 0);
  raise(SIGUSR2);
  sigaction(SIGUSR2, &old, nullptr);
  const CfiVerify v1 = cfi_verify_counts();
  std::printf("MEMX_UNWIND_VERIFY: %llu captures compared, %llu mismatches, %llu left to libunwind\n",
              static_cast<unsigned long long>(v1.compared - v0.compared),
              static_cast<unsigned long long>(v1.mismatches - v0.mismatches),
              static_cast<unsigned long long>(v1.fell_back - v0.fell_back));
  EXPECT_GT(v1.compared - v0.compared, 300u);
  EXPECT_EQ(v1.mismatches, v0.mismatches);
  EXPECT_GE(v1.fell_back - v0.fell_back, 1u) << "the signal handler's allocation was walked";
}

}  // namespace
}  // namespace memx::detail
