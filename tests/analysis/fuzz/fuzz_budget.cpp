// libFuzzer target: parse_budget never crashes, never accepts a NUL byte, and what it
// accepts prints back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "memx/budget.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const memx::BudgetParse p = memx::parse_budget(text);
  if (p.budget.has_value() == !p.error.empty()) std::abort();
  if (p.budget && text.find('\0') != std::string_view::npos) std::abort();
  if (p.budget) {
    const memx::BudgetParse again = memx::parse_budget(memx::to_string(*p.budget));
    if (!again.budget || *again.budget != *p.budget) std::abort();
  }
  return 0;
}
