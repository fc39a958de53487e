// The report's JSON form: writing with a fixed key order, reading with validation.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdint>
#include <iterator>
#include <exception>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <utility>

#include <cerrno>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "memx/report.hpp"

namespace memx {
namespace {

using nlohmann::json;

// A JSON text written directly, byte for byte what nlohmann's dump(2) of the same document
// would give (the report's form since version 1), without building the document first: a
// report of 100,000 tests is written in a few tens of milliseconds and never held twice.
class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  /// Pieces of at least `chunk` bytes go to `sink` at each end_piece().
  Writer(std::string& out, const TextSink& sink, std::size_t chunk)
      : out_(out), sink_(&sink), chunk_(chunk) {}

  /// A place where the text may be cut (after a test): hands the buffer to the sink once it
  /// holds `chunk` bytes. False once the sink has refused a piece.
  bool end_piece() {
    if (sink_ != nullptr && out_.size() >= chunk_) return flush();
    return ok_;
  }
  bool flush() {
    if (sink_ != nullptr && ok_ && !out_.empty()) ok_ = (*sink_)(out_);
    if (sink_ != nullptr) out_.clear();
    return ok_;
  }

  void begin_object() { open('{'); }
  void end_object() { close('}'); }
  void begin_array() { open('['); }
  void end_array() { close(']'); }
  /// An object member's key (memx's own keys: plain ASCII, nothing to escape).
  Writer& key(std::string_view k) {
    // The separator, the indentation and the key in one step: a report is mostly keys.
    char* p = extend(2 + 2 * first_.size() + 1 + k.size() + 3);
    p = separator(p);
    *p++ = '"';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    std::memcpy(p, "\": ", 3);
    end_at(p + 3);
    pending_key_ = true;
    return *this;
  }
  void value(std::int64_t v) {
    element();
    const fmt::format_int text(v);
    out_.append(text.data(), text.size());
  }
  void value(std::uint64_t v) {
    element();
    const fmt::format_int text(v);
    out_.append(text.data(), text.size());
  }
  void value(int v) { value(static_cast<std::int64_t>(v)); }
  void value(bool v) { element(); out_ += v ? "true" : "false"; }
  void null() { element(); out_ += "null"; }
  void newline() { out_ += '\n'; }
  void value(double v) {
    element();
    if (!std::isfinite(v)) {
      out_ += "null";
      return;
    }
    char buffer[64];
    // nlohmann's own shortest round-trip form ("0.0", "1.5e-05"), as its dump writes it.
    char* end = nlohmann::detail::to_chars(buffer, buffer + sizeof buffer, v);
    out_.append(buffer, end);
  }
  void value(std::string_view s) {
    element();
    string(s);
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }

 private:
  // An element of an array starts a line; a member's value follows its key.
  void element() {
    if (pending_key_) {
      pending_key_ = false;
    } else if (!first_.empty()) {
      separate();
    }
  }
  // Room for `n` more bytes at the end of the text; end_at() then cuts it where the writing
  // stopped.
  char* extend(std::size_t n) {
    const std::size_t at = out_.size();
    out_.resize(at + n);
    return &out_[at];
  }
  void end_at(const char* p) { out_.resize(static_cast<std::size_t>(p - out_.data())); }
  // A new line indented by two spaces per open container, as dump(2) writes it.
  char* line_start(char* p) const {
    *p++ = '\n';
    std::memset(p, ' ', 2 * first_.size());
    return p + 2 * first_.size();
  }
  // Before the next element or member of the innermost container: a comma after an earlier
  // one, then its line (at most 2 + 2 * depth bytes).
  char* separator(char* p) {
    if (!first_.back()) *p++ = ',';
    first_.back() = false;
    return line_start(p);
  }
  void separate() {
    if (first_.empty()) return;
    end_at(separator(extend(2 + 2 * first_.size())));
  }
  void open(char c) {
    element();
    out_ += c;
    first_.push_back(true);
  }
  void close(char c) {
    const bool empty = first_.back();
    first_.pop_back();
    if (!empty) end_at(line_start(extend(1 + 2 * first_.size())));
    out_ += c;
  }
  void string(std::string_view s) {
    bool plain = true;
    for (const char ch : s) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') {
        plain = false;
        break;
      }
    }
    if (plain) {
      const std::size_t at = out_.size();
      out_.resize(at + s.size() + 2);
      char* p = &out_[at];
      p[0] = '"';
      std::memcpy(p + 1, s.data(), s.size());
      p[s.size() + 1] = '"';
      return;
    }
    // Escapes and UTF-8 (invalid sequences replaced, not thrown on) exactly as nlohmann
    // writes them; rare enough (names with quotes or non-ASCII text) to go through it.
    out_ += json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
  }

  std::string& out_;
  const TextSink* sink_ = nullptr;
  std::size_t chunk_ = 0;
  bool ok_ = true;
  std::vector<bool> first_;  // per open container: no element written yet
  bool pending_key_ = false;
};

