// Other tools in the process that watch the heap (sanitizers, Valgrind): detecting them, and
// the choice of allocator the counting operator new makes from it (backend.hpp).
//
// decide_allocator() runs from the first operator new, possibly before any static
// constructor: it must not call operator new. dlsym may call the C library's malloc (its
// error state), which is fine: that never comes back here.
#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "alloc/backend.hpp"
#include "alloc/thread_counters.hpp"
#include "memx/counters.hpp"
#include "memx/tools.hpp"

#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define MEMX_HAVE_VALGRIND_H 1
#else
#define MEMX_HAVE_VALGRIND_H 0
#endif

namespace memx {
namespace detail {

// Read-mostly: on a cache line of its own, away from anything written often.
alignas(64) unsigned char g_allocator = kAllocatorUndecided;

namespace {

constexpr unsigned char kToolUnknown = 0xff;
unsigned char g_tool = kToolUnknown;  // a Tool once decided

bool has_symbol(const char* name) noexcept { return dlsym(RTLD_DEFAULT, name) != nullptr; }

/// Valgrind: its client request (no-op instructions a native CPU runs as such), or, built
/// without valgrind.h, the preload Valgrind puts into LD_PRELOAD (getenv does not allocate).
bool on_valgrind() noexcept {
#if MEMX_HAVE_VALGRIND_H
  if (RUNNING_ON_VALGRIND) return true;
#endif
  const char* preload = std::getenv("LD_PRELOAD");
  return preload != nullptr && std::strstr(preload, "/vgpreload_") != nullptr;
}

/// heaptrack: its preload (or, attached to a running process, its inject) library defines
/// heaptrack_init (it takes itself out of LD_PRELOAD, so the environment does not tell).
bool under_heaptrack() noexcept { return has_symbol("heaptrack_init"); }

Tool detect() noexcept {
  // AddressSanitizer first: its runtime also defines LeakSanitizer's interface.
  if (has_symbol("__asan_init")) return Tool::address_sanitizer;
  if (has_symbol("__hwasan_init")) return Tool::hwaddress_sanitizer;
  if (has_symbol("__msan_init")) return Tool::memory_sanitizer;
  if (has_symbol("__tsan_init")) return Tool::thread_sanitizer;
  if (has_symbol("__lsan_do_leak_check")) return Tool::leak_sanitizer;
  if (on_valgrind()) return Tool::valgrind;
  if (under_heaptrack()) return Tool::heaptrack;
  return Tool::none;
}

}  // namespace

unsigned char decide_allocator() noexcept {
  unsigned char choice = __atomic_load_n(&g_allocator, __ATOMIC_ACQUIRE);
  if (choice != kAllocatorUndecided) return choice;
  // Threads racing here detect the same tools and make the same choice.
  const Tool tool = detect();
  __atomic_store_n(&g_tool, static_cast<unsigned char>(tool), __ATOMIC_RELAXED);
  // heaptrack wraps mimalloc's calls too: only the sanitizers and Valgrind need the C library.
  const bool libc = kAllocatorSwitchable && tool != Tool::none && tool != Tool::heaptrack;
  choice = libc ? kAllocatorLibc : kAllocatorBuilt;
  __atomic_store_n(&g_allocator, choice, __ATOMIC_RELEASE);
  return choice;
}

}  // namespace detail

Tool detected_tool() noexcept {
  detail::decide_allocator();
  return static_cast<Tool>(__atomic_load_n(&detail::g_tool, __ATOMIC_RELAXED));
}

bool allocator_switched_for_tool() noexcept {
  return detail::kAllocatorSwitchable && !detail::built_allocator_in_use();
}

const char* tool_name(Tool tool) noexcept {
  switch (tool) {
    case Tool::address_sanitizer: return "AddressSanitizer";
    case Tool::hwaddress_sanitizer: return "HWAddressSanitizer";
    case Tool::memory_sanitizer: return "MemorySanitizer";
    case Tool::thread_sanitizer: return "ThreadSanitizer";
    case Tool::leak_sanitizer: return "LeakSanitizer";
    case Tool::valgrind: return "Valgrind";
    case Tool::heaptrack: return "heaptrack";
    case Tool::none: break;
  }
  return "";
}

bool allocations_counted() noexcept {
  // The probe must be counted whatever the thread's state (the session runs under
  // Uncounted): count it for a moment. An alloc/free pair of one block leaves the figures
  // as they were; a thread not yet registered registers later with the pair in its totals.
  detail::ThreadCounters& t = detail::tls_counters;
  const unsigned char saved = t.state;
  t.state = detail::kCounting;
  const std::uint64_t before = t.allocs.load(std::memory_order_relaxed);
  // Through volatile pointers: the compiler may not pair and remove the calls.
  void* (*volatile op_new)(std::size_t, const std::nothrow_t&) noexcept = &::operator new;
  void (*volatile op_delete)(void*) noexcept = &::operator delete;
  void* block = op_new(24, std::nothrow);
  const bool moved = t.allocs.load(std::memory_order_relaxed) != before;
  op_delete(block);
  t.state = saved;
  return moved;
}

const char* backend_name() noexcept {
  return detail::built_allocator_in_use() ? detail::BuiltAllocator::kName
                                          : detail::LibcAllocator::kName;
}

}  // namespace memx
