// memx show: a table of every test of one or more reports.
#include "show.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/diff.hpp"
#include "memx/identity.hpp"
#include "gate_rules.hpp"
#include "json_out.hpp"
#include "memx/units.hpp"
#include "memx/census.hpp"
#include "memx/sites.hpp"
#include "sites_text.hpp"
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
    case Verdict::expected:  // declared by its budget (leak=N): as good as clean
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
  if (!l.suppressed_by.empty()) return Color::dim;  // suppressed: fails nothing
  switch (l.verdict) {
    case Verdict::leak:
      return l.confidence == Confidence::low ? Color::yellow : Color::red;
    case Verdict::suspect:
      return Color::yellow;
    case Verdict::clean:
    case Verdict::expected:
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

// Help shows a flag that takes a value as CLI11 declares it, with its default value
// ("--sites{*}"); `--sites[=TEST]` is how it is written.
class ShowFormatter : public CLI::Formatter {
 public:
  std::string make_option_name(const CLI::Option* opt, bool positional) const override {
    std::string name = CLI::Formatter::make_option_name(opt, positional);
    if (const std::size_t at = name.find("{*}"); at != std::string::npos) {
      name.replace(at, 3, "[=TEST]");
    }
    return name;
  }
};

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
  std::size_t over = 0, leaking = 0, suspect = 0, left = 0;
  std::size_t highest = report.tests.size();
  std::int64_t highest_peak = -1;
  for (std::size_t i = 0; i < report.tests.size(); ++i) {
    const TestRecord& t = report.tests[i];
    if (!t.violations.empty()) ++over;
    if (t.leak.reported_leak()) ++leaking;
    if (t.leak.verdict == Verdict::suspect) ++suspect;
    if (t.resource_leaks.run > 0) ++left;
    const TestFigures f = figures_of(t);
    if (f.runs > 0 && f.peak_bytes > highest_peak) {
      highest_peak = f.peak_bytes;
      highest = i;
    }
  }
  std::string line = fmt::format("{} test{}: {} over budget, {} leaking, {} suspect",
                                 report.tests.size(), report.tests.size() == 1 ? "" : "s", over,
                                 leaking, suspect);
  // Only when there are some: reports without them read as before.
  if (left > 0) line += fmt::format(", {} leaving descriptors or threads", left);
  if (highest < report.tests.size()) {
    line += fmt::format("; highest peak {} ({})", format_bytes(highest_peak), printable_name(labels.empty() ? report.tests[highest].name : labels[highest]));
  }
  if (!report.complete) line += "; the report is incomplete";
  return line;
}

namespace {

// "descriptors and threads left behind:" and, per test of `tests` that left any, what its
// latest such run left ("" when none did).
std::string resource_lines(const Report& report, const std::vector<const TestRecord*>& tests,
                           const std::vector<std::string>& labels, bool color) {
  std::string out;
  for (const TestRecord* t : tests) {
    const ResourceLeakRecord& left = t->resource_leaks;
    if (left.run <= 0 || static_cast<std::size_t>(left.run) > t->runs.size()) continue;
    if (out.empty()) out = "descriptors and threads left behind:\n";
    const RunRecord& run = t->runs[static_cast<std::size_t>(left.run) - 1];
    const std::string name = printable_name(
        labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())]);
    out += fmt::format("  {} (run {} of {}): {}", paint(name, Color::bold, color), left.run,
                       t->runs.size(), resource_leak_counts(run.fds, run.threads));
    out += resource_leak_lines(left, run, "    ", kMaxNamedResources * 2) + "\n";
  }
  return out;
}

// The tests `options` selects (--sites pattern, --only), sorted (--sort), at most --top;
// *matching is how many there were before --top.
std::vector<const TestRecord*> chosen_tests(const Report& report, const ShowOptions& options,
                                            const std::vector<std::string>& labels,
                                            std::size_t* matching) {
  auto label = [&](const TestRecord* t) -> const std::string& {
    return labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())];
  };
  const AllowList pattern{{options.sites}};
  std::vector<const TestRecord*> tests;
  for (const TestRecord& t : report.tests) {
    if (!options.sites.empty() && !pattern.allows(t.name) && !pattern.allows(label(&t))) continue;
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
  *matching = tests.size();
  if (options.top > 0 && tests.size() > options.top) tests.resize(options.top);
  return tests;
}

}  // namespace

std::string render_show_json(const Report& report, const ShowOptions& options) {
  const std::vector<std::string> labels = shown_names(report, options.root);
  std::size_t matching = 0;
  const std::vector<const TestRecord*> tests = chosen_tests(report, options, labels, &matching);
  std::vector<std::string> names;
  for (const TestRecord* t : tests) {
    names.push_back(labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())]);
  }
  return show_json(report, tests, names, matching);
}

std::string render_show(const Report& report, const ShowOptions& options, bool color) {
  std::ostringstream out;
  write_show(report, options, color, out);
  return out.str();
}

