// memx gate: the CI gate on memory regressions against a baseline report.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "gate_rules.hpp"
#include "json_out.hpp"
#include "junit.hpp"
#include "memx/diff.hpp"
#include "memx/report.hpp"
#include "memx/suppressions.hpp"
#include "memx/units.hpp"
#include "pair_reader.hpp"
#include "table.hpp"

namespace memx::cli {
namespace {

// The whole of a small text file; InputError when it cannot be read.
std::string read_text(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
  std::string text;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw InputError(fmt::format("{}: cannot read: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
    if (text.size() > (64u << 20)) {
      ::close(fd);
      throw InputError(fmt::format("{}: larger than 64 MiB: not an allow-list", path));
    }
  }
  ::close(fd);
  return text;
}

// A table cell of Markdown: control characters (line breaks included) and pipes escaped.
std::string md(const std::string& text) {
  std::string out;
  for (char c : printable_name(text)) {
    if (c == '|') {
      out += "\\|";
    } else {
      out += c;
    }
  }
  return out;
}

// What the gate found besides regressions, for the summary line and the Markdown.
struct Outcome {
  std::size_t failing = 0;            // regressions not on the allow-list
  std::size_t failing_tests = 0;      // tests with such regressions
  std::vector<std::string> missing;   // baseline tests not in the new report, gated
  std::vector<std::string> missing_allowed;  // ... reported only (allow-list, --allow-missing)
  std::vector<std::string> incomplete;       // "the new report", "the baseline", gated
  std::vector<std::string> incomplete_allowed;  // ... with --allow-incomplete

  std::size_t problems() const { return failing + missing.size() + incomplete.size(); }
  // "2 tests regressed (5 regressions), 1 missing test, 1 incomplete report"
  std::string verdict() const {
    std::vector<std::string> parts;
    if (failing > 0) {
      parts.push_back(fmt::format("{} test{} regressed ({} regression{})", failing_tests,
                                  failing_tests == 1 ? "" : "s", failing, failing == 1 ? "" : "s"));
    }
    if (!missing.empty()) {
      parts.push_back(fmt::format("{} missing test{}", missing.size(), missing.size() == 1 ? "" : "s"));
    }
    if (!incomplete.empty()) {
      parts.push_back(fmt::format("{} incomplete report{}", incomplete.size(),
                                  incomplete.size() == 1 ? "" : "s"));
    }
    return fmt::format("{}", fmt::join(parts, ", "));
  }
};

// At most `limit` names as `code`, then "and N more".
std::string name_list(const std::vector<std::string>& names, std::size_t limit = 50) {
  std::vector<std::string> shown;
  for (std::size_t i = 0; i < names.size() && i < limit; ++i) shown.push_back("`" + md(names[i]) + "`");
  std::string out = fmt::format("{}", fmt::join(shown, ", "));
  if (names.size() > limit) out += fmt::format(" and {} more", names.size() - limit);
  return out;
}

std::string markdown(const std::vector<TestRegressions>& changed, const Outcome& outcome,
                     const std::string& base_path, const std::string& new_path,
                     std::size_t tests, const std::string& tolerances,
                     const std::string& allow_path, const std::vector<std::string>& fixed) {
  std::string out;
  if (outcome.problems() == 0) {
    out += "## memx gate: passed\n\n";
  } else {
    out += fmt::format("## memx gate: {}\n\n", outcome.verdict());
  }
  out += fmt::format("`{}` ({} tests) against the baseline `{}`; tolerances: {}.\n\n", md(new_path),
                     tests, md(base_path), tolerances);
  for (const std::string& what : outcome.incomplete) {
    out += fmt::format(
        "**The {} is incomplete**: its process did not finish (crashed, killed or still "
        "running), so the tests it did not reach were never measured.\n\n",
        what);
  }
  for (const std::string& what : outcome.incomplete_allowed) {
    out += fmt::format("The {} is incomplete (allowed by `--allow-incomplete`): only its finished "
                       "tests are gated.\n\n",
                       what);
  }
  auto table = [&](bool allowed) {
    // One row per test, like the gate's lines: its regressions one under another.
    std::string t = "| test | what | baseline | new | change |\n|---|---|---|---|---|\n";
    std::size_t n = 0;
    for (const TestRegressions& c : changed) {
      if (c.allowed != allowed) continue;
      ++n;
      std::vector<std::string> what, base, now, change;
      for (const Regression* r : c.found) {
        what.push_back(r->what);
        base.push_back(md(r->base.empty() ? "-" : r->base));
        now.push_back(md(r->now));
        change.push_back(md(r->change.empty() ? "-" : r->change));
      }
      t += fmt::format("| `{}` | {} | {} | {} | {} |\n", md(c.test), fmt::join(what, "<br>"),
                       fmt::join(base, "<br>"), fmt::join(now, "<br>"), fmt::join(change, "<br>"));
    }
    return n == 0 ? std::string() : t + "\n";
  };
  if (outcome.failing > 0) out += table(false);
  if (!outcome.missing.empty()) {
    out += fmt::format("In the baseline but missing from the new report: {}.\n\n",
                       name_list(outcome.missing));
  }
  const std::string allowed = table(true);
  if (!allowed.empty()) {
    out += fmt::format("Reported but not gated (on the allow-list `{}`):\n\n", md(allow_path));
    out += allowed;
  }
  if (!outcome.missing_allowed.empty()) {
    out += fmt::format("In the baseline but not in the new report (not gated): {}.\n\n",
                       name_list(outcome.missing_allowed));
  }
  if (!fixed.empty()) out += fmt::format("Leaks fixed: {}.\n\n", name_list(fixed, fixed.size()));
  if (outcome.problems() == 0 && allowed.empty()) out += "No test regressed.\n";
  return out;
}

}  // namespace

void register_gate(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "gate", "Fail (exit 1) when a test newly leaks, newly breaks its budget, or its peak, net "
              "or allocations grew beyond tolerances over a baseline report");
  struct Args {
    std::string baseline;
    std::vector<std::string> reports;
    std::string peak = "10%", net = "0", allocs = "10%", rss = "off";
    std::string allow;
    std::string markdown;
    std::string json;
    std::string junit;
    bool allow_incomplete = false;
    bool allow_missing = false;
    bool warn_only = false;
    std::string suppressions;
    std::string root;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("--baseline", args->baseline, "The baseline report")->required();
  cmd->add_option("reports", args->reports,
                  "The new report(s): files or directories (several are merged)")
      ->required();
  cmd->add_option("--peak-tolerance", args->peak,
                  "Growth of the peak allowed: 10%, 4KiB, 10%,4KiB (whichever allows more), off")
      ->capture_default_str();
  cmd->add_option("--net-tolerance", args->net, "Growth of net bytes allowed (same forms)")
      ->capture_default_str();
  cmd->add_option("--allocs-tolerance", args->allocs,
                  "Growth of allocations allowed: 10%, 100, 10%,100, off")
      ->capture_default_str();
  cmd->add_option("--rss-tolerance", args->rss, "Growth of peak RSS allowed (off: not gated)")
      ->capture_default_str();
  cmd->add_option("--allow", args->allow,
                  "Allow-list file: one test name or pattern ('*' wildcards) per line, '#' "
                  "comments; their regressions are reported but not gated");
  cmd->add_option("--markdown", args->markdown,
                  "Also write a Markdown summary to this file (default: appended to "
                  "$GITHUB_STEP_SUMMARY, GitHub Actions' job summary, when it is set)");
  cmd->add_option("--json", args->json,
                  "Also write the verdict as JSON to this file: each regressed test's exact "
                  "figures and regressions, the missing tests, totals (docs/cli-json.schema.json)");
  cmd->add_option("--junit", args->junit,
                  "Also write the verdict as JUnit XML to this file (GitLab's "
                  "artifacts:reports:junit, Jenkins): one testcase per test, a failure for each "
                  "regressed or missing test and incomplete report, with exact figures");
  cmd->add_flag("--allow-incomplete", args->allow_incomplete,
                "Gate the finished tests of an incomplete report (its process crashed or was "
                "killed) instead of failing");
  cmd->add_flag("--allow-missing", args->allow_missing,
                "Do not fail when tests of the baseline are missing from the new report");
  cmd->add_flag("--warn-only", args->warn_only,
                "Print the regressions but exit 0 (adoption: gate later); unusable input still "
                "exits 2");
  cmd->add_option("--suppressions", args->suppressions,
                  "Leak suppressions (LeakSanitizer's leak:PATTERN lines, test:PATTERN lines): a "
                  "suppressed leak is no regression");
  add_root_option(cmd, args->root);
  cmd->footer(
      "Exit status: 0 nothing regressed, 1 regressions, baseline tests missing from the new "
      "report or an incomplete report (one line each), 2 unusable input. Figures are each "
      "test's worst run after the warm-up (the first run, when there are two or more). A new test is gated on leaks and budgets only.");
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      GateRules rules;
      auto tolerance = [](const char* flag, const std::string& text, bool bytes) {
        ToleranceParse p = parse_tolerance(text, bytes);
        if (!p.tolerance) throw InputError(fmt::format("{} {}", flag, p.error));
        return *p.tolerance;
      };
      rules.peak = tolerance("--peak-tolerance", args->peak, true);
      rules.net = tolerance("--net-tolerance", args->net, true);
      rules.allocs = tolerance("--allocs-tolerance", args->allocs, false);
      rules.rss = tolerance("--rss-tolerance", args->rss, true);
      if (!args->allow.empty()) {
        AllowListParse a = parse_allow_list(read_text(args->allow), args->allow);
        if (!a.list) throw InputError(a.error);
        rules.allow = std::move(*a.list);
      }
      std::vector<Suppression> suppressions;
      if (!args->suppressions.empty()) {
        SuppressionsParse sp = read_suppressions_file(args->suppressions);
        if (!sp.list) throw InputError(sp.error);
        suppressions = std::move(*sp.list);
      }
      // Both sides: a leak suppressed in both is neither new nor fixed. Counted on the new.
      std::vector<std::size_t> used(suppressions.size(), 0);
      PairHooks hooks;
      if (!suppressions.empty()) {
        hooks.base = [&](TestRecord& t) { suppress_leak(t, suppressions); };
        hooks.now = [&](TestRecord& t) {
          if (const std::optional<std::size_t> i = suppress_leak(t, suppressions)) ++used[*i];
        };
        hooks.now_restart = [&] { std::fill(used.begin(), used.end(), 0); };
      }
      // The gate names only the tests that differ: the reports are streamed and those kept
      // (pair_reader.hpp); --junit lists the others by name, in their places.
      hooks.places = !args->junit.empty();
      std::optional<ReportPair> pair = read_pair({args->baseline}, args->reports, io.err, hooks);
      Report base_whole, now_whole;
      if (!pair) {
        std::fill(used.begin(), used.end(), 0);  // a streamed reading may have counted some
        base_whole = read_one_report({args->baseline}, io.err, "baseline", args->root);
        now_whole = read_one_report(args->reports, io.err, "new", args->root);
        if (hooks.base) {
          for (TestRecord& t : base_whole.tests) hooks.base(t);
          for (TestRecord& t : now_whole.tests) hooks.now(t);
        }
      }
      const Report& base = pair ? pair->base : base_whole;
      const Report& now = pair ? pair->now : now_whole;
      const std::size_t now_tests = pair ? pair->now_tests : now.tests.size();
      if (!args->suppressions.empty()) {
        std::string used_text, unused_text;
        for (std::size_t i = 0; i < suppressions.size(); ++i) {
          std::string& to = used[i] > 0 ? used_text : unused_text;
          if (!to.empty()) to += ", ";
          to += used[i] > 0 ? fmt::format("{} ({} test{})", suppressions[i].text(), used[i],
                                          used[i] == 1 ? "" : "s")
                            : fmt::format("{} (line {})", suppressions[i].text(), suppressions[i].line);
        }
        fmt::print(io.out, "memx gate: suppressions used ({}): {}\n", args->suppressions,
                   used_text.empty() ? std::string("none") : used_text);
        if (!unused_text.empty()) fmt::print(io.out, "memx gate: suppressions unused: {}\n", unused_text);
      }
      // Never a pass on figures that were not taken.
      require_measured(base, {args->baseline}, "nothing to compare against");
      require_measured(now, args->reports, "nothing to gate (run the gate on a run without it)");
      const std::string new_name = fmt::format("{}", fmt::join(args->reports, " "));
      const std::vector<TestDiff> diffs = diff_reports(base, now, args->root);  // less pair->same
      const std::vector<Regression> regressions = find_regressions(diffs, rules);
      // One line per changed test, all its regressions together.
      const std::vector<TestRegressions> changed = group_by_test(regressions);
      Outcome outcome;
      for (const TestRegressions& c : changed) {
        if (c.allowed) {
          fmt::print(io.out, "memx gate: {} {} (allowed by {})\n",
                     paint("allowed", Color::yellow, io.color), c.line, args->allow);
        } else {
          ++outcome.failing_tests;
          outcome.failing += c.found.size();
          fmt::print(io.out, "memx gate: {} {}\n", paint("REGRESSION", Color::red, io.color),
                     c.line);
        }
      }
      std::vector<std::string> fixed;
      for (const TestDiff& d : diffs) {
        if (d.leak_fixed()) fixed.push_back(d.label());
      }
      for (const std::string& f : fixed) {
        fmt::print(io.out, "memx gate: {} {} no longer leaks\n",
                   paint("fixed", Color::green, io.color), printable_name(f));
      }
      // A test of the baseline missing from the new report was not measured: it fails the
      // gate like a regression (it may have been renamed, removed, or never reached).
      for (const TestDiff& d : diffs) {
        if (!d.removed()) continue;
        if (args->allow_missing) {
          outcome.missing_allowed.push_back(d.label());
        } else if (rules.allow.allows(d.name) || rules.allow.allows(d.label())) {
          outcome.missing_allowed.push_back(d.label());
          fmt::print(io.out, "memx gate: {} {}: in the baseline, not in the new report (allowed by {})\n",
                     paint("allowed", Color::yellow, io.color), printable_name(d.label()), args->allow);
        } else {
          outcome.missing.push_back(d.label());
          fmt::print(io.out, "memx gate: {} {}: in the baseline, not in the new report\n",
                     paint("MISSING", Color::red, io.color), printable_name(d.label()));
        }
      }
      if (args->allow_missing && !outcome.missing_allowed.empty()) {
        const std::size_t n = outcome.missing_allowed.size();
        fmt::print(io.out,
                   "memx gate: note: {} test{} of the baseline {} not in the new report (allowed "
                   "by --allow-missing)\n",
                   n, n == 1 ? "" : "s", n == 1 ? "is" : "are");
      }
      // An incomplete report: the run crashed or was killed, the tests it did not reach were
      // never measured; passing it would pass what did not run.
      auto judge_complete = [&](const Report& r, const std::string& what, const std::string& paths) {
        if (r.complete) return;
        if (args->allow_incomplete) {
          outcome.incomplete_allowed.push_back(what);
          fmt::print(io.out,
                     "memx gate: note: the {} {} is incomplete (allowed by --allow-incomplete): "
                     "only its finished tests are gated\n",
                     what, paths);
        } else {
          outcome.incomplete.push_back(what);
          fmt::print(io.out,
                     "memx gate: {} the {} {} is incomplete: its process did not finish "
                     "(crashed, killed or still running); --allow-incomplete gates its "
                     "finished tests\n",
                     paint("INCOMPLETE", Color::red, io.color), what, paths);
        }
      };
      judge_complete(base, "baseline", args->baseline);
      judge_complete(now, "new report", new_name);
      const std::string tolerances = fmt::format(
          "peak {}, net {}, allocs {}, rss {}", rules.peak.describe(true),
          rules.net.describe(true), rules.allocs.describe(false), rules.rss.describe(true));
      if (outcome.problems() == 0) {
        fmt::print(io.out, "memx gate: {}: no regressions in {} tests against {} ({})\n",
                   paint("passed", Color::green, io.color), now_tests, args->baseline,
                   tolerances);
      } else if (args->warn_only) {
        fmt::print(io.out,
                   "memx gate: {}: {} in {} tests against {} ({}); not enforced (--warn-only)\n",
                   paint("warning", Color::yellow, io.color), outcome.verdict(), now_tests,
                   args->baseline, tolerances);
      } else {
        fmt::print(io.out, "memx gate: {}: {} in {} tests against {} ({})\n",
                   paint("FAILED", Color::red, io.color), outcome.verdict(), now_tests,
                   args->baseline, tolerances);
      }
      if (!args->markdown.empty()) {
        write_text_file(args->markdown, markdown(changed, outcome, args->baseline, new_name,
                                                 now_tests, tolerances, args->allow,
                                                 fixed));
      } else if (const char* summary = std::getenv("GITHUB_STEP_SUMMARY");
                 summary != nullptr && *summary != '\0') {
        // GitHub Actions: the same Markdown appended to the job summary (--markdown names
        // another file instead).
        write_text_file(summary, markdown(changed, outcome, args->baseline, new_name,
                                          now_tests, tolerances, args->allow, fixed),
                        /*append=*/true);
      }
      if (!args->json.empty()) {
        GateJsonFacts facts{args->baseline, new_name, tolerances, outcome.problems() == 0,
                            outcome.missing, outcome.missing_allowed, outcome.incomplete, fixed,
                            pair ? pair->same : 0};
        write_text_file(args->json, gate_json(diffs, regressions, facts));
      }
      if (!args->junit.empty()) {
        GateJunitFacts facts{args->allow, outcome.missing, outcome.missing_allowed, {}, {}};
        auto with_paths = [&](const std::string& what) {
          return std::make_pair(what, what == "baseline" ? args->baseline : new_name);
        };
        for (const std::string& w : outcome.incomplete) facts.incomplete.push_back(with_paths(w));
        for (const std::string& w : outcome.incomplete_allowed) {
          facts.incomplete_allowed.push_back(with_paths(w));
        }
        write_text_file(args->junit, pair ? gate_junit(diffs, changed, facts, pair->left_out)
                                          : gate_junit(diffs, changed, facts));
      }
      return outcome.problems() == 0 || args->warn_only ? kOk : kProblem;
    };
  });
}

}  // namespace memx::cli
