// memx: the allocated type of a call stack (a heap census by type, the C++ form of a census
// of live objects by type). Recovered from the allocating frames, in this order:
//   - `std::make_shared<T>` / `std::allocate_shared<T>`: T, "make_shared";
//   - the outermost standard container the allocation went through (`std::vector<Node>`,
//     `std::unordered_map<K, V>`, `std::string`): "container";
//   - an allocator's `allocate` (`std::__new_allocator<T>::allocate`): T, "allocator";
//   - the user's first frame being a constructor `X::X(...)`: X, "constructor" (memory the
//     object allocates while it is built);
//   - otherwise the allocating function itself, the user's first frame: "function".
// Names are shown as people write them: `std::__cxx11::` is `std::`, default template
// arguments (allocators, comparators, hashers, char traits) are left out, and
// `std::basic_string<char>` is `std::string`.
// See docs/stacks.md, "Heap census by type".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "memx/report.hpp"

namespace memx {

/// Where an allocated type's name was read from.
enum class TypeSource { make_shared, container, allocator, constructor, function, unknown };

/// "make_shared", "container", "allocator", "constructor", "function", "unknown".
const char* to_string(TypeSource s);

/// The allocated type of one stack.
struct AllocatedType {
  std::string name;                         ///< "std::vector<Node>", "Node", "load(int)"
  TypeSource source = TypeSource::unknown;  ///< how it was recovered

  friend bool operator==(const AllocatedType& a, const AllocatedType& b) {
    return a.name == b.name && a.source == b.source;
  }
  friend bool operator<(const AllocatedType& a, const AllocatedType& b) {
    return a.name != b.name ? a.name < b.name : a.source < b.source;
  }
};

/// The type allocated by a stack (innermost frame first, inlined frames expanded, as the
/// report keeps them); `user_frame` is the index of its first user frame (first_user_frame).
AllocatedType allocated_type(const std::vector<FrameRecord>& frames, int user_frame);

/// A C++ type or class name as people write it: `std::__cxx11::` -> `std::`, default
/// template arguments left out, `std::basic_string<char>` -> `std::string`, `> >` -> `>>`.
std::string simplify_type_name(std::string_view name);

/// One type's share of the live heap.
struct TypeCount {
  AllocatedType type;
  std::int64_t bytes = 0;   ///< live bytes
  std::int64_t blocks = 0;  ///< live blocks
  std::size_t sites = 0;    ///< distinct sites (stacks) that allocated them
  std::size_t tests = 0;    ///< tests whose sites they are (in a report)
  std::string where;        ///< the place of the biggest site ("file:line in function")
};

/// What the given tests of a report left live (their `sites`), by allocated type, most
/// bytes first (ties by name). Sites the framework allocated for itself are left out.
std::vector<TypeCount> census_of_sites(const std::vector<const TestRecord*>& tests);

}  // namespace memx
