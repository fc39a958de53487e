// Ignored blocks (memx/ignore.hpp): allocated inside an IgnoreScope, never counted, and
// recognised by the free path without a look-up.
//
// On mimalloc, an ignored block is moved into an arena of memx's own: an exclusive mimalloc
// arena (no other heap allocates there), reserved at the first ignored allocation, from which
// each thread allocates through a heap of its own. A free then tells an ignored block by its
// address: one subtraction and one compare against a range that is empty until then. On the
// C library's allocator (a sanitizer or Valgrind in the process, or a build on it) no arena
// exists: ignored blocks stay where they are and are recorded in a side table that frees
// consult only while it holds a block.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace memx::detail {

struct ThreadCounters;

/// The ignore arena's address range: [lo, lo + len), len 0 until it is reserved. Written
/// once, before the first block in it is handed out.
struct IgnoreRange {
  std::atomic<std::uintptr_t> lo;
  std::atomic<std::uintptr_t> len;
};
extern __attribute__((visibility("hidden"))) IgnoreRange g_ignore_range;
/// Blocks in the side table (the C library's allocator).
extern __attribute__((visibility("hidden"))) std::atomic<std::uint64_t> g_ignore_side;

/// True when p lies in the ignore arena (a mimalloc block that was ignored).
__attribute__((always_inline)) inline bool in_ignore_arena(const void* p) noexcept {
  return reinterpret_cast<std::uintptr_t>(p) - g_ignore_range.lo.load(std::memory_order_relaxed) <
         g_ignore_range.len.load(std::memory_order_relaxed);
}

/// Set in the alignment given to count_alloc_usable by the C functions whose block already
/// holds its contents (calloc's zeros, realloc's data: alloc/malloc.cpp): a block replaced by
/// one of memx's arena (an ignore scope, a sampled block) gets a copy of them. operator new
/// never sets it (a fresh block has no contents to keep).
inline constexpr std::size_t kKeepContents = std::size_t{1} << 63;

/// The slow path of an allocation made inside an ignore scope: returns the block to hand
/// out instead of p (p itself on the C library's allocator), or nullptr when the block could
/// not be ignored (the caller then counts p as usual). usable is p's usable size, align the
/// alignment asked for (0: the default), possibly with kKeepContents.
[[gnu::cold]] void* ignore_block(void* p, std::size_t usable, std::size_t align) noexcept;
/// Frees a block of memx's arena: a sampled block (stack mode's sampling) is counted as
/// freed; an ignored one is not.
[[gnu::cold]] void free_ignored(void* p) noexcept;
/// A fresh block of memx's arena of `usable` bytes aligned to `align` (0: the default), for
/// a sampled block; nullptr when the arena cannot give one (mimalloc builds only). The caller
/// frees the block it replaces.
void* arena_block_for_sample(std::size_t usable, std::size_t align) noexcept;
/// True when memx's arena can be used (reserving it at the first call).
bool arena_available() noexcept;
/// The C library's path: forgets p if the side table holds it (then its free is not counted).
[[gnu::cold]] bool forget_ignored(void* p) noexcept;
/// Counts an allocation made inside a scope that could not be ignored.
void note_not_ignored() noexcept;

}  // namespace memx::detail