void write_budget(Writer& w, const Budget& b) {
  w.begin_object();
  if (b.peak) w.key("peak").value(*b.peak);
  if (b.net) w.key("net").value(*b.net);
  if (b.blocks) w.key("blocks").value(*b.blocks);
  if (b.allocs) w.key("allocs").value(*b.allocs);
  if (b.rss) w.key("rss").value(*b.rss);
  if (b.leak) w.key("leak").value(*b.leak);
  if (b.threads) w.key("threads").value(to_string(*b.threads));
  if (b.fds) w.key("fds").value(*b.fds);                  // optional, added within version 3
  if (b.threads_left) w.key("threads_left").value(*b.threads_left);  // likewise
  if (b.warn) w.key("warn").value(*b.warn);
  w.end_object();
}

/// The report's frames and stacks, each stored once (version 2, stack mode): a site names
/// its stack by index, a stack lists frame indices.
struct StackTables {
  std::vector<const FrameRecord*> frames;
  std::vector<std::vector<std::size_t>> stacks;
  std::map<std::string, std::size_t> frame_index;
  std::map<std::vector<std::size_t>, std::size_t> stack_index;

  std::size_t frame(const FrameRecord& f) {
    std::string key = fmt::format("{}\n{}\n{}\n{}\n{}\n{}\n{}", f.function, f.file, f.line,
                                  f.module, f.offset, f.inlined, f.note);
    const auto [it, added] = frame_index.emplace(std::move(key), frames.size());
    if (added) frames.push_back(&f);
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
  void write(Writer& w) const {
    w.key("frame_table").begin_array();
    for (const FrameRecord* f : frames) {
      w.begin_object();
      w.key("function").value(f->function);
      w.key("file").value(f->file);
      w.key("line").value(f->line);
      w.key("module").value(f->module);
      w.key("offset").value(f->offset);
      if (f->inlined) w.key("inlined").value(true);
      if (!f->note.empty()) w.key("note").value(f->note);
      w.end_object();
    }
    w.end_array();
    w.key("stack_table").begin_array();
    for (const std::vector<std::size_t>& ids : stacks) {
      w.begin_array();
      for (const std::size_t id : ids) w.value(static_cast<std::uint64_t>(id));
      w.end_array();
    }
    w.end_array();
  }
};

void write_site(Writer& w, const SiteRecord& site, StackTables& tables) {
  w.begin_object();
  w.key("bytes").value(site.bytes);
  w.key("blocks").value(site.blocks);
  w.key("runs").begin_array();
  for (const SiteRun& r : site.runs) {
    w.begin_object();
    w.key("bytes").value(r.bytes);
    w.key("blocks").value(r.blocks);
    w.end_object();
  }
  w.end_array();
  w.key("user_frame").value(site.user_frame);
  w.key("stack").value(static_cast<std::uint64_t>(tables.stack(site.frames)));
  w.end_object();
}

// Timeline points as [ms, heap_bytes, rss_bytes]: three numbers, not three keys, per point.
void write_points(Writer& w, const std::vector<TimelinePoint>& points) {
  w.begin_array();
  for (const TimelinePoint& p : points) {
    w.begin_array();
    w.value(p.ms);
    w.value(p.heap_bytes);
    w.value(p.rss_bytes);
    w.end_array();
  }
  w.end_array();
}

void write_test(Writer& w, const TestRecord& t, const std::string& report_binary, StackTables* sites) {
  w.begin_object();
  w.key("name").value(t.name);
  // Only where it differs from the report's (a merged report of several binaries), so a
  // report of one binary reads as before.
  if (!t.binary.empty() && t.binary != report_binary) w.key("binary").value(t.binary);
  w.key("file").value(t.file);
  w.key("line").value(t.line);
  w.key("status").value(to_string(t.status));
  w.key("runs").begin_array();
  for (const RunRecord& r : t.runs) {
    w.begin_object();
    w.key("net_bytes").value(r.net_bytes);
    w.key("net_blocks").value(r.net_blocks);
    w.key("peak_bytes").value(r.peak_bytes);
    w.key("allocs").value(r.allocs);
    w.key("rss_peak_bytes").value(r.rss_peak_bytes);
    w.key("duration_ms").value(r.duration_ms);
    // Optional (added within version 3): descriptors and threads it left behind.
    if (r.fds != 0) w.key("fds").value(r.fds);
    if (r.threads != 0) w.key("threads").value(r.threads);
    w.end_object();
  }
  w.end_array();
  w.key("budget");
  if (t.budget) {
    write_budget(w, *t.budget);
  } else {
    w.null();
  }
  w.key("violations").begin_array();
  for (const ViolationRecord& v : t.violations) {
    w.begin_object();
    w.key("key").value(v.key);
    w.key("measured").value(v.measured);
    w.key("allowed").value(v.allowed);
    w.key("message").value(v.message);
    w.key("enforced").value(v.enforced);
    w.end_object();
  }
  w.end_array();
  w.key("leak").begin_object();
  w.key("verdict").value(to_string(t.leak.verdict));
  w.key("confidence").value(to_string(t.leak.confidence));
  w.key("bytes_per_run").value(t.leak.bytes_per_run);
  w.key("blocks_per_run").value(t.leak.blocks_per_run);
  w.key("reason").value(t.leak.reason);
  if (!t.leak.suppressed_by.empty()) w.key("suppressed_by").value(t.leak.suppressed_by);
  w.end_object();
  if (sites) {
    w.key("sites").begin_array();
    for (const SiteRecord& site : t.sites) write_site(w, site, *sites);
    w.end_array();
    w.key("peak_sites").begin_array();
    for (const SiteRecord& site : t.peak_sites) write_site(w, site, *sites);
    w.end_array();
  }
  if (t.live_numbers.run > 0) {
    w.key("live_allocations").begin_object();
    w.key("run").value(t.live_numbers.run);
    w.key("live").value(t.live_numbers.live);
    w.key("numbers").begin_array();
    for (const std::uint64_t n : t.live_numbers.numbers) w.value(n);
    w.end_array();
    w.end_object();
  }
  if (t.resource_leaks.run > 0) {  // optional: the descriptors and threads a run left
    w.key("resource_leaks").begin_object();
    w.key("run").value(t.resource_leaks.run);
    w.key("fds").begin_array();
    for (const LeakedDescriptor& d : t.resource_leaks.fds) {
      w.begin_object();
      w.key("fd").value(d.fd);
      w.key("target").value(d.target);
      w.end_object();
    }
    w.end_array();
    w.key("threads").begin_array();
    for (const LeakedThread& th : t.resource_leaks.threads) {
      w.begin_object();
      w.key("tid").value(th.tid);
      w.key("name").value(th.name);
      w.end_object();
    }
    w.end_array();
    w.end_object();
  }
  if (t.timeline.run > 0) {  // optional: memory over time of its run with the highest peak
    w.key("timeline").begin_object();
    w.key("run").value(t.timeline.run);
    w.key("start_ms").value(t.timeline.start_ms);
    w.key("points");
    write_points(w, t.timeline.points);
    w.end_object();
  }
  w.end_object();
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
    else if (it.key() == "fds")  // optional, added within version 3
      b.fds = limit;
    else if (it.key() == "threads_left")  // likewise
      b.threads_left = limit;
    else
      throw Invalid{p, "unknown budget key (use peak, net, blocks, allocs, rss, leak, fds, threads, "
                       "threads_left, warn)"};
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
  r.fds = optional_field(v, path, "fds", non_negative, std::int64_t{0});  // within version 3
  r.threads = optional_field(v, path, "threads", non_negative, std::int64_t{0});
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
  if (auto rl = v.find("resource_leaks"); rl != v.end()) {  // optional, within version 3
    const std::string rl_path = join(path, "resource_leaks");
    object_at(*rl, rl_path);
    t.resource_leaks.run = field(*rl, rl_path, "run", [&](const json& x, const std::string& p) {
      const int run = int_at(x, p, 1);
      if (static_cast<std::size_t>(run) > t.runs.size()) {
        throw Invalid{p, fmt::format("run {} of a test with {} runs", run, t.runs.size())};
      }
      return run;
    });
    const std::string fds_path = join(rl_path, "fds");
    const json& fds = array_at(member(*rl, rl_path, "fds"), fds_path);
    for (std::size_t i = 0; i < fds.size(); ++i) {
      const std::string p = index(fds_path, i);
      object_at(fds[i], p);
      t.resource_leaks.fds.push_back(LeakedDescriptor{
          field(fds[i], p, "fd", [](const json& x, const std::string& q) { return int_at(x, q, 0); }),
          field(fds[i], p, "target", string_at)});
    }
    const std::string threads_path = join(rl_path, "threads");
    const json& threads = array_at(member(*rl, rl_path, "threads"), threads_path);
    for (std::size_t i = 0; i < threads.size(); ++i) {
      const std::string p = index(threads_path, i);
      object_at(threads[i], p);
      t.resource_leaks.threads.push_back(LeakedThread{
          field(threads[i], p, "tid", [](const json& x, const std::string& q) { return int64_at(x, q, 1); }),
          field(threads[i], p, "name", string_at)});
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

/// The tests of the top-level "tests" array as the streaming reader took them: converted as
/// each was read, except those with sites (they name stacks of the tables that follow the
/// tests), which wait here as documents.
struct StreamedTests {
  std::vector<TestRecord> tests;                      // in order; placeholders where deferred
  std::vector<std::pair<std::size_t, json>> deferred;  // (index, document), ascending
  std::optional<Invalid> error;                       // the first test that could not be read
  std::size_t error_index = 0;
  std::size_t count = 0;
};

Report report_at(const json& v, StreamedTests& streamed) {
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
  // The array's elements were taken while it was read (the document keeps it empty).
  array_at(member(v, top, "tests"), "tests");
  // The header is valid: now the first test that is not, in the order of the array.
  for (auto& [i, doc] : streamed.deferred) {
    if (streamed.error && i > streamed.error_index) break;
    streamed.tests[i] = test_at(doc, index("tests", i), tables);
  }
  if (streamed.error) throw *streamed.error;
  r.tests = std::move(streamed.tests);
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

namespace {

bool write_report_text(const Report& report, Writer& w) {
  w.begin_object();
  w.key("format").value(kReportFormat);
  w.key("version").value(kReportVersion);
  w.key("framework").value(report.framework);
  w.key("binary").value(report.binary);
  w.key("pid").value(report.pid);
  w.key("complete").value(report.complete);
  w.key("repetitions").value(report.repetitions);
  w.key("started_at").value(report.started_at);
  w.key("finished_at");
  if (report.finished_at.empty()) {
    w.null();
  } else {
    w.value(report.finished_at);
  }
  if (!report.run_id.empty()) w.key("run_id").value(report.run_id);
  w.key("backend").value(report.backend);
  // Written only when set, so that a report of an ordinary run is what it always was.
  if (!report.tool.empty()) w.key("tool").value(report.tool);
  if (!report.measured) w.key("measured").value(false);
  const bool stacks = report.stacks.depth > 0;
  if (stacks) {
    w.key("stacks").begin_object();
    w.key("depth").value(report.stacks.depth);
    w.key("unwinder").value(report.stacks.unwinder);
    w.key("top").value(report.stacks.top);
    w.key("dropped").value(report.stacks.dropped);
    w.key("final").value(report.stacks.final);
    if (report.stacks.sample_bytes > 0) w.key("sample_bytes").value(report.stacks.sample_bytes);
    w.end_object();
  }
  if (report.warn_only) w.key("warn_only").value(true);
  if (!report.suppressions_file.empty() || !report.suppressions.empty()) {
    w.key("suppressions_file").value(report.suppressions_file);
    w.key("suppressions").begin_array();
    for (const SuppressionUse& u : report.suppressions) {
      w.begin_object();
      w.key("text").value(u.text);
      w.key("line").value(u.line);
      w.key("used").value(u.used);
      w.end_object();
    }
    w.end_array();
  }
  w.key("iteration_end_live_bytes").begin_array();
  for (const std::int64_t b : report.iteration_end_live_bytes) w.value(b);
  w.end_array();
  StackTables tables;
  w.key("tests").begin_array();
  for (const TestRecord& t : report.tests) {
    write_test(w, t, report.binary, stacks ? &tables : nullptr);
    if (!w.end_piece()) return false;
  }
  w.end_array();
  if (!report.timeline.empty()) {
    w.key("timeline");
    write_points(w, report.timeline);
  }
  if (stacks) tables.write(w);
  w.end_object();
  w.newline();
  return w.flush();
}

}  // namespace

std::string to_json(const Report& report) {
  std::string out;
  // About 600 bytes per test of an ordinary run: one allocation for most reports.
  out.reserve(4096 + report.tests.size() * 640);
  Writer w(out);
  write_report_text(report, w);
  return out;
}

bool write_json(const Report& report, const TextSink& sink, std::size_t chunk) {
  std::string buffer;
  buffer.reserve(chunk + 4096);
  Writer w(buffer, sink, chunk);
  return write_report_text(report, w);
}

namespace {

// ---- the streaming reader ------------------------------------------------------------------
//
// A report is read in one pass over its bytes, never held whole: the text comes in chunks
// (from a file, 1 MiB at a time), nlohmann's SAX parser builds the small document of the
// header, and each element of the top-level "tests" array is converted to a TestRecord as
// soon as its closing brace is read and then dropped. A million-test report costs its
// records, not its text plus a document of it (which took 4 GB).

/// Where the bytes come from: a buffer refilled by fill() (a file), or one buffer (a text).
class Source {
 public:
  virtual ~Source() = default;
  const char* data = nullptr;
  std::size_t pos = 0;
  std::size_t len = 0;
  std::uint64_t before = 0;  // bytes of the input before `data`
  bool failed = false;       // a read error (fill() sets `error`)
  std::string error;

  std::uint64_t offset() const { return before + pos; }
  /// Makes data[pos] readable; false at the end of the input (or a read error).
  bool available() {
    if (pos < len) return true;
    before += len;
    pos = 0;
    len = 0;
    return fill();
  }

 protected:
  virtual bool fill() { return false; }
};

class TextSource : public Source {
 public:
  explicit TextSource(std::string_view text) {
    data = text.data();
    len = text.size();
  }
};

class FdSource : public Source {
 public:
  FdSource(int fd, std::string path) : fd_(fd), path_(std::move(path)), buffer_(std::size_t{1} << 20) {
    data = buffer_.data();
  }

 protected:
  bool fill() override {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer_.data(), buffer_.size());
      if (n > 0) {
        len = static_cast<std::size_t>(n);
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      failed = true;
      error = fmt::format("{}: cannot read: {}", path_, std::strerror(errno));
      return false;
    }
  }

 private:
  int fd_;
  std::string path_;
  std::vector<char> buffer_;
};

/// The parser's input iterator over a Source (all copies share it; the end is a null source).
class SourceIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;

  SourceIterator() = default;
  explicit SourceIterator(Source* s) : s_(s) {}
  reference operator*() const { return s_->data[s_->pos]; }
  SourceIterator& operator++() {
    ++s_->pos;
    return *this;
  }
  // The parser compares with the end before every character: a compare within the chunk,
  // a refill at its end.
  bool at_end() const {
    if (__builtin_expect(s_ != nullptr && s_->pos < s_->len, 1)) return false;
    return s_ == nullptr || !s_->available();
  }
  bool operator==(const SourceIterator& o) const { return at_end() == o.at_end(); }
  bool operator!=(const SourceIterator& o) const { return !(*this == o); }

 private:
  Source* s_ = nullptr;
};

/// Deeper than any memx report (they are 6 levels): a hostile 100,000-level nesting stops
/// here at once, in bounded memory.
constexpr std::size_t kMaxDepth = 64;

class ReportSax : public nlohmann::json_sax<json> {
 public:
  ReportSax(Source& source, StreamedTests& streamed) : source_(source), streamed_(streamed) {}

  json root;
  std::string error;  // set when the parse stopped: the message without the source's name

  bool null() override { return value(json(nullptr)); }
  bool boolean(bool v) override { return value(json(v)); }
  bool number_integer(number_integer_t v) override { return value(json(v)); }
  bool number_unsigned(number_unsigned_t v) override { return value(json(v)); }
  bool number_float(number_float_t v, const string_t&) override { return value(json(v)); }
  bool string(string_t& v) override { return value(json(std::move(v))); }
  bool binary(binary_t&) override { return value(json()); }

  bool start_object(std::size_t) override { return open(json::object()); }
  bool start_array(std::size_t) override {
    // The top level's "tests": its elements are taken one at a time.
    const bool tests = stack_.size() == 1 && stack_.back()->is_object() && last_key_ == "tests";
    if (!open(json::array())) return false;
    if (tests) {
      tests_ = stack_.back();
      streamed_ = StreamedTests{};  // a second "tests" replaces the first, as in a document
    }
    return true;
  }
  bool key(string_t& k) override {
    if (stack_.size() == 1) last_key_ = k;
    member_ = &(*stack_.back())[k];
    return true;
  }
  bool end_object() override { return close(); }
  bool end_array() override {
    if (stack_.back() == tests_) tests_ = nullptr;  // a later "tests" key is an ordinary one
    return close();
  }
  bool parse_error(std::size_t byte, const std::string&, const nlohmann::detail::exception& e) override {
    auto [where, detail] = split_parse_error(e.what());
    const bool at_end = !source_.failed && !source_.available();
    error = fmt::format("{} at byte {}{}: {}", at_end ? "truncated JSON" : "invalid JSON", byte,
                        where.empty() ? std::string() : fmt::format(" ({})", where), detail);
    return false;
  }

 private:
  // Where a value read goes: the root, the end of the open array, or the member whose key
  // was just read.
  json* place(json&& v) {
    if (stack_.empty()) {
      root = std::move(v);
      return &root;
    }
    json* parent = stack_.back();
    if (parent->is_array()) {
      parent->push_back(std::move(v));
      return &parent->back();
    }
    *member_ = std::move(v);
    return member_;
  }
  bool value(json&& v) {
    place(std::move(v));
    if (!stack_.empty() && stack_.back() == tests_) take_test();
    return true;
  }
  bool open(json&& container) {
    if (stack_.size() >= kMaxDepth) {
      error = fmt::format("nested deeper than {} levels at byte {}: not a memx report", kMaxDepth,
                          source_.offset());
      return false;
    }
    stack_.push_back(place(std::move(container)));
    return true;
  }
  bool close() {
    stack_.pop_back();
    if (!stack_.empty() && stack_.back() == tests_) take_test();
    return true;
  }
  // The element just completed in "tests": converted now (or kept until the stack tables
  // are read), then removed from the document.
  void take_test() {
    json& doc = tests_->back();
    const std::size_t i = streamed_.count++;
    if (!streamed_.error) {
      if (doc.is_object() && (doc.contains("sites") || doc.contains("peak_sites"))) {
        streamed_.tests.emplace_back();
        streamed_.deferred.emplace_back(i, std::move(doc));
      } else {
        try {
          streamed_.tests.push_back(test_at(doc, index("tests", i), ReadTables{}));
        } catch (const Invalid& e) {
          streamed_.error = e;
          streamed_.error_index = i;
        }
      }
    }
    tests_->erase(tests_->size() - 1);
  }

  Source& source_;
  StreamedTests& streamed_;
  std::vector<json*> stack_;
  json* member_ = nullptr;
  json* tests_ = nullptr;
  std::string last_key_;
};

ReportRead read_from(Source& source, std::string_view source_name) {
  ReportRead out;
  try {
    // A zip archive (Bazel's test.outputs/outputs.zip holds a shard's reports): memx reads
    // no archives; say how to get at the reports inside.
    if (source.available() && source.len - source.pos >= 4) {
      const std::string_view head(source.data + source.pos, 4);
      if (head == std::string_view("PK\x03\x04", 4) || head == std::string_view("PK\x05\x06", 4)) {
        out.error = fmt::format(
            "{}: a zip archive, not a memx report (Bazel's test.outputs/outputs.zip?): unzip it "
            "into a directory of its own (unzip -d DIR {}) and give that directory",
            source_name, source_name);
        return out;
      }
    }
    // Leading whitespace is skipped here, fast (a gigabyte of it is an empty input, in a
    // fraction of a second), before the parser sees the first character.
    for (;;) {
      if (!source.available()) {
        out.error = source.failed ? source.error
                                  : fmt::format("{}: empty input: not a memx report", source_name);
        return out;
      }
      const char* p = source.data + source.pos;
      const char* end = source.data + source.len;
      while (p != end && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')) ++p;
      source.pos = static_cast<std::size_t>(p - source.data);
      if (p != end) break;
    }
    StreamedTests streamed;
    ReportSax sax(source, streamed);
    const bool parsed = json::sax_parse(SourceIterator(&source), SourceIterator(), &sax);
    if (source.failed) {
      out.error = source.error;
      return out;
    }
    if (!parsed) {
      out.error = fmt::format("{}: {}", source_name, sax.error);
      return out;
    }
    out.report = report_at(sax.root, streamed);
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

}  // namespace

ReportRead read_report(std::string_view text, std::string_view source_name) {
  TextSource source(text);
  return read_from(source, source_name);
}

ReportRead read_report_fd(int fd, const std::string& path) {
  FdSource source(fd, path);
  return read_from(source, path);
}

}  // namespace memx
