// memx html: one self-contained page (inline CSS, JavaScript and SVG; no network access).
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "cli.hpp"
#include "memx/identity.hpp"
#include "html_page.hpp"

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

}  // namespace

/// The whole page for `report`.
std::string render_html(const Report& report, const std::string& title, const std::string& root) {
  // Binaries as identified (relative to --root, or file names): a test carries its own
  // binary, shown before its name, only where the report holds several.
  Report shown = report;
  rebase_binaries(shown, root);
  std::string page = kHtmlPage;
  replace_once(page, "@@TITLE@@", html_escape(title));
  replace_once(page, "@@REPORT@@", script_safe(to_json(shown)));
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
  };
  auto args = std::make_shared<Args>();
  cmd->add_option("reports", args->reports,
                  "Report files or directories of reports (several are merged)")
      ->required();
  cmd->add_option("-o,--output", args->output, "The page to write")->required();
  cmd->add_option("--title", args->title, "The page's title (default: memx: <report>)");
  cmd->footer(
      "The page needs no network access: its CSS, JavaScript and the report's data are "
      "inline. Open #sort=peak (or any column: name, net, allocs, rss, leakRank, ...) to "
      "start sorted; #sites=open opens every allocation site's tree (#sort=peak&sites=open "
      "does both).");
  add_root_option(cmd, args->root);
  cmd->callback([args, &runner] {
    runner = [args](Output& io) {
      const Report report = read_one_report(args->reports, io.err, "", args->root);
      const std::string title =
          args->title.empty() ? fmt::format("memx: {}", fmt::join(args->reports, " "))
                              : args->title;
      write_text_file(args->output, render_html(report, title, args->root));
      fmt::print(io.out, "memx html: wrote {} ({} tests)\n", args->output, report.tests.size());
      return kOk;
    };
  });
}

}  // namespace memx::cli
