// memx show: a table of every test of one or more reports.
#include "show.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/diff.hpp"
#include "memx/identity.hpp"
#include "memx/units.hpp"
#include "table.hpp"

namespace memx::cli {
namespace {

const char* const kSorts[] = {"order", "name", "peak", "net", "allocs", "rss", "leak", "time"};
const char* const kOnly[] = {"leaks", "suspects", "budget", "failed"};

// Higher is worse: leak > suspect > unknown > clean; within a verdict, by confidence.
int leak_severity(const LeakAssessment& l) {
  int base = 0;
  switch (l.verdict) {
    case Verdict::clean:
      base = 0;
      break;
    case Verdict::unknown:
      base = 1;
      break;
    case Verdict::suspect:
      base = 2;
      break;
    case Verdict::leak:
      base = 3;
      break;
  }
  return base * 3 + static_cast<int>(l.confidence);
}

Color leak_color(const LeakAssessment& l) {
  switch (l.verdict) {
    case Verdict::leak:
      return l.confidence == Confidence::low ? Color::yellow : Color::red;
    case Verdict::suspect:
      return Color::yellow;
    case Verdict::clean:
      return Color::green;
    case Verdict::unknown:
      return Color::dim;
  }
  return Color::none;
}

double total_ms(const TestRecord& t) {
  double ms = 0;
  for (const RunRecord& r : t.runs) ms += r.duration_ms;
  return ms;
}

std::int64_t rounded(double v) {
  if (!(std::fabs(v) < 9.0e18)) return v < 0 ? INT64_MIN : INT64_MAX;
  return static_cast<std::int64_t>(std::llround(v));
}

bool selected(const TestRecord& t, const std::vector<std::string>& only) {
  if (only.empty()) return true;
  for (const std::string& o : only) {
    if (o == "leaks" && t.leak.verdict == Verdict::leak) return true;
    if (o == "suspects" &&
        (t.leak.verdict == Verdict::leak || t.leak.verdict == Verdict::suspect)) {
      return true;
    }
    if (o == "budget" && !t.violations.empty()) return true;
    if (o == "failed" && t.status == TestStatus::failed) return true;
  }
  return false;
}

// Each test's name as shown: with its binary where the report holds several; empty (the
// names as they are) where it holds one.
std::vector<std::string> shown_names(const Report& report, const std::string& root) {
  bool own = false;
  for (const TestRecord& t : report.tests) own = own || !t.binary.empty();
  if (!own) return {};
  const std::vector<TestKey> keys = test_keys(report, root);
  bool several = false;
  for (const TestKey& k : keys) several = several || k.binary != keys.front().binary;
  if (!several) return {};
  std::vector<std::string> out;
  out.reserve(keys.size());
  for (const TestKey& k : keys) out.push_back(qualified_name(k.binary, k.name));
  return out;
}

}  // namespace

std::string validate(const ShowOptions& options) {
  if (std::find(std::begin(kSorts), std::end(kSorts), options.sort) == std::end(kSorts)) {
    return fmt::format("--sort {}: expected one of {}", options.sort, fmt::join(kSorts, ", "));
  }
  for (const std::string& o : options.only) {
    if (std::find(std::begin(kOnly), std::end(kOnly), o) == std::end(kOnly)) {
      return fmt::format("--only {}: expected one of {}", o, fmt::join(kOnly, ", "));
    }
  }
  return "";
}

std::string summary_line(const Report& report, const std::string& root) {
  const std::vector<std::string> labels = shown_names(report, root);
  if (!report.measured) {
    return fmt::format("{} test{}: nothing measured ({} replaced memx's operator new): no "
                       "figures, budgets not checked, no leak verdicts",
                       report.tests.size(), report.tests.size() == 1 ? "" : "s",
                       report.tool.empty() ? "another tool or library" : report.tool);
  }
  std::size_t over = 0, leaking = 0, suspect = 0;
  std::size_t highest = report.tests.size();
  std::int64_t highest_peak = -1;
  for (std::size_t i = 0; i < report.tests.size(); ++i) {
    const TestRecord& t = report.tests[i];
    if (!t.violations.empty()) ++over;
    if (t.leak.verdict == Verdict::leak) ++leaking;
    if (t.leak.verdict == Verdict::suspect) ++suspect;
    const TestFigures f = figures_of(t);
    if (f.runs > 0 && f.peak_bytes > highest_peak) {
      highest_peak = f.peak_bytes;
      highest = i;
    }
  }
  std::string line = fmt::format("{} test{}: {} over budget, {} leaking, {} suspect",
                                 report.tests.size(), report.tests.size() == 1 ? "" : "s", over,
                                 leaking, suspect);
  if (highest < report.tests.size()) {
    line += fmt::format("; highest peak {} ({})", format_bytes(highest_peak), printable_name(labels.empty() ? report.tests[highest].name : labels[highest]));
  }
  if (!report.complete) line += "; the report is incomplete";
  return line;
}

std::string render_show(const Report& report, const ShowOptions& options, bool color) {
  const std::vector<std::string> labels = shown_names(report, options.root);
  auto label = [&](const TestRecord* t) -> const std::string& {
    return labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())];
  };
  std::vector<const TestRecord*> tests;
  for (const TestRecord& t : report.tests) {
    if (selected(t, options.only)) tests.push_back(&t);
  }
  const std::string& s = options.sort;
  auto key = [&](const TestRecord* t) {
    const TestFigures f = figures_of(*t);
    if (s == "peak") return static_cast<double>(f.peak_bytes);
    if (s == "net") return t->leak.bytes_per_run;
    if (s == "allocs") return static_cast<double>(f.allocs);
    if (s == "rss") return static_cast<double>(f.rss_peak_bytes);
    if (s == "leak") return static_cast<double>(leak_severity(t->leak));
    if (s == "time") return total_ms(*t);
    return 0.0;
  };
  if (s == "name") {
    std::stable_sort(tests.begin(), tests.end(),
                     [&](const TestRecord* a, const TestRecord* b) { return label(a) < label(b); });
  } else if (s != "order") {
    std::stable_sort(tests.begin(), tests.end(),
                     [&](const TestRecord* a, const TestRecord* b) { return key(a) > key(b); });
  }
  const std::size_t matching = tests.size();
  if (options.top > 0 && tests.size() > options.top) tests.resize(options.top);

  Table table({{"test", false},
               {"status", false},
               {"runs", true},
               {"net/run", true},
               {"peak", true},
               {"allocs", true},
               {"rss", true},
               {"leak", false},
               {"budget", false}});
  for (const TestRecord* t : tests) {
    const TestFigures f = figures_of(*t);
    const bool ran = f.runs > 0;
    Color status_color = Color::none;
    if (t->status == TestStatus::failed) status_color = Color::red;
    if (t->status == TestStatus::skipped) status_color = Color::yellow;
    std::string leak = fmt::format("{} ({})", to_string(t->leak.verdict),
                                   to_string(t->leak.confidence));
    if (color) leak = paint("●", leak_color(t->leak), true) + " " + leak;
    std::string budget = "-";
    Color budget_color = Color::dim;
    if (!t->violations.empty()) {
      std::vector<std::string> keys;
      for (const ViolationRecord& v : t->violations) keys.push_back(v.key);
      budget = fmt::format("over: {}", fmt::join(keys, ", "));
      budget_color = Color::red;
    } else if (t->budget && !report.measured) {
      budget = "not checked";  // no figures: the budget neither passed nor failed
      budget_color = Color::yellow;
    } else if (t->budget) {
      budget = "ok";
      budget_color = Color::green;
    }
    table.add_row({{printable_name(label(t)), Color::none},
                   {to_string(t->status), status_color},
                   {std::to_string(f.runs), Color::none},
                   {ran ? format_bytes(rounded(t->leak.bytes_per_run)) : "-", Color::none},
                   {ran ? format_bytes(f.peak_bytes) : "-", Color::none},
                   {ran ? format_count(f.allocs) : "-", Color::none},
                   {ran ? format_bytes(f.rss_peak_bytes) : "-", Color::none},
                   {leak, Color::none},
                   {budget, budget_color}});
  }
  std::string out = table.render(color, options.ascii);
  if (matching != report.tests.size() || tests.size() != matching) {
    out += fmt::format("showing {} of {} tests\n", tests.size(), report.tests.size());
  }
  out += summary_line(report, options.root) + "\n";
  return out;
}

