// memx CLI: two reports read for diff and gate without holding either whole (pair_reader.hpp).
//
// A report of a million tests takes about 700 MiB as TestRecords; diff and gate used to hold
// two. Here the baseline is read into compact entries (its name, compared figures, status,
// leak verdict; violations, budget and sites only for the few tests that have them), about
// 150 bytes a test, then the new report is streamed (read_report_tests) and each of its tests
// compared with its entry as it comes: only those that differ, or have no entry, are kept.
#include "pair_reader.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <ostream>
#include <string_view>
#include <utility>

#include "cli.hpp"
#include "memx/diff.hpp"
#include "memx/merge.hpp"
#include "memx/string_arena.hpp"

namespace memx::cli {
namespace {

// What the comparison reads of a baseline test beyond its figures, kept only when it has
// any (a test over budget, a suppressed leak, allocation sites).
struct Rare {
  std::vector<ViolationRecord> violations;
  Boxed<Budget> budget;
  std::string suppressed_by;
  std::vector<SiteRecord> sites;
};

// One baseline test, compact.
struct Entry {
  const char* name = nullptr;
  std::uint32_t length = 0;
  std::uint32_t rare = 0;  // 1 + index of its Rare; 0: none
  TestFigures figures;     // compared_figures
  double bytes_per_run = 0;
  double blocks_per_run = 0;
  TestStatus status = TestStatus::passed;
  Verdict verdict = Verdict::unknown;
  Confidence confidence = Confidence::low;
  bool gated = false;           // gated_violations
  bool sites_recorded = true;
  std::uint16_t site_runs = 0;  // TestRecord::site_runs
  bool matched = false;         // a test of the new report has its name
  bool differs = false;         // ... and differs from it
  std::string_view name_view() const { return {name, length}; }
};

bool same_figures(const TestFigures& a, const TestFigures& b) {
  return a.peak_bytes == b.peak_bytes && a.net_bytes == b.net_bytes && a.net_blocks == b.net_blocks &&
         a.allocs == b.allocs && a.rss_peak_bytes == b.rss_peak_bytes && a.runs == b.runs;
}

// The baseline's tests, compact, and an index of their names.
class Baseline {
 public:
  void add(std::size_t i, TestRecord&& t) {
    if (i >= entries_.size()) entries_.resize(i + 1);
    Entry& e = entries_[i];
    e.name = names_.store(t.name);
    e.length = static_cast<std::uint32_t>(t.name.size());
    e.figures = compared_figures(t);
    e.bytes_per_run = t.leak.bytes_per_run;
    e.blocks_per_run = t.leak.blocks_per_run;
    e.status = t.status;
    e.verdict = t.leak.verdict;
    e.confidence = t.leak.confidence;
    e.gated = gated_violations(t);
    e.sites_recorded = t.sites_recorded;
    e.site_runs = t.site_runs;
    if (!t.violations.empty() || !t.leak.suppressed_by.empty() || !t.sites.empty()) {
      Rare r;
      if (!t.violations.empty()) r.budget = std::move(t.budget);  // gated_violations reads it
      r.violations = std::move(t.violations);
      r.suppressed_by = std::move(t.leak.suppressed_by);
      r.sites = std::move(t.sites);
      rare_.push_back(std::move(r));
      e.rare = static_cast<std::uint32_t>(rare_.size());
    }
  }
  void clear() { *this = Baseline(); }

  /// After the last add: the index of the names.
  void index() {
    std::size_t slots = 16;
    while (slots < entries_.size() * 2) slots *= 2;
    slots_.assign(slots, kEmpty);
    for (std::size_t i = 0; i < entries_.size(); ++i) {
      std::size_t at = hash(entries_[i].name_view()) & (slots - 1);
      while (slots_[at] != kEmpty) at = (at + 1) & (slots - 1);
      slots_[at] = static_cast<std::uint32_t>(i);
    }
  }
  /// The entry named `name`, or null.
  Entry* find(std::string_view name) {
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t at = hash(name) & mask; slots_[at] != kEmpty; at = (at + 1) & mask) {
      Entry& e = entries_[slots_[at]];
      if (e.name_view() == name) return &e;
    }
    return nullptr;
  }

  std::size_t size() const { return entries_.size(); }
  const Entry& operator[](std::size_t i) const { return entries_[i]; }
  /// No entry matched (the new report is read again from its start).
  void unmatch() {
    for (Entry& e : entries_) e.matched = e.differs = false;
  }

  /// The test as the comparison reads it (see ReportPair::base).
  TestRecord record(const Entry& e) const {
    TestRecord t;
    t.name.assign(e.name, e.length);
    t.status = e.status;
    t.sites_recorded = e.sites_recorded;
    t.site_runs = e.site_runs;
    RunRecord run;
    run.peak_bytes = e.figures.peak_bytes;
    run.net_bytes = e.figures.net_bytes;
    run.net_blocks = e.figures.net_blocks;
    run.allocs = e.figures.allocs;
    run.rss_peak_bytes = e.figures.rss_peak_bytes;
    t.runs.assign(e.figures.runs, run);  // compared_figures(t) == e.figures
    t.leak.verdict = e.verdict;
    t.leak.confidence = e.confidence;
    t.leak.bytes_per_run = e.bytes_per_run;
    t.leak.blocks_per_run = e.blocks_per_run;
    if (e.rare > 0) {
      const Rare& r = rare_[e.rare - 1];
      t.violations = r.violations;
      t.budget = r.budget;
      t.leak.suppressed_by = r.suppressed_by;
      t.sites = r.sites;
    }
    return t;
  }

