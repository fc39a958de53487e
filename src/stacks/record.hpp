// Stack mode's entry points from the counting slow path (alloc/counters.cpp).
//
// The slow path captures the stack itself, with capture_here() inlined into its own frame,
// and hands the frames to stacks_on_alloc: the walk then starts in the slow path, and no
// frame of stack mode's own (the hook, a wrapper around the unwinder) is unwound only to be
// skipped. Each frame costs libunwind 10-12 ns, and the benchmark workloads' captures walk
// 6 to 17 frames (docs/stacks.md, "Where the time goes").
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "stacks/cfi_unwind.hpp"
#include "stacks/unwind.hpp"

namespace memx::detail {

/// What the slow path does after a stack-mode hook.
enum class StackHook : unsigned char {
  kOff,    // stack mode is off: count only, and go back to the counting state
  kCount,  // recorded (or forgotten): count as usual
  kSkip,   // memx's own probe block (enable() measuring the unwinders): do not count
};

/// Frames inside memx (the slow path and operator new) that a capture skips, at most.
inline constexpr int kMaxSkip = 8;
/// The most frames a capture writes: the deepest stack kept (stacks::kMaxDepth) and the skip.
inline constexpr int kCaptureMax = 64 + kMaxSkip;

/// What a capture needs, in one word so that the capture and the hook that records it
/// always agree, even while enable() switches unwinders: 0 when stack mode is off, else
/// depth | skip << 8 | kPlanFramePointer when the frame-pointer walk is chosen, kPlanCfi
/// when the cached-rule DWARF walk is (cfi_unwind.hpp), kPlanVerify when MEMX_UNWIND_VERIFY
/// asks that walk's captures to be compared with libunwind's.
extern std::atomic<std::uint32_t> g_capture_plan;
inline constexpr std::uint32_t kPlanFramePointer = std::uint32_t{1} << 16;
inline constexpr std::uint32_t kPlanCfi = std::uint32_t{1} << 17;
inline constexpr std::uint32_t kPlanVerify = std::uint32_t{1} << 18;
/// The DWARF unwinder (dwarf_backtrace_fn(): libunwind's unw_backtrace, or glibc's
/// backtrace()), stored before the first plan is published and never changed after.
extern std::atomic<BacktraceFn> g_dwarf_fn;

/// The captures enable() makes of its own probe allocations, from the same place as the
/// real captures, with both unwinders (stacks.cpp compares them).
struct ProbeCapture {
  void* fp[kCaptureMax];
  void* lu[kCaptureMax];
  void* cfi[kCaptureMax];
  int fp_n = -1;
  int lu_n = -1;
  int cfi_n = -1;  // -1 also when the cached-rule walk gave up
};
/// The calling thread's probe while enable() runs one; nullptr otherwise.
extern __thread ProbeCapture* tls_probe __attribute__((tls_model("initial-exec")));

/// The return addresses of one capture and the plan it was made with.
struct StackCapture {
  std::uint32_t plan;
  int n;
  /// A dwarf-cfi walk may leave the frames it shares with the thread's last walk out of
  /// `frames` (deferred.total > deferred.inner; cfi_unwind.hpp): the hooks name the stack
  /// from a cache or copy them first (stacks.cpp, intern_capture).
  CfiDeferred deferred;
  void* frames[kCaptureMax];
};

/// Starts loading the live-block map's lines for block p (LiveMap::prefetch).
void prefetch_block_entry(void* p) noexcept;

/// Captures the calling function's stack into c (always inlined, so that the walk starts in
/// the slow path's own frame), for block p. Captures nothing (n = 0) when stack mode is off.
[[gnu::always_inline]] inline void capture_here(StackCapture& c, void* p) noexcept {
  c.n = 0;
  c.plan = 0;
  if (ProbeCapture* probe = tls_probe; __builtin_expect(probe != nullptr, 0)) {
    if (probe->fp_n < 0) {  // the first allocation of each probe only
      // Both unwinders, each called from here as the real capture is.
      probe->fp_n = fp_backtrace(probe->fp, kCaptureMax);
      probe->lu_n = dwarf_backtrace_fn()(probe->lu, kCaptureMax);
      probe->cfi_n = cfi_backtrace(probe->cfi, kCaptureMax, read_caller_regs());
    }
    return;
  }
  c.plan = g_capture_plan.load(std::memory_order_acquire);
  if (c.plan == 0) return;
  prefetch_block_entry(p);  // the map's lines load while the unwinder walks
  const int max = static_cast<int>(c.plan & 0xff) + static_cast<int>((c.plan >> 8) & 0xff);
  if ((c.plan & kPlanCfi) != 0) {
    // The walk starts from this frame's registers; when it gives up, libunwind captures the
    // stack from this same frame, so the skip is the same either way.
    c.deferred.total = 0;
    c.deferred.inner = 0;
    c.n = cfi_backtrace(c.frames, max, read_caller_regs(), &c.deferred);
    if (__builtin_expect(c.n >= 0 && (c.plan & kPlanVerify) == 0, 1)) return;
    if (c.n < 0) {
      c.n = g_dwarf_fn.load(std::memory_order_relaxed)(c.frames, max);
      if ((c.plan & kPlanVerify) != 0) note_cfi_fell_back();
      return;
    }
    // MEMX_UNWIND_VERIFY: the whole capture (the part left in the memo copied out) against
    // the same capture with libunwind; the hook checks the stack id cache (intern_capture).
    void* ours[kCaptureMax];
    for (int i = 0; i < c.deferred.inner; ++i) ours[i] = c.frames[i];
    if (c.deferred.total > c.deferred.inner && !cfi_fill_deferred(ours, c.deferred)) return;
    void* lu[kCaptureMax];
    const int lu_n = g_dwarf_fn.load(std::memory_order_relaxed)(lu, max);
    note_cfi_verify(ours, c.n, lu, lu_n);
    return;
  }
  const BacktraceFn fn = (c.plan & kPlanFramePointer) != 0
                            ? &fp_backtrace
                            : g_dwarf_fn.load(std::memory_order_relaxed);
  c.n = fn(c.frames, max);
}

/// True when a thread in the counting state should switch to the stack state.
bool stacks_wanted() noexcept;
/// Records a block just allocated, with the stack capture_here() took, in the live-block map.
[[gnu::noinline]] StackHook stacks_on_alloc(void* p, std::size_t usable,
                                            StackCapture& c) noexcept;
/// The calling thread exits: its buffered figures of the scope's peak go to the shared ones.
void stacks_thread_exit() noexcept;
/// Forgets a block about to be freed.
StackHook stacks_on_free(void* p) noexcept;

/// Sampling: the mean number of bytes allocated between two sampled allocations (0: off).
extern std::atomic<std::uint64_t> g_sample_interval;
inline std::uint64_t sample_interval() noexcept {
  return g_sample_interval.load(std::memory_order_relaxed);
}
/// Bumped by each enable_sampling(): a thread whose threshold was armed under another
/// generation arms it again (with the new mean) at its next slow call.
extern std::atomic<std::uint32_t> g_sample_generation;
extern __thread std::uint32_t tls_sample_generation __attribute__((tls_model("initial-exec")));
/// The bytes to allocate before the calling thread's next sample: exponentially distributed
/// with mean `interval` (a Poisson process over allocated bytes, as tcmalloc samples).
std::uint64_t next_sample_gap(std::uint64_t interval) noexcept;
/// Records a sampled block with its stack: moves it into memx's arena (so that its free is
/// recognised by address) and returns the block to hand out (p itself when it cannot be
/// recorded). usable is what was counted for it.
[[gnu::noinline]] void* stacks_on_sample(void* p, std::size_t usable, std::size_t align,
                                         StackCapture& c) noexcept;
/// A block of memx's arena being freed: true (and the usable size it was counted with) when
/// it is a sampled block, which is then forgotten.
bool stacks_forget_sampled(void* p, std::size_t* counted) noexcept;

}  // namespace memx::detail
