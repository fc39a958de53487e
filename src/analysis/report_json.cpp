// The report's JSON form: writing with a fixed key order, reading with validation.
#include <cstdint>
#include <exception>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "memx/report.hpp"

namespace memx {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

ordered_json budget_json(const Budget& b) {
  ordered_json j = ordered_json::object();
  if (b.peak) j["peak"] = *b.peak;
  if (b.net) j["net"] = *b.net;
  if (b.blocks) j["blocks"] = *b.blocks;
  if (b.allocs) j["allocs"] = *b.allocs;
  if (b.rss) j["rss"] = *b.rss;
  if (b.leak) j["leak"] = *b.leak;
  if (b.threads) j["threads"] = to_string(*b.threads);
  if (b.warn) j["warn"] = *b.warn;
  return j;
}

/// The report's frames and stacks, each stored once (version 2, stack mode): a site names
/// its stack by index, a stack lists frame indices.
struct StackTables {
  ordered_json frames = ordered_json::array();
  ordered_json stacks = ordered_json::array();
  std::map<std::string, std::size_t> frame_index;
  std::map<std::vector<std::size_t>, std::size_t> stack_index;

  std::size_t frame(const FrameRecord& f) {
    std::string key = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", f.function, f.file, f.line,
                                  f.module, f.offset, f.inlined, f.note);
    const auto [it, added] = frame_index.emplace(std::move(key), frames.size());
    if (added) {
      ordered_json fj;
      fj["function"] = f.function;
      fj["file"] = f.file;
      fj["line"] = f.line;
      fj["module"] = f.module;
      fj["offset"] = f.offset;
      if (f.inlined) fj["inlined"] = true;
      if (!f.note.empty()) fj["note"] = f.note;
      frames.push_back(std::move(fj));
    }
    return it->second;
  }
  std::size_t stack(const std::vector<FrameRecord>& frames_of_site) {
    std::vector<std::size_t> ids;
    ids.reserve(frames_of_site.size());
    for (const FrameRecord& f : frames_of_site) ids.push_back(frame(f));
    const auto [it, added] = stack_index.emplace(ids, stacks.size());
    if (added) stacks.push_back(ids);
    return it->second;
  }
};

ordered_json site_json(const SiteRecord& site, StackTables& tables) {
  ordered_json j;
  j["bytes"] = site.bytes;
  j["blocks"] = site.blocks;
  ordered_json runs = ordered_json::array();
  for (const SiteRun& r : site.runs) {
    ordered_json rj;
    rj["bytes"] = r.bytes;
    rj["blocks"] = r.blocks;
    runs.push_back(std::move(rj));
  }
  j["runs"] = std::move(runs);
  j["user_frame"] = site.user_frame;
  j["stack"] = tables.stack(site.frames);
  return j;
}

// Timeline points as [ms, heap_bytes, rss_bytes]: three numbers, not three keys, per point.
ordered_json points_json(const std::vector<TimelinePoint>& points) {
  ordered_json list = ordered_json::array();
  for (const TimelinePoint& p : points) list.push_back(ordered_json::array({p.ms, p.heap_bytes, p.rss_bytes}));
  return list;
}

