// Allocation numbers (memx/alloc_numbers.hpp): the hooks of the counting slow path.
#pragma once

#include <atomic>
#include <cstddef>

namespace memx::detail {

/// True while numbering is on: a thread in the counting state switches to kNumbering at its
/// next slow call (start() ends the peak epoch, so that is its next allocation or free).
extern std::atomic<bool> g_numbering;

inline bool numbering_wanted() noexcept { return g_numbering.load(std::memory_order_acquire); }

/// Numbers a counted allocation (and tracks it, or raises SIGTRAP at the break number).
/// Called with the thread guarded.
void number_alloc(void* p, std::size_t usable) noexcept;
/// Forgets a tracked block that is being freed. Called with the thread guarded.
void number_free(void* p) noexcept;

}  // namespace memx::detail
