// The two unwinders (unwind.hpp).
#include "stacks/unwind.hpp"

#include <dlfcn.h>
#include <execinfo.h>
#include <pthread.h>

#include <atomic>

#if !defined(MEMX_LIBUNWIND_SONAME)
#define MEMX_LIBUNWIND_SONAME "libunwind.so.8"
#endif

namespace memx::detail {
namespace {

// Zero-initialised static TLS: valid before any constructor and in every thread.
__thread StackBounds tls_bounds __attribute__((tls_model("initial-exec")));
__thread bool tls_bounds_known __attribute__((tls_model("initial-exec")));

StackBounds read_bounds() noexcept {
  StackBounds b{0, 0};
  pthread_attr_t attr;
  // May call the C malloc (for the main thread glibc reads /proc/self/maps); never operator new.
  if (pthread_getattr_np(pthread_self(), &attr) != 0) return b;
  void* addr = nullptr;
  std::size_t size = 0;
  if (pthread_attr_getstack(&attr, &addr, &size) == 0 && addr != nullptr) {
    b.lo = reinterpret_cast<std::uintptr_t>(addr);
    b.hi = b.lo + size;
  }
  pthread_attr_destroy(&attr);
  return b;
}

}  // namespace

StackBounds this_thread_stack() noexcept {
  if (__builtin_expect(!tls_bounds_known, 0)) {
    tls_bounds = read_bounds();
    tls_bounds_known = true;
  }
  return tls_bounds;
}

int fp_backtrace(void** out, int max) noexcept {
  const StackBounds b = this_thread_stack();
  auto* frame = static_cast<std::uintptr_t*>(__builtin_frame_address(0));
  std::uintptr_t bottom = reinterpret_cast<std::uintptr_t>(frame);
  if (b.hi == 0) return 0;
  int n = 0;
  while (n < max) {
    const auto f = reinterpret_cast<std::uintptr_t>(frame);
    // Inside the stack with room for the two words, above the previous frame, aligned.
    if (f < bottom || f < b.lo || f + 2 * sizeof(std::uintptr_t) > b.hi || (f & 7) != 0) break;
    const std::uintptr_t pc = frame[1];
    if (pc < 4096) break;  // the outermost frame, or not a frame at all
    out[n++] = reinterpret_cast<void*>(pc);
    const std::uintptr_t next = frame[0];
    if (next <= f) break;  // the chain must move towards the stack's base
    bottom = f;
    frame = reinterpret_cast<std::uintptr_t*>(next);
  }
  return n;
}

namespace {

std::atomic<BacktraceFn> g_unw_backtrace{nullptr};
std::atomic<bool> g_libunwind_loaded{false};

}  // namespace

bool load_dwarf_unwinder() noexcept {
  if (g_unw_backtrace.load(std::memory_order_acquire) != nullptr) {
    return g_libunwind_loaded.load(std::memory_order_relaxed);
  }
  BacktraceFn f = &backtrace;
  bool libunwind = false;
#if !defined(__SANITIZE_THREAD__)
  // RTLD_LOCAL: libunwind also defines libgcc's _Unwind_* functions; loaded globally (or
  // linked) it would take over C++ exception unwinding in the whole program.
  if (void* h = dlopen(MEMX_LIBUNWIND_SONAME, RTLD_NOW | RTLD_LOCAL)) {
    if (void* sym = dlsym(h, "unw_backtrace")) {
      f = reinterpret_cast<BacktraceFn>(sym);
      libunwind = true;
    }
  }
#endif
  // Under ThreadSanitizer libunwind's per-thread trace cache cannot be used: its key
  // destructor locks a mutex at thread exit, after TSan has torn the thread's state down, and
  // the process crashes. glibc's backtrace() (libgcc's DWARF unwinder) is as correct, slower.
  g_libunwind_loaded.store(libunwind, std::memory_order_relaxed);
  g_unw_backtrace.store(f, std::memory_order_release);
  return libunwind;
}

bool dwarf_unwinder_is_libunwind() noexcept {
  return g_libunwind_loaded.load(std::memory_order_relaxed);
}

BacktraceFn dwarf_backtrace_fn() noexcept {
  const BacktraceFn f = g_unw_backtrace.load(std::memory_order_acquire);
  return f != nullptr ? f : &backtrace;
}

int libunwind_backtrace(void** out, int max) noexcept {
  return dwarf_backtrace_fn()(out, max);
}

}  // namespace memx::detail