ordered_json test_json(const TestRecord& t, const std::string& report_binary, StackTables* sites) {
  ordered_json j;
  j["name"] = t.name;
  // Only where it differs from the report's (a merged report of several binaries), so a
  // report of one binary reads as before.
  if (!t.binary.empty() && t.binary != report_binary) j["binary"] = t.binary;
  j["file"] = t.file;
  j["line"] = t.line;
  j["status"] = to_string(t.status);
  ordered_json runs = ordered_json::array();
  for (const RunRecord& r : t.runs) {
    ordered_json run;
    run["net_bytes"] = r.net_bytes;
    run["net_blocks"] = r.net_blocks;
    run["peak_bytes"] = r.peak_bytes;
    run["allocs"] = r.allocs;
    run["rss_peak_bytes"] = r.rss_peak_bytes;
    run["duration_ms"] = r.duration_ms;
    runs.push_back(std::move(run));
  }
  j["runs"] = std::move(runs);
  j["budget"] = t.budget ? budget_json(*t.budget) : ordered_json(nullptr);
  ordered_json violations = ordered_json::array();
  for (const ViolationRecord& v : t.violations) {
    ordered_json vj;
    vj["key"] = v.key;
    vj["measured"] = v.measured;
    vj["allowed"] = v.allowed;
    vj["message"] = v.message;
    vj["enforced"] = v.enforced;
    violations.push_back(std::move(vj));
  }
  j["violations"] = std::move(violations);
  ordered_json leak;
  leak["verdict"] = to_string(t.leak.verdict);
  leak["confidence"] = to_string(t.leak.confidence);
  leak["bytes_per_run"] = t.leak.bytes_per_run;
  leak["blocks_per_run"] = t.leak.blocks_per_run;
  leak["reason"] = t.leak.reason;
  if (!t.leak.suppressed_by.empty()) leak["suppressed_by"] = t.leak.suppressed_by;
  j["leak"] = std::move(leak);
  if (sites) {
    ordered_json list = ordered_json::array();
    for (const SiteRecord& site : t.sites) list.push_back(site_json(site, *sites));
    j["sites"] = std::move(list);
    ordered_json peak = ordered_json::array();
    for (const SiteRecord& site : t.peak_sites) peak.push_back(site_json(site, *sites));
    j["peak_sites"] = std::move(peak);
  }
  if (t.live_numbers.run > 0) {
    ordered_json numbers;
    numbers["run"] = t.live_numbers.run;
    numbers["live"] = t.live_numbers.live;
    numbers["numbers"] = t.live_numbers.numbers;
    j["live_allocations"] = std::move(numbers);
  }
  if (t.timeline.run > 0) {  // optional: memory over time of its run with the highest peak
    ordered_json tl;
    tl["run"] = t.timeline.run;
    tl["start_ms"] = t.timeline.start_ms;
    tl["points"] = points_json(t.timeline.points);
    j["timeline"] = std::move(tl);
  }
  return j;
}

// ---- reading ----------------------------------------------------------------------------

// Thrown inside read_report only; `path` is the JSON path ("" for the top level).
struct Invalid {
  std::string path;
  std::string what;
};

std::string join(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}
std::string index(const std::string& path, std::size_t i) {
  return fmt::format("{}[{}]", path, i);
}

// What a value is, for "expected X, got Y".
std::string kind_of(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::object:
      return "object";
    case json::value_t::array:
      return "array";
    case json::value_t::string:
      return "string";
    case json::value_t::boolean:
      return "boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return fmt::format("integer {}", v.dump());
    case json::value_t::number_float:
      return fmt::format("number {}", v.dump());
    default:
      return "an unsupported value";
  }
}

[[noreturn]] void expected(const std::string& path, std::string_view what, const json& got) {
  throw Invalid{path, fmt::format("expected {}, got {}", what, kind_of(got))};
}

const json& member(const json& object, const std::string& path, const char* key) {
  auto it = object.find(key);
  if (it == object.end()) throw Invalid{path, fmt::format("missing field \"{}\"", key)};
  return *it;
}

const json& object_at(const json& v, const std::string& path) {
  if (!v.is_object()) expected(path, "an object", v);
  return v;
}

const json& array_at(const json& v, const std::string& path) {
  if (!v.is_array()) expected(path, "an array", v);
  return v;
}

std::int64_t int64_at(const json& v, const std::string& path, std::int64_t min,
                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t value = 0;
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw Invalid{path, fmt::format("integer {} is out of range", u)};
    }
    value = static_cast<std::int64_t>(u);
  } else if (v.is_number_integer()) {
    value = v.get<std::int64_t>();
  } else {
    expected(path, min >= 0 ? "a non-negative integer" : "an integer", v);
  }
  if (value < min || value > max) {
    throw Invalid{path, fmt::format("integer {} is out of range [{}, {}]", value, min, max)};
  }
  return value;
}

std::uint64_t uint64_at(const json& v, const std::string& path) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  expected(path, "a non-negative integer", v);
}

int int_at(const json& v, const std::string& path, int min) {
  return static_cast<int>(int64_at(v, path, min, std::numeric_limits<int>::max()));
}

