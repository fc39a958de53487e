// Helpers of the stack-mode tests: symbolised stacks and the sites a callable left live.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "memx/stacks.hpp"
#include "memx/symbols.hpp"

namespace memx::test {

/// Every source frame of a stack, innermost first, as "function at file:line" lines.
inline std::string describe_stack(std::uint32_t id) {
  static symbols::Symbolizer sym;
  std::string s;
  for (std::uintptr_t pc : stacks::frames(id)) {
    for (const symbols::Frame& f : sym.resolve(pc)) s += "  " + symbols::describe(f) + "\n";
  }
  return s;
}

/// True when some frame of the stack is at file_suffix:line.
inline bool stack_has_line(std::uint32_t id, const std::string& file_suffix, int line) {
  static symbols::Symbolizer sym;
  for (std::uintptr_t pc : stacks::frames(id)) {
    for (const symbols::Frame& f : sym.resolve(pc)) {
      if (f.line == line && f.file.size() >= file_suffix.size() &&
          f.file.compare(f.file.size() - file_suffix.size(), file_suffix.size(), file_suffix) ==
              0) {
        return true;
      }
    }
  }
  return false;
}

/// The sites of the blocks allocated while f ran and still live after it.
template <class F>
stacks::List<stacks::Site> sites_left_by(F&& f) {
  stacks::Filter filter;
  filter.first_number = stacks::next_allocation_number();
  f();
  filter.end_number = stacks::next_allocation_number();
  return stacks::live_sites(filter);
}

}  // namespace memx::test
