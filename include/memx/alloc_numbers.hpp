// memx: allocation numbers, to go straight to the allocation that leaked (CppUTest's
// crash_on_allocation_number).
//
// While numbering is on, every counted allocation of every thread gets the next number,
// from 1. With tracking, the blocks allocated meanwhile are remembered until freed, so that
// stop() can say which numbers were left live; with a break number, the thread making that
// allocation raises SIGTRAP, which stops it in a debugger (without one, the process ends
// with "Trace/breakpoint trap"). The plugins use it per test: MEMX_BREAK_ON_ALLOC, and the
// numbers named in a leak message (docs/gtest.md, "Which allocation leaked").
//
// While numbering is on, every allocation and free takes memx's slow path (a map insert and
// erase when tracking): meant for one test's run, not for a whole suite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "memx/uncounted.hpp"

namespace memx::alloc_numbers {

/// Starts numbering at 1 (forgetting an earlier numbering). `label` (copied, up to 200
/// bytes) names the numbered code in the line written before SIGTRAP.
void start(bool track, std::uint64_t break_at = 0, const char* label = nullptr) noexcept;

/// What a numbering saw.
struct Result {
  std::uint64_t allocations = 0;  ///< allocations numbered
  std::uint64_t live = 0;         ///< tracked blocks still live (0 without tracking)
  std::uint64_t untracked = 0;    ///< blocks that could not be tracked (memory for the map)
  /// The lowest numbers of the live tracked blocks, ascending, at most `max` of stop().
  std::vector<std::uint64_t, UncountedAllocator<std::uint64_t>> numbers;
};

/// Stops numbering; the tracked blocks are forgotten.
Result stop(std::size_t max = 16);

/// True while numbering is on.
bool active() noexcept;

}  // namespace memx::alloc_numbers