double number_at(const json& v, const std::string& path) {
  if (!v.is_number()) expected(path, "a number", v);
  return v.get<double>();
}

bool bool_at(const json& v, const std::string& path) {
  if (!v.is_boolean()) expected(path, "a boolean", v);
  return v.get<bool>();
}

std::string string_at(const json& v, const std::string& path) {
  if (!v.is_string()) expected(path, "a string", v);
  return v.get<std::string>();
}

// Reads `key` of `object` with `read(value, path)`.
template <class Read>
auto field(const json& object, const std::string& path, const char* key, Read read) {
  const std::string p = join(path, key);
  return read(member(object, path, key), p);
}

// Reads `key` of `object` with `read(value, path)` if present; `absent` otherwise (members
// added within a version: older reports do not have them).
template <class Read, class T>
T optional_field(const json& object, const std::string& path, const char* key, Read read,
                 T absent) {
  auto it = object.find(key);
  if (it == object.end()) return absent;
  return read(*it, join(path, key));
}

template <class Enum>
Enum enum_at(const json& v, const std::string& path, std::string_view what,
             std::string_view choices) {
  const std::string text = string_at(v, path);
  Enum out{};
  if (!from_string(text, out)) {
    throw Invalid{path, fmt::format("unknown {} \"{}\" (use {})", what, text, choices)};
  }
  return out;
}

Budget budget_at(const json& v, const std::string& path) {
  object_at(v, path);
  Budget b;
  for (auto it = v.begin(); it != v.end(); ++it) {
    const std::string p = join(path, it.key());
    if (it.key() == "threads") {  // version 3
      const std::string t = string_at(it.value(), p);
      if (t == "current") {
        b.threads = Threads::current;
      } else if (t == "all") {
        b.threads = Threads::all;
      } else {
        throw Invalid{p, fmt::format("unknown threads value \"{}\" (use current, all)", t)};
      }
      continue;
    }
    if (it.key() == "warn") {  // version 3
      b.warn = bool_at(it.value(), p);
      continue;
    }
    const std::int64_t limit = int64_at(it.value(), p, 0);
    if (it.key() == "peak")
      b.peak = limit;
    else if (it.key() == "net")
      b.net = limit;
    else if (it.key() == "blocks")
      b.blocks = limit;
    else if (it.key() == "allocs")
      b.allocs = limit;
    else if (it.key() == "rss")
      b.rss = limit;
    else if (it.key() == "leak")  // version 3
      b.leak = limit;
    else
      throw Invalid{p, "unknown budget key (use peak, net, blocks, allocs, rss, leak, threads, warn)"};
  }
  return b;
}

RunRecord run_at(const json& v, const std::string& path) {
  object_at(v, path);
  RunRecord r;
  auto any_int = [](const json& x, const std::string& p) {
    return int64_at(x, p, std::numeric_limits<std::int64_t>::min());
  };
  auto non_negative = [](const json& x, const std::string& p) { return int64_at(x, p, 0); };
  r.net_bytes = field(v, path, "net_bytes", any_int);
  r.net_blocks = field(v, path, "net_blocks", any_int);
  r.peak_bytes = field(v, path, "peak_bytes", non_negative);
  r.allocs = field(v, path, "allocs", uint64_at);
  r.rss_peak_bytes = field(v, path, "rss_peak_bytes", any_int);
  r.duration_ms = field(v, path, "duration_ms", number_at);
  return r;
}

ViolationRecord violation_at(const json& v, const std::string& path) {
  object_at(v, path);
  auto any_int = [](const json& x, const std::string& p) {
    return int64_at(x, p, std::numeric_limits<std::int64_t>::min());
  };
  ViolationRecord r;
  r.key = field(v, path, "key", string_at);
  r.measured = field(v, path, "measured", any_int);
  r.allowed = field(v, path, "allowed", any_int);
  r.message = field(v, path, "message", string_at);
  r.enforced = optional_field(v, path, "enforced", bool_at, true);  // version 3
  return r;
}

