// The unwinders: stack bounds, agreement where every frame has a frame pointer, and
// what each costs per capture at depth 32 (printed, not asserted: a shared machine).
// This file is built with -fno-omit-frame-pointer.
#include <execinfo.h>
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "memx/stacks.hpp"
#include "stacks/cfi_unwind.hpp"
#include "stacks/unwind.hpp"

namespace memx::detail {
int capture_for_test(stacks::Unwinder u, void** out, int max) noexcept;
}

namespace memx::detail {
namespace {

bool on_stack(const void* p) {
  const StackBounds b = this_thread_stack();
  const auto a = reinterpret_cast<std::uintptr_t>(p);
  return b.lo < a && a < b.hi;
}

TEST(Unwind, StackBoundsHoldTheCallersFrameInEveryThread) {
  int local = 0;
  EXPECT_TRUE(on_stack(&local));
  bool in_thread = false;
  std::thread([&] {
    int mine = 0;
    in_thread = on_stack(&mine) && !on_stack(&local);
  }).join();
  EXPECT_TRUE(in_thread);
}

struct Trace {
  void* fp[80];
  void* lu[80];
  int fp_n = 0;
  int lu_n = 0;
};

[[gnu::noinline]] void leaf(Trace& t) {
  t.fp_n = fp_backtrace(t.fp, 80);
  t.lu_n = libunwind_backtrace(t.lu, 80);
  asm volatile("" ::: "memory");
}

[[gnu::noinline]] void recurse(Trace& t, int n) {
  if (n == 0) {
    leaf(t);
  } else {
    recurse(t, n - 1);
  }
  asm volatile("" ::: "memory");  // not a tail call
}

TEST(Unwind, FramePointerWalkMatchesLibunwindWhereEveryFrameHasAFramePointer) {
  Trace t;
  recurse(t, 20);
  ASSERT_GE(t.fp_n, 22);
  ASSERT_GE(t.lu_n, 22);
  // Both start in leaf, at their own call sites; from leaf's return address on they agree.
  int k = 0;
  while (k < t.lu_n && t.lu[k] != t.fp[1]) ++k;
  ASSERT_LT(k, 4) << "the walk's second address is not among libunwind's first";
  for (int i = 1; i < 22; ++i) EXPECT_EQ(t.fp[i], t.lu[i - 1 + k]) << "frame " << i;
  // recurse's 20 nested calls of itself return to the same address.
  for (int i = 2; i < 21; ++i) EXPECT_EQ(t.fp[i], t.fp[2]);
}

TEST(Unwind, WalkStopsAtTheStacksEndAndRespectsMax) {
  Trace t;
  recurse(t, 3);
  void* few[2];
  EXPECT_EQ(fp_backtrace(few, 2), 2);
  EXPECT_LT(t.fp_n, 80);  // ended by the bounds or the outermost frame, not by max
}

template <class F>
[[gnu::noinline]] void at_depth(int n, F& f) {
  if (n == 0) {
    f();
  } else {
    at_depth(n - 1, f);
  }
  asm volatile("" ::: "memory");
}

/// The best of 5 timings of kN captures of 32 frames from 40 frames deep, in ns per capture.
template <class F>
double ns_per_capture(F&& capture) {
  void* out[32];
  int got = 0;
  constexpr int kN = 20000;
  double best = 1e300;
  for (int rep = 0; rep < 5; ++rep) {
    auto run = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kN; ++i) got = capture(out, 32);
      const auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / kN);
    };
    at_depth(40, run);
  }
  EXPECT_EQ(got, 32);
  return best;
}

TEST(Unwind, CostPerCaptureAtDepth32) {
  // What stack mode pays per allocation for the capture alone.
  const double fp = ns_per_capture([](void** o, int n) { return fp_backtrace(o, n); });
  // glibc's backtrace() itself: libunwind_backtrace falls back to it only until a test that
  // ran earlier in this process loaded libunwind.
  const double glibc = ns_per_capture([](void** o, int n) { return backtrace(o, n); });
  const bool have_libunwind = load_dwarf_unwinder();
  const double lu = ns_per_capture([](void** o, int n) { return libunwind_backtrace(o, n); });
  // The cached-rule walk (after its first capture, every rule is a hit).
  double cfi = -1;
  if (load_cfi_unwinder()) {
    cfi = ns_per_capture([](void** o, int n) { return cfi_backtrace(o, n, read_caller_regs()); });
  }
  std::printf(
      "ns per capture of 32 frames: frame-pointer %.0f, %s %.0f, dwarf-cfi %.0f, glibc backtrace "
      "%.0f\n",
      fp, have_libunwind ? "libunwind" : "(no libunwind) glibc backtrace", lu, cfi, glibc);
  RecordProperty("ns_per_capture_32_dwarf_cfi", static_cast<int>(cfi));
  RecordProperty("ns_per_capture_32_frame_pointer", static_cast<int>(fp));
  RecordProperty("ns_per_capture_32_libunwind", static_cast<int>(lu));
  RecordProperty("ns_per_capture_32_glibc_backtrace", static_cast<int>(glibc));
}

/// The best of 5 timings of kN captures of a whole stack (about 20 frames: 8 below the test
/// body), each the same as the last: what a workload's repeated stacks cost.
template <class F>
double ns_per_whole_capture(F&& capture, int& frames) {
  void* out[64];
  constexpr int kN = 20000;
  double best = 1e300;
  for (int rep = 0; rep < 5; ++rep) {
    auto run = [&] {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kN; ++i) frames = capture(out, 64);
      const auto t1 = std::chrono::steady_clock::now();
      best = std::min(best, std::chrono::duration<double, std::nano>(t1 - t0).count() / kN);
    };
    at_depth(8, run);
  }
  return best;
}

TEST(Unwind, CostPerCaptureOfAWholeRepeatedStack) {
  if (!load_dwarf_unwinder() || !load_cfi_unwinder()) GTEST_SKIP() << "no libunwind or no dwarf-cfi";
  int lu_frames = 0, cfi_frames = 0;
  const double lu = ns_per_whole_capture([](void** o, int n) { return libunwind_backtrace(o, n); }, lu_frames);
  const double cfi = ns_per_whole_capture(
      [](void** o, int n) { return cfi_backtrace(o, n, read_caller_regs()); }, cfi_frames);
  std::printf("ns per capture of a whole stack (%d frames), the same each time: libunwind %.0f, "
              "dwarf-cfi %.0f\n", lu_frames, lu, cfi);
  EXPECT_GT(cfi_frames, 10);
  EXPECT_LT(cfi_frames, 64);
  RecordProperty("ns_per_whole_capture_libunwind", static_cast<int>(lu));
  RecordProperty("ns_per_whole_capture_dwarf_cfi", static_cast<int>(cfi));
}

}  // namespace
}  // namespace memx::detail
