// libFuzzer target for the memx CLI's parsers of outside input: gate tolerances
// (--peak-tolerance ...) and allow-list files. Neither may crash, hang or accept what it
// cannot describe back.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "gate_rules.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool bytes : {true, false}) {
    const memx::cli::ToleranceParse t = memx::cli::parse_tolerance(text, bytes);
    if (t.tolerance.has_value() == !t.error.empty()) std::abort();
    if (t.tolerance) {
      (void)t.tolerance->describe(bytes);
      for (std::int64_t base : {std::int64_t{0}, std::int64_t{1000}, INT64_MAX, INT64_MIN}) {
        if (t.tolerance->allowed_growth(base) < 0) std::abort();
      }
    }
  }
  const memx::cli::AllowListParse a = memx::cli::parse_allow_list(text, "fuzz");
  if (a.list.has_value() == !a.error.empty()) std::abort();
  if (a.list) {
    for (const std::string& p : a.list->patterns) {
      if (p.empty()) std::abort();
      (void)a.list->allows(p);
    }
    (void)a.list->allows(std::string(text.substr(0, 64)));
  }
  return 0;
}