LeakAssessment leak_at(const json& v, const std::string& path) {
  object_at(v, path);
  LeakAssessment a;
  a.verdict = field(v, path, "verdict", [](const json& x, const std::string& p) {
    return enum_at<Verdict>(x, p, "verdict", "unknown, clean, suspect, leak, expected");
  });
  a.confidence = field(v, path, "confidence", [](const json& x, const std::string& p) {
    return enum_at<Confidence>(x, p, "confidence", "low, medium, high");
  });
  a.bytes_per_run = field(v, path, "bytes_per_run", number_at);
  a.blocks_per_run = field(v, path, "blocks_per_run", number_at);
  a.reason = field(v, path, "reason", string_at);
  a.suppressed_by = optional_field(v, path, "suppressed_by", string_at, std::string());  // version 3
  return a;
}

FrameRecord frame_at(const json& v, const std::string& path) {
  object_at(v, path);
  FrameRecord f;
  f.function = field(v, path, "function", string_at);
  f.file = field(v, path, "file", string_at);
  f.line =
      field(v, path, "line", [](const json& x, const std::string& p) { return int_at(x, p, 0); });
  f.module = field(v, path, "module", string_at);
  f.offset = field(v, path, "offset", uint64_at);
  f.inlined = optional_field(v, path, "inlined", bool_at, false);
  f.note = optional_field(v, path, "note", string_at, std::string());
  return f;
}

/// The report's frame and stack tables, read before the tests (version 2).
struct ReadTables {
  std::vector<FrameRecord> frames;
  std::vector<std::vector<FrameRecord>> stacks;
};

SiteRecord site_at(const json& v, const std::string& path, const ReadTables& tables) {
  object_at(v, path);
  auto non_negative = [](const json& x, const std::string& p) { return int64_at(x, p, 0); };
  SiteRecord s;
  s.bytes = field(v, path, "bytes", non_negative);
  s.blocks = field(v, path, "blocks", non_negative);
  const std::string runs_path = join(path, "runs");
  const json& runs = array_at(member(v, path, "runs"), runs_path);
  for (std::size_t i = 0; i < runs.size(); ++i) {
    const std::string p = index(runs_path, i);
    object_at(runs[i], p);
    s.runs.push_back(SiteRun{field(runs[i], p, "bytes", non_negative),
                             field(runs[i], p, "blocks", non_negative)});
  }
  if (auto st = v.find("stack"); st != v.end()) {  // an index into stack_table
    const std::string p = join(path, "stack");
    const std::int64_t at = int64_at(*st, p, 0);
    if (static_cast<std::size_t>(at) >= tables.stacks.size()) {
      throw Invalid{p, fmt::format("stack {} is not in stack_table ({} stacks)", at, tables.stacks.size())};
    }
    s.frames = tables.stacks[static_cast<std::size_t>(at)];
  } else {  // the frames written out in the site
    const std::string frames_path = join(path, "frames");
    const json& frames = array_at(member(v, path, "frames"), frames_path);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      s.frames.push_back(frame_at(frames[i], index(frames_path, i)));
    }
  }
  const int frame_count = static_cast<int>(s.frames.size());
  s.user_frame = field(v, path, "user_frame", [&](const json& x, const std::string& p) {
    const int u = int_at(x, p, 0);
    if (u > 0 && u >= frame_count) {
      throw Invalid{p, fmt::format("frame {} of a stack of {} frames", u, frame_count)};
    }
    return u;
  });
  return s;
}

// [[ms, heap_bytes, rss_bytes], ...], ms never decreasing.
std::vector<TimelinePoint> points_at(const json& v, const std::string& path) {
  array_at(v, path);
  std::vector<TimelinePoint> points;
  points.reserve(v.size());
  const std::int64_t any = std::numeric_limits<std::int64_t>::min();
  for (std::size_t i = 0; i < v.size(); ++i) {
    const std::string p = index(path, i);
    const json& e = array_at(v[i], p);
    if (e.size() != 3) throw Invalid{p, fmt::format("{} numbers, expected 3 (ms, heap_bytes, rss_bytes)", e.size())};
    TimelinePoint point{number_at(e[0], index(p, 0)), int64_at(e[1], index(p, 1), any),
                        int64_at(e[2], index(p, 2), any)};
    if (!(point.ms >= 0) || (!points.empty() && point.ms < points.back().ms)) {
      throw Invalid{index(p, 0), fmt::format("time {} ms is before the point before it, or negative", point.ms)};
    }
    points.push_back(point);
  }
  return points;
}

