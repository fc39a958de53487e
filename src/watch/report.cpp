// A leak watch's report (memx/watch_report.hpp): the analysis library's report, with a
// `watch` section and no tests.
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "memx/counters.hpp"
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
  r.watch = watch.record();
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
