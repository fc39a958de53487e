// The report's JSON form: writing with a fixed key order, reading with validation.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <cstdint>
#include <iterator>
#include <exception>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>
#include <utility>

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <simdjson.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "memx/report.hpp"
#include "memx/string_arena.hpp"

namespace memx {
namespace {

using nlohmann::json;

// A JSON text written directly, byte for byte what nlohmann's dump(2) of the same document
// would give (the report's form since version 1), without building the document first: a
// report of 100,000 tests is written in a few tens of milliseconds and never held twice.
// A container opened flat (and everything inside it) is written on one line without
// spaces, as dump(-1) would write it: each test of a large report (kFlatTestsAbove).
class Writer {
 public:
  /// Writes into `out` (its old text is replaced); finish() gives it its length.
  explicit Writer(std::string& out) : out_(out) { out_.resize(out_.capacity()); }
  /// Pieces of at least `chunk` bytes go to `sink` at each end_piece().
  Writer(std::string& out, const TextSink& sink, std::size_t chunk)
      : out_(out), sink_(&sink), chunk_(chunk) {
    out_.resize(out_.capacity());
  }

  /// A place where the text may be cut (after a test): hands the buffer to the sink once it
  /// holds `chunk` bytes. False once the sink has refused a piece.
  bool end_piece() {
    if (sink_ != nullptr && len_ >= chunk_) return flush();
    return ok_;
  }
  /// Hands what is written to the sink (with one; the buffer keeps its size for the next
  /// pieces), or cuts the text to its length (without).
  bool flush() {
    if (sink_ == nullptr) {
      out_.resize(len_);
      return ok_;
    }
    if (ok_ && len_ > 0) ok_ = (*sink_)(std::string_view(out_.data(), len_));
    len_ = 0;
    return ok_;
  }

  /// A writer of a run of the "tests" array's elements alone, into `out` (its old text is
  /// replaced): as `Writer` would write them after the array's opening (`first`: the
  /// array's first element is the first written here). finish with flush().
  static Writer in_tests_array(std::string& out, bool first) {
    Writer w(out);
    w.open_.push_back(0);                                  // the report's object
    w.open_.push_back(first ? kFirst : std::uint8_t{0});   // its "tests"
    return w;
  }
  /// The same, handing pieces of at least `chunk` bytes to `sink`; the rest of the report
  /// may follow (end_array() closes "tests").
  static Writer in_tests_array(std::string& out, bool first, const TextSink& sink, std::size_t chunk) {
    Writer w(out, sink, chunk);
    w.open_.push_back(0);
    w.open_.push_back(first ? kFirst : std::uint8_t{0});
    return w;
  }
  /// The innermost container has elements written elsewhere (in_tests_array).
  void has_elements() { open_.back() &= static_cast<std::uint8_t>(~kFirst); }

  /// `flat`: this object and everything in it on one line, without spaces.
  void begin_object(bool flat = false) { open('{', flat); }
  void end_object() { close('}'); }
  void begin_array() { open('[', false); }
  void end_array() { close(']'); }
  /// An object member's key (memx's own keys: plain ASCII, nothing to escape).
  Writer& key(std::string_view k) {
    // The separator, the indentation and the key in one step: a report is mostly keys.
    char* p = room(2 + 2 * open_.size() + 1 + k.size() + 3);
    p = separator(p);
    *p++ = '"';
    std::memcpy(p, k.data(), k.size());
    p += k.size();
    std::memcpy(p, "\": ", 3);
    p += flat_ ? 2 : 3;
    end_at(p);
    pending_key_ = true;
    return *this;
  }
  void value(std::int64_t v) {
    element();
    const fmt::format_int text(v);
    put(text.data(), text.size());
  }
  void value(std::uint64_t v) {
    element();
    const fmt::format_int text(v);
    put(text.data(), text.size());
  }
  void value(int v) { value(static_cast<std::int64_t>(v)); }
  void value(bool v) {
    element();
    if (v) {
      put("true", 4);
    } else {
      put("false", 5);
    }
  }
  void null() { element(); put("null", 4); }
  void newline() { put("\n", 1); }
  void value(double v) {
    element();
    if (!std::isfinite(v)) {
      put("null", 4);
      return;
    }
    if (v == 0.0 && !std::signbit(v)) {  // most per-run rates and shares: no conversion
      put("0.0", 3);
      return;
    }
    // nlohmann's own shortest round-trip form ("0.0", "1.5e-05"), as its dump writes it.
    char* p = room(64);
    end_at(nlohmann::detail::to_chars(p, p + 64, v));
  }
  void value(std::string_view s) {
    element();
    string(s);
  }
  void value(const char* s) { value(std::string_view(s)); }
  void value(const std::string& s) { value(std::string_view(s)); }

 private:
  // Per open container: no element written yet, and whether it is written flat.
  static constexpr std::uint8_t kFirst = 1, kFlat = 2;

  // An element of an array starts a line; a member's value follows its key.
  void element() {
    if (pending_key_) {
      pending_key_ = false;
    } else if (!open_.empty()) {
      separate();
    }
  }
  // Room for `n` more bytes after the text (the string is kept at its capacity, the text is
  // its first len_ bytes); end_at() then ends the text where the writing stopped.
  char* room(std::size_t n) {
    if (len_ + n > out_.size()) out_.resize(std::max(2 * out_.size(), len_ + n + 4096));
    return &out_[len_];
  }
  void end_at(const char* p) { len_ = static_cast<std::size_t>(p - out_.data()); }
  void put(const char* text, std::size_t n) {
    char* p = room(n);
    std::memcpy(p, text, n);
    end_at(p + n);
  }
  // A new line indented by two spaces per open container, as dump(2) writes it; nothing in
  // a flat container.
  char* line_start(char* p) const {
    if (flat_) return p;
    *p++ = '\n';
    std::memset(p, ' ', 2 * open_.size());
    return p + 2 * open_.size();
  }
  // Before the next element or member of the innermost container: a comma after an earlier
  // one, then its line (at most 2 + 2 * depth bytes).
  char* separator(char* p) {
    if ((open_.back() & kFirst) == 0) *p++ = ',';
    open_.back() &= static_cast<std::uint8_t>(~kFirst);
    return line_start(p);
  }
  void separate() {
    if (open_.empty()) return;
    end_at(separator(room(2 + 2 * open_.size())));
  }
  void open(char c, bool flat) {
    element();
    put(&c, 1);
    flat_ = flat_ || flat;
    open_.push_back(static_cast<std::uint8_t>(kFirst | (flat_ ? kFlat : 0)));
  }
  void close(char c) {
    const bool empty = (open_.back() & kFirst) != 0;
    open_.pop_back();
    // The closing bracket of a flat container stays on its line.
    char* p = room(2 + 2 * open_.size());
    if (!empty && !flat_) p = line_start(p);
    *p++ = c;
    end_at(p);
    flat_ = !open_.empty() && (open_.back() & kFlat) != 0;
  }
  // True when `s` needs no escape and no UTF-8 check: printable ASCII without '"' or '\'.
  static bool plain(std::string_view s) {
    const char* p = s.data();
    const char* const end = p + s.size();
#if defined(__SSE2__)
    // 16 bytes at a time: a signed byte below 0x20 is a control character or not ASCII.
    const __m128i space = _mm_set1_epi8(0x20), quote = _mm_set1_epi8('"'),
                  backslash = _mm_set1_epi8('\\');
    for (; end - p >= 16; p += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      const __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, space),
                                       _mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
      if (_mm_movemask_epi8(bad) != 0) return false;
    }
#endif
    for (; p != end; ++p) {
      const auto c = static_cast<unsigned char>(*p);
      if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
  }
  void string(std::string_view s) {
    if (plain(s)) {  // almost every string: names, paths, memx's own words
      char* p = room(s.size() + 2);
      *p++ = '"';
      std::memcpy(p, s.data(), s.size());
      p += s.size();
      *p++ = '"';
      end_at(p);
      return;
    }
    // Escapes and UTF-8 (invalid sequences replaced, not thrown on) exactly as nlohmann
    // writes them; rare enough (names with quotes or non-ASCII text) to go through it.
    const std::string text = json(std::string(s)).dump(-1, ' ', false, json::error_handler_t::replace);
    put(text.data(), text.size());
  }

