// memx: stack mode, the call stack of every live block.
//
// Off by default. While on, every counted allocation records its call stack (each distinct
// stack stored once, named by a 32-bit id) and every live block is kept in a map: address ->
// (stack id, usable size, scope id, allocation number). Counting itself is unchanged: stack
// mode only adds the recording, out of line, on the threads' slow path. Allocations inside
// memx::Uncounted (memx's own bookkeeping) are never recorded, and the table and map live in
// memory memx maps itself, never in the user's figures.
//
// Symbolising the addresses (function, file, line) is offline: memx/symbols.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "memx/uncounted.hpp"

namespace memx::stacks {

/// How return addresses are captured.
enum class Unwinder : unsigned char {
  kAuto,          ///< chosen by enable(): frame pointers if they prove correct, else the
                  ///< cached DWARF walk if it proves correct, else libunwind; the
                  ///< environment variable MEMX_UNWINDER may name one instead
  kFramePointer,  ///< the frame-pointer chain (correct only where all code keeps frame pointers)
  kLibunwind,     ///< libunwind's unw_backtrace (DWARF call-frame information); glibc's
                  ///< backtrace() where libunwind cannot be loaded or used (ThreadSanitizer)
  kDwarfCfi,      ///< memx's own walk of DWARF call-frame information (x86-64), each
                  ///< address's rule read once with libdw and cached; a stack it cannot
                  ///< follow is captured with kLibunwind
};

/// "frame-pointer", "libunwind" ("glibc-backtrace" when libunwind is not in use),
/// "dwarf-cfi" or "auto".
const char* unwinder_name(Unwinder u) noexcept;

/// The deepest stack recorded.
inline constexpr int kMaxDepth = 64;
/// The depth of stack mode when none is given.
inline constexpr int kDefaultDepth = 32;

/// Turns stack mode on for every thread, keeping up to depth frames (1..kMaxDepth) of each
/// allocation's stack, the user's first. Blocks recorded by an earlier enable() are forgotten;
/// the stack table (ids) is kept. Every thread switches at its next allocation or free; the
/// current peak epoch ends (open memx::PeakWindow and Scope peaks carry over). Threads that
/// allocate while enable() runs may have those allocations unrecorded. Returns false (and
/// changes nothing) for a depth out of range or kAuto that cannot be resolved.
bool enable(int depth = kDefaultDepth, Unwinder unwinder = Unwinder::kAuto) noexcept;
/// Sampling mode: records the stack of about one allocation every `mean_bytes` allocated (a
/// Poisson process over allocated bytes, as tcmalloc and heapprofd sample), so that whole
/// suites are profiled at near counting cost. Threads stay in the counting fast path; an
/// allocation that crosses the thread's threshold records its stack and is moved into an
/// arena of memx's own, so that its free is recognised by address. Queries (live_sites,
/// peak_sites) then give estimates, each sampled block standing for sample_weight() blocks.
/// False (nothing changed) for a bad depth or mean, or where memx's arena cannot be used
/// (inside a sanitizer or Valgrind, or a build on the C library's allocator).
bool enable_sampling(std::uint64_t mean_bytes, int depth = kDefaultDepth,
                     Unwinder unwinder = Unwinder::kAuto) noexcept;
/// The sampling mean in bytes while sampling is on; 0 otherwise (off, or every allocation).
std::uint64_t sample_bytes() noexcept;
/// How many blocks one sampled block of `size` bytes stands for when sampling with mean
/// `interval`: 1 / (1 - exp(-size / interval)); 1 when interval is 0.
double sample_weight(std::uint64_t size, std::uint64_t interval) noexcept;

/// Turns stack mode off; threads go back to plain counting at their next allocation or free.
/// Recorded blocks stay queryable until the next enable().
void disable() noexcept;
/// True while stack mode is on (every allocation, or sampled).
bool enabled() noexcept;
/// The depth in use (0 when off).
int depth() noexcept;
/// The unwinder in use (kAuto when stack mode has never been enabled).
Unwinder unwinder() noexcept;

/// Tags the blocks allocated from now on, from every thread, with this scope id (a test's
/// number, for example; kept modulo 2^24). 0 until set. Setting 0 (a scope ends) also
/// shrinks the live-block map's tables that are mostly empty (LiveMap::trim).
void set_scope(std::uint32_t id) noexcept;
/// While on, the blocks the calling thread allocates get scope 0 (no test's), whatever the
/// current scope: a test plugin's window around a call into its framework, whose memory is
/// the framework's share. Returns the previous setting (to restore it).
bool set_thread_unscoped(bool on) noexcept;
/// The current scope id.
std::uint32_t scope() noexcept;
/// Marks a point in the run and returns its number: every allocation recorded after the call
/// gets a number at least this, every one recorded before it a smaller one (process-wide,
/// kept modulo 2^40), so a Filter of [before, after) selects what was recorded in between.
/// (Numbers are marks, not counts: the blocks recorded between two marks share one.)
std::uint64_t next_allocation_number() noexcept;

/// Which live blocks a query looks at.
struct Filter {
  std::uint64_t first_number = 0;         ///< allocation number at least this
  std::uint64_t end_number = UINT64_MAX;  ///< and below this
  std::optional<std::uint32_t> scope;     ///< and made under this scope id (if set)
};

/// The live blocks of one stack.
struct Site {
  std::uint32_t stack_id = 0;  ///< 0: the stack could not be stored
  std::uint64_t bytes = 0;     ///< usable bytes of its live blocks
  std::uint64_t blocks = 0;    ///< live blocks
};

/// Sequences handed to the user are allocated uncounted (memx::UncountedAllocator).
template <class T>
using List = std::vector<T, UncountedAllocator<T>>;

/// Live blocks grouped by stack, most bytes first (ties: more blocks, then lower id).
List<Site> live_sites(const Filter& filter = {});

/// The live blocks of one stack made under one scope.
struct ScopedSite {
  std::uint32_t scope = 0;     ///< the scope id the blocks were made under (modulo 2^24)
  std::uint32_t stack_id = 0;  ///< 0: the stack could not be stored
  std::uint64_t bytes = 0;     ///< usable bytes of its live blocks
  std::uint64_t blocks = 0;    ///< live blocks
};

/// Live blocks grouped by (scope, stack), in one pass over the map, for the scopes listed
/// (ids modulo 2^24, any order; an empty list: every scope but 0). Ordered by scope, then
/// most bytes first (ties: more blocks, then lower id).
List<ScopedSite> live_sites_by_scope(const List<std::uint32_t>& scopes);

/// What the scope held at (within 1/16 of) its peak, by stack, most bytes first (up to 256
/// stacks): the scope's own live blocks each time they reached a new high by more than 1/16
/// (at least 1 KiB), the last such copy. Empty when that scope took none (it never held
/// 1 KiB) or another scope has taken one since. *live_bytes (if given): the scope's live
/// bytes when the copy was taken.
List<Site> peak_sites(std::uint32_t scope, std::uint64_t* live_bytes = nullptr);

/// Allocations that could not be recorded since the last enable() (a site's figures then
/// miss them).
std::uint64_t dropped() noexcept;

/// The return addresses of a stack, innermost (the allocating call in the user's code) first.
List<std::uintptr_t> frames(std::uint32_t stack_id);

/// What stack mode's bookkeeping costs right now.
struct MemoryUse {
  std::uint64_t live_blocks = 0;        ///< blocks in the live-block map
  std::uint64_t live_map_bytes = 0;     ///< the map's tables
  std::uint64_t stacks = 0;             ///< distinct stacks stored
  std::uint64_t stack_table_bytes = 0;  ///< the stack table (nodes, buckets and id index touched)
  std::uint64_t dropped = 0;            ///< allocations that could not be recorded
};
/// The current figures.
MemoryUse memory_use() noexcept;

/// Parses a MEMX_STACKS value: a depth 1..kMaxDepth, or 0 / off for stack mode off.
std::optional<int> parse_depth(std::string_view text) noexcept;

/// A stack-mode setting: every allocation at a depth, or sampled.
struct Setting {
  int depth = 0;                  ///< frames kept; 0: stack mode off
  std::uint64_t sample_bytes = 0; ///< sampling mean (enable_sampling); 0: every allocation
};
/// Parses --memx-stacks / MEMX_STACKS: what parse_depth accepts, or sample:SIZE (a size such
/// as 512KiB; depth kDefaultDepth), or sample:SIZE@DEPTH.
std::optional<Setting> parse_setting(std::string_view text) noexcept;

}  // namespace memx::stacks
