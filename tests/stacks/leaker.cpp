// A program that leaves one block live in stack mode and prints its symbolised stack: run
// as built (file:line) and as a stripped copy (module+offset with a note), by CTest.
#include <cstdio>
#include <string>

#include "memx/stacks.hpp"
#include "memx/symbols.hpp"

[[gnu::noinline]] std::string* leak() {
  return new std::string(300, 'z');  // the planted leak: line 10
}

int main() {
  // MEMX_STACKS (read before main) shows here.
  std::printf("at start: stack mode %s, depth %d\n", memx::stacks::enabled() ? "on" : "off",
              memx::stacks::depth());
  if (!memx::stacks::enable(16)) {
    std::puts("stack mode could not be enabled");
    return 1;
  }
  memx::stacks::Filter f;
  f.first_number = memx::stacks::next_allocation_number();
  std::string* s = leak();
  f.end_number = memx::stacks::next_allocation_number();
  memx::stacks::disable();
  memx::symbols::Symbolizer sym;
  for (const memx::stacks::Site& site : memx::stacks::live_sites(f)) {
    std::printf("site: %llu bytes in %llu blocks\n", static_cast<unsigned long long>(site.bytes),
                static_cast<unsigned long long>(site.blocks));
    for (std::uintptr_t pc : memx::stacks::frames(site.stack_id)) {
      for (const memx::symbols::Frame& fr : sym.resolve(pc)) {
        std::printf("  %s\n", memx::symbols::describe(fr).c_str());
      }
    }
  }
  delete s;
  return 0;
}
