// memx csv: one row per test and run (RFC 4180).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/identity.hpp"

namespace memx::cli {
namespace {

// A field quoted when it holds a comma, a quote, or a line break.
std::string field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void register_csv(CLI::App& app, Runner& runner) {
  auto* cmd = app.add_subcommand("csv", "Write one CSV row per test and run");
  struct Args {
    std::vector<std::string> reports;
    std::string output;
    std::string root;
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("reports", args->reports,
                  "Report files or directories of reports (several are merged)")
      ->required();
  cmd->add_option("-o,--output", args->output, "Write to this file instead of stdout");
  cmd->footer(
      "Columns: test, file, line, status, run (1-based; empty for a test that never ran), "
      "net_bytes, net_blocks, peak_bytes, allocs, rss_peak_bytes, duration_ms, leak_verdict, "
      "leak_confidence, over_budget (the budget keys exceeded, space-separated), binary (the "
      "test's binary as identified: its file name, or its path relative to --root).");
  add_root_option(cmd, args->root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      const Report report = read_one_report(args->reports, io.err, "", args->root);
      std::string text =
          "test,file,line,status,run,net_bytes,net_blocks,peak_bytes,allocs,rss_peak_bytes,"
          "duration_ms,leak_verdict,leak_confidence,over_budget,binary\n";
      // Written in pieces of about 1 MiB: a million tests are never one string.
      bool first_piece = true;
      auto flush = [&](bool last) {
        if (!last && text.size() < (std::size_t{1} << 20)) return;
        if (args->output.empty()) {
          io.out << text;
        } else {
          write_text_file(args->output, text, !first_piece);
        }
        first_piece = false;
        text.clear();
      };
      BinaryIdentities identities(args->root);
      for (const TestRecord& t : report.tests) {
        const std::string& binary = identities.of(report, t);
        std::string over;
        for (const ViolationRecord& v : t.violations) over += (over.empty() ? "" : " ") + v.key;
        const std::string head =
            fmt::format("{},{},{},{}", field(t.name), field(t.file), t.line, to_string(t.status));
        const std::string tail = fmt::format("{},{},{},{}", to_string(t.leak.verdict),
                                             to_string(t.leak.confidence), field(over),
                                             field(binary));
        if (t.runs.empty()) text += fmt::format("{},,,,,,,,{}\n", head, tail);
        for (std::size_t i = 0; i < t.runs.size(); ++i) {
          const RunRecord& r = t.runs[i];
          text += fmt::format("{},{},{},{},{},{},{},{},{}\n", head, i + 1, r.net_bytes,
                              r.net_blocks, r.peak_bytes, r.allocs, r.rss_peak_bytes,
                              r.duration_ms, tail);
        }
        flush(false);
      }
      flush(true);
      return kOk;
    };
  });
}

}  // namespace memx::cli
