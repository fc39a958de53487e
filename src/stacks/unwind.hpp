// Capturing the return addresses of the calling thread: a frame-pointer walk and libunwind.
//
// Both write return addresses, innermost first, and never allocate with operator new.
#pragma once

#include <cstddef>
#include <cstdint>

namespace memx::detail {

/// The calling thread's stack: [lo, hi). Read once per thread with pthread_getattr_np and
/// cached in static TLS; {0, 0} when the C library cannot tell.
struct StackBounds {
  std::uintptr_t lo;
  std::uintptr_t hi;
};
StackBounds this_thread_stack() noexcept;

/// Walks the frame-pointer chain from the caller's frame (x86-64 / AArch64 layout: the saved
/// frame pointer, then the return address). Every frame must lie inside the thread's stack,
/// above the previous one and be aligned to 8 bytes, or the walk stops (the checks of LLVM's
/// sanitizer_stacktrace.cpp). Correct only where every frame keeps a frame pointer: a
/// function built without one is skipped together with its caller's address.
/// Returns the number of addresses written, at most max.
[[gnu::noinline]] int fp_backtrace(void** out, int max) noexcept;

/// libunwind's unw_backtrace (DWARF call-frame information, cached per address by libunwind):
/// correct through code built without frame pointers. Returns the number written. Uses
/// glibc's backtrace() until load_dwarf_unwinder() has loaded libunwind, and when it cannot
/// (not installed; ThreadSanitizer builds, unwind.cpp says why).
[[gnu::noinline]] int libunwind_backtrace(void** out, int max) noexcept;

/// An unwinder: writes up to max return addresses, its caller's first; returns how many.
using BacktraceFn = int (*)(void** out, int max);

/// The unwinder libunwind_backtrace calls: libunwind's unw_backtrace once
/// load_dwarf_unwinder() has loaded it, else glibc's backtrace(). Calling it directly saves
/// the wrapper's frame.
BacktraceFn dwarf_backtrace_fn() noexcept;

/// Loads libunwind (dlopen, RTLD_LOCAL) for libunwind_backtrace once; true if it is in use.
/// Not for the allocation path: it may allocate and take the loader's lock.
bool load_dwarf_unwinder() noexcept;
/// True once load_dwarf_unwinder() has loaded libunwind.
bool dwarf_unwinder_is_libunwind() noexcept;

}  // namespace memx::detail
