// memx gate: the CI gate on memory regressions against a baseline report.
#include <fcntl.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "cli.hpp"
#include "gate_rules.hpp"
#include "memx/diff.hpp"
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

// A table cell of Markdown: pipes and line breaks escaped.
std::string md(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (c == '\n' || c == '\r') {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out;
}

std::string markdown(const std::vector<Regression>& regressions, std::size_t failing,
                     const std::string& base_path, const std::string& new_path,
                     std::size_t tests, const std::string& tolerances,
                     const std::string& allow_path, const std::vector<std::string>& fixed) {
  std::string out;
  if (failing == 0) {
    out += "## memx gate: passed\n\n";
  } else {
    out += fmt::format("## memx gate: {} regression{}\n\n", failing, failing == 1 ? "" : "s");
  }
  out += fmt::format("`{}` ({} tests) against the baseline `{}`; tolerances: {}.\n\n", new_path,
                     tests, base_path, tolerances);
  auto table = [&](bool allowed) {
    std::string t = "| test | what | baseline | new | change |\n|---|---|---|---|---|\n";
    std::size_t n = 0;
    for (const Regression& r : regressions) {
      if (r.allowed != allowed) continue;
      ++n;
      t += fmt::format("| `{}` | {} | {} | {} | {} |\n", md(r.test), r.what,
                       md(r.base.empty() ? "-" : r.base), md(r.now),
                       md(r.change.empty() ? "-" : r.change));
    }
    return n == 0 ? std::string() : t + "\n";
  };
  if (failing > 0) out += table(false);
  const std::string allowed = table(true);
  if (!allowed.empty()) {
    out += fmt::format("Reported but not gated (on the allow-list `{}`):\n\n", allow_path);
    out += allowed;
  }
  if (!fixed.empty()) {
    out += "Leaks fixed: ";
    std::vector<std::string> names;
    for (const std::string& f : fixed) names.push_back("`" + md(f) + "`");
    out += fmt::format("{}.\n\n", fmt::join(names, ", "));
  }
  if (failing == 0 && allowed.empty()) out += "No test regressed.\n";
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
                  "Also write a Markdown summary to this file (e.g. $GITHUB_STEP_SUMMARY)");
  cmd->footer(
      "Exit status: 0 nothing regressed, 1 regressions (one line each), 2 unusable input. "
      "Figures are each test's worst run. A new test is gated on leaks and budgets only.");
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
      const Report base = read_one_report({args->baseline}, io.err, "baseline");
      const Report now = read_one_report(args->reports, io.err, "new");
      // Never a pass on figures that were not taken.
      require_measured(base, {args->baseline}, "nothing to compare against");
      require_measured(now, args->reports, "nothing to gate (run the gate on a run without it)");
      const std::string new_name = fmt::format("{}", fmt::join(args->reports, " "));
      const std::vector<TestDiff> diffs = diff_reports(base, now);
      const std::vector<Regression> regressions = find_regressions(diffs, rules);
      std::size_t failing = 0;
      for (const Regression& r : regressions) {
        if (r.allowed) {
          fmt::print(io.out, "memx gate: {} {} (allowed by {})\n",
                     paint("allowed", Color::yellow, io.color), r.message, args->allow);
        } else {
          ++failing;
          fmt::print(io.out, "memx gate: {} {}\n", paint("REGRESSION", Color::red, io.color),
                     r.message);
        }
      }
      std::vector<std::string> fixed;
      std::size_t removed = 0;
      for (const TestDiff& d : diffs) {
        if (d.leak_fixed()) fixed.push_back(d.name);
        if (d.removed()) ++removed;
      }
      for (const std::string& f : fixed) {
        fmt::print(io.out, "memx gate: {} {} no longer leaks\n",
                   paint("fixed", Color::green, io.color), f);
      }
      if (removed > 0) {
        fmt::print(io.out, "memx gate: note: {} test{} of the baseline {} not in the new report\n",
                   removed, removed == 1 ? "" : "s", removed == 1 ? "is" : "are");
      }
      const std::string tolerances = fmt::format(
          "peak {}, net {}, allocs {}, rss {}", rules.peak.describe(true),
          rules.net.describe(true), rules.allocs.describe(false), rules.rss.describe(true));
      if (failing == 0) {
        fmt::print(io.out, "memx gate: {}: no regressions in {} tests against {} ({})\n",
                   paint("passed", Color::green, io.color), now.tests.size(), args->baseline,
                   tolerances);
      } else {
        fmt::print(io.out, "memx gate: {}: {} regression{} in {} tests against {} ({})\n",
                   paint("FAILED", Color::red, io.color), failing, failing == 1 ? "" : "s",
                   now.tests.size(), args->baseline, tolerances);
      }
      if (!args->markdown.empty()) {
        write_text_file(args->markdown, markdown(regressions, failing, args->baseline, new_name,
                                                 now.tests.size(), tolerances, args->allow,
                                                 fixed));
      }
      return failing == 0 ? kOk : kProblem;
    };
  });
}

}  // namespace memx::cli
