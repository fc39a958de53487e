// memx html: one self-contained page (inline CSS, JavaScript and SVG; no network access).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <map>
#include <unordered_map>
#include <unordered_set>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include <nlohmann/json.hpp>

#include "cli.hpp"
#include "gate_rules.hpp"
#include "html.hpp"
#include "html_page.hpp"
#include "memx/census.hpp"
#include "memx/diff.hpp"
#include "memx/identity.hpp"

namespace memx::cli {
namespace {

// JSON text made safe inside <script>: '<', '>' and '&' (only ever inside JSON strings) as
// \u escapes, and U+2028/U+2029 too, so no sequence can end the element or open a comment.
std::string script_safe(const std::string& json) {
  std::string out;
  out.reserve(json.size());
  for (std::size_t i = 0; i < json.size(); ++i) {
    const char c = json[i];
    if (c == '<') {
      out += "\\u003c";
    } else if (c == '>') {
      out += "\\u003e";
    } else if (c == '&') {
      out += "\\u0026";
    } else if (c == '\xe2' && i + 2 < json.size() && json[i + 1] == '\x80' &&
               (json[i + 2] == '\xa8' || json[i + 2] == '\xa9')) {
      out += json[i + 2] == '\xa8' ? "\\u2028" : "\\u2029";
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

void replace_once(std::string& text, const std::string& what, const std::string& with) {
  const std::size_t at = text.find(what);
  if (at != std::string::npos) text.replace(at, what.size(), with);
}

using nlohmann::ordered_json;

// At most this many tests keep their timeline in the page (those with the highest peaks):
// a report of 100 000 tests must not make a page of 100 000 timelines. The report keeps
// them all; the page says which it left out.
constexpr std::size_t kPageTimelines = 300;
// The allocated types the page lists (most live bytes first); memx show --types lists all.
constexpr std::size_t kPageTypes = 100;

std::size_t drop_timelines(Report& shown) {
  std::vector<std::size_t> with;
  for (std::size_t i = 0; i < shown.tests.size(); ++i) {
    if (shown.tests[i].timeline.run > 0) with.push_back(i);
  }
  if (with.size() <= kPageTimelines) return 0;
  std::vector<std::int64_t> peak(shown.tests.size(), 0);
  for (std::size_t i : with) peak[i] = figures_of(shown.tests[i]).peak_bytes;
  std::stable_sort(with.begin(), with.end(), [&](std::size_t a, std::size_t b) { return peak[a] > peak[b]; });
  for (std::size_t k = kPageTimelines; k < with.size(); ++k) shown.tests[with[k]].timeline = TestTimeline{};
  return with.size() - kPageTimelines;
}

// The comparison with a baseline, as `memx gate` makes it (diff_reports, then
// find_regressions with the gate's default tolerances): its verdict, and each test's change.
// `diffs` and `regressions`: diff_reports(base, now) and find_regressions of it with the
// default rules, when both reports were measured.
ordered_json baseline_json(const Report& base, const Report& now, const std::string& base_path,
                           const std::vector<TestDiff>& diffs, const std::vector<Regression>& regressions,
                           const std::vector<std::size_t>* kept) {
  ordered_json j;
  j["path"] = base_path;
  const GateRules rules;
  j["tolerances"] = fmt::format("peak {}, net {}, allocs {}, rss {}", rules.peak.describe(true),
                                rules.net.describe(true), rules.allocs.describe(false),
                                rules.rss.describe(true));
  if (!base.measured || !now.measured) {
    j["verdict"] = "unmeasured";
    j["summary"] = fmt::format("no verdict: {} was not measured (memx's operator new saw nothing)",
                               !now.measured ? "this report" : "the baseline");
    return j;
  }
  // Where each of the new report's tests is in the page (the page lists them in its order;
  // only the kept ones when the report is aggregated).
  std::unordered_map<const TestRecord*, std::size_t> at;
  if (kept) {
    for (std::size_t k = 0; k < kept->size(); ++k) at.emplace(&now.tests[(*kept)[k]], k);
  } else {
    for (std::size_t i = 0; i < now.tests.size(); ++i) at.emplace(&now.tests[i], i);
  }
  std::map<std::string, std::vector<std::string>, std::less<>> regressed;  // label -> what regressed
  ordered_json list = ordered_json::array();
  std::size_t failing = 0;
  for (const Regression& r : regressions) {
    if (!r.allowed) ++failing;
    regressed[r.test].push_back(r.what);
  }
  // One line per changed test, the gate's own.
  for (const TestRegressions& g : group_by_test(regressions)) {
    ordered_json e;
    e["test"] = g.test;
    std::vector<std::string> what;
    for (const Regression* r : g.found) what.push_back(r->what);
    e["what"] = what;
    e["message"] = g.line;
    e["allowed"] = g.allowed;
    list.push_back(std::move(e));
  }
  ordered_json tests = ordered_json::array();
  std::vector<std::string> missing;
  for (const TestDiff& d : diffs) {
    if (d.removed()) {
      missing.push_back(d.label());
      continue;
    }
    const auto it = at.find(d.now);
    if (it == at.end()) continue;
    ordered_json e;
    e["index"] = it->second;
    auto what_of = regressed.find(d.label());
    if (what_of == regressed.end()) what_of = regressed.find(d.name);
    const auto what = what_of != regressed.end() ? what_of->second : std::vector<std::string>{};
    e["regressions"] = what;
    if (d.added()) {
      e["status"] = "new";
      e["text"] = "new test";
    } else {
      const TestFigures b = *d.base_figures();
      const TestFigures n = *d.now_figures();
      e["status"] = d.changed() ? "changed" : "same";
      e["peak"] = {b.peak_bytes, n.peak_bytes};
      e["net"] = {b.net_bytes, n.net_bytes};
      e["allocs"] = {b.allocs, n.allocs};
      std::vector<std::string> parts;
      if (b.peak_bytes != n.peak_bytes) parts.push_back("peak " + describe_change(b.peak_bytes, n.peak_bytes, true));
      if (b.net_bytes != n.net_bytes) parts.push_back("net " + describe_change(b.net_bytes, n.net_bytes, true));
      if (b.allocs != n.allocs) {
        parts.push_back("allocs " + describe_change(static_cast<std::int64_t>(b.allocs),
                                                    static_cast<std::int64_t>(n.allocs), false));
      }
      if (d.base->leak.verdict != d.now->leak.verdict) {
        parts.push_back(fmt::format("leak {} -> {}", to_string(d.base->leak.verdict), to_string(d.now->leak.verdict)));
      }
      e["text"] = parts.empty() ? std::string("unchanged") : fmt::format("{}", fmt::join(parts, "; "));
    }
    tests.push_back(std::move(e));
  }
  std::vector<std::string> incomplete;
  if (!base.complete) incomplete.push_back("the baseline");
  if (!now.complete) incomplete.push_back("this report");
  // As `memx gate` words it: "2 regressions, 1 missing test, 1 incomplete report".
  std::vector<std::string> parts;
  if (failing > 0) parts.push_back(fmt::format("{} regression{}", failing, failing == 1 ? "" : "s"));
  if (!missing.empty()) parts.push_back(fmt::format("{} missing test{}", missing.size(), missing.size() == 1 ? "" : "s"));
  if (!incomplete.empty()) {
    parts.push_back(fmt::format("{} incomplete report{}", incomplete.size(), incomplete.size() == 1 ? "" : "s"));
  }
  j["verdict"] = parts.empty() ? "passed" : "failed";
  j["summary"] = parts.empty() ? fmt::format("no regressions in {} tests", now.tests.size())
                               : fmt::format("{} in {} tests", fmt::join(parts, ", "), now.tests.size());
  j["regressions"] = std::move(list);
  j["missing"] = missing;
  j["incomplete"] = incomplete;
  j["tests"] = std::move(tests);
  return j;
}

// A report of more tests than this is aggregated in the page: it lists the tests that need
// looking at and the highest of each column, and draws every test in histograms; the page
// of a million tests stays a few MB (the report keeps them all).
constexpr std::size_t kPageTests = 2000;
// Of them, at most this many flagged ones (failed, over budget, leaking or suspect,
// regressed), the rest the highest of each column.
constexpr std::size_t kPageFlagged = 1000;
constexpr std::size_t kPageTopPerColumn = 200;

// How much a test needs looking at: failed, then over budget, then leak, suspect; 0: not.
int flag_rank(const TestRecord& t) {
  if (t.status == TestStatus::failed) return 4;
  if (gated_violations(t)) return 3;
  if (t.leak.verdict == Verdict::leak && t.leak.suppressed_by.empty()) return 2;
  if (t.leak.verdict == Verdict::suspect) return 1;
  return 0;
}

// The tests the page lists of a large report (indexes, ascending), and its "aggregate".
std::vector<std::size_t> choose_tests(const Report& report, const std::unordered_set<const TestRecord*>& regressed,
                                      ordered_json& aggregate) {
  const std::size_t n = report.tests.size();
  std::vector<TestFigures> figures(n);
  for (std::size_t i = 0; i < n; ++i) figures[i] = figures_of(report.tests[i]);
  std::vector<char> keep(n, 0);
  std::size_t kept = 0;
  auto take = [&](std::size_t i) {
    if (!keep[i]) {
      keep[i] = 1;
      ++kept;
    }
  };
  // The flagged ones, the most serious first (a regression counts as over budget).
  std::vector<std::size_t> flagged;
  std::vector<int> rank(n, 0);
  for (std::size_t i = 0; i < n; ++i) {
    rank[i] = std::max(flag_rank(report.tests[i]), regressed.count(&report.tests[i]) ? 3 : 0);
    if (rank[i] > 0) flagged.push_back(i);
  }
  std::stable_sort(flagged.begin(), flagged.end(), [&](std::size_t a, std::size_t b) { return rank[a] > rank[b]; });
  for (std::size_t k = 0; k < flagged.size() && k < kPageFlagged; ++k) take(flagged[k]);
  // The highest of each column.
  std::vector<std::size_t> order(n);
  auto top = [&](auto value) {
    for (std::size_t i = 0; i < n; ++i) order[i] = i;
    const std::size_t m = std::min(kPageTopPerColumn, n);
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(m), order.end(),
                      [&](std::size_t a, std::size_t b) { return value(a) > value(b); });
    for (std::size_t k = 0; k < m && kept < kPageTests; ++k) take(order[k]);
  };
  top([&](std::size_t i) { return static_cast<double>(figures[i].peak_bytes); });
  top([&](std::size_t i) { return report.tests[i].leak.bytes_per_run; });
  top([&](std::size_t i) { return static_cast<double>(figures[i].allocs); });
  top([&](std::size_t i) { return static_cast<double>(figures[i].rss_peak_bytes); });
  top([&](std::size_t i) {
    double ms = 0;
    for (const RunRecord& r : report.tests[i].runs) ms += r.duration_ms;
    return ms;
  });
  std::vector<std::size_t> out;
  out.reserve(kept);
  for (std::size_t i = 0; i < n; ++i) {
    if (keep[i]) out.push_back(i);
  }
  // What the page says of the tests it does not list: counts, and each column's histogram
  // (powers of two) over all of them.
  std::size_t failed = 0, skipped = 0, over = 0, leaking = 0, suspect = 0, ran = 0;
  auto bucket_of = [](double v) {  // 0: zero or less; k: [2^(k-1), 2^k)
    if (!(v >= 1)) return 0;
    return std::min(64, 1 + static_cast<int>(std::floor(std::log2(v))));
  };
  std::vector<std::uint64_t> peak(65, 0), net(65, 0), allocs(65, 0), ms(65, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const TestRecord& t = report.tests[i];
    failed += t.status == TestStatus::failed;
    skipped += t.status == TestStatus::skipped;
    over += !t.violations.empty();
    leaking += t.leak.verdict == Verdict::leak;
    suspect += t.leak.verdict == Verdict::suspect;
    if (figures[i].runs == 0) continue;
    ++ran;
    double total_ms = 0;
    for (const RunRecord& r : t.runs) total_ms += r.duration_ms;
    ++peak[static_cast<std::size_t>(bucket_of(static_cast<double>(figures[i].peak_bytes)))];
    ++net[static_cast<std::size_t>(bucket_of(t.leak.bytes_per_run))];
    ++allocs[static_cast<std::size_t>(bucket_of(static_cast<double>(figures[i].allocs)))];
    ++ms[static_cast<std::size_t>(bucket_of(total_ms * 1000))];  // microseconds
  }
  auto histogram = [](const std::vector<std::uint64_t>& counts) {
    ordered_json h = ordered_json::array();
    for (std::size_t k = 0; k < counts.size(); ++k) {
      if (counts[k] == 0) continue;
      const double lo = k == 0 ? 0 : std::ldexp(1.0, static_cast<int>(k) - 1);
      h.push_back(ordered_json::array({lo, k == 0 ? 1 : std::ldexp(1.0, static_cast<int>(k)), counts[k]}));
    }
    return h;
  };
  aggregate["total"] = n;
  aggregate["listed"] = out.size();
  aggregate["flagged"] = flagged.size();
  aggregate["flagged_listed"] = std::min(flagged.size(), kPageFlagged);
  aggregate["top_per_column"] = kPageTopPerColumn;
  aggregate["counts"] = {{"ran", ran}, {"failed", failed}, {"skipped", skipped}, {"over_budget", over},
                         {"leak", leaking}, {"suspect", suspect}};
  aggregate["histograms"] = {{"peak", histogram(peak)}, {"net", histogram(net)}, {"allocs", histogram(allocs)},
                             {"us", histogram(ms)}};
  aggregate["indexes"] = out;
  return out;
}

}  // namespace

std::string render_html(Report report, const std::string& title, const std::string& root,
                        const Report* base, const std::string& base_path) {
  // The comparison with the baseline, made once: the page's verdict and which tests regressed.
  std::vector<TestDiff> diffs;
  std::vector<Regression> regressions;
  if (base && base->measured && report.measured) {
    diffs = diff_reports(*base, report, root);
    regressions = find_regressions(diffs, GateRules{});
  }
  // A large report: the tests that need looking at and the highest of each column.
  ordered_json aggregate(nullptr);
  std::optional<std::vector<std::size_t>> kept;
  if (report.tests.size() > kPageTests) {
    std::unordered_set<std::string> labels;
    for (const Regression& r : regressions) labels.insert(r.test);
    std::unordered_set<const TestRecord*> regressed;
    for (const TestDiff& d : diffs) {
      if (d.now && labels.count(d.label())) regressed.insert(d.now);
    }
    aggregate = ordered_json::object();
    kept = choose_tests(report, regressed, aggregate);
  }
  ordered_json extra;
  extra["timelines_dropped"] = 0;  // set below; the page's keys keep their order
  extra["timelines_kept"] = kPageTimelines;
  // What every test left live by allocated type (stack mode), before the tests are cut down.
  extra["types"] = ordered_json::array();
  if (report.stacks.depth > 0) {
    std::vector<const TestRecord*> all;
    all.reserve(report.tests.size());
    for (const TestRecord& t : report.tests) all.push_back(&t);
    const std::vector<TypeCount> census = census_of_sites(all);
    for (std::size_t i = 0; i < census.size() && i < kPageTypes; ++i) {
      const TypeCount& c = census[i];
      extra["types"].push_back({{"type", c.type.name}, {"from", to_string(c.type.source)}, {"bytes", c.bytes},
                                {"blocks", c.blocks}, {"sites", c.sites}, {"tests", c.tests}, {"where", c.where}});
    }
    extra["types_total"] = census.size();
  }
  extra["baseline"] = base ? baseline_json(*base, report, base_path, diffs, regressions, kept ? &*kept : nullptr)
                           : ordered_json(nullptr);
  diffs.clear();  // they point into the tests, which are now cut down to those listed
  if (kept) {
    std::vector<TestRecord> listed;
    listed.reserve(kept->size());
    for (const std::size_t i : *kept) listed.push_back(std::move(report.tests[i]));
    report.tests = std::move(listed);
  }
  // Binaries as identified (relative to --root, or file names): a test carries its own
  // binary, shown before its name, only where the report holds several.
  rebase_binaries(report, root);
  extra["timelines_dropped"] = drop_timelines(report);
  extra["aggregate"] = std::move(aggregate);
  std::string page = kHtmlPage;
  replace_once(page, "@@TITLE@@", html_escape(title));
  // One element holds the report and what the page adds to it: {"report": ..., "page": ...}.
  // The report without its indentation: a third of the size for a large suite.
  const std::string report_json =
      ordered_json::parse(to_json(report)).dump(-1, ' ', false, ordered_json::error_handler_t::replace);
  const std::string data = "{\"report\": " + report_json + ", \"page\": " +
                           extra.dump(-1, ' ', false, ordered_json::error_handler_t::replace) + "}";
  replace_once(page, "@@REPORT@@", script_safe(data));
  return page;
}

void register_html(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "html", "Write one self-contained HTML page: charts of peak, net, RSS and leak growth, "
              "a sortable table, and each test's allocation sites (stack mode)");
  struct Args {
    std::vector<std::string> reports;
    std::string output;
    std::string title;
    std::string root;
    std::string baseline;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("reports", args->reports,
                  "Report files or directories of reports (several are merged)")
      ->required();
  cmd->add_option("-o,--output", args->output, "The page to write")->required();
  cmd->add_option("--title", args->title, "The page's title (default: memx: <report>)");
  cmd->add_option("--baseline", args->baseline,
                  "A baseline report: each test's change and, at the top, the verdict `memx gate` "
                  "gives with its default tolerances");
  cmd->footer(
      "The page needs no network access: its CSS, JavaScript and the report's data are "
      "inline. Open #sort=peak (or any column: name, net, allocs, rss, leakRank, ...) to "
      "start sorted; #sites=open opens every allocation site's tree, #details=open every "
      "test's row (its runs, budget and memory over time); #sort=peak&sites=open does both. "
      "Each test's timeline is drawn for the 300 tests of highest peak at most. A report of "
      "more than 2000 tests is aggregated: the page lists the failed, over-budget, leaking, "
      "suspect and regressed tests (the 1000 most serious) and the 200 highest of each "
      "column, and draws every test in histograms.");
  add_root_option(cmd, args->root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      Report report = read_one_report(args->reports, io.err, "", args->root);
      const std::size_t tests = report.tests.size();
      const std::string title =
          args->title.empty() ? fmt::format("memx: {}", fmt::join(args->reports, " "))
                              : args->title;
      std::optional<Report> base;
      if (!args->baseline.empty()) base = read_one_report({args->baseline}, io.err, "baseline", args->root);
      write_text_file(args->output, render_html(std::move(report), title, args->root, base ? &*base : nullptr, args->baseline));
      fmt::print(io.out, "memx html: wrote {} ({} tests)\n", args->output, tests);
      return kOk;
    };
  });
}

}  // namespace memx::cli