  std::string& out_;
  std::size_t len_ = 0;  // the text: out_'s first len_ bytes
  const TextSink* sink_ = nullptr;
  std::size_t chunk_ = 0;
  bool ok_ = true;
  std::vector<std::uint8_t> open_;  // per open container: kFirst, kFlat
  bool flat_ = false;               // the innermost open container is flat
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

// A trend of the watch's analysis (memx/watch_analysis.hpp).
void write_trend(Writer& w, const Trend& t) {
  w.begin_object();
  w.key("per_second").value(t.per_second);
  w.key("r2").value(t.r2);
  w.key("rise").value(t.rise);
  w.key("first_half").value(t.first_half);
  w.key("second_half").value(t.second_half);
  w.key("confidence").value(to_string(t.confidence));
  w.end_object();
}

// The leak watch: samples as [ms, heap_bytes, heap_blocks, rss_bytes, fds, threads], six
// numbers per sample, and the analysis.
void write_watch(Writer& w, const WatchRecord& watch) {
  w.begin_object();
  w.key("interval_ms").value(watch.interval_ms);
  w.key("samples").begin_array();
  for (const WatchSample& s : watch.samples) {
    w.begin_array();
    w.value(s.ms);
    w.value(s.heap_bytes);
    w.value(s.heap_blocks);
    w.value(s.rss_bytes);
    w.value(s.fds);
    w.value(s.threads);
    w.end_array();
  }
  w.end_array();
  const WatchAnalysis& a = watch.analysis;
  w.key("analysis").begin_object();
  w.key("duration_s").value(a.duration_s);
  w.key("samples").value(a.samples);
  w.key("confidence").value(to_string(a.confidence));
  w.key("leak").value(a.leak);
  w.key("heap_bytes");
  write_trend(w, a.heap_bytes);
  w.key("heap_blocks");
  write_trend(w, a.heap_blocks);
  w.key("rss_bytes");
  write_trend(w, a.rss_bytes);
  w.key("fds");
  write_trend(w, a.fds);
  w.key("threads");
  write_trend(w, a.threads);
  if (!a.sites.empty()) {  // stack mode only
    w.key("sites").begin_array();
    for (const SiteGrowth& g : a.sites) {
      w.begin_object();
      w.key("stack_id").value(static_cast<std::uint64_t>(g.stack_id));
      w.key("where").value(g.where);
      w.key("bytes").value(g.bytes);
      w.key("blocks").value(g.blocks);
      w.key("trend");
      write_trend(w, g.trend);
      w.end_object();
    }
    w.end_array();
  }
  w.key("recommendations").begin_array();
  for (const std::string& r : a.recommendations) w.value(r);
  w.end_array();
  w.end_object();
  w.end_object();
}

void write_test(Writer& w, const TestRecord& t, const std::string& report_binary, StackTables* sites,
                bool flat) {
  w.begin_object(flat);
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
    if (!t.sites_recorded) w.key("sites_recorded").value(false);  // within version 3
    if (t.site_runs != 0) w.key("site_runs").value(static_cast<std::int64_t>(t.site_runs));  // within version 3
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
//
// The conversion of a report's JSON to a Report is written once, over a small interface of
// a JSON value (JsonValue: nlohmann's document; DomValue: simdjson's), so that the fast
// reader (simdjson) and the exact diagnosis of a malformed text (nlohmann) validate alike.

// Thrown inside read_report only; `path` is the JSON path ("" for the top level).
struct Invalid {
  std::string path;
  std::string what;
};

/// A JSON path ("tests[3].runs[0].net_bytes"), formatted only when an error names it: the
/// reader passes one down to every field it reads.
struct Path {
  const Path* parent = nullptr;
  std::string_view key;  // a member's name ("" at the top level)
  std::size_t at = 0;    // an element's index, when is_index
  bool is_index = false;

  std::string str() const {
    std::string s = parent ? parent->str() : std::string();
    if (is_index) return fmt::format("{}[{}]", s, at);
    if (key.empty()) return s;
    return s.empty() ? std::string(key) : fmt::format("{}.{}", s, key);
  }
};
Path join(const Path& path, std::string_view key) { return Path{&path, key, 0, false}; }
Path index(const Path& path, std::size_t i) { return Path{&path, {}, i, true}; }

/// What a JSON value is, for the reader's checks.
enum class Kind { null, object, array, string, boolean, negative, natural, floating, other };

/// A value of nlohmann's document.
class JsonValue {
 public:
  explicit JsonValue(const json& v) : v_(&v) {}
  Kind kind() const {
    switch (v_->type()) {
      case json::value_t::null:
        return Kind::null;
      case json::value_t::object:
        return Kind::object;
      case json::value_t::array:
        return Kind::array;
      case json::value_t::string:
        return Kind::string;
      case json::value_t::boolean:
        return Kind::boolean;
      case json::value_t::number_integer:
        return v_->get<std::int64_t>() < 0 ? Kind::negative : Kind::natural;
      case json::value_t::number_unsigned:
        return Kind::natural;
      case json::value_t::number_float:
        return Kind::floating;
      default:
        return Kind::other;
    }
  }
  std::int64_t negative() const { return v_->get<std::int64_t>(); }
  std::uint64_t natural() const {
    return v_->is_number_unsigned() ? v_->get<std::uint64_t>()
                                    : static_cast<std::uint64_t>(v_->get<std::int64_t>());
  }
  double number() const { return v_->get<double>(); }
  bool boolean() const { return v_->get<bool>(); }
  std::string_view string() const { return v_->get_ref<const std::string&>(); }
  std::string dump() const { return v_->dump(); }
  std::size_t size() const { return v_->size(); }
  std::optional<JsonValue> find(std::string_view key) const {
    auto it = v_->find(std::string(key));
    if (it == v_->end()) return std::nullopt;
    return JsonValue(*it);
  }
  template <class F>
  void each(F&& f) const {
    std::size_t i = 0;
    for (const json& e : *v_) f(i++, JsonValue(e));
  }
  template <class F>
  void members(F&& f) const {
    for (auto it = v_->begin(); it != v_->end(); ++it) f(std::string_view(it.key()), JsonValue(it.value()));
  }

 private:
  const json* v_;
};

/// A value of simdjson's document (the fast reader's).
class DomValue {
 public:
  explicit DomValue(simdjson::dom::element e) : e_(e) {}
  Kind kind() const {
    switch (e_.type()) {
      case simdjson::dom::element_type::NULL_VALUE:
        return Kind::null;
      case simdjson::dom::element_type::OBJECT:
        return Kind::object;
      case simdjson::dom::element_type::ARRAY:
        return Kind::array;
      case simdjson::dom::element_type::STRING:
        return Kind::string;
      case simdjson::dom::element_type::BOOL:
        return Kind::boolean;
      case simdjson::dom::element_type::INT64:
        return negative() < 0 ? Kind::negative : Kind::natural;
      case simdjson::dom::element_type::UINT64:
        return Kind::natural;
      case simdjson::dom::element_type::DOUBLE:
        return Kind::floating;
    }
    return Kind::other;
  }
  // Each accessor is called only for a value of its kind (the get() cannot fail).
  std::int64_t negative() const {
    std::int64_t v = 0;
    if (e_.get_int64().get(v) != simdjson::SUCCESS) return {};
    return v;
  }
  std::uint64_t natural() const {
    if (e_.type() == simdjson::dom::element_type::INT64) return static_cast<std::uint64_t>(negative());
    std::uint64_t v = 0;
    if (e_.get_uint64().get(v) != simdjson::SUCCESS) return {};
    return v;
  }
  double number() const {
    double v = 0;
    if (e_.get_double().get(v) != simdjson::SUCCESS) return {};
    return v;
  }
  bool boolean() const {
    bool v = false;
    if (e_.get_bool().get(v) != simdjson::SUCCESS) return {};
    return v;
  }
  std::string_view string() const {
    std::string_view v;
    if (e_.get_string().get(v) != simdjson::SUCCESS) return {};
    return v;
  }
  std::string dump() const { return simdjson::minify(e_); }
  std::size_t size() const {
    simdjson::dom::array a;
    if (e_.get_array().get(a) == simdjson::SUCCESS) return a.size();
    simdjson::dom::object o;
    if (e_.get_object().get(o) == simdjson::SUCCESS) return o.size();
    return 0;
  }
  // Members are looked up in the order they were written, mostly: each search starts after
  // the member found last, and goes round once.
  std::optional<DomValue> find(std::string_view key) const {
    if (!object_) {
      simdjson::dom::object o;
      if (e_.get_object().get(o) != simdjson::SUCCESS) return std::nullopt;
      object_ = o;
      hint_ = o.begin();
      for (auto it = o.begin(); it != o.end(); ++it) keys_ |= key_bit(it.key());
    }
    if ((keys_ & key_bit(key)) == 0) return std::nullopt;  // a member it does not have
    const simdjson::dom::object::iterator end = object_->end();
    for (auto it = hint_; it != end; ++it) {
      if (it.key_equals(key)) {
        hint_ = it;
        return DomValue((++hint_, it.value()));
      }
    }
    for (auto it = object_->begin(); it != hint_; ++it) {
      if (it.key_equals(key)) {
        hint_ = it;
        return DomValue((++hint_, it.value()));
      }
    }
    return std::nullopt;
  }
  template <class F>
  void each(F&& f) const {
    simdjson::dom::array a;
    if (e_.get_array().get(a) != simdjson::SUCCESS) return;
    std::size_t i = 0;
    for (simdjson::dom::element e : a) f(i++, DomValue(e));
  }
  template <class F>
  void members(F&& f) const {
    simdjson::dom::object o;
    if (e_.get_object().get(o) != simdjson::SUCCESS) return;
    for (simdjson::dom::key_value_pair kv : o) f(kv.key, DomValue(kv.value));
  }

 private:
  simdjson::dom::element e_;
  // One of 64 bits for a member name: most optional members are absent, and are known to
  // be without a search.
  static std::uint64_t key_bit(std::string_view key) {
    const std::size_t mix = key.size() * 7 + (key.empty() ? 0 : static_cast<unsigned char>(key.front()) * 3 +
                                                                      static_cast<unsigned char>(key.back()));
    return std::uint64_t{1} << (mix & 63);
  }
  mutable std::optional<simdjson::dom::object> object_;  // once looked up in
  mutable simdjson::dom::object::iterator hint_;
  mutable std::uint64_t keys_ = 0;  // key_bit of every member
};

// What a value is, for "expected X, got Y".
template <class V>
std::string kind_of(const V& v) {
  switch (v.kind()) {
    case Kind::null:
      return "null";
    case Kind::object:
      return "object";
    case Kind::array:
      return "array";
    case Kind::string:
      return "string";
    case Kind::boolean:
      return "boolean";
    case Kind::negative:
      return fmt::format("integer {}", v.negative());
    case Kind::natural:
      return fmt::format("integer {}", v.natural());
    case Kind::floating:
      return fmt::format("number {}", json(v.number()).dump());
    default:
      return "an unsupported value";
  }
}

template <class V>
[[noreturn]] void expected(const Path& path, std::string_view what, const V& got) {
  throw Invalid{path.str(), fmt::format("expected {}, got {}", what, kind_of(got))};
}

template <class V>
V member(const V& object, const Path& path, std::string_view key) {
  std::optional<V> m = object.find(key);
  if (!m) throw Invalid{path.str(), fmt::format("missing field \"{}\"", key)};
  return *m;
}

template <class V>
const V& object_at(const V& v, const Path& path) {
  if (v.kind() != Kind::object) expected(path, "an object", v);
  return v;
}

template <class V>
const V& array_at(const V& v, const Path& path) {
  if (v.kind() != Kind::array) expected(path, "an array", v);
  return v;
}

template <class V>
std::int64_t int64_at(const V& v, const Path& path, std::int64_t min,
                      std::int64_t max = std::numeric_limits<std::int64_t>::max()) {
  std::int64_t value = 0;
  const Kind k = v.kind();
  if (k == Kind::natural) {
    const std::uint64_t u = v.natural();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      throw Invalid{path.str(), fmt::format("integer {} is out of range", u)};
    }
    value = static_cast<std::int64_t>(u);
  } else if (k == Kind::negative) {
    value = v.negative();
  } else {
    expected(path, min >= 0 ? "a non-negative integer" : "an integer", v);
  }
  if (value < min || value > max) {
    throw Invalid{path.str(), fmt::format("integer {} is out of range [{}, {}]", value, min, max)};
  }
  return value;
}

template <class V>
int int_at(const V& v, const Path& path, int min) {
  return static_cast<int>(int64_at(v, path, min, std::numeric_limits<int>::max()));
}

// The readers of one value that take no parameters, as objects that can be passed on.
constexpr auto uint64_at = [](const auto& v, const Path& path) -> std::uint64_t {
  if (v.kind() == Kind::natural) return v.natural();
  expected(path, "a non-negative integer", v);
};
constexpr auto number_at = [](const auto& v, const Path& path) -> double {
  const Kind k = v.kind();
  if (k != Kind::natural && k != Kind::negative && k != Kind::floating) expected(path, "a number", v);
  return v.number();
};
constexpr auto bool_at = [](const auto& v, const Path& path) -> bool {
  if (v.kind() != Kind::boolean) expected(path, "a boolean", v);
  return v.boolean();
};
constexpr auto string_at = [](const auto& v, const Path& path) -> std::string {
  if (v.kind() != Kind::string) expected(path, "a string", v);
  return std::string(v.string());
};
constexpr auto any_int_at = [](const auto& v, const Path& path) {
  return int64_at(v, path, std::numeric_limits<std::int64_t>::min());
};
constexpr auto non_negative_at = [](const auto& v, const Path& path) { return int64_at(v, path, 0); };
constexpr auto line_at = [](const auto& v, const Path& path) { return int_at(v, path, 0); };

// Reads `key` of `object` with `read(value, path)`.
template <class V, class Read>
auto field(const V& object, const Path& path, std::string_view key, Read read) {
  const V m = member(object, path, key);
  return read(m, join(path, key));
}

// Reads `key` of `object` with `read(value, path)` if present; `absent` otherwise (members
// added within a version: older reports do not have them).
template <class V, class Read, class T>
T optional_field(const V& object, const Path& path, std::string_view key, Read read, T absent) {
  const std::optional<V> m = object.find(key);
  if (!m) return absent;
  return read(*m, join(path, key));
}

template <class Enum, class V>
Enum enum_at(const V& v, const Path& path, std::string_view what, std::string_view choices) {
  const std::string text = string_at(v, path);
  Enum out{};
  if (!from_string(text, out)) {
    throw Invalid{path.str(), fmt::format("unknown {} \"{}\" (use {})", what, text, choices)};
  }
  return out;
}

template <class V>
Budget budget_at(const V& v, const Path& path) {
  object_at(v, path);
  Budget b;
  v.members([&](std::string_view key, const V& value) {
    const Path p = join(path, key);
    if (key == "threads") {  // version 3
      const std::string t = string_at(value, p);
      if (t == "current") {
        b.threads = Threads::current;
      } else if (t == "all") {
        b.threads = Threads::all;
      } else {
        throw Invalid{p.str(), fmt::format("unknown threads value \"{}\" (use current, all)", t)};
      }
      return;
    }
    if (key == "warn") {  // version 3
      b.warn = bool_at(value, p);
      return;
    }
    const std::int64_t limit = int64_at(value, p, 0);
    if (key == "peak")
      b.peak = limit;
    else if (key == "net")
      b.net = limit;
    else if (key == "blocks")
      b.blocks = limit;
    else if (key == "allocs")
      b.allocs = limit;
    else if (key == "rss")
      b.rss = limit;
    else if (key == "leak")  // version 3
      b.leak = limit;
    else if (key == "fds")  // optional, added within version 3
      b.fds = limit;
    else if (key == "threads_left")  // likewise
      b.threads_left = limit;
    else
      throw Invalid{p.str(), "unknown budget key (use peak, net, blocks, allocs, rss, leak, fds, threads, "
                             "threads_left, warn)"};
  });
  return b;
}

template <class V>
RunRecord run_at(const V& v, const Path& path) {
  object_at(v, path);
  RunRecord r;
  r.net_bytes = field(v, path, "net_bytes", any_int_at);
  r.net_blocks = field(v, path, "net_blocks", any_int_at);
  r.peak_bytes = field(v, path, "peak_bytes", non_negative_at);
  r.allocs = field(v, path, "allocs", uint64_at);
  r.rss_peak_bytes = field(v, path, "rss_peak_bytes", any_int_at);
  r.duration_ms = field(v, path, "duration_ms", number_at);
  r.fds = optional_field(v, path, "fds", non_negative_at, std::int64_t{0});  // within version 3
  r.threads = optional_field(v, path, "threads", non_negative_at, std::int64_t{0});
  return r;
}

template <class V>
ViolationRecord violation_at(const V& v, const Path& path) {
  object_at(v, path);
  ViolationRecord r;
  r.key = field(v, path, "key", string_at);
  r.measured = field(v, path, "measured", any_int_at);
  r.allowed = field(v, path, "allowed", any_int_at);
  r.message = field(v, path, "message", string_at);
  r.enforced = optional_field(v, path, "enforced", bool_at, true);  // version 3
  return r;
}

template <class V>
LeakAssessment leak_at(const V& v, const Path& path) {
  object_at(v, path);
  LeakAssessment a;
  a.verdict = field(v, path, "verdict", [](const V& x, const Path& p) {
    return enum_at<Verdict>(x, p, "verdict", "unknown, clean, suspect, leak, expected");
  });
  a.confidence = field(v, path, "confidence", [](const V& x, const Path& p) {
    return enum_at<Confidence>(x, p, "confidence", "low, medium, high");
  });
  a.bytes_per_run = field(v, path, "bytes_per_run", number_at);
  a.blocks_per_run = field(v, path, "blocks_per_run", number_at);
  a.reason = field(v, path, "reason", string_at);
  a.suppressed_by = optional_field(v, path, "suppressed_by", string_at, std::string());  // version 3
  return a;
}

template <class V>
FrameRecord frame_at(const V& v, const Path& path) {
  object_at(v, path);
  FrameRecord f;
  f.function = field(v, path, "function", string_at);
  f.file = field(v, path, "file", string_at);
  f.line = field(v, path, "line", line_at);
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

template <class V>
SiteRecord site_at(const V& v, const Path& path, const ReadTables& tables) {
  object_at(v, path);
  SiteRecord s;
  s.bytes = field(v, path, "bytes", non_negative_at);
  s.blocks = field(v, path, "blocks", non_negative_at);
  const Path runs_path = join(path, "runs");
  array_at(member(v, path, "runs"), runs_path).each([&](std::size_t i, const V& run) {
    const Path p = index(runs_path, i);
    object_at(run, p);
    s.runs.push_back(SiteRun{field(run, p, "bytes", non_negative_at), field(run, p, "blocks", non_negative_at)});
  });
  if (const std::optional<V> st = v.find("stack")) {  // an index into stack_table
    const Path p = join(path, "stack");
    const std::int64_t at = int64_at(*st, p, 0);
    if (static_cast<std::size_t>(at) >= tables.stacks.size()) {
      throw Invalid{p.str(), fmt::format("stack {} is not in stack_table ({} stacks)", at, tables.stacks.size())};
    }
    s.frames = tables.stacks[static_cast<std::size_t>(at)];
  } else {  // the frames written out in the site
    const Path frames_path = join(path, "frames");
    array_at(member(v, path, "frames"), frames_path).each([&](std::size_t i, const V& frame) {
      s.frames.push_back(frame_at(frame, index(frames_path, i)));
    });
  }
  const int frame_count = static_cast<int>(s.frames.size());
  s.user_frame = field(v, path, "user_frame", [&](const V& x, const Path& p) {
    const int u = int_at(x, p, 0);
    if (u > 0 && u >= frame_count) {
      throw Invalid{p.str(), fmt::format("frame {} of a stack of {} frames", u, frame_count)};
    }
    return u;
  });
  return s;
}

// [[ms, heap_bytes, rss_bytes], ...], ms never decreasing.
template <class V>
std::vector<TimelinePoint> points_at(const V& v, const Path& path) {
  array_at(v, path);
  std::vector<TimelinePoint> points;
  points.reserve(v.size());
  const std::int64_t any = std::numeric_limits<std::int64_t>::min();
  v.each([&](std::size_t i, const V& e) {
    const Path p = index(path, i);
    array_at(e, p);
    if (e.size() != 3) {
      throw Invalid{p.str(), fmt::format("{} numbers, expected 3 (ms, heap_bytes, rss_bytes)", e.size())};
    }
    TimelinePoint point;
    e.each([&](std::size_t k, const V& x) {
      const Path q = index(p, k);
      if (k == 0) {
        point.ms = number_at(x, q);
      } else if (k == 1) {
        point.heap_bytes = int64_at(x, q, any);
      } else {
        point.rss_bytes = int64_at(x, q, any);
      }
    });
    if (!(point.ms >= 0) || (!points.empty() && point.ms < points.back().ms)) {
      throw Invalid{index(p, 0).str(),
                    fmt::format("time {} ms is before the point before it, or negative", point.ms)};
    }
    points.push_back(point);
  });
  return points;
}

template <class V>
GrowthConfidence growth_confidence_at(const V& v, const Path& path) {
  const std::string text = string_at(v, path);
  if (text == "low") return GrowthConfidence::low;
  if (text == "medium") return GrowthConfidence::medium;
  if (text == "high") return GrowthConfidence::high;
  throw Invalid{path.str(), fmt::format("\"{}\" is not a confidence (low, medium or high)", text)};
}

template <class V>
Trend trend_at(const V& v, const Path& path) {
  object_at(v, path);
  Trend t;
  t.per_second = field(v, path, "per_second", number_at);
  t.r2 = field(v, path, "r2", number_at);
  t.rise = field(v, path, "rise", number_at);
  t.first_half = field(v, path, "first_half", number_at);
  t.second_half = field(v, path, "second_half", number_at);
  t.confidence = field(v, path, "confidence", [](const V& x, const Path& p) { return growth_confidence_at(x, p); });
  return t;
}

// The leak watch (optional, added within version 3): memx/watch_analysis.hpp.
template <class V>
WatchRecord watch_at(const V& v, const Path& path) {
  object_at(v, path);
  WatchRecord w;
  w.interval_ms = field(v, path, "interval_ms", number_at);
  const Path sp = join(path, "samples");
  const std::int64_t any = std::numeric_limits<std::int64_t>::min();
  array_at(member(v, path, "samples"), sp).each([&](std::size_t i, const V& e) {
    const Path p = index(sp, i);
    array_at(e, p);
    if (e.size() != 6) {
      throw Invalid{p.str(), fmt::format("{} numbers, expected 6 (ms, heap_bytes, heap_blocks, rss_bytes, "
                                         "fds, threads)",
                                         e.size())};
    }
    WatchSample s;
    e.each([&](std::size_t k, const V& x) {
      const Path q = index(p, k);
      if (k == 0) {
        s.ms = number_at(x, q);
      } else {
        const std::int64_t n = int64_at(x, q, any);
        (k == 1 ? s.heap_bytes : k == 2 ? s.heap_blocks : k == 3 ? s.rss_bytes : k == 4 ? s.fds : s.threads) = n;
      }
    });
    if (!(s.ms >= 0) || (!w.samples.empty() && s.ms < w.samples.back().ms)) {
      throw Invalid{index(p, 0).str(),
                    fmt::format("time {} ms is before the sample before it, or negative", s.ms)};
    }
    w.samples.push_back(s);
  });
  const Path ap = join(path, "analysis");
  const V a = member(v, path, "analysis");
  object_at(a, ap);
  WatchAnalysis& an = w.analysis;
  an.duration_s = field(a, ap, "duration_s", number_at);
  an.samples = field(a, ap, "samples", non_negative_at);
  an.confidence = field(a, ap, "confidence", [](const V& x, const Path& p) { return growth_confidence_at(x, p); });
  an.leak = field(a, ap, "leak", bool_at);
  an.heap_bytes = field(a, ap, "heap_bytes", [](const V& x, const Path& p) { return trend_at(x, p); });
  an.heap_blocks = field(a, ap, "heap_blocks", [](const V& x, const Path& p) { return trend_at(x, p); });
  an.rss_bytes = field(a, ap, "rss_bytes", [](const V& x, const Path& p) { return trend_at(x, p); });
  an.fds = field(a, ap, "fds", [](const V& x, const Path& p) { return trend_at(x, p); });
  an.threads = field(a, ap, "threads", [](const V& x, const Path& p) { return trend_at(x, p); });
  if (const std::optional<V> sites = a.find("sites")) {  // stack mode only
    const Path sp2 = join(ap, "sites");
    array_at(*sites, sp2).each([&](std::size_t i, const V& e) {
      const Path p = index(sp2, i);
      object_at(e, p);
      SiteGrowth g;
      const std::int64_t id = field(e, p, "stack_id", non_negative_at);
      if (id > std::numeric_limits<std::uint32_t>::max()) {
        throw Invalid{join(p, "stack_id").str(), fmt::format("stack id {} is above 2^32 - 1", id)};
      }
      g.stack_id = static_cast<std::uint32_t>(id);
      g.where = field(e, p, "where", string_at);
      g.bytes = field(e, p, "bytes", non_negative_at);
      g.blocks = field(e, p, "blocks", non_negative_at);
      g.trend = field(e, p, "trend", [](const V& x, const Path& q) { return trend_at(x, q); });
      an.sites.push_back(std::move(g));
    });
  }
  const Path rp = join(ap, "recommendations");
  array_at(member(a, ap, "recommendations"), rp).each([&](std::size_t i, const V& x) {
    an.recommendations.push_back(string_at(x, index(rp, i)));
  });
  return w;
}

template <class V>
StacksInfo stacks_at(const V& v, const Path& path) {
  object_at(v, path);
  StacksInfo s;
  s.depth = field(v, path, "depth", [](const V& x, const Path& p) { return int_at(x, p, 1); });
  s.unwinder = field(v, path, "unwinder", string_at);
  s.top = field(v, path, "top", [](const V& x, const Path& p) { return int_at(x, p, 0); });
  s.dropped = field(v, path, "dropped", uint64_at);
  s.final = field(v, path, "final", bool_at);
  if (const std::optional<V> m = v.find("sample_bytes")) {  // optional: sampling mode
    const Path p = join(path, "sample_bytes");
    s.sample_bytes = uint64_at(*m, p);
    if (s.sample_bytes == 0) throw Invalid{p.str(), "a sampling mean of 0 bytes"};
  }
  return s;
}

template <class V>
TestRecord test_at(const V& v, const Path& path, const ReadTables& tables) {
  object_at(v, path);
  TestRecord t;
  t.name = field(v, path, "name", string_at);
  // Optional (added within version 1): the test's own binary in a merged report.
  if (const std::optional<V> b = v.find("binary")) t.binary = string_at(*b, join(path, "binary"));
  t.file = field(v, path, "file", string_at);
  t.line = field(v, path, "line", line_at);
  t.status = field(v, path, "status", [](const V& x, const Path& p) {
    return enum_at<TestStatus>(x, p, "status", "passed, failed, skipped");
  });
  const Path runs_path = join(path, "runs");
  const V runs = member(v, path, "runs");
  array_at(runs, runs_path);
  t.runs.reserve(runs.size());
  runs.each([&](std::size_t i, const V& run) { t.runs.push_back(run_at(run, index(runs_path, i))); });
  const V budget = member(v, path, "budget");
  if (budget.kind() != Kind::null) t.budget = budget_at(budget, join(path, "budget"));
  const Path violations_path = join(path, "violations");
  array_at(member(v, path, "violations"), violations_path).each([&](std::size_t i, const V& x) {
    t.violations.push_back(violation_at(x, index(violations_path, i)));
  });
  t.leak = field(v, path, "leak", [](const V& x, const Path& p) { return leak_at(x, p); });
  if (const std::optional<V> sites = v.find("sites")) {  // version 2, stack mode
    const Path sites_path = join(path, "sites");
    array_at(*sites, sites_path).each([&](std::size_t i, const V& x) {
      t.sites.push_back(site_at(x, index(sites_path, i), tables));
    });
  }
  if (const std::optional<V> sites = v.find("peak_sites")) {  // version 2, stack mode
    const Path sites_path = join(path, "peak_sites");
    array_at(*sites, sites_path).each([&](std::size_t i, const V& x) {
      t.peak_sites.push_back(site_at(x, index(sites_path, i), tables));
    });
  }
  t.sites_recorded = optional_field(v, path, "sites_recorded", bool_at, true);  // within version 3
  t.site_runs = static_cast<std::uint16_t>(optional_field(  // within version 3
      v, path, "site_runs", [](const V& x, const Path& p) { return int64_at(x, p, 1, 65535); },
      std::int64_t{0}));
  if (const std::optional<V> n = v.find("live_allocations")) {  // optional, counting mode
    const Path n_path = join(path, "live_allocations");
    object_at(*n, n_path);
    t.live_numbers.run = field(*n, n_path, "run", [](const V& x, const Path& p) { return int_at(x, p, 1); });
    t.live_numbers.live = field(*n, n_path, "live", uint64_at);
    const Path list_path = join(n_path, "numbers");
    array_at(member(*n, n_path, "numbers"), list_path).each([&](std::size_t i, const V& x) {
      const Path p = index(list_path, i);
      const std::uint64_t number = uint64_at(x, p);
      if (number == 0 || (!t.live_numbers.numbers.empty() && number <= t.live_numbers.numbers.back())) {
        throw Invalid{p.str(), "allocation numbers must be 1 or more, ascending"};
      }
      t.live_numbers.numbers.push_back(number);
    });
    if (t.live_numbers.numbers.size() > t.live_numbers.live) {
      throw Invalid{list_path.str(), fmt::format("{} numbers for {} live blocks",
                                                 t.live_numbers.numbers.size(), t.live_numbers.live)};
    }
  }
  if (const std::optional<V> rl = v.find("resource_leaks")) {  // optional, within version 3
    const Path rl_path = join(path, "resource_leaks");
    object_at(*rl, rl_path);
    t.resource_leaks.run = field(*rl, rl_path, "run", [&](const V& x, const Path& p) {
      const int run = int_at(x, p, 1);
      if (static_cast<std::size_t>(run) > t.runs.size()) {
        throw Invalid{p.str(), fmt::format("run {} of a test with {} runs", run, t.runs.size())};
      }
      return run;
    });
    const Path fds_path = join(rl_path, "fds");
    array_at(member(*rl, rl_path, "fds"), fds_path).each([&](std::size_t i, const V& x) {
      const Path p = index(fds_path, i);
      object_at(x, p);
      t.resource_leaks.fds.push_back(LeakedDescriptor{field(x, p, "fd", line_at), field(x, p, "target", string_at)});
    });
    const Path threads_path = join(rl_path, "threads");
    array_at(member(*rl, rl_path, "threads"), threads_path).each([&](std::size_t i, const V& x) {
      const Path p = index(threads_path, i);
      object_at(x, p);
      t.resource_leaks.threads.push_back(LeakedThread{
          field(x, p, "tid", [](const V& y, const Path& q) { return int64_at(y, q, 1); }),
          field(x, p, "name", string_at)});
    });
  }
  if (const std::optional<V> tl = v.find("timeline")) {  // optional: memory over time
    const Path tl_path = join(path, "timeline");
    object_at(*tl, tl_path);
    t.timeline.run = field(*tl, tl_path, "run", [&](const V& x, const Path& p) {
      const int run = int_at(x, p, 1);
      if (static_cast<std::size_t>(run) > t.runs.size()) {
        throw Invalid{p.str(), fmt::format("run {} of a test with {} runs", run, t.runs.size())};
      }
      return run;
    });
    t.timeline.start_ms = field(*tl, tl_path, "start_ms", [](const V& x, const Path& p) {
      const double ms = number_at(x, p);
      if (!(ms >= 0)) throw Invalid{p.str(), fmt::format("a negative time ({} ms)", ms)};
      return ms;
    });
    t.timeline.points = points_at(member(*tl, tl_path, "points"), join(tl_path, "points"));
  }
  return t;
}

const Path kTop{};
const Path kTests{nullptr, "tests"};

/// Parses one JSON text with simdjson (the text is copied into a padded buffer); throws
/// Invalid naming `what` when it is not valid JSON.
simdjson::dom::element parse_text(simdjson::dom::parser& parser, std::string_view text, const Path& what) {
  simdjson::dom::element doc;
  const simdjson::error_code e = parser.parse(text.data(), text.size(), true).get(doc);
  if (e != simdjson::SUCCESS) throw Invalid{what.str(), fmt::format("invalid JSON: {}", simdjson::error_message(e))};
  return doc;
}

/// Tests as they are read, in pieces: a vector grown by doubling holds its old and its new
/// array at once (half as much again as a million records, at its last growth).
class TestList {
 public:
  void push_back(TestRecord&& t) {
    if (chunks_.empty() || chunks_.back().size() == kChunk) {
      chunks_.emplace_back();
      chunks_.back().reserve(kChunk);
    }
    chunks_.back().push_back(std::move(t));
    ++size_;
  }
  void emplace_back() { push_back(TestRecord{}); }
  TestRecord& operator[](std::size_t i) { return chunks_[i / kChunk][i % kChunk]; }
  /// All of them in one vector, each piece freed as soon as it is moved.
  std::vector<TestRecord> take() {
    std::vector<TestRecord> out;
    out.reserve(size_);
    for (std::vector<TestRecord>& chunk : chunks_) {
      for (TestRecord& t : chunk) out.push_back(std::move(t));
      std::vector<TestRecord>().swap(chunk);
    }
    chunks_.clear();
    size_ = 0;
    return out;
  }

 private:
  static constexpr std::size_t kChunk = 8192;
  std::vector<std::vector<TestRecord>> chunks_;
  std::size_t size_ = 0;
};

/// Thrown when a TestSink stops the reading (ReportRead::stopped).
struct Stopped {};

/// The keys (name, binary) of the tests a TestSink took, by index, for the check that no
/// test is in the report twice: the names in blocks of 1 MiB, 16 bytes a test besides.
class KeyStore {
 public:
  void put(std::size_t i, const TestRecord& t) {
    if (i >= keys_.size()) keys_.resize(i + 1);
    Key& k = keys_[i];
    k.name = names_.store(t.name);
    k.length = static_cast<std::uint32_t>(t.name.size());
    k.binary = 0;
    if (!t.binary.empty()) {
      const auto b = std::find(binaries_.begin(), binaries_.end(), t.binary);
      k.binary = static_cast<std::uint32_t>(b - binaries_.begin()) + 1;
      if (b == binaries_.end()) binaries_.push_back(t.binary);
    }
  }
  std::size_t size() const { return keys_.size(); }
  std::string_view name(std::size_t i) const { return {keys_[i].name, keys_[i].length}; }
  /// The test's own binary; "" for the report's (and for `report_binary` itself).
  std::string_view binary(std::size_t i, const std::string& report_binary) const {
    if (keys_[i].binary == 0) return {};
    const std::string& b = binaries_[keys_[i].binary - 1];
    return b == report_binary ? std::string_view() : std::string_view(b);
  }

 private:
  struct Key {
    const char* name = nullptr;
    std::uint32_t length = 0;
    std::uint32_t binary = 0;  // 1 + index in binaries_; 0: none
  };
  std::vector<Key> keys_;
  std::vector<std::string> binaries_;  // the distinct binaries of tests that name their own
  StringArena names_;  // the names, one after another
};

/// The tests of the top-level "tests" array as the streaming reader took them: converted as
/// each was read, except those with sites (they name stacks of the tables that follow the
/// tests), which wait here (as a document or as their text). With a sink (read_report_tests)
/// each test goes to it instead, and only its key is kept.
struct StreamedTests {
  explicit StreamedTests(const TestSink* s = nullptr) : sink(s) {}

  TestList tests;                                      // in order; placeholders where deferred
  std::vector<std::pair<std::size_t, json>> deferred;  // (index, document), ascending
  std::vector<std::pair<std::size_t, std::string>> deferred_text;  // (index, JSON text), ascending
  std::optional<Invalid> error;                        // the first test that could not be read
  std::size_t error_index = 0;
  std::size_t count = 0;
  bool taken = false;  // the array was read here: the header's document has no "tests"
  const TestSink* sink = nullptr;  // where the tests go, if anywhere
  KeyStore keys;                   // with a sink: the keys of the tests it took

  /// The test at index i, read in order.
  void add(std::size_t i, TestRecord&& t) {
    if (sink == nullptr) {
      tests.push_back(std::move(t));
    } else {
      give(i, std::move(t));
    }
  }
  /// A place for the test read now, converted later (put).
  void defer() {
    if (sink == nullptr) tests.emplace_back();
  }
  /// The deferred test at index i, converted.
  void put(std::size_t i, TestRecord&& t) {
    if (sink == nullptr) {
      tests[i] = std::move(t);
    } else {
      give(i, std::move(t));
    }
  }
  /// Forgets every test (a second "tests" member replaces the first), keeping the sink.
  void reset() {
    const TestSink* s = sink;
    const bool restart = s != nullptr && keys.size() > 0;
    *this = StreamedTests(s);
    if (restart && s->restart) s->restart();
  }

 private:
  void give(std::size_t i, TestRecord&& t) {
    keys.put(i, t);
    if (!sink->take(i, std::move(t))) throw Stopped{};
  }
};

/// The first test whose key (binary and name) an earlier test of the report has, as the
/// error that names it; nullopt when every test is there once. `name(i)` and `binary(i)`
/// ("": the report's) are test i's, of `n`.
template <class Name, class Binary>
std::optional<Invalid> duplicate_test(std::size_t n, const Name& name, const Binary& binary) {
  // Keys are the names alone when every test is of the report's binary (no copies).
  bool own = false;
  for (std::size_t i = 0; i < n && !own; ++i) own = !binary(i).empty();
  std::vector<std::string> keys;
  if (own) {
    keys.reserve(n);
    for (std::size_t i = 0; i < n; ++i) keys.push_back(std::string(binary(i)) + '\0' + std::string(name(i)));
  }
  // Sorted by the keys' hashes, equal keys are neighbours: the second occurrence that
  // comes first in the array is named, with its first occurrence.
  const auto key_of = [&](std::size_t i) { return own ? std::string_view(keys[i]) : std::string_view(name(i)); };
  std::vector<std::pair<std::size_t, std::size_t>> hashes(n);  // (hash, index)
  for (std::size_t i = 0; i < n; ++i) hashes[i] = {std::hash<std::string_view>{}(key_of(i)), i};
  std::sort(hashes.begin(), hashes.end());
  std::size_t twice = n, first = 0;  // the earliest second occurrence, and its first
  for (std::size_t a = 0; a < hashes.size();) {
    std::size_t b = a + 1;
    while (b < hashes.size() && hashes[b].first == hashes[a].first) ++b;
    for (std::size_t x = a; x + 1 < b; ++x) {  // a run of equal hashes (ascending indexes)
      for (std::size_t y = x + 1; y < b; ++y) {
        if (hashes[y].second < twice && key_of(hashes[x].second) == key_of(hashes[y].second)) {
          twice = hashes[y].second;
          first = hashes[x].second;
          break;
        }
      }
    }
    a = b;
  }
  if (twice == n) return std::nullopt;
  const std::string_view the_name = name(twice), the_binary = binary(twice);
  return Invalid{join(index(kTests, twice), "name").str(),
                 the_binary.empty()
                     ? fmt::format("the test \"{}\" is in the report twice (also tests[{}]); "
                                   "a report holds each test once",
                                   the_name, first)
                     : fmt::format("the test \"{}\" of {} is in the report twice (also "
                                   "tests[{}]); a report holds each test once",
                                   the_name, the_binary, first)};
}

template <class V>
Report report_at(const V& v, StreamedTests& streamed) {
  if (v.kind() != Kind::object) {
    throw Invalid{"", fmt::format("expected a JSON object at the top level, got {}: not a memx report",
                                  kind_of(v))};
  }
  const std::optional<V> format_value = v.find("format");
  if (!format_value) throw Invalid{"", "missing field \"format\": not a memx report"};
  const Path format_path = join(kTop, "format");
  const std::string format = string_at(*format_value, format_path);
  if (format != kReportFormat) {
    throw Invalid{"format",
                  fmt::format("\"{}\" is not \"{}\": not a memx report", format, kReportFormat)};
  }
  const std::int64_t version = field(v, kTop, "version", any_int_at);
  if (version > kReportVersion) {
    throw Invalid{"version", fmt::format("report version {} is newer than this memx reads ({}); "
                                         "upgrade memx",
                                         version, kReportVersion)};
  }
  if (version < 1) throw Invalid{"version", fmt::format("invalid report version {}", version)};

  Report r;
  r.framework = field(v, kTop, "framework", string_at);
  r.binary = field(v, kTop, "binary", string_at);
  r.pid = field(v, kTop, "pid", non_negative_at);
  r.complete = field(v, kTop, "complete", bool_at);
  r.repetitions = field(v, kTop, "repetitions", [](const V& x, const Path& p) { return int_at(x, p, 0); });
  r.started_at = field(v, kTop, "started_at", string_at);
  r.finished_at = field(v, kTop, "finished_at", [](const V& x, const Path& p) {
    return x.kind() == Kind::null ? std::string() : string_at(x, p);
  });
  r.backend = field(v, kTop, "backend", string_at);
  // Optional (added within version 2): reports written before it have no run identifier.
  r.run_id = optional_field(v, kTop, "run_id", string_at, std::string());
  r.tool = optional_field(v, kTop, "tool", string_at, std::string());
  r.measured = optional_field(v, kTop, "measured", bool_at, true);
  if (const std::optional<V> st = v.find("stacks"); st && st->kind() != Kind::null) {  // version 2
    r.stacks = stacks_at(*st, join(kTop, "stacks"));
  }
  r.warn_only = optional_field(v, kTop, "warn_only", bool_at, false);  // version 3
  r.suppressions_file = optional_field(v, kTop, "suppressions_file", string_at, std::string());
  if (const std::optional<V> su = v.find("suppressions")) {  // version 3
    const Path su_path = join(kTop, "suppressions");
    array_at(*su, su_path).each([&](std::size_t i, const V& e) {
      const Path p = index(su_path, i);
      object_at(e, p);
      SuppressionUse u;
      u.text = field(e, p, "text", string_at);
      const Path text_path = join(p, "text");
      const SuppressionsParse parsed = parse_suppressions(u.text, text_path.str());
      if (!parsed.list || parsed.list->size() != 1) {
        throw Invalid{text_path.str(),
                      fmt::format("\"{}\" is not one leak:PATTERN or test:PATTERN line", u.text)};
      }
      u.line = field(e, p, "line", line_at);
      u.used = field(e, p, "used", uint64_at);
      r.suppressions.push_back(std::move(u));
    });
  }
  const Path live_path = join(kTop, "iteration_end_live_bytes");
  array_at(member(v, kTop, "iteration_end_live_bytes"), live_path).each([&](std::size_t i, const V& x) {
    r.iteration_end_live_bytes.push_back(any_int_at(x, index(live_path, i)));
  });
  ReadTables tables;
  if (const std::optional<V> ft = v.find("frame_table")) {  // version 2, stack mode
    const Path ft_path = join(kTop, "frame_table");
    array_at(*ft, ft_path).each([&](std::size_t i, const V& x) {
      tables.frames.push_back(frame_at(x, index(ft_path, i)));
    });
  }
  if (const std::optional<V> st = v.find("stack_table")) {
    const Path st_path = join(kTop, "stack_table");
    array_at(*st, st_path).each([&](std::size_t i, const V& stack) {
      const Path p = index(st_path, i);
      array_at(stack, p);
      std::vector<FrameRecord> frames;
      stack.each([&](std::size_t k, const V& x) {
        const Path fp = index(p, k);
        const std::int64_t at = int64_at(x, fp, 0);
        if (static_cast<std::size_t>(at) >= tables.frames.size()) {
          throw Invalid{fp.str(), fmt::format("frame {} is not in frame_table ({} frames)", at, tables.frames.size())};
        }
        frames.push_back(tables.frames[static_cast<std::size_t>(at)]);
      });
      tables.stacks.push_back(std::move(frames));
    });
  }
  if (const std::optional<V> tl = v.find("timeline")) r.timeline = points_at(*tl, join(kTop, "timeline"));  // optional
  if (const std::optional<V> wa = v.find("watch")) r.watch = watch_at(*wa, join(kTop, "watch"));  // optional
  // The array's elements were taken while it was read (the document has it empty, or not
  // at all when the fast reader took it).
  if (!streamed.taken) array_at(member(v, kTop, "tests"), kTests);
  // The header is valid: now the first test that is not, in the order of the array.
  for (auto& [i, doc] : streamed.deferred) {
    if (streamed.error && i > streamed.error_index) break;
    streamed.put(i, test_at(JsonValue(doc), index(kTests, i), tables));
  }
  if (!streamed.deferred_text.empty()) {
    simdjson::dom::parser parser;
    for (auto& [i, text] : streamed.deferred_text) {
      if (streamed.error && i > streamed.error_index) break;
      const Path p = index(kTests, i);
      streamed.put(i, test_at(DomValue(parse_text(parser, text, p)), p, tables));
      std::string().swap(text);
    }
  }
  if (streamed.error) throw *streamed.error;
  // One record per test (binary and name): with two, every reader would see only one of
  // them (a regression in the other would pass the gate).
  std::optional<Invalid> twice;
  if (streamed.sink != nullptr) {
    const KeyStore& keys = streamed.keys;
    twice = duplicate_test(
        keys.size(), [&](std::size_t i) { return keys.name(i); },
        [&](std::size_t i) { return keys.binary(i, r.binary); });
  } else {
    r.tests = streamed.tests.take();
    for (TestRecord& t : r.tests) {
      if (t.binary == r.binary) t.binary.clear();
    }
    twice = duplicate_test(
        r.tests.size(), [&](std::size_t i) -> std::string_view { return r.tests[i].name; },
        [&](std::size_t i) -> std::string_view { return r.tests[i].binary; });
  }
  if (twice) throw *twice;
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

// Tests rendered at a time by one thread when two share the work: about 0.9 MB of text
// (447 bytes a test), one piece for the sink.
constexpr std::size_t kTestsPerBlock = 2048;

/// Where the tests' text goes when two threads render it.
struct ParallelOut {
  const TextSink& sink;
  const detail::Background& background;
};

/// The tests of a flat report without stack tables, rendered in blocks of kTestsPerBlock by
/// the calling thread and the background one (each takes the next block not taken yet) and
/// handed to the sink in order: a thread that has rendered block k waits for block k - 1 to
/// be written, writes its own and passes the turn on. Byte for byte what the loop of
/// write_report_text writes. The background thread may start late or never: the caller
/// then takes every block, and returns once every block taken is written (the background
/// job touches the report only while it holds a block; the state it keeps is shared).
bool write_tests_on_two_threads(const Report& report, const ParallelOut& out) {
  struct Shared {
    const Report* report = nullptr;
    const TextSink* sink = nullptr;
    std::size_t blocks = 0;
    std::atomic<std::size_t> next{0};  // the next block to take
    std::mutex mutex;
    std::condition_variable turn_changed;
    std::size_t turn = 0;  // the block to write next
    bool failed = false;   // the sink refused a piece: the rest is only passed on
    int error = 0;         // errno when it did
  };
  auto shared = std::make_shared<Shared>();
  shared->report = &report;
  shared->sink = &out.sink;
  shared->blocks = (report.tests.size() + kTestsPerBlock - 1) / kTestsPerBlock;
  // One thread's share: take blocks until none is left. Its buffer is its own.
  auto take_blocks = [](Shared& s) {
    std::string text;
    for (;;) {
      const std::size_t k = s.next.fetch_add(1);
      if (k >= s.blocks) return;
      const std::vector<TestRecord>& tests = s.report->tests;
      const std::size_t begin = k * kTestsPerBlock;
      const std::size_t end = std::min(tests.size(), begin + kTestsPerBlock);
      bool failed;
      {
        std::lock_guard<std::mutex> lock(s.mutex);
        failed = s.failed;
      }
      if (!failed) detail::render_flat_tests(*s.report, begin, end, text);
      std::unique_lock<std::mutex> lock(s.mutex);
      s.turn_changed.wait(lock, [&] { return s.turn == k; });
      if (!s.failed) {
        // The sink is called under the lock: never by two threads at once, and what one
        // call did (a file offset) is seen by the next, whichever thread makes it.
        if (!(*s.sink)(text)) {
          s.failed = true;
          s.error = errno;
        }
      }
      s.turn = k + 1;
      lock.unlock();
      s.turn_changed.notify_all();
    }
  };
  // Started first, so that it renders while this thread does; if it cannot be, this
  // thread does all.
  if (out.background.run) out.background.run([shared, take_blocks] { take_blocks(*shared); });
  take_blocks(*shared);
  std::unique_lock<std::mutex> lock(shared->mutex);
  shared->turn_changed.wait(lock, [&] { return shared->turn == shared->blocks; });
  if (shared->failed) {
    errno = shared->error;  // the failed write's, for the caller's message
    return false;
  }
  return true;
}

// The report's members before the tests' elements, through the opening of "tests".
void write_head(const Report& report, Writer& w) {
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
  w.key("tests").begin_array();
}

// What follows the tests' elements: the end of "tests", then the members after it.
bool write_tail(const Report& report, Writer& w, const StackTables* tables) {
  w.end_array();
  if (!report.timeline.empty()) {
    w.key("timeline");
    write_points(w, report.timeline);
  }
  if (report.watch) {
    w.key("watch");
    write_watch(w, *report.watch);
  }
  if (tables != nullptr) tables->write(w);
  w.end_object();
  w.newline();
  return w.flush();
}

// A large report has each test on one line: half the bytes (a test is mostly indentation
// and keys), and as many lines as tests for line-oriented tools.
bool flat_tests(const Report& report) { return report.tests.size() > kFlatTestsAbove; }

// Tests [from, end) on `w`, then what follows them (write_tail).
bool write_tests_and_tail(const Report& report, Writer& w, std::size_t from) {
  const bool stacks = report.stacks.depth > 0;
  const bool flat = flat_tests(report);
  StackTables tables;
  for (std::size_t i = from; i < report.tests.size(); ++i) {
    write_test(w, report.tests[i], report.binary, stacks ? &tables : nullptr, flat);
    if (!w.end_piece()) return false;
  }
  return write_tail(report, w, stacks ? &tables : nullptr);
}

bool write_report_text(const Report& report, Writer& w, const ParallelOut* parallel = nullptr) {
  write_head(report, w);
  const bool stacks = report.stacks.depth > 0;
  if (parallel != nullptr && flat_tests(report) && !stacks && report.tests.size() >= 2 * kTestsPerBlock) {
    if (!w.flush() || !write_tests_on_two_threads(report, *parallel)) return false;
    w.has_elements();
    return write_tail(report, w, nullptr);
  }
  return write_tests_and_tail(report, w, 0);
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
  return write_json(report, sink, chunk, nullptr);
}

namespace detail {

void render_flat_tests(const Report& report, std::size_t begin, std::size_t end, std::string& out) {
  Writer w = Writer::in_tests_array(out, begin == 0);
  for (std::size_t i = begin; i < end; ++i) write_test(w, report.tests[i], report.binary, nullptr, true);
  w.flush();
}

bool write_json_from(const Report& report, std::size_t from, std::string& head, const TextSink& sink,
                     std::size_t chunk) {
  const bool stacks = report.stacks.depth > 0;
  if (from > report.tests.size() || (from > 0 && (stacks || !flat_tests(report)))) return false;
  Writer h(head);
  write_head(report, h);
  h.flush();
  std::string buffer;
  buffer.reserve(chunk + 4096);
  Writer w = Writer::in_tests_array(buffer, from == 0, sink, chunk);
  return write_tests_and_tail(report, w, from);
}

}  // namespace detail

bool write_json(const Report& report, const TextSink& sink, std::size_t chunk,
                const detail::Background* background) {
  std::string buffer;
  // A piece's worth, or a small report's size (at most about 720 bytes a test): the writer
  // clears what it reserves, and a run's first tests are written after each one.
  buffer.reserve(std::min(chunk, 4096 + report.tests.size() * 720) + 4096);
  Writer w(buffer, sink, chunk);
  if (background == nullptr || !background->run) return write_report_text(report, w);
  const ParallelOut parallel{sink, *background};
  return write_report_text(report, w, &parallel);
}

namespace {

// ---- the streaming readers -----------------------------------------------------------------
//
// A report is read in one pass over its bytes, never held whole: the text comes in chunks
// (from a file, 1 MiB at a time). The fast reader (read_fast) splits the top-level object
// into its members without parsing them: the elements of "tests" are parsed by simdjson a
// few MiB at a time and converted to TestRecords, everything else (the header, the tables)
// is collected and parsed at the end. A text that is not valid JSON is read again, when it
// can be, by nlohmann's SAX parser (read_exact), whose messages say what is wrong where. A
// million-test report costs its records, not its text plus a document of it.

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
  /// Back to the first byte, for a second reading; false when the input cannot go back (a
  /// pipe).
  virtual bool rewind() = 0;

 protected:
  virtual bool fill() { return false; }
};

class TextSource : public Source {
 public:
  explicit TextSource(std::string_view text) : text_(text) { rewind(); }
  bool rewind() override {
    data = text_.data();
    len = text_.size();
    pos = 0;
    before = 0;
    return true;
  }

 private:
  std::string_view text_;
};

class FdSource : public Source {
 public:
  FdSource(int fd, std::string path)
      : fd_(fd), start_(::lseek(fd, 0, SEEK_CUR)), path_(std::move(path)), buffer_(std::size_t{1} << 20) {
    data = buffer_.data();
  }
  bool rewind() override {
    if (start_ < 0 || failed || ::lseek(fd_, start_, SEEK_SET) != start_) return false;
    pos = len = 0;
    before = 0;
    return true;
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
  off_t start_;  // where the report starts; -1: not seekable
  std::string path_;
  std::vector<char> buffer_;
};

/// Deeper than any memx report (they are 6 levels): a hostile 100,000-level nesting stops
/// here at once, in bounded memory.
constexpr std::size_t kMaxDepth = 64;

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\t' || c == '\r'; }

/// Skips whitespace, fast (a gigabyte of it before the first character is an empty input,
/// in a fraction of a second); false at the end of the input.
bool skip_leading_space(Source& source) {
  for (;;) {
    if (!source.available()) return false;
    const char* p = source.data + source.pos;
    const char* end = source.data + source.len;
    while (p != end && is_space(*p)) ++p;
    source.pos = static_cast<std::size_t>(p - source.data);
    if (p != end) return true;
  }
}

// The next quote or bracket from p (or a byte the caller checks and passes over), or end.
const char* next_structural(const char* p, const char* end, const bool* special) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i lower = _mm_set1_epi8(0x20);  // '[' | 0x20 == '{', ']' | 0x20 == '}'
  const __m128i open = _mm_set1_epi8('{');
  const __m128i close = _mm_set1_epi8('}');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i folded = _mm_or_si128(v, lower);
    const __m128i hit = _mm_or_si128(_mm_cmpeq_epi8(v, quote),
                                     _mm_or_si128(_mm_cmpeq_epi8(folded, open), _mm_cmpeq_epi8(folded, close)));
    const int mask = _mm_movemask_epi8(hit);
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p != end && !special[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

// The end of a string's text from p: its closing quote or a backslash, or end.
const char* next_in_string(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote = _mm_set1_epi8('"');
  const __m128i backslash = _mm_set1_epi8('\\');
  while (end - p >= 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const int mask = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, backslash)));
    if (mask != 0) return p + __builtin_ctz(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  while (p != end && *p != '"' && *p != '\\') ++p;
  return p;
}

/// The fast reader found the text is not valid JSON (or not shaped as memx writes it).
struct NotJson {
  std::uint64_t byte = 0;  // where, in the input
  std::string what;
  bool truncated = false;  // the input ended inside a value
};

/// Splits JSON text into values without parsing them: strings are skipped to their closing
/// quote, containers to their matching bracket (the brackets' kinds and everything else
/// inside are checked by the parser the value goes to).
class Scanner {
 public:
  explicit Scanner(Source& source) : s_(source) {
    for (const char c : {'"', '{', '}', '[', ']'}) special_[static_cast<unsigned char>(c)] = true;
  }

  /// Skips whitespace; the next character, or -1 at the end of the input.
  int peek() { return skip_leading_space(s_) ? static_cast<unsigned char>(s_.data[s_.pos]) : -1; }
  /// Takes the character peek() returned.
  void take() { ++s_.pos; }
  /// Expects `c` next (after whitespace) and takes it.
  void expect(char c, const char* where) {
    const int got = peek();
    if (got != static_cast<unsigned char>(c)) {
      throw NotJson{s_.offset(),
                    got < 0 ? fmt::format("the input ends where '{}' {} was expected", c, where)
                            : fmt::format("'{}' where '{}' {} was expected", static_cast<char>(got), c, where),
                    got < 0};
    }
    take();
  }

  /// Appends the value that starts at the next character (after peek()) to `out`; `depth`
  /// is the nesting it is at.
  void value(std::string& out, std::size_t depth) {
    std::size_t open = 0;
    bool in_string = false;
    bool escape = false;
    for (;;) {
      if (!s_.available()) {
        if (open == 0 && !in_string && !out.empty()) return;  // a number or literal at the end
        throw NotJson{s_.offset(), "the input ends inside a value", true};
      }
      const char* start = s_.data + s_.pos;
      const char* p = start;
      const char* end = s_.data + s_.len;
      bool done = false;
      while (p != end) {
        if (escape) {
          escape = false;
          ++p;
          continue;
        }
        if (in_string) {
          p = next_in_string(p, end);
          if (p == end) break;
          if (*p == '\\') {
            escape = true;
            ++p;
            continue;
          }
          in_string = false;
          ++p;
          if (open == 0) {
            done = true;
            break;
          }
          continue;
        }
        if (open > 0) {  // inside a container: to the next quote or bracket
          p = next_structural(p, end, special_);
          if (p == end) break;
        }
        const char c = *p;
        if (c == '"') {
          in_string = true;
        } else if (c == '{' || c == '[') {
          if (depth + ++open > kMaxDepth) {
            throw NotJson{s_.offset() + static_cast<std::uint64_t>(p - start),
                          fmt::format("nested deeper than {} levels at byte {}: not a memx report", kMaxDepth,
                                      s_.offset() + static_cast<std::uint64_t>(p - start) + 1)};
          }
        } else if (c == '}' || c == ']') {
          if (open == 0) {  // ends a number or literal: not its own
            done = true;
            break;
          }
          if (--open == 0) {
            ++p;
            done = true;
            break;
          }
        } else if (open == 0 && (c == ',' || c == ':' || is_space(c))) {  // ends a number or literal
          done = true;
          break;
        }
        ++p;
      }
      out.append(start, static_cast<std::size_t>(p - start));
      s_.pos = static_cast<std::size_t>(p - s_.data);
      if (done) return;
    }
  }

  std::uint64_t offset() const { return s_.offset(); }

 private:
  Source& s_;
  bool special_[256] = {};
};

/// About this many bytes of tests are parsed at a time.
constexpr std::size_t kBatch = std::size_t{4} << 20;

/// The fast reader's tests: elements of the array collected into one JSON array text,
/// parsed and converted when it is big enough.
class TestBatch {
 public:
  explicit TestBatch(StreamedTests& streamed) : streamed_(streamed) { text_.reserve(kBatch + 4096); }

  /// The text to append the next element to.
  std::string& next() {
    text_ += text_.empty() ? '[' : ',';
    starts_.push_back(text_.size());
    return text_;
  }
  /// After next()'s element was appended.
  void taken() {
    ends_.push_back(text_.size());
    if (text_.size() >= kBatch) flush();
  }
  /// Parses and converts what was collected.
  void flush() {
    if (text_.empty()) return;
    text_ += ']';
    text_.reserve(text_.size() + simdjson::SIMDJSON_PADDING);
    simdjson::dom::element doc;
    const simdjson::error_code e = parser_.parse(text_.data(), text_.size(), false).get(doc);
    if (e != simdjson::SUCCESS) {
      throw NotJson{0, fmt::format("tests[{}] to tests[{}]: {}", first_, streamed_.count + starts_.size() - 1,
                                   simdjson::error_message(e))};
    }
    simdjson::dom::array elements;
    if (doc.get_array().get(elements) != simdjson::SUCCESS) throw NotJson{0, "the tests are not an array"};
    std::size_t k = 0;
    for (simdjson::dom::element element : elements) {
      const std::size_t i = streamed_.count++;
      const DomValue v(element);
      if (!streamed_.error) {
        if (v.kind() == Kind::object && (v.find("sites") || v.find("peak_sites"))) {
          streamed_.defer();
          streamed_.deferred_text.emplace_back(i, text_.substr(starts_[k], ends_[k] - starts_[k]));
        } else {
          try {
            streamed_.add(i, test_at(v, index(kTests, i), ReadTables{}));
          } catch (const Invalid& invalid) {
            streamed_.error = invalid;
            streamed_.error_index = i;
          }
        }
      }
      ++k;
    }
    text_.clear();
    starts_.clear();
    ends_.clear();
    first_ = streamed_.count;
  }

 private:
  StreamedTests& streamed_;
  simdjson::dom::parser parser_;
  std::string text_;
  std::vector<std::size_t> starts_, ends_;  // each element's bytes in text_
  std::size_t first_ = 0;                   // the index of text_'s first element
};

/// A top-level member's name, from its JSON string.
std::string member_name(std::string_view quoted, simdjson::dom::parser& parser, std::uint64_t at) {
  if (quoted.size() >= 2 && quoted.find('\\') == std::string_view::npos) {
    return std::string(quoted.substr(1, quoted.size() - 2));
  }
  std::string_view name;
  simdjson::dom::element doc;
  if (parser.parse(quoted.data(), quoted.size(), true).get(doc) != simdjson::SUCCESS ||
      doc.get_string().get(name) != simdjson::SUCCESS) {
    throw NotJson{at, "an invalid member name"};
  }
  return std::string(name);
}

/// Reads a report with the Scanner and simdjson (see above). Throws NotJson when the text
/// is not valid JSON, Invalid when it is not a valid report.
Report read_fast(Source& source, const TestSink* sink) {
  Scanner scan(source);
  StreamedTests streamed(sink);
  simdjson::dom::parser parser;
  std::string header = "{";
  std::string quoted;
  const std::uint64_t first = scan.offset();
  if (scan.peek() != '{') {  // not an object: read_exact says what it is
    throw NotJson{first, "not a JSON object"};
  }
  scan.take();
  int c = scan.peek();
  if (c == '}') {
    scan.take();
  } else {
    for (;;) {
      if (c != '"') throw NotJson{scan.offset(), "a member name was expected", c < 0};
      const std::uint64_t at = scan.offset();
      quoted.clear();
      scan.value(quoted, 1);
      const std::string name = member_name(quoted, parser, at);
      scan.expect(':', "after a member name");
      c = scan.peek();
      if (name == "tests") streamed.reset();  // a later "tests" replaces the first
      if (name == "tests" && c == '[') {
        scan.take();
        streamed.taken = true;
        TestBatch batch(streamed);
        c = scan.peek();
        if (c == ']') {
          scan.take();
        } else {
          for (;;) {
            if (c < 0) throw NotJson{scan.offset(), "the input ends inside \"tests\"", true};
            scan.value(batch.next(), 2);
            batch.taken();
            c = scan.peek();
            if (c == ',') {
              scan.take();
              c = scan.peek();
              continue;
            }
            scan.expect(']', "after a test");
            break;
          }
        }
        batch.flush();
      } else {
        if (c < 0) throw NotJson{scan.offset(), "the input ends after a member name", true};
        if (header.size() > 1) header += ',';
        header += quoted;
        header += ':';
        scan.value(header, 1);
      }
      c = scan.peek();
      if (c == ',') {
        scan.take();
        c = scan.peek();
        continue;
      }
      scan.expect('}', "after a member");
      break;
    }
  }
  if (scan.peek() >= 0) throw NotJson{scan.offset(), "more after the report's closing brace"};
  if (source.failed) throw NotJson{scan.offset(), source.error};
  header += '}';
  simdjson::dom::element doc;
  const simdjson::error_code e = parser.parse(header.data(), header.size(), true).get(doc);
  if (e != simdjson::SUCCESS) throw NotJson{first, simdjson::error_message(e)};
  return report_at(DomValue(doc), streamed);
}

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
      streamed_.reset();  // a second "tests" replaces the first, as in a document
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
        streamed_.defer();
        streamed_.deferred.emplace_back(i, std::move(doc));
      } else {
        try {
          streamed_.add(i, test_at(JsonValue(doc), index(kTests, i), ReadTables{}));
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

/// Reads a report with nlohmann's SAX parser: slower than read_fast, and exact about what
/// is wrong where in a text that is not valid JSON.
Report read_exact(Source& source, std::string& error, const TestSink* sink) {
  StreamedTests streamed(sink);
  ReportSax sax(source, streamed);
  const bool parsed = json::sax_parse(SourceIterator(&source), SourceIterator(), &sax);
  if (source.failed) {
    error = source.error;
    return Report{};
  }
  if (!parsed) {
    error = sax.error;
    return Report{};
  }
  return report_at(JsonValue(sax.root), streamed);
}

ReportRead read_from(Source& source, std::string_view source_name, bool fast = true,
                     const TestSink* sink = nullptr) {
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
    if (!skip_leading_space(source)) {
      out.error = source.failed ? source.error : fmt::format("{}: empty input: not a memx report", source_name);
      return out;
    }
    if (fast) try {
      out.report = read_fast(source, sink);
      return out;
    } catch (const NotJson& not_json) {
      if (source.failed) {
        out.error = source.error;
        return out;
      }
      // Read again with the parser that says exactly what is wrong where, when the input
      // can be read again (a file, a text; not a pipe).
      if (!source.rewind() || !skip_leading_space(source)) {
        out.error = fmt::format("{}: {} JSON at byte {}: {}", source_name,
                                not_json.truncated ? "truncated" : "invalid", not_json.byte + 1, not_json.what);
        return out;
      }
    }
    std::string error;
    if (fast && sink != nullptr && sink->restart) sink->restart();  // read again from the start
    Report report = read_exact(source, error, sink);
    if (!error.empty()) {
      out.error = source.failed ? error : fmt::format("{}: {}", source_name, error);
      return out;
    }
    out.report = std::move(report);
  } catch (const Stopped&) {
    out.report.reset();
    out.stopped = true;
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

ReportRead read_report_exact(std::string_view text, std::string_view source_name) {
  TextSource source(text);
  return read_from(source, source_name, false);
}

ReportRead read_report_fd(int fd, const std::string& path) {
  FdSource source(fd, path);
  return read_from(source, path);
}

ReportRead read_report_tests(const std::string& path, const TestSink& sink) {
  ReportRead out;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    out.error = fmt::format("{}: cannot open: {}", path, std::strerror(errno));
    return out;
  }
  FdSource source(fd, path);
  out = read_from(source, path, true, &sink);
  ::close(fd);
  return out;
}

}  // namespace memx
