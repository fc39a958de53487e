// memx CLI: the `show` table, also printed by `check`.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

#include "memx/report.hpp"

namespace memx::cli {

/// How `show` selects and orders tests.
struct ShowOptions {
  std::string sort = "order";       ///< order, name, peak, net, allocs, rss, leak, time
  std::vector<std::string> only;    ///< any of: leaks, suspects, budget, failed (a union)
  std::size_t top = 0;              ///< at most this many rows (0: all)
  bool ascii = false;               ///< +-| instead of box-drawing characters
  std::string root;                 ///< --root: binaries identified relative to it
  /// --sites[=TEST]: "" the table; "*" every test's allocation sites; else the sites of the
  /// tests whose name (or BINARY: NAME) matches this pattern ('*' matches any characters).
  std::string sites;
  bool stacks = false;              ///< --stacks: each site's whole stack too (implies --sites)
  /// --types: what the tests left live by allocated type (memx/census.hpp), not the table;
  /// with --sites=TEST, of those tests only.
  bool types = false;
  bool summary = true;              ///< end with "showing N of M" and the summary line
};

/// Checks the values of `options`; returns "" or a message naming the bad value.
std::string validate(const ShowOptions& options);

/// The table and its summary line for `report`.
std::string render_show(const Report& report, const ShowOptions& options, bool color);
/// render_show written to `out` as it is made (a million-row table is never one string).
void write_show(const Report& report, const ShowOptions& options, bool color, std::ostream& out);

/// `show --types`: the sites the tests `options` selects left live, by allocated type, most
/// bytes first, in a table, with the summary line.
std::string render_types(const Report& report, const ShowOptions& options, bool color);

/// `show --json`: the tests `options` selects (--only, --sort, --top) as JSON (json_out.hpp).
std::string render_show_json(const Report& report, const ShowOptions& options);

/// The allocation sites (stack mode) of the tests `options` selects (--sites pattern, then
/// --only, --sort, --top), each with its whole stack when options.stacks, and the summary
/// line. Throws InputError when no test matches the --sites pattern; the caller checks that
/// the report has stack mode.
std::string render_sites(const Report& report, const ShowOptions& options, bool color);

/// One line: tests, over budget, leaking, highest peak.
std::string summary_line(const Report& report, const std::string& root = "");

}  // namespace memx::cli
