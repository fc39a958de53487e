// libFuzzer target: parse_suppressions never crashes, accepts only leak: and test: lines
// that print back to themselves, and the pattern match (run with the input's halves as
// pattern and text) never crashes and agrees with its definition on the easy cases.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "memx/suppressions.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const memx::SuppressionsParse p = memx::parse_suppressions(text, "fuzz.supp");
  if (p.list.has_value() == !p.error.empty()) std::abort();
  if (p.list) {
    for (const memx::Suppression& s : *p.list) {
      if (s.pattern.empty() || s.line < 1) std::abort();
      const memx::SuppressionsParse again = memx::parse_suppressions(s.text(), "again");
      if (!again.list || again.list->size() != 1 || again.list->front().text() != s.text()) std::abort();
    }
  }
  const std::size_t half = size / 2;
  const std::string_view pattern = text.substr(0, half), name = text.substr(half);
  const bool m = memx::suppression_matches(pattern, name);
  if (name.empty() && m) std::abort();
  // A pattern without wildcards or anchors matches exactly where it is a substring.
  if (!name.empty() && pattern.find_first_of("*^$") == std::string_view::npos &&
      m != (name.find(pattern) != std::string_view::npos)) {
    std::abort();
  }
  return 0;
}
