// memx: heap snapshots in code, the C++ counterpart of Python's tracemalloc
// (take_snapshot / compare_to): the live heap by allocation site at one moment, and what
// grew between two moments, by source line or by whole stack.
//
// Needs stack mode (memx/stacks.hpp: memx::stacks::enable(), MEMX_STACKS, or a plugin's
// --memx-stacks); link memx::symbols. Taking a snapshot reads the live-block map (no
// symbolisation); compare() symbolises each distinct stack once.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memx/census.hpp"
#include "memx/symbols.hpp"

namespace memx {

/// The live heap at one moment, by call stack.
class HeapSnapshot {
 public:
  /// How compare() groups blocks.
  enum class GroupBy {
    line,   ///< the first frame of the user's code (file and line): several stacks may share it
    stack,  ///< the whole call stack
    type,   ///< the allocated type (memx/census.hpp; memx::HeapCensus)
  };

  /// One group's change between two snapshots.
  struct Difference {
    std::string where;                  ///< "file:line in function" (its first user frame)
    std::vector<symbols::Frame> frames; ///< the stack (GroupBy::stack) or the user frame (line)
    std::int64_t bytes = 0;             ///< live bytes in the later snapshot
    std::int64_t bytes_diff = 0;        ///< later minus earlier
    std::int64_t blocks = 0;            ///< live blocks in the later snapshot
    std::int64_t blocks_diff = 0;       ///< later minus earlier
    /// The allocated type (GroupBy::type groups by it; set for every group): "std::vector<Node>".
    std::string type;
    TypeSource type_source = TypeSource::unknown;  ///< how the type was recovered
  };

  /// The live heap now (empty when stack mode is off: see enabled()).
  static HeapSnapshot take();

  /// True when stack mode was on when the snapshot was taken.
  bool enabled() const noexcept { return enabled_; }
  /// Live bytes and blocks recorded in the snapshot.
  std::int64_t bytes() const noexcept;
  std::int64_t blocks() const noexcept;

  /// What changed from `before` to this snapshot, by group, biggest change in bytes first
  /// (groups that did not change are left out).
  std::vector<Difference> compare(const HeapSnapshot& before, GroupBy by = GroupBy::line) const;

  /// The live heap by group, most bytes first (compare() against an empty snapshot).
  std::vector<Difference> statistics(GroupBy by = GroupBy::line) const;

 private:
  struct Entry {
    std::uint32_t stack_id;
    std::int64_t bytes;
    std::int64_t blocks;
  };
  std::vector<Entry> entries_;
  bool enabled_ = false;
};

/// "+12 KiB (+3 blocks), 48 KiB in 12 blocks at file:line in function".
std::string describe(const HeapSnapshot::Difference& d);

}  // namespace memx