StacksInfo stacks_at(const json& v, const std::string& path) {
  object_at(v, path);
  StacksInfo s;
  s.depth =
      field(v, path, "depth", [](const json& x, const std::string& p) { return int_at(x, p, 1); });
  s.unwinder = field(v, path, "unwinder", string_at);
  s.top =
      field(v, path, "top", [](const json& x, const std::string& p) { return int_at(x, p, 0); });
  s.dropped = field(v, path, "dropped", uint64_at);
  s.final = field(v, path, "final", bool_at);
  if (auto m = v.find("sample_bytes"); m != v.end()) {  // optional: sampling mode
    s.sample_bytes = uint64_at(*m, join(path, "sample_bytes"));
    if (s.sample_bytes == 0) throw Invalid{join(path, "sample_bytes"), "a sampling mean of 0 bytes"};
  }
  return s;
}

TestRecord test_at(const json& v, const std::string& path, const ReadTables& tables) {
  object_at(v, path);
  TestRecord t;
  t.name = field(v, path, "name", string_at);
  // Optional (added within version 1): the test's own binary in a merged report.
  if (auto b = v.find("binary"); b != v.end()) t.binary = string_at(*b, join(path, "binary"));
  t.file = field(v, path, "file", string_at);
  t.line =
      field(v, path, "line", [](const json& x, const std::string& p) { return int_at(x, p, 0); });
  t.status = field(v, path, "status", [](const json& x, const std::string& p) {
    return enum_at<TestStatus>(x, p, "status", "passed, failed, skipped");
  });
  const std::string runs_path = join(path, "runs");
  const json& runs = array_at(member(v, path, "runs"), runs_path);
  for (std::size_t i = 0; i < runs.size(); ++i)
    t.runs.push_back(run_at(runs[i], index(runs_path, i)));
  const json& budget = member(v, path, "budget");
  if (!budget.is_null()) t.budget = budget_at(budget, join(path, "budget"));
  const std::string violations_path = join(path, "violations");
  const json& violations = array_at(member(v, path, "violations"), violations_path);
  for (std::size_t i = 0; i < violations.size(); ++i) {
    t.violations.push_back(violation_at(violations[i], index(violations_path, i)));
  }
  t.leak = field(v, path, "leak", leak_at);
  if (auto sites = v.find("sites"); sites != v.end()) {  // version 2, stack mode
    const std::string sites_path = join(path, "sites");
    array_at(*sites, sites_path);
    for (std::size_t i = 0; i < sites->size(); ++i) {
      t.sites.push_back(site_at((*sites)[i], index(sites_path, i), tables));
    }
  }
  if (auto sites = v.find("peak_sites"); sites != v.end()) {  // version 2, stack mode
    const std::string sites_path = join(path, "peak_sites");
    array_at(*sites, sites_path);
    for (std::size_t i = 0; i < sites->size(); ++i) {
      t.peak_sites.push_back(site_at((*sites)[i], index(sites_path, i), tables));
    }
  }
  if (auto n = v.find("live_allocations"); n != v.end()) {  // optional, counting mode
    const std::string n_path = join(path, "live_allocations");
    object_at(*n, n_path);
    t.live_numbers.run =
        field(*n, n_path, "run", [](const json& x, const std::string& p) { return int_at(x, p, 1); });
    t.live_numbers.live = field(*n, n_path, "live", uint64_at);
    const std::string list_path = join(n_path, "numbers");
    const json& list = array_at(member(*n, n_path, "numbers"), list_path);
    for (std::size_t i = 0; i < list.size(); ++i) {
      const std::uint64_t number = uint64_at(list[i], index(list_path, i));
      if (number == 0 || (!t.live_numbers.numbers.empty() && number <= t.live_numbers.numbers.back())) {
        throw Invalid{index(list_path, i), "allocation numbers must be 1 or more, ascending"};
      }
      t.live_numbers.numbers.push_back(number);
    }
    if (t.live_numbers.numbers.size() > t.live_numbers.live) {
      throw Invalid{list_path, fmt::format("{} numbers for {} live blocks",
                                           t.live_numbers.numbers.size(), t.live_numbers.live)};
    }
  }
  if (auto tl = v.find("timeline"); tl != v.end()) {  // optional: memory over time
    const std::string tl_path = join(path, "timeline");
    object_at(*tl, tl_path);
    t.timeline.run = field(*tl, tl_path, "run", [&](const json& x, const std::string& p) {
      const int run = int_at(x, p, 1);
      if (static_cast<std::size_t>(run) > t.runs.size()) {
        throw Invalid{p, fmt::format("run {} of a test with {} runs", run, t.runs.size())};
      }
      return run;
    });
    t.timeline.start_ms = field(*tl, tl_path, "start_ms", [](const json& x, const std::string& p) {
      const double ms = number_at(x, p);
      if (!(ms >= 0)) throw Invalid{p, fmt::format("a negative time ({} ms)", ms)};
      return ms;
    });
    t.timeline.points = points_at(member(*tl, tl_path, "points"), join(tl_path, "points"));
  }
  return t;
}

