// memx CLI: reading inputs, issues, colour choice.
#include "cli.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <ostream>
#include <string>
#include <system_error>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)
#include <fmt/ostream.h>

#include "memx/identity.hpp"
#include "memx/units.hpp"

namespace memx::cli {
namespace {
std::string& command_storage() {
  static std::string name;
  return name;
}
}  // namespace

const std::string& command_name() { return command_storage(); }
void set_command_name(std::string name) { command_storage() = std::move(name); }

std::vector<std::string> expand_inputs(const std::vector<std::string>& paths) {
  std::vector<std::string> files;
  for (const std::string& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      throw InputError(fmt::format("{}: cannot open: {}", path, std::strerror(errno)));
    }
    if (!S_ISDIR(st.st_mode)) {
      files.push_back(path);
      continue;
    }
    std::vector<std::string> in_dir;
    std::error_code ec;
    for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end;
         it.increment(ec)) {
      if (it->path().extension() == ".json" && !it->is_directory()) {
        in_dir.push_back(it->path().string());
      }
    }
    if (ec) throw InputError(fmt::format("{}: cannot list the directory: {}", path, ec.message()));
    if (in_dir.empty()) throw InputError(fmt::format("{}: no report (*.json) in this directory", path));
    std::sort(in_dir.begin(), in_dir.end());
    files.insert(files.end(), in_dir.begin(), in_dir.end());
  }
  return files;
}

std::vector<SourcedReport> read_inputs(const std::vector<std::string>& paths) {
  std::vector<SourcedReport> out;
  for (const std::string& file : expand_inputs(paths)) {
    ReportRead r = read_report_file(file);
    if (!r.report) throw InputError(r.error);
    out.push_back(SourcedReport{file, std::move(*r.report)});
  }
  return out;
}

void print_issues(const std::vector<MergeIssue>& issues, const std::string& command,
                  std::ostream& err) {
  for (const MergeIssue& i : issues) {
    fmt::print(err, "memx {}: {}: {}\n", command, to_string(i.kind), i.message);
  }
}

void add_root_option(CLI::App* cmd, std::string& root) {
  cmd->add_option("--root", root,
                  "Identify binaries by their path relative to DIR (default: by file name); "
                  "tests are identified by binary and name")
      ->type_name("DIR");
}

void require_measured(const Report& report, const std::vector<std::string>& paths,
                      const std::string& use) {
  if (report.measured) return;
  throw InputError(fmt::format(
      "{}: not measured ({} replaced memx's operator new, so the report has no figures): {}",
      fmt::join(paths, " "), report.tool.empty() ? "another tool or library" : report.tool,
      use));
}

Report read_one_report(const std::vector<std::string>& paths, std::ostream& err,
                       const std::string& what, const std::string& root) {
  std::vector<SourcedReport> inputs = read_inputs(paths);
  auto checked = [&](Report report) {
    const std::string collision = identity_collision(report, root);
    if (!collision.empty()) {
      throw InputError(fmt::format("{}{}{}", what, what.empty() ? "" : ": ", collision));
    }
    return report;
  };
  if (inputs.size() == 1) {
    if (!inputs.front().report.complete) {
      // The issue names the file and says what is missing; the tests need not be copied.
      auto tests = std::move(inputs.front().report.tests);
      inputs.front().report.tests = {};
      print_issues(merge_reports(inputs, ConflictPolicy::keep_first, root).issues, command_name(), err);
      inputs.front().report.tests = std::move(tests);
    }
    return checked(std::move(inputs.front().report));
  }
  MergeResult merged = merge_reports(std::move(inputs), ConflictPolicy::keep_first, root);
  if (merged.count(MergeIssue::Kind::conflict) > 0) {
    for (const MergeIssue& i : merged.issues) {
      if (i.kind == MergeIssue::Kind::conflict) {
        // Two binaries with the same identity: --root is the remedy, not --conflicts.
        if (i.detail.find("--root DIR") != std::string::npos) {
          throw InputError(fmt::format("{}{}{} differs between {} ({})", what,
                                       what.empty() ? "" : ": ", printable_name(i.test),
                                       fmt::join(i.sources, " and "), i.detail));
        }
        throw InputError(fmt::format(
            "{}{}{} (merge the reports with `memx merge --conflicts=first|all` first)", what,
            what.empty() ? "" : ": ", i.message));
      }
    }
  }
  print_issues(merged.issues, command_name(), err);
  return checked(std::move(merged.report));
}

void write_text_file(const std::string& path, const std::string& text, bool append) {
  std::FILE* f = std::fopen(path.c_str(), append ? "ab" : "wb");
  if (f == nullptr) {
    throw InputError(fmt::format("{}: cannot write: {}", path, std::strerror(errno)));
  }
  const bool written = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  const int err = errno;
  if (std::fclose(f) != 0 || !written) {
    throw InputError(fmt::format("{}: cannot write: {}", path, std::strerror(written ? errno : err)));
  }
}

bool use_color(const std::string& choice, int fd) {
  if (choice == "always") return true;
  if (choice == "never") return false;
  if (const char* memx_color = std::getenv("MEMX_COLOR")) {
    if (std::strcmp(memx_color, "1") == 0) return true;
    if (std::strcmp(memx_color, "0") == 0) return false;
  }
  if (std::getenv("NO_COLOR") != nullptr) return false;
  const char* term = std::getenv("TERM");
  if (term != nullptr && std::strcmp(term, "dumb") == 0) return false;
  return ::isatty(fd) == 1;
}

}  // namespace memx::cli