  /// True when `t` (of the new report) and `e` differ in anything diff or gate compares.
  bool differs(const Entry& e, const TestRecord& t) const {
    const bool reported = e.verdict == Verdict::leak && (e.rare == 0 || rare_[e.rare - 1].suppressed_by.empty());
    // A test that leaks in both may have new leaking sites (diff): compared whole.
    return !same_figures(e.figures, compared_figures(t)) || e.status != t.status ||
           e.verdict != t.leak.verdict || reported != t.leak.reported_leak() ||
           e.gated != gated_violations(t) || t.leak.verdict == Verdict::leak;
  }

 private:
  static constexpr std::uint32_t kEmpty = 0xffffffffu;
  static std::size_t hash(std::string_view s) { return std::hash<std::string_view>{}(s); }
  std::vector<Entry> entries_;
  std::vector<Rare> rare_;
  std::vector<std::uint32_t> slots_;  // open addressing: entry indexes by name
  StringArena names_;  // the names, one after another
};

// The one file `paths` name, or "" when they name several (or none that exists: the
// whole reading says what is wrong, in its order).
std::string single_file(const std::vector<std::string>& paths) {
  try {
    const std::vector<std::string> files = expand_inputs(paths);
    return files.size() == 1 ? files.front() : std::string();
  } catch (const InputError&) {
    return {};
  }
}

// read_one_report's note on one incomplete report (the header alone: no tests to copy).
void note_incomplete(const std::string& file, const Report& header, std::ostream& err) {
  if (header.complete) return;
  std::vector<SourcedReport> one;
  one.push_back(SourcedReport{file, header});
  print_issues(merge_reports(std::move(one), ConflictPolicy::keep_first).issues, command_name(), err);
}

}  // namespace

std::optional<ReportPair> read_pair(const std::vector<std::string>& base_paths,
                                    const std::vector<std::string>& now_paths, std::ostream& err,
                                    const PairHooks& hooks) {
  const std::string base_file = single_file(base_paths);
  const std::string now_file = single_file(now_paths);
  if (base_file.empty() || now_file.empty()) return std::nullopt;

  // The baseline, compact. A test of its own binary: the reports are read whole.
  auto owner = std::make_shared<Baseline>();
  Baseline& baseline = *owner;
  TestSink base_sink;
  base_sink.take = [&](std::size_t i, TestRecord&& t) {
    if (!t.binary.empty()) return false;
    if (hooks.base) hooks.base(t);
    baseline.add(i, std::move(t));
    return true;
  };
  base_sink.restart = [&] { baseline.clear(); };
  ReportRead base_read = read_report_tests(base_file, base_sink);
  if (base_read.stopped) return std::nullopt;
  if (!base_read.report) throw InputError(base_read.error);
  baseline.index();

  // The new report, test by test against it: kept when different or new.
  ReportPair pair;
  std::vector<std::pair<std::size_t, TestRecord>> kept;  // (index, test)
  std::vector<std::pair<std::size_t, std::string_view>> left_out;  // (index, name)
  std::size_t count = 0, same = 0;
  TestSink now_sink;
  now_sink.take = [&](std::size_t i, TestRecord&& t) {
    if (!t.binary.empty()) return false;
    ++count;
    if (hooks.now) hooks.now(t);
    Entry* e = baseline.find(t.name);
    // Matched already: the test is in the new report twice, which its reading rejects at
    // the end; kept meanwhile as a test of its own.
    if (e != nullptr && !e->matched) {
      e->matched = true;
      e->differs = baseline.differs(*e, t);
      if (!e->differs) {
        ++same;
        if (hooks.places) left_out.emplace_back(i, e->name_view());
        return true;
      }
    }
    kept.emplace_back(i, std::move(t));
    return true;
  };
  now_sink.restart = [&] {
    baseline.unmatch();
    if (hooks.now_restart) hooks.now_restart();
    kept.clear();
    left_out.clear();
    count = same = 0;
  };
  ReportRead now_read = read_report_tests(now_file, now_sink);
  if (now_read.stopped) return std::nullopt;  // the whole reading writes the notes
  // The notes as the whole reading writes them: the baseline's once it is read.
  note_incomplete(base_file, *base_read.report, err);
  if (!now_read.report) throw InputError(now_read.error);
  note_incomplete(now_file, *now_read.report, err);
  pair.base = std::move(*base_read.report);
  pair.now = std::move(*now_read.report);
  pair.base_tests = baseline.size();
  pair.now_tests = count;
  pair.same = same;
  // In each report's order (tests with sites came last from the reader).
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  pair.now.tests.reserve(kept.size());
  for (auto& k : kept) pair.now.tests.push_back(std::move(k.second));
  for (std::size_t i = 0; i < baseline.size(); ++i) {
    const Entry& e = baseline[i];
    if (!e.matched || e.differs) pair.base.tests.push_back(baseline.record(e));
  }
  if (hooks.places) {
    std::stable_sort(left_out.begin(), left_out.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    pair.left_out = std::move(left_out);
    pair.names = std::move(owner);
  }
  return pair;
}

}  // namespace memx::cli
