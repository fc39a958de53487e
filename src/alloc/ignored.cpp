// Ignored blocks (alloc/ignored.hpp) and memx::IgnoreScope.
#include "alloc/ignored.hpp"

#include <sched.h>

#include <cstring>

#include "alloc/backend.hpp"
#include "alloc/thread_counters.hpp"
#include "memx/ignore.hpp"
#include "stacks/live_map.hpp"
#include "stacks/record.hpp"

namespace memx::detail {

IgnoreRange g_ignore_range{{0}, {0}};
std::atomic<std::uint64_t> g_ignore_side{0};

namespace {

constexpr auto kRelaxed = std::memory_order_relaxed;

/// The totals behind memx::ignored_counters(), on a line of their own.
struct alignas(64) Totals {
  std::atomic<std::uint64_t> allocs{0};
  std::atomic<std::uint64_t> frees{0};
  std::atomic<std::uint64_t> bytes_allocated{0};
  std::atomic<std::uint64_t> bytes_freed{0};
  std::atomic<std::uint64_t> counted{0};
};
Totals g_totals;

/// The C library's ignored blocks: address -> usable size (stack and scope ids unused).
LiveMap g_side;

/// Set once a sampled block has been put in the arena: from then on a free of an arena block
/// asks stack mode whether it was sampled.
std::atomic<bool> g_sampled_blocks{false};

void note_ignored(std::size_t usable) noexcept {
  g_totals.allocs.fetch_add(1, kRelaxed);
  g_totals.bytes_allocated.fetch_add(usable, kRelaxed);
}

void note_freed(std::size_t usable) noexcept {
  g_totals.frees.fetch_add(1, kRelaxed);
  g_totals.bytes_freed.fetch_add(usable, kRelaxed);
}

#if defined(MEMX_BACKEND_MIMALLOC)
/// 1 GiB of address space, committed as it is used.
constexpr std::size_t kArenaSize = std::size_t{1} << 30;

enum : int { kArenaNone, kArenaReserving, kArenaReady, kArenaFailed };
std::atomic<int> g_arena_state{kArenaNone};
mi_arena_id_t g_arena_id{};

/// Reserves the arena at the first call (racing callers wait for the first). False when it
/// cannot be had.
bool arena_ready() noexcept {
  int s = g_arena_state.load(std::memory_order_acquire);
  if (s == kArenaReady) return true;
  if (s == kArenaFailed) return false;
  int none = kArenaNone;
  if (g_arena_state.compare_exchange_strong(none, kArenaReserving, std::memory_order_acq_rel)) {
    mi_arena_id_t id{};
    std::size_t size = 0;
    void* start = nullptr;
    // Exclusive: only heaps made for this arena allocate in it, and no other heap reclaims
    // its segments, so every block in the range is an ignored one.
    if (mi_reserve_os_memory_ex(kArenaSize, /*commit=*/false, /*allow_large=*/false,
                                /*exclusive=*/true, &id) == 0) {
      start = mi_arena_area(id, &size);
    }
    if (start == nullptr || size == 0) {
      g_arena_state.store(kArenaFailed, std::memory_order_release);
      return false;
    }
    g_arena_id = id;
    g_ignore_range.lo.store(reinterpret_cast<std::uintptr_t>(start), kRelaxed);
    g_ignore_range.len.store(size, std::memory_order_release);
    g_arena_state.store(kArenaReady, std::memory_order_release);
    return true;
  }
  while ((s = g_arena_state.load(std::memory_order_acquire)) == kArenaReserving) sched_yield();
  return s == kArenaReady;
}

// The calling thread's heap in the arena, made at its first ignored allocation. mimalloc
// deletes a thread's heaps when the thread ends, in a pthread key destructor; C++ thread_local
// destructors run before those, so the sentinel below gives the heap up first, and an
// allocation in an ignore scope later in the thread's exit is counted instead.
__thread mi_heap_t* tls_heap __attribute__((tls_model("initial-exec")));
__thread bool tls_heap_gone __attribute__((tls_model("initial-exec")));

struct HeapSentinel {
  ~HeapSentinel() {
    tls_heap = nullptr;
    tls_heap_gone = true;
  }
};

mi_heap_t* thread_heap() noexcept {
  if (tls_heap != nullptr) return tls_heap;
  if (tls_heap_gone || !arena_ready()) return nullptr;
  static thread_local HeapSentinel sentinel;  // its destructor is registered here
  static_cast<void>(sentinel);
  tls_heap = mi_heap_new_in_arena(g_arena_id);
  return tls_heap;
}

/// An ignored copy of a fresh block of `usable` bytes aligned to `align` (0: the default),
/// from the arena; nullptr when the arena cannot give one.
void* arena_block(std::size_t usable, std::size_t align) noexcept {
  mi_heap_t* heap = thread_heap();
  if (heap == nullptr) return nullptr;
  void* q = align == 0 ? mi_heap_malloc(heap, usable) : mi_heap_malloc_aligned(heap, usable, align);
  if (q != nullptr && align != 0 && (reinterpret_cast<std::uintptr_t>(q) & (align - 1)) != 0) {
    // mimalloc 2.0.9's misaligned case (backend.hpp: mimalloc_realign).
    mi_free(q);
    q = mi_heap_malloc_aligned(heap, usable + 1, align);
  }
  if (q != nullptr && !in_ignore_arena(q)) {  // never: the heap allocates in the arena only
    mi_free(q);
    return nullptr;
  }
  return q;
}
#endif

}  // namespace

void note_not_ignored() noexcept { g_totals.counted.fetch_add(1, kRelaxed); }

void* ignore_block(void* p, std::size_t usable, std::size_t align) noexcept {
  const bool keep = (align & kKeepContents) != 0;
  align &= ~kKeepContents;
#if defined(MEMX_BACKEND_MIMALLOC)
  if (built_allocator_in_use()) {
    void* q = arena_block(usable, align);
    if (q == nullptr) return nullptr;
    if (keep) std::memcpy(q, p, usable);
    mi_free(p);  // never counted
    note_ignored(mi_usable_size(q));
    return q;
  }
#else
  static_cast<void>(align);
  static_cast<void>(keep);
#endif
  LiveBlock b{};
  b.address = reinterpret_cast<std::uintptr_t>(p);
  b.size = usable;
  if (!g_side.insert(b)) return nullptr;
  g_ignore_side.fetch_add(1, std::memory_order_release);
  note_ignored(usable);
  return p;
}

void free_ignored(void* p) noexcept {
#if defined(MEMX_BACKEND_MIMALLOC)
  std::size_t counted = 0;
  if (g_sampled_blocks.load(kRelaxed) && stacks_forget_sampled(p, &counted)) {
    count_free_usable(p, counted);  // a user's block, counted when it was allocated
  } else {
    note_freed(mi_usable_size(p));
  }
  mi_free(p);
#else
  static_cast<void>(p);
#endif
}

void* arena_block_for_sample(std::size_t usable, std::size_t align) noexcept {
#if defined(MEMX_BACKEND_MIMALLOC)
  if (!built_allocator_in_use()) return nullptr;
  void* q = arena_block(usable, align);
  if (q != nullptr) g_sampled_blocks.store(true, kRelaxed);
  return q;
#else
  static_cast<void>(usable);
  static_cast<void>(align);
  return nullptr;
#endif
}

bool arena_available() noexcept {
#if defined(MEMX_BACKEND_MIMALLOC)
  return built_allocator_in_use() && arena_ready();
#else
  return false;
#endif
}

bool forget_ignored(void* p) noexcept {
  LiveBlock b{};
  if (!g_side.erase(reinterpret_cast<std::uintptr_t>(p), &b)) return false;
  g_ignore_side.fetch_sub(1, kRelaxed);
  note_freed(b.size);
  return true;
}

}  // namespace memx::detail

