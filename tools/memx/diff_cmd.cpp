// memx diff: per-test changes between a base report and a new one.
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "gate_rules.hpp"
#include "json_out.hpp"
#include "memx/diff.hpp"
#include "memx/sites.hpp"
#include "memx/units.hpp"
#include "pair_reader.hpp"
#include "sites_text.hpp"
#include "table.hpp"

namespace memx::cli {
namespace {

std::string leak_text(const LeakAssessment& l) {
  if (l.verdict == Verdict::leak || l.verdict == Verdict::suspect) {
    return fmt::format("{} ({}, {} per run)", to_string(l.verdict), to_string(l.confidence),
                       format_bytes(static_cast<std::int64_t>(std::llround(l.bytes_per_run))));
  }
  return fmt::format("{} ({})", to_string(l.verdict), to_string(l.confidence));
}

std::string figures_text(const TestRecord& t, const TestFigures& f) {
  if (f.runs == 0) return fmt::format("{}, never ran", to_string(t.status));
  return fmt::format("peak {}, net {}, allocs {}, leak {}", format_bytes(f.peak_bytes),
                     format_bytes(f.net_bytes), format_count(f.allocs), leak_text(t.leak));
}

std::string changes_text(const TestDiff& d) {
  const TestFigures a = *d.base_figures();
  const TestFigures b = *d.now_figures();
  std::vector<std::string> parts;
  auto bytes = [&](const char* name, std::int64_t x, std::int64_t y) {
    if (x != y) {
      parts.push_back(fmt::format("{} {} -> {} ({})", name, format_bytes(x), format_bytes(y),
                                  describe_change(x, y, true)));
    }
  };
  bytes("peak", a.peak_bytes, b.peak_bytes);
  bytes("net", a.net_bytes, b.net_bytes);
  if (a.net_blocks != b.net_blocks) {
    parts.push_back(fmt::format("blocks {} -> {}", a.net_blocks, b.net_blocks));
  }
  if (a.allocs != b.allocs) {
    parts.push_back(fmt::format(
        "allocs {} -> {} ({})", format_count(a.allocs), format_count(b.allocs),
        describe_change(static_cast<std::int64_t>(std::min<std::uint64_t>(a.allocs, INT64_MAX)),
                        static_cast<std::int64_t>(std::min<std::uint64_t>(b.allocs, INT64_MAX)),
                        false)));
  }
  if (a.runs != b.runs) parts.push_back(fmt::format("runs {} -> {}", a.runs, b.runs));
  if (d.base->status != d.now->status) {
    parts.push_back(
        fmt::format("status {} -> {}", to_string(d.base->status), to_string(d.now->status)));
  }
  if (d.base->leak.verdict != d.now->leak.verdict) {
    parts.push_back(fmt::format("leak {} -> {}", to_string(d.base->leak.verdict),
                                to_string(d.now->leak.verdict)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

}  // namespace

void register_diff(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand(
      "diff", "Per-test changes of peak, net and allocations, new and fixed leaks, new and "
              "removed tests");
  struct Args {
    std::string base;
    std::string now;
    bool exit_code = false;
    bool json = false;
    std::string root;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("base", args->base, "The base report (file or directory of reports)")
      ->required();
  cmd->add_option("new", args->now, "The new report (file or directory of reports)")
      ->required();
  cmd->add_flag("--exit-code", args->exit_code, "Exit 1 when anything differs (as git diff)");
  cmd->add_flag("--json", args->json,
                "Instead of the text, every test with its figures on each side as JSON "
                "(docs/cli-json.schema.json)");
  cmd->footer(
      "Each figure is the test's worst run (highest peak, net and allocations over its "
      "repetitions), as for budgets. RSS and durations are not compared. With allocation sites "
      "(stack mode, --memx-stacks), a new leak names its site that kept blocks from every "
      "repetition, and a test leaking in both reports names its leaking sites the base did "
      "not have (matched by file name, line and function).");
  add_root_option(cmd, args->root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      // The text names only the tests that differ: the reports are streamed and those kept
      // (pair_reader.hpp). --json lists every test: both are read whole.
      std::optional<ReportPair> pair;
      if (!args->json) pair = read_pair({args->base}, {args->now}, io.err);
      Report base_whole, now_whole;
      if (!pair) {
        base_whole = read_one_report({args->base}, io.err, "base", args->root);
        now_whole = read_one_report({args->now}, io.err, "new", args->root);
      }
      const Report& base = pair ? pair->base : base_whole;
      const Report& now = pair ? pair->now : now_whole;
      const std::vector<TestDiff> diffs = diff_reports(base, now, args->root);
      if (args->json) {
        io.out << diff_json(diffs, args->base, args->now);
        bool differs = false;
        for (const TestDiff& d : diffs) differs = differs || d.added() || d.removed() || d.changed();
        return args->exit_code && differs ? kProblem : kOk;
      }
      std::vector<std::string> new_leaks, new_sites, fixed, changed, added, removed;
      std::size_t unchanged = pair ? pair->same : 0;  // those left out are unchanged
      // Stack mode: where a new leak is, and the leaks at sites the base did not have.
      const bool base_sites = base.stacks.depth > 0;
      for (const TestDiff& d : diffs) {
        bool sites_differ = false;
        if (d.newly_leaks()) {
          std::string entry = fmt::format(
              "{}: {}; {}", printable_name(d.label()), leak_text(d.now->leak),
              d.base ? "baseline: " + leak_text(d.base->leak) : std::string("a new test"));
          const std::vector<const SiteRecord*> growing = growing_sites(*d.now);
          if (!growing.empty()) {
            entry += "\n    " + new_leak_line(*growing.front(), site_repetitions(*d.now));
            if (growing.size() > 1) {
              entry += fmt::format(", and at {} more site{}", growing.size() - 1,
                                   growing.size() == 2 ? "" : "s");
            }
          }
          new_leaks.push_back(std::move(entry));
        } else if (base_sites && d.base && d.now && d.now->leak.verdict == Verdict::leak) {
          for (const SiteRecord* s : new_growing_sites(*d.base, *d.now)) {
            new_sites.push_back(fmt::format("{}: {}", printable_name(d.label()),
                                            new_leak_line(*s, site_repetitions(*d.now))));
            sites_differ = true;
          }
        }
        if (d.leak_fixed()) {
          fixed.push_back(fmt::format("{}: {}; baseline: {}", printable_name(d.label()), leak_text(d.now->leak),
                                      leak_text(d.base->leak)));
        }
        if (d.added()) {
          added.push_back(fmt::format("{}: {}", printable_name(d.label()), figures_text(*d.now, *d.now_figures())));
        } else if (d.removed()) {
          removed.push_back(
              fmt::format("{}: was {}", printable_name(d.label()), figures_text(*d.base, *d.base_figures())));
        } else if (d.changed()) {
          changed.push_back(fmt::format("{}: {}", printable_name(d.label()), changes_text(d)));
        } else if (!sites_differ) {
          ++unchanged;
        }
      }
      std::string out = fmt::format("memx diff: {} ({} tests) -> {} ({} tests)\n", args->base,
                                    pair ? pair->base_tests : base.tests.size(), args->now,
                                    pair ? pair->now_tests : now.tests.size());
      auto section = [&](const char* title, const std::vector<std::string>& lines, Color c) {
        if (lines.empty()) return;
        out += paint(fmt::format("{} ({}):", title, lines.size()), c, io.color) + "\n";
        for (const std::string& l : lines) out += "  " + l + "\n";
      };
      section("new leaks", new_leaks, Color::red);
      section("new leaking sites", new_sites, Color::red);
      section("fixed leaks", fixed, Color::green);
      section("changed", changed, Color::yellow);
      section("new tests", added, Color::none);
      section("removed tests", removed, Color::none);
      out += fmt::format("unchanged: {} test{}\n", unchanged, unchanged == 1 ? "" : "s");
      if (now.stacks.depth > 0 && !base_sites) {
        out += "sites: the base report was written without stack mode: new leaks are placed, sites "
               "are not compared\n";
      }
      io.out << out;
      const bool differs = !new_leaks.empty() || !new_sites.empty() || !fixed.empty() || !changed.empty() ||
                           !added.empty() || !removed.empty();
      return args->exit_code && differs ? kProblem : kOk;
    };
  });
}

}  // namespace memx::cli
