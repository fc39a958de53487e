// memx: a leak watch's report, and the watch that starts itself (link memx::watch).
//
// A program linked with memx::watch and started with MEMX_WATCH=MS in its environment
// starts a memx::LeakWatch of that interval before main, and writes its report when the
// program exits (exit() or a return from main), or when SIGINT or SIGTERM arrives while the
// program leaves them to their default action (the report is written, then the signal takes
// its course). The report goes to MEMX_WATCH_REPORT (a path pattern: %p is the pid; default
// memx-watch-%p.json). `memx watch -- PROGRAM` sets both. Details: docs/leak-watch.md.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "memx/leak_watch.hpp"
#include "memx/report.hpp"

namespace memx {

/// A report of this process holding `watch`'s samples and analysis (its `watch` section)
/// and no tests: framework "none", binary the program's name, complete.
Report watch_report(const LeakWatch& watch);

/// Writes watch_report(watch) to `path` (write_report_atomically). False and *error (one
/// line naming the path) when it cannot be written.
bool write_watch_report(const LeakWatch& watch, const std::string& path, std::string* error);

/// Reads MEMX_WATCH's value: a whole number of milliseconds from 1 to 3600000 (an hour),
/// nothing else (no sign, no unit, no spaces). nullopt for anything else.
std::optional<std::chrono::milliseconds> parse_watch_interval(std::string_view text) noexcept;

/// The watch started from MEMX_WATCH, or nullptr when there is none (the variable is not
/// set, or memx::watch is not linked: then this function is not either).
LeakWatch* environment_watch() noexcept;

}  // namespace memx