Report report_at(const json& v) {
  const std::string top;
  if (!v.is_object()) {
    throw Invalid{top,
                  fmt::format("expected a JSON object at the top level, got {}: not a memx report",
                              kind_of(v))};
  }
  auto it = v.find("format");
  if (it == v.end()) throw Invalid{top, "missing field \"format\": not a memx report"};
  const std::string format = string_at(*it, "format");
  if (format != kReportFormat) {
    throw Invalid{"format",
                  fmt::format("\"{}\" is not \"{}\": not a memx report", format, kReportFormat)};
  }
  const std::int64_t version = field(v, top, "version", [](const json& x, const std::string& p) {
    return int64_at(x, p, std::numeric_limits<std::int64_t>::min());
  });
  if (version > kReportVersion) {
    throw Invalid{"version", fmt::format("report version {} is newer than this memx reads ({}); "
                                         "upgrade memx",
                                         version, kReportVersion)};
  }
  if (version < 1) throw Invalid{"version", fmt::format("invalid report version {}", version)};

  Report r;
  r.framework = field(v, top, "framework", string_at);
  r.binary = field(v, top, "binary", string_at);
  r.pid =
      field(v, top, "pid", [](const json& x, const std::string& p) { return int64_at(x, p, 0); });
  r.complete = field(v, top, "complete", bool_at);
  r.repetitions = field(v, top, "repetitions",
                        [](const json& x, const std::string& p) { return int_at(x, p, 0); });
  r.started_at = field(v, top, "started_at", string_at);
  r.finished_at = field(v, top, "finished_at", [](const json& x, const std::string& p) {
    return x.is_null() ? std::string() : string_at(x, p);
  });
  r.backend = field(v, top, "backend", string_at);
  // Optional (added within version 2): reports written before it have no run identifier.
  r.run_id = optional_field(v, top, "run_id", string_at, std::string());
  r.tool = optional_field(v, top, "tool", string_at, std::string());
  r.measured = optional_field(v, top, "measured", bool_at, true);
  if (auto st = v.find("stacks"); st != v.end() && !st->is_null()) {  // version 2
    r.stacks = stacks_at(*st, "stacks");
  }
  r.warn_only = optional_field(v, top, "warn_only", bool_at, false);  // version 3
  r.suppressions_file = optional_field(v, top, "suppressions_file", string_at, std::string());
  if (auto su = v.find("suppressions"); su != v.end()) {  // version 3
    array_at(*su, "suppressions");
    for (std::size_t i = 0; i < su->size(); ++i) {
      const std::string p = index("suppressions", i);
      const json& e = (*su)[i];
      object_at(e, p);
      SuppressionUse u;
      u.text = field(e, p, "text", string_at);
      const SuppressionsParse parsed = parse_suppressions(u.text, join(p, "text"));
      if (!parsed.list || parsed.list->size() != 1) {
        throw Invalid{join(p, "text"),
                      fmt::format("\"{}\" is not one leak:PATTERN or test:PATTERN line", u.text)};
      }
      u.line = field(e, p, "line", [](const json& x, const std::string& q) { return int_at(x, q, 0); });
      u.used = field(e, p, "used", uint64_at);
      r.suppressions.push_back(std::move(u));
    }
  }
  const json& live =
      array_at(member(v, top, "iteration_end_live_bytes"), "iteration_end_live_bytes");
  for (std::size_t i = 0; i < live.size(); ++i) {
    r.iteration_end_live_bytes.push_back(int64_at(live[i], index("iteration_end_live_bytes", i),
                                                  std::numeric_limits<std::int64_t>::min()));
  }
  ReadTables tables;
  if (auto ft = v.find("frame_table"); ft != v.end()) {  // version 2, stack mode
    array_at(*ft, "frame_table");
    for (std::size_t i = 0; i < ft->size(); ++i) {
      tables.frames.push_back(frame_at((*ft)[i], index("frame_table", i)));
    }
  }
  if (auto st = v.find("stack_table"); st != v.end()) {
    array_at(*st, "stack_table");
    for (std::size_t i = 0; i < st->size(); ++i) {
      const std::string p = index("stack_table", i);
      array_at((*st)[i], p);
      std::vector<FrameRecord> frames;
      for (std::size_t k = 0; k < (*st)[i].size(); ++k) {
        const std::string fp = index(p, k);
        const std::int64_t at = int64_at((*st)[i][k], fp, 0);
        if (static_cast<std::size_t>(at) >= tables.frames.size()) {
          throw Invalid{fp, fmt::format("frame {} is not in frame_table ({} frames)", at, tables.frames.size())};
        }
        frames.push_back(tables.frames[static_cast<std::size_t>(at)]);
      }
      tables.stacks.push_back(std::move(frames));
    }
  }
  if (auto tl = v.find("timeline"); tl != v.end()) r.timeline = points_at(*tl, "timeline");  // optional
  const json& tests = array_at(member(v, top, "tests"), "tests");
  for (std::size_t i = 0; i < tests.size(); ++i)
    r.tests.push_back(test_at(tests[i], index("tests", i), tables));
  // One record per test (binary and name): with two, every reader would see only one of
  // them (a regression in the other would pass the gate).
  for (TestRecord& t : r.tests) {
    if (t.binary == r.binary) t.binary.clear();
  }
  // Keys are the names alone when every test is of the report's binary (no copies).
  bool own = false;
  for (const TestRecord& t : r.tests) own = own || !t.binary.empty();
  std::vector<std::string> keys;
  if (own) {
    keys.reserve(r.tests.size());
    for (const TestRecord& t : r.tests) keys.push_back(t.binary + '\0' + t.name);
  }
  std::unordered_map<std::string_view, std::size_t> seen;
  seen.reserve(r.tests.size());
  for (std::size_t i = 0; i < r.tests.size(); ++i) {
    const TestRecord& t = r.tests[i];
    const std::string_view key = own ? std::string_view(keys[i]) : std::string_view(t.name);
    const auto [first, inserted] = seen.emplace(key, i);
    if (!inserted) {
      throw Invalid{join(index("tests", i), "name"),
                    t.binary.empty()
                        ? fmt::format("the test \"{}\" is in the report twice (also tests[{}]); "
                                      "a report holds each test once",
                                      t.name, first->second)
                        : fmt::format("the test \"{}\" of {} is in the report twice (also "
                                      "tests[{}]); a report holds each test once",
                                      t.name, t.binary, first->second)};
    }
  }
  return r;
}