void write_show(const Report& report, const ShowOptions& options, bool color, std::ostream& os) {
  // A leak watch's report (memx watch, memx::write_watch_report) has no tests: its analysis.
  if (report.watch && report.tests.empty()) {
    os << describe(report.watch->analysis);
    return;
  }
  const std::vector<std::string> labels = shown_names(report, options.root);
  auto label = [&](const TestRecord* t) -> const std::string& {
    return labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())];
  };
  std::size_t matching = 0;
  const std::vector<const TestRecord*> tests = chosen_tests(report, options, labels, &matching);

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
    std::string leak = fmt::format("{}{} ({})", to_string(t->leak.verdict),
                                   t->leak.suppressed_by.empty() ? "" : ", suppressed",
                                   to_string(t->leak.confidence));
    if (color) leak = paint("●", leak_color(t->leak), true) + " " + leak;
    std::string budget = "-";
    Color budget_color = Color::dim;
    if (!t->violations.empty()) {
      std::vector<std::string> keys;
      for (const ViolationRecord& v : t->violations) keys.push_back(v.key);
      // Not enforced (warn-only): reported, did not fail the test.
      const bool warned = !t->violations.front().enforced;
      budget = fmt::format("{}: {}", warned ? "warn" : "over", fmt::join(keys, ", "));
      budget_color = warned ? Color::yellow : Color::red;
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
  table.render(color, options.ascii, os);
  std::string out = resource_lines(report, tests, labels, color);
  if (matching != report.tests.size() || tests.size() != matching) {
    out += fmt::format("showing {} of {} tests\n", tests.size(), report.tests.size());
  }
  out += summary_line(report, options.root) + "\n";
  if (report.watch) out += describe(report.watch->analysis);
  os << out;
}

std::string render_types(const Report& report, const ShowOptions& options, bool color) {
  const std::vector<std::string> labels = shown_names(report, options.root);
  ShowOptions chosen = options;
  if (chosen.sites == "*") chosen.sites.clear();
  std::size_t matching = 0;
  const std::vector<const TestRecord*> tests = chosen_tests(report, chosen, labels, &matching);
  if (matching == 0 && !chosen.sites.empty()) {
    throw InputError(fmt::format("--sites={}: no test of the report has this name (a pattern: "
                                 "'*' matches any characters)",
                                 printable_name(chosen.sites)));
  }
  const std::vector<TypeCount> census = census_of_sites(tests);
  std::string out = fmt::format(
      "what {} test{} left live, by allocated type (from each test's top {} site{}; "
      "docs/stacks.md, \"Heap census by type\")\n",
      tests.size(), tests.size() == 1 ? "" : "s", report.stacks.top, report.stacks.top == 1 ? "" : "s");
  if (census.empty()) {
    out += "nothing: no site of these tests is live at their end\n";
  } else {
    Table table({{"type", false},
                 {"from", false},
                 {"live", true},
                 {"blocks", true},
                 {"sites", true},
                 {"tests", true},
                 {"for example at", false}});
    for (const TypeCount& c : census) {
      table.add_row({{printable_name(c.type.name), Color::bold},
                     {to_string(c.type.source), Color::dim},
                     {format_bytes(c.bytes), Color::none},
                     {format_count(static_cast<std::uint64_t>(c.blocks)), Color::none},
                     {std::to_string(c.sites), Color::none},
                     {std::to_string(c.tests), Color::none},
                     {printable_name(c.where), Color::none}});
    }
    out += table.render(color, options.ascii);
  }
  out += summary_line(report, options.root) + "\n";
  return out;
}