namespace memx {

// The outermost scope keeps the thread's state in `outer` (which the slow path may update:
// a thread that registers, or leaves stack mode, inside the scope) and restores it from there.
IgnoreScope::IgnoreScope() noexcept : saved_(detail::tls_counters.state) {
  detail::ThreadCounters& t = detail::tls_counters;
  if (saved_ == detail::kGuarded || saved_ == detail::kIgnoring) return;  // memx's own; nested
  t.outer = saved_;
  t.state = detail::kIgnoring;
}

IgnoreScope::~IgnoreScope() {
  detail::ThreadCounters& t = detail::tls_counters;
  if (saved_ == detail::kGuarded || saved_ == detail::kIgnoring) return;
  t.state = t.outer;
}

IgnoredCounters ignored_counters() noexcept {
  const detail::Totals& t = detail::g_totals;
  IgnoredCounters c;
  c.allocs = t.allocs.load(std::memory_order_relaxed);
  c.frees = t.frees.load(std::memory_order_relaxed);
  c.bytes_allocated = t.bytes_allocated.load(std::memory_order_relaxed);
  c.bytes_freed = t.bytes_freed.load(std::memory_order_relaxed);
  c.counted = t.counted.load(std::memory_order_relaxed);
  return c;
}

}  // namespace memx
