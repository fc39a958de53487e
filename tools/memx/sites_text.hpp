// memx CLI: allocation sites (stack mode, report version 2) as text: `show --sites` and the
// new leaking sites of `diff`.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "memx/report.hpp"

namespace memx::cli {

/// The repetitions that left blocks live at `site`, of the test's `runs`: "runs 2-5 of 5",
/// "run 5 of 5", "runs 1, 3-5 of 5"; "no run of 5" when none did.
std::string kept_by(const SiteRecord& site, std::size_t runs);

/// "240 B in 5 blocks (kept by runs 1-5 of 5) at file:line in function".
std::string site_line(const SiteRecord& site, std::size_t runs);

/// The whole stack of `site`, one frame a line, innermost first, each line starting with
/// `indent`: "#7 > Sites_MakeShared_Test::TestBody() at file:line". The frames folded away
/// before the user's (memx, the runtime, the standard library) are marked "folded" (and
/// dimmed when `color`), the user's frame with '>'.
std::string stack_lines(const SiteRecord& site, const std::string& indent, bool color);

/// The mean bytes and blocks a site kept per repetition after the warm-up (runs 1..n-1).
struct PerRepetition {
  double bytes = 0;   ///< mean usable bytes
  double blocks = 0;  ///< mean blocks
};

/// What `site` kept per repetition after the warm-up, over the test's `runs`.
PerRepetition per_repetition(const SiteRecord& site, std::size_t runs);

/// "new leak at file:line in function (48 B in 1 block per repetition)".
std::string new_leak_line(const SiteRecord& site, std::size_t runs);

/// The sites of `test` that kept blocks from every repetition after the warm-up
/// (memx::grows_every_repetition), in the report's order (the top one first).
std::vector<const SiteRecord*> growing_sites(const TestRecord& test);

/// The growing sites of `now` (a test judged leak) that are not at the place
/// (memx::same_place) of any site of `base`, the same test in the base report.
std::vector<const SiteRecord*> new_growing_sites(const TestRecord& base, const TestRecord& now);

}  // namespace memx::cli