void register_show(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand("show", "Print a table of the tests of one or more reports");
  struct Args {
    std::vector<std::string> reports;
    ShowOptions options;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("reports", args->reports,
                  "Report files or directories of reports (several are merged)")
      ->required();
  cmd->add_option("--sort", args->options.sort,
                  "order (as run), name, or largest first: peak, net, allocs, rss, leak, time")
      ->capture_default_str();
  cmd->add_option("--only", args->options.only,
                  "Only tests that are: leaks, suspects (leak or suspect), budget (over "
                  "budget), failed; repeatable or comma-separated, a test matching any is shown")
      ->allow_extra_args(false);
  cmd->add_option("--top", args->options.top, "At most N rows (after sorting)");
  cmd->add_flag("--ascii", args->options.ascii, "Draw the table with +, - and |");
  add_root_option(cmd, args->options.root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      // --only budget,failed: split the comma-separated values.
      std::vector<std::string> only;
      for (const std::string& o : args->options.only) {
        std::size_t start = 0;
        for (;;) {
          const std::size_t comma = o.find(',', start);
          only.push_back(o.substr(start, comma - start));
          if (comma == std::string::npos) break;
          start = comma + 1;
        }
      }
      args->options.only = only;
      if (std::string bad = validate(args->options); !bad.empty()) throw InputError(bad);
      const Report report = read_one_report(args->reports, io.err, "", args->options.root);
      io.out << render_show(report, args->options, io.color);
      return kOk;
    };
  });
}

}  // namespace memx::cli
