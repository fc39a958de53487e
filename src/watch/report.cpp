// A leak watch's report (memx/watch_report.hpp): the analysis library's report, with a
// `watch` section and no tests.
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "memx/counters.hpp"
#include "memx/sites.hpp"
#include "memx/stacks.hpp"
#include "memx/symbols.hpp"
#include "memx/tools.hpp"
#include "memx/watch_report.hpp"

namespace memx {

Report watch_report(const LeakWatch& watch) {
  Report r;
  r.framework = "none";
  r.binary = program_invocation_name;
  r.pid = static_cast<std::int64_t>(::getpid());
  r.complete = true;
  r.repetitions = 0;
  // The record, with the sites named: "file:line in function" of their first user frame.
  WatchRecord record;
  record.interval_ms = static_cast<double>(watch.interval().count());
  record.samples = watch.samples();
  std::vector<WatchSiteSeries> sites = watch.site_series();
  if (!sites.empty()) {
    symbols::Symbolizer symbolizer;
    for (WatchSiteSeries& site : sites) {
      SiteRecord named;
      for (const std::uintptr_t address : stacks::frames(site.stack_id)) {
        for (const symbols::Frame& f : symbolizer.resolve(address))
          named.frames.push_back(symbols::to_record(f));
      }
      if (named.frames.empty()) continue;
      named.user_frame = first_user_frame(named.frames);
      site.where = site_location(named);
    }
  }
  record.analysis = analyze_watch(record.samples, sites);
  r.watch = std::move(record);
  const auto now = std::chrono::system_clock::now();
  const double ms = r.watch->samples.empty() ? 0 : r.watch->samples.back().ms;
  const auto started = now - std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                 std::chrono::duration<double, std::milli>(ms));
  r.started_at = iso8601_utc(started);
  r.finished_at = iso8601_utc(now);
  r.run_id = make_run_id(started, static_cast<long>(r.pid));
  r.backend = backend_name();
  r.tool = tool_name(detected_tool());
  return r;
}

bool write_watch_report(const LeakWatch& watch, const std::string& path, std::string* error) {
  return write_report_atomically(watch_report(watch), path, error);
}

std::optional<std::chrono::milliseconds> parse_watch_interval(std::string_view text) noexcept {
  if (text.empty() || text.size() > 7) return std::nullopt;
  long long v = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + (c - '0');
  }
  if (v < 1 || v > 3600000) return std::nullopt;
  return std::chrono::milliseconds(v);
}

}  // namespace memx
