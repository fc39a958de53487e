// memx: a heap census by type, the C++ form of a census of live objects by type. The live
// heap grouped by the type each block was allocated as, recovered from its allocating frames
// (memx/census.hpp: std::make_shared<T>, the standard container it went through, an
// allocator's allocate, a constructor, else the allocating function); two censuses compared
// give the types that grew.
//
// Needs stack mode, like memx::HeapSnapshot (memx/stacks.hpp: memx::stacks::enable(),
// MEMX_STACKS, or a plugin's --memx-stacks); link memx::symbols. take() reads the live-block
// map (no symbolisation); types() and compare() symbolise each distinct stack once.
//
//   const memx::HeapCensus before = memx::HeapCensus::take();
//   run_for_a_while();
//   for (const auto& t : memx::HeapCensus::take().compare(before)) puts(memx::describe_type(t).c_str());
//   // +48 KiB (+3 blocks), 96 KiB in 4 blocks: std::vector<Node> (container; e.g. at graph.cpp:42 in Graph::add)
#pragma once

#include <string>
#include <vector>

#include "memx/heap_snapshot.hpp"

namespace memx {

/// The live heap at one moment, to be grouped by allocated type.
class HeapCensus {
 public:
  /// The live heap now (empty when stack mode is off: see enabled()).
  static HeapCensus take();

  /// True when stack mode was on when the census was taken.
  bool enabled() const noexcept { return snapshot_.enabled(); }

  /// The live heap by type (Difference::type, type_source), most bytes first; `where` is a
  /// place that allocated the type, `frames` its user frame.
  std::vector<HeapSnapshot::Difference> types() const;

  /// The types whose live bytes or blocks changed from `before`, biggest change first.
  std::vector<HeapSnapshot::Difference> compare(const HeapCensus& before) const;

 private:
  HeapSnapshot snapshot_;
};

/// "+48 KiB (+3 blocks), 96 KiB in 4 blocks: std::vector<Node> (container; e.g. at FILE:LINE
/// in FUNCTION)".
std::string describe_type(const HeapSnapshot::Difference& d);

}  // namespace memx