std::string render_sites(const Report& report, const ShowOptions& options, bool color) {
  const std::vector<std::string> labels = shown_names(report, options.root);
  std::size_t matching = 0;
  const std::vector<const TestRecord*> tests = chosen_tests(report, options, labels, &matching);
  if (matching == 0 && options.sites != "*" && !options.sites.empty()) {
    ShowOptions every = options;
    every.only.clear();
    std::size_t named = 0;
    chosen_tests(report, every, labels, &named);
    if (named == 0) {
      throw InputError(fmt::format("--sites={}: no test of the report has this name (a pattern: "
                                   "'*' matches any characters)",
                                   printable_name(options.sites)));
    }
  }
  const StacksInfo& st = report.stacks;
  std::string out = fmt::format(
      "stack mode: depth {} ({}), at most {} site{} per test, {}", st.depth, st.unwinder, st.top,
      st.top == 1 ? "" : "s",
      st.final ? "taken at the end of the run"
               : "each test's as of its last run (the report was written while tests ran)");
  if (st.dropped > 0) {
    out += fmt::format("; {} allocation{} could not be recorded (the sites miss them)",
                       st.dropped, st.dropped == 1 ? "" : "s");
  }
  out += "\n";
  for (const TestRecord* t : tests) {
    const std::string name = printable_name(
        labels.empty() ? t->name : labels[static_cast<std::size_t>(t - report.tests.data())]);
    const std::string verdict =
        fmt::format("{}{} ({})", to_string(t->leak.verdict),
                    t->leak.suppressed_by.empty() ? "" : ", suppressed by " + t->leak.suppressed_by,
                    to_string(t->leak.confidence));
    std::string head = paint(name, Color::bold, color) + ": " +
                       (color ? paint(verdict, leak_color(t->leak), true) : verdict);
    if (t->runs.empty()) {
      out += head + fmt::format(": {}, never ran\n", to_string(t->status));
      continue;
    }
    if (!t->sites_recorded) {
      out += head + ": sites not recorded (it ran without stack mode)\n";
    } else if (t->sites.empty()) {
      out += head + ": no blocks left live\n";
    } else {
      std::int64_t bytes = 0, blocks = 0;
      for (const SiteRecord& site : t->sites) {
        bytes += site.bytes;
        blocks += site.blocks;
      }
      const std::size_t n = t->sites.size();
      out += head + fmt::format(": {} in {} block{} live at {}\n", format_bytes(bytes), blocks,
                                blocks == 1 ? "" : "s",
                                st.top > 0 && n >= static_cast<std::size_t>(st.top)
                                    ? fmt::format("its top {} sites (more with --memx-sites=N)", n)
                                    : fmt::format("{} site{}", n, n == 1 ? "" : "s"));
      for (const SiteRecord& site : t->sites) {
        out += "  " + site_line(site, site_repetitions(*t)) + "\n";
        if (options.stacks) out += stack_lines(site, "      ", color);
      }
    }
    if (!t->peak_sites.empty()) {
      // What its worst run held at its peak (within 1/16 of it).
      std::int64_t peak = 0;
      for (const RunRecord& r : t->runs) peak = std::max(peak, r.peak_bytes);
      out += fmt::format("  at its peak ({}, its worst run):\n", format_bytes(peak));
      for (const SiteRecord& site : t->peak_sites) {
        out += "    " + site_entry(site.bytes, site.blocks, site, t->file) + "\n";
        if (options.stacks) out += stack_lines(site, "        ", color);
      }
    }
  }
  if (!options.summary) return out;
  if (matching != report.tests.size() || tests.size() != matching) {
    out += fmt::format("showing {} of {} tests\n", tests.size(), report.tests.size());
  }
  out += summary_line(report, options.root) + "\n";
  return out;
}

void register_show(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "show", "Print a table of the tests of one or more reports, or their allocation sites (--sites)");
  struct Args {
    std::vector<std::string> reports;
    ShowOptions options;
    bool json = false;
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
  cmd->add_flag("--sites{*}", args->options.sites,
                "Instead of the table, where each test's live blocks were allocated (stack "
                "mode: reports of runs with --memx-stacks); --sites=TEST for the tests whose "
                "name matches TEST ('*' matches any characters)");
  cmd->add_flag("--stacks", args->options.stacks,
                "With --sites: each site's whole stack, the frames folded away before the "
                "user's marked (implies --sites)");
  cmd->add_flag("--types", args->options.types,
                "Instead of the table, what the tests left live by allocated type "
                "(std::vector<Node>, a make_shared<T>, a constructor's class; stack mode); "
                "with --sites=TEST, of those tests only");
  cmd->add_flag("--json", args->json,
                 "Instead of the table, the selected tests as JSON (docs/cli-json.schema.json)");
  add_root_option(cmd, args->options.root);
  cmd->formatter(std::make_shared<ShowFormatter>());
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
      if (args->options.stacks && args->options.sites.empty()) args->options.sites = "*";
      if (args->options.sites == "*" || args->options.types) {
        // `--sites NAME`: a test's name taken for a report (the flag's value needs '=').
        for (const std::string& path : args->reports) {
          std::error_code ec;
          if (!std::filesystem::exists(path, ec) && path.find('/') == std::string::npos &&
              path.find(".json") == std::string::npos) {
            throw InputError(fmt::format("{}: no such report; to show the sites of a test, "
                                         "write --sites={}", path, path));
          }
        }
      }
      const Report report = read_one_report(args->reports, io.err, "", args->options.root);
      if (args->json) {
        if (!args->options.sites.empty() || args->options.types) {
          throw InputError("--json: not with --sites, --stacks or --types");
        }
        io.out << render_show_json(report, args->options);
        return kOk;
      }
      if (args->options.sites.empty() && !args->options.types) {
        write_show(report, args->options, io.color, io.out);
        return kOk;
      }
      if (report.stacks.depth <= 0) {
        throw InputError(fmt::format(
            "{}: no allocation sites: the tests ran without stack mode; run them with "
            "--memx-stacks (or MEMX_STACKS=on) to record where their live blocks were allocated",
            fmt::join(args->reports, " ")));
      }
      io.out << (args->options.types ? render_types(report, args->options, io.color)
                                     : render_sites(report, args->options, io.color));
      return kOk;
    };
  });
}

}  // namespace memx::cli