// "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..." ->
// {"line 1, column 5", "syntax error ..."}.
std::pair<std::string, std::string> split_parse_error(const std::string& what) {
  std::string rest = what;
  if (const std::size_t bracket = rest.find("] "); bracket != std::string::npos) {
    rest = rest.substr(bracket + 2);
  }
  const std::string prefix = "parse error at ";
  if (rest.compare(0, prefix.size(), prefix) == 0) {
    const std::size_t colon = rest.find(": ", prefix.size());
    if (colon != std::string::npos) {
      return {rest.substr(prefix.size(), colon - prefix.size()), rest.substr(colon + 2)};
    }
  }
  return {std::string(), rest};
}

}  // namespace

std::string to_json(const Report& report) {
  ordered_json j;
  j["format"] = kReportFormat;
  j["version"] = kReportVersion;
  j["framework"] = report.framework;
  j["binary"] = report.binary;
  j["pid"] = report.pid;
  j["complete"] = report.complete;
  j["repetitions"] = report.repetitions;
  j["started_at"] = report.started_at;
  j["finished_at"] =
      report.finished_at.empty() ? ordered_json(nullptr) : ordered_json(report.finished_at);
  if (!report.run_id.empty()) j["run_id"] = report.run_id;
  j["backend"] = report.backend;
  // Written only when set, so that a report of an ordinary run is what it always was.
  if (!report.tool.empty()) j["tool"] = report.tool;
  if (!report.measured) j["measured"] = false;
  const bool stacks = report.stacks.depth > 0;
  if (stacks) {
    ordered_json st;
    st["depth"] = report.stacks.depth;
    st["unwinder"] = report.stacks.unwinder;
    st["top"] = report.stacks.top;
    st["dropped"] = report.stacks.dropped;
    st["final"] = report.stacks.final;
    if (report.stacks.sample_bytes > 0) st["sample_bytes"] = report.stacks.sample_bytes;
    j["stacks"] = std::move(st);
  }
  if (report.warn_only) j["warn_only"] = true;
  if (!report.suppressions_file.empty() || !report.suppressions.empty()) {
    j["suppressions_file"] = report.suppressions_file;
    ordered_json list = ordered_json::array();
    for (const SuppressionUse& u : report.suppressions) {
      ordered_json e;
      e["text"] = u.text;
      e["line"] = u.line;
      e["used"] = u.used;
      list.push_back(std::move(e));
    }
    j["suppressions"] = std::move(list);
  }
  j["iteration_end_live_bytes"] = report.iteration_end_live_bytes;
  StackTables tables;
  ordered_json tests = ordered_json::array();
  for (const TestRecord& t : report.tests) tests.push_back(test_json(t, report.binary, stacks ? &tables : nullptr));
  j["tests"] = std::move(tests);
  if (!report.timeline.empty()) j["timeline"] = points_json(report.timeline);
  if (stacks) {
    j["frame_table"] = std::move(tables.frames);
    j["stack_table"] = std::move(tables.stacks);
  }
  // Invalid UTF-8 in names (from user code) is replaced rather than thrown on.
  return j.dump(2, ' ', false, ordered_json::error_handler_t::replace) + "\n";
}

