// A third unwinder for x86-64: DWARF call-frame information walked by memx itself, with the
// rule of each code address read once from elfutils' libdw and cached.
//
// libunwind's unw_backtrace costs 10-12 ns a frame (docs/stacks.md, "Where the time goes").
// Here a frame costs one look-up in a process-wide open-addressing table (code address ->
// CFA rule, lock-free for readers) and two loads (the return address and, where the frame
// saved it, rbp). A rule is cached only when it is one this walk can follow exactly:
//
//   CFA = rsp + k or rbp + k; the return address at CFA - 8; rbp unchanged, saved at
//   CFA + k, or undefined (then no later frame may need it); rsp of the caller = CFA.
//
// Anything else (a DWARF expression, a signal frame such as __restore_rt, no call-frame
// information, an address in no module, a read outside the thread's stack) makes the walk
// give up, and the caller captures that stack with libunwind instead: never a wrong stack.
// The outermost frame (its return address "undefined", as in _start and clone3) ends the
// walk as it ends libunwind's.
//
// A miss (an address seen for the first time) takes a mutex, asks libdw (loaded with dlopen,
// RTLD_LOCAL, as libunwind is: the core does not link it) and publishes the rule; it happens
// once per distinct address. Libraries loaded later (dlopen) are found: a miss re-reads the
// module list when the dynamic loader's counters moved, and starts a fresh table when a
// library was unloaded (its addresses may now hold other code).
#pragma once

#include <cstdint>

namespace memx::detail {

/// The registers a walk starts from, read where the capture is made (read_caller_regs).
struct WalkRegs {
  std::uintptr_t ip;  // an address in the capturing function (not a return address)
  std::uintptr_t sp;
  std::uintptr_t bp;
};

#if defined(__x86_64__)
/// Reads the instruction pointer, rsp and rbp at this point of the calling function (always
/// inlined: the registers are the caller's, valid for the call-frame rule at ip).
[[gnu::always_inline]] inline WalkRegs read_caller_regs() noexcept {
  WalkRegs r;
  asm volatile(
      "lea 0(%%rip), %0\n\t"
      "mov %%rsp, %1\n\t"
      "mov %%rbp, %2"
      : "=r"(r.ip), "=r"(r.sp), "=r"(r.bp));
  return r;
}
#else
[[gnu::always_inline]] inline WalkRegs read_caller_regs() noexcept { return WalkRegs{0, 0, 0}; }
#endif

/// Walks the stack from r: writes r.ip, then each caller's return address (as libunwind's
/// unw_backtrace would from the same place, from its second address on), at most max.
/// Returns how many were written, or -1 when this stack must be captured another way (a
/// frame whose rule the walk cannot follow, or the unwinder is not loaded).
/// The walk itself takes the three registers as separate arguments: a WalkRegs (24 bytes) passed
/// by value goes through memory, and its 16-byte reload right after the three 8-byte stores
/// missed store forwarding, a stall that cost about 6% of a stack-mode run.
///
/// With `defer`, a walk that reuses the outer frames of the thread's last walk may leave them
/// out: it writes the first defer->inner frames, returns the whole count (defer->total) and
/// keeps the rest in the thread's memo until cfi_fill_deferred copies it. defer->stamp names
/// what was left out: two deferred walks of one thread with the same junction and stamp left
/// out the same frames (equal values), so a cache keyed on them plus the written frames can
/// name the whole stack without copying or hashing the rest (stacks.cpp). Without a junction,
/// nothing is left out (inner == total).
struct CfiDeferred {
  int inner = 0;           // frames written
  int total = 0;           // frames of the whole capture
  int junction = 0;        // the memo frame the walk joined; the rest is the memo's frames below it
  std::uint64_t stamp = 0;  // changes whenever one of those frames is written
  std::uint64_t walk = 0;   // the thread's walk count after this walk
};
[[gnu::noinline]] int cfi_backtrace_regs(void** out, int max, std::uintptr_t ip, std::uintptr_t sp,
                                         std::uintptr_t bp, CfiDeferred* defer) noexcept;
[[gnu::always_inline]] inline int cfi_backtrace(void** out, int max, WalkRegs r,
                                                CfiDeferred* defer = nullptr) noexcept {
  return cfi_backtrace_regs(out, max, r.ip, r.sp, r.bp, defer);
}
/// Copies the frames a deferred walk (d) left out into out[d.inner, d.total). False, out
/// unchanged, when the thread walked again since (a signal handler's allocation).
bool cfi_fill_deferred(void** out, const CfiDeferred& d) noexcept;

/// Loads libdw for cfi_backtrace once (dlopen, RTLD_LOCAL); true if the walk can be used
/// (x86-64, libdw found, not a ThreadSanitizer build). Not for the allocation path.
bool load_cfi_unwinder() noexcept;

/// What the walk has done so far (for tests, MEMX_UNWIND_VERIFY and the benchmark).
struct CfiStats {
  std::uint64_t rules;       // distinct addresses whose rule was looked up (misses)
  std::uint64_t unusable;    // of those, rules the walk cannot follow (cached as such)
  std::uint64_t gave_up;     // walks that returned -1
  std::uint64_t reports;     // times the module list was read
  std::uint64_t flushes;     // fresh tables after a library was unloaded
  std::uint64_t memo_blocks;  // per-thread memo blocks ever mapped (recycled at thread exit)
};
CfiStats cfi_stats() noexcept;

/// True when the walk's capture (ours, n frames) is libunwind's (lu, lu_n): as many frames,
/// the same from the second on (the first of each is the capturing function's own address).
bool same_capture(void* const* ours, int n, void* const* lu, int lu_n) noexcept;

/// MEMX_UNWIND_VERIFY: each capture made with the walk is also made with libunwind and the
/// two compared (a debugging aid; see docs/stacks.md). note_cfi_verify records one
/// comparison: ours (n frames) against libunwind's (lu_n); the first address of each is the
/// capturing function's own and is not compared.
void note_cfi_verify(void* const* ours, int n, void* const* lu, int lu_n) noexcept;
struct CfiVerify {
  std::uint64_t compared;
  std::uint64_t mismatches;
  std::uint64_t fell_back;  // captures the walk gave up on (made with libunwind alone)
};
CfiVerify cfi_verify_counts() noexcept;
/// MEMX_UNWIND_VERIFY: a stack named from the deferred walks' id cache (stacks.cpp) was also
/// named the long way: `cached` and `interned` are the two ids (a difference is a mismatch).
void note_deferred_id_check(std::uint32_t cached, std::uint32_t interned) noexcept;
void note_cfi_fell_back() noexcept;

}  // namespace memx::detail