ReportRead read_report(std::string_view text, std::string_view source_name) {
  ReportRead out;
  try {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) {
      out.error = fmt::format("{}: empty input: not a memx report", source_name);
      return out;
    }
    // A zip archive (Bazel's test.outputs/outputs.zip holds a shard's reports): memx reads
    // no archives; say how to get at the reports inside.
    if (text.substr(0, 4) == std::string_view("PK\x03\x04", 4) ||
        text.substr(0, 4) == std::string_view("PK\x05\x06", 4)) {
      out.error = fmt::format(
          "{}: a zip archive, not a memx report (Bazel's test.outputs/outputs.zip?): unzip it "
          "into a directory of its own (unzip -d DIR {}) and give that directory",
          source_name, source_name);
      return out;
    }
    json doc;
    try {
      doc = json::parse(text.begin(), text.end());
    } catch (const json::parse_error& e) {
      auto [where, detail] = split_parse_error(e.what());
      const bool at_end = e.byte >= text.size();
      out.error = fmt::format("{}: {} at byte {}{}: {}", source_name,
                              at_end ? "truncated JSON" : "invalid JSON", e.byte,
                              where.empty() ? std::string() : fmt::format(" ({})", where), detail);
      return out;
    }
    out.report = report_at(doc);
  } catch (const Invalid& e) {
    out.report.reset();
    out.error = e.path.empty() ? fmt::format("{}: {}", source_name, e.what)
                               : fmt::format("{}: {}: {}", source_name, e.path, e.what);
  } catch (const std::exception& e) {
    out.report.reset();
    out.error = fmt::format("{}: cannot read the report: {}", source_name, e.what());
  } catch (...) {
    out.report.reset();
    out.error = std::string(source_name) + ": cannot read the report";
  }
  return out;
}

}  // namespace memx
