// Plugin settings: --memx-* flags over MEMX_* environment variables, and the process's own
// arguments read from /proc/self/cmdline so that a plugin registered before main (or with
// a main it does not own) sees them.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "memx/config.hpp"
#include "memx/session.hpp"
#include "memx/stacks.hpp"

namespace memx {
namespace {

constexpr std::string_view kReportFlag = "--memx-report";
constexpr std::string_view kBudgetFlag = "--memx-budget";
constexpr std::string_view kFailOnLeakFlag = "--memx-fail-on-leak";
constexpr std::string_view kStacksFlag = "--memx-stacks";
constexpr std::string_view kSitesFlag = "--memx-sites";
constexpr std::string_view kWarnOnlyFlag = "--memx-warn-only";
constexpr std::string_view kThreadsFlag = "--memx-threads";
constexpr std::string_view kSuppressionsFlag = "--memx-suppressions";
constexpr std::string_view kReportOptionalFlag = "--memx-report-optional";
constexpr std::string_view kResourcesFlag = "--memx-resources";
constexpr int kMaxSites = 1000;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

void set_report(PluginOptions& o, std::string_view value, std::string_view origin,
                std::vector<std::string>& errors) {
  if (value.empty()) {
    errors.push_back("memx: " + std::string(origin) + ": expected a path, e.g. " +
                     std::string(kReportFlag) + "=memx-%p.json");
    return;
  }
  o.report_pattern = std::string(value);
}

void set_budget(PluginOptions& o, std::string_view value, std::string_view origin,
                std::vector<std::string>& errors) {
  BudgetParse parsed = parse_budget(value);
  if (!parsed.budget) {
    errors.push_back("memx: " + std::string(origin) + ": " + parsed.error);
    return;
  }
  o.budget_text = std::string(value);
  o.budget = *parsed.budget;
}


void set_stacks(PluginOptions& o, std::string_view value, std::string_view origin,
                std::vector<std::string>& errors) {
  const std::optional<stacks::Setting> d = stacks::parse_setting(value);
  if (!d) {
    errors.push_back("memx: " + std::string(origin) + ": expected a stack depth from 1 to " +
                     std::to_string(stacks::kMaxDepth) + ", on (depth " +
                     std::to_string(stacks::kDefaultDepth) + "), off, or sample:SIZE[@DEPTH] (e.g. sample:512KiB)");
    return;
  }
  o.stacks_depth = d->depth;
  o.stacks_sample = d->sample_bytes;
}

void set_sites(PluginOptions& o, std::string_view value, std::string_view origin,
               std::vector<std::string>& errors) {
  int n = 0;
  bool ok = !value.empty() && value.size() <= 4;
  for (const char c : value) {
    ok = ok && c >= '0' && c <= '9';
    if (ok) n = n * 10 + (c - '0');
  }
  if (!ok || n < 1 || n > kMaxSites) {
    errors.push_back("memx: " + std::string(origin) + ": expected a number of sites per test from 1 to " +
                     std::to_string(kMaxSites));
    return;
  }
  o.top_sites = n;
}

/// TEST:N[@RUN]: the test's name may itself hold ':' (Catch2 names), so the number is
/// after the last one.
void set_break(PluginOptions& o, std::string_view value, std::string_view origin,
               std::vector<std::string>& errors) {
  auto bad = [&](const std::string& why) {
    errors.push_back("memx: " + std::string(origin) + ": " + why +
                     "; expected TEST:N or TEST:N@RUN, e.g. MEMX_BREAK_ON_ALLOC='Suite.Test:12@3'");
  };
  const std::size_t colon = value.rfind(':');
  if (colon == std::string_view::npos || colon == 0) {
    bad(colon == 0 ? "no test name before ':'" : "no ':' before the allocation number");
    return;
  }
  std::string_view number = value.substr(colon + 1);
  std::string_view run;
  if (const std::size_t at = number.find('@'); at != std::string_view::npos) {
    run = number.substr(at + 1);
    number = number.substr(0, at);
    if (run.empty()) {
      bad("no run number after '@'");
      return;
    }
  }
  auto parse = [](std::string_view digits, std::uint64_t max) -> std::optional<std::uint64_t> {
    if (digits.empty() || digits.size() > 19 ||
        digits.find_first_not_of("0123456789") != std::string_view::npos) {
      return std::nullopt;
    }
    std::uint64_t v = 0;
    for (const char c : digits) v = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (v == 0 || v > max) return std::nullopt;
    return v;
  };
  const std::optional<std::uint64_t> n = parse(number, std::uint64_t{1} << 62);
  if (!n) {
    bad("the allocation number \"" + std::string(number) + "\" is not a whole number from 1");
    return;
  }
  std::optional<std::uint64_t> r;
  if (!run.empty() && !(r = parse(run, 1000000))) {
    bad("the run \"" + std::string(run) + "\" is not a whole number from 1 to 1000000");
    return;
  }
  o.break_on_alloc = AllocBreak{std::string(value.substr(0, colon)), *n, r ? static_cast<int>(*r) : 0};
}

// A yes/no setting that decides a verdict (--memx-fail-on-leak, --memx-warn-only,
// --memx-report-optional and their variables): a value memx cannot read is an error.
void set_switch(bool& out, std::string_view value, std::string_view origin,
                std::vector<std::string>& errors) {
  std::optional<bool> b = parse_bool(value);
  if (!b) {
    errors.push_back("memx: " + std::string(origin) +
                     ": expected 1/0, true/false, yes/no or on/off, not \"" + std::string(value) + "\"");
    return;
  }
  out = *b;
}

void set_threads(PluginOptions& o, std::string_view value, std::string_view origin,
                 std::vector<std::string>& errors) {
  if (value == "current") {
    o.threads = Threads::current;
  } else if (value == "all") {
    o.threads = Threads::all;
  } else {
    errors.push_back("memx: " + std::string(origin) +
                     ": expected current (the test's own thread) or all (every thread), not \"" +
                     std::string(value) + "\"");
  }
}

void set_suppressions(PluginOptions& o, std::string_view value, std::string_view origin,
                      std::vector<std::string>& errors) {
  if (value.empty()) {
    errors.push_back("memx: " + std::string(origin) + ": expected a file of leak:PATTERN and "
                     "test:PATTERN lines, e.g. " + std::string(kSuppressionsFlag) + "=lsan.supp");
    return;
  }
  SuppressionsParse parsed = read_suppressions_file(std::string(value));
  if (!parsed.list) {
    errors.push_back("memx: " + std::string(origin) + ": " + parsed.error);
    return;
  }
  o.suppressions_path = std::string(value);
  o.suppressions = std::move(*parsed.list);
}

std::string describe_env(const char* name, const char* value) {
  return std::string(name) + "=\"" + value + "\"";
}

}  // namespace

OptionsParse parse_plugin_options(const std::vector<std::string>& args, const EnvLookup& env) {
  OptionsParse out;
  PluginOptions& o = out.options;

  // Environment first: flags override it. A value memx cannot use in a setting that
  // decides a verdict (the report, the budget, failing on leaks) is an error: running on
  // without it would pass what the user asked to check. Settings of the output only
  // (MEMX_QUIET, MEMX_PROPERTIES, MEMX_COLOR) get a warning, and their default is kept.
  std::vector<std::string> env_errors;
  // A yes/no setting of the output only: a value memx cannot read is a warning.
  auto output_switch = [&env, &env_errors](const char* name, bool& field) {
    const char* v = env(name);
    if (v == nullptr || *v == '\0') return;
    if (std::optional<bool> b = parse_bool(v)) {
      field = *b;
    } else {
      env_errors.push_back("memx: " + describe_env(name, v) + ": expected 1/0, true/false, yes/no or on/off");
    }
  };
  if (const char* v = env("MEMX_REPORT"); v != nullptr && *v != '\0') {
    set_report(o, v, describe_env("MEMX_REPORT", v), out.errors);
  }
  if (const char* v = env("MEMX_REPORT_OPTIONAL"); v != nullptr && *v != '\0') {
    set_switch(o.report_optional, v, describe_env("MEMX_REPORT_OPTIONAL", v), out.errors);
  }
  if (const char* v = env("MEMX_BUDGET"); v != nullptr && *v != '\0') {
    set_budget(o, v, describe_env("MEMX_BUDGET", v), out.errors);
  }
  if (const char* v = env("MEMX_FAIL_ON_LEAK"); v != nullptr && *v != '\0') {
    set_switch(o.fail_on_leak, v, describe_env("MEMX_FAIL_ON_LEAK", v), out.errors);
  }
  if (const char* v = env("MEMX_RESOURCES"); v != nullptr && *v != '\0') {
    bool on = false;
    const std::size_t errors = out.errors.size();
    set_switch(on, v, describe_env("MEMX_RESOURCES", v), out.errors);
    if (out.errors.size() == errors) o.resources = on;
  }
  if (const char* v = env("MEMX_STACKS"); v != nullptr && *v != '\0') {
    set_stacks(o, v, describe_env("MEMX_STACKS", v), out.errors);
  }
  if (const char* v = env("MEMX_SITES"); v != nullptr && *v != '\0') {
    set_sites(o, v, describe_env("MEMX_SITES", v), out.errors);
  }
  if (const char* v = env("MEMX_BREAK_ON_ALLOC"); v != nullptr && *v != '\0') {
    set_break(o, v, describe_env("MEMX_BREAK_ON_ALLOC", v), out.errors);
  }
  if (const char* v = env("MEMX_WARN_ONLY"); v != nullptr && *v != '\0') {
    set_switch(o.warn_only, v, describe_env("MEMX_WARN_ONLY", v), out.errors);
  }
  if (const char* v = env("MEMX_THREADS"); v != nullptr && *v != '\0') {
    set_threads(o, v, describe_env("MEMX_THREADS", v), out.errors);
  }
  if (const char* v = env("MEMX_SUPPRESSIONS"); v != nullptr && *v != '\0') {
    set_suppressions(o, v, describe_env("MEMX_SUPPRESSIONS", v), out.errors);
  }
  output_switch("MEMX_QUIET", o.quiet);
  output_switch("MEMX_CTEST_MEASUREMENTS", o.ctest_measurements);
  output_switch("MEMX_PROPERTIES", o.properties);
  if (const char* v = env("MEMX_COLOR"); v != nullptr && *v != '\0') {
    const std::string_view s = v;
    if (s == "auto") {
      o.color.reset();
    } else if (std::optional<bool> b = parse_bool(s)) {
      o.color = *b;
    } else {
      env_errors.push_back("memx: " + describe_env("MEMX_COLOR", v) +
                           ": expected auto, yes or no");
    }
  }

  for (std::string& e : env_errors) out.warnings.push_back(std::move(e) + " (ignored: the default is used)");

  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (!starts_with(arg, "--memx-")) continue;
    const std::size_t eq = arg.find('=');
    const std::string_view name = arg.substr(0, eq);
    const bool has_value = eq != std::string_view::npos;
    const std::string_view value = has_value ? arg.substr(eq + 1) : std::string_view();
    if (name == kReportFlag) {
      set_report(o, value, arg, out.errors);
    } else if (name == kReportOptionalFlag) {
      set_switch(o.report_optional, has_value ? value : std::string_view("1"), arg, out.errors);
    } else if (name == kBudgetFlag) {
      if (!has_value) {
        out.errors.push_back("memx: " + std::string(arg) + ": expected " + std::string(kBudgetFlag) +
                             "=\"peak=4MiB, net=0\"");
      } else {
        set_budget(o, value, arg, out.errors);
      }
    } else if (name == kFailOnLeakFlag) {
      set_switch(o.fail_on_leak, has_value ? value : std::string_view("1"), arg, out.errors);
    } else if (name == kResourcesFlag) {
      bool on = false;
      const std::size_t errors = out.errors.size();
      set_switch(on, has_value ? value : std::string_view("1"), arg, out.errors);
      if (out.errors.size() == errors) o.resources = on;
    } else if (name == kStacksFlag) {
      if (has_value) {
        set_stacks(o, value, arg, out.errors);
      } else {
        o.stacks_depth = stacks::kDefaultDepth;
        o.stacks_sample = 0;
      }
    } else if (name == kSitesFlag) {
      set_sites(o, value, arg, out.errors);
    } else if (name == kWarnOnlyFlag) {
      set_switch(o.warn_only, has_value ? value : std::string_view("1"), arg, out.errors);
    } else if (name == kThreadsFlag) {
      set_threads(o, value, arg, out.errors);
    } else if (name == kSuppressionsFlag) {
      set_suppressions(o, value, arg, out.errors);
    } else {
      // A mistyped flag (--memx-budegt=...) would run without the check it asked for.
      out.errors.push_back("memx: unknown flag " + std::string(name) + " (known: " +
                           std::string(kReportFlag) + "=PATH, " + std::string(kReportOptionalFlag) +
                           ", " + std::string(kBudgetFlag) +
                           "=TEXT, " + std::string(kFailOnLeakFlag) + ", " + std::string(kResourcesFlag) + ", " +
                             std::string(kStacksFlag) + "[=DEPTH|=sample:SIZE], " + std::string(kSitesFlag) +
                             "=N, " + std::string(kWarnOnlyFlag) + ", " + std::string(kThreadsFlag) +
                             "=current|all, " + std::string(kSuppressionsFlag) + "=FILE)");
    }
  }
  // Under `bazel test` (TEST_UNDECLARED_OUTPUTS_DIR set) with no report asked for: the report
  // goes into the test's undeclared outputs, which Bazel keeps (test.outputs/outputs.zip),
  // also from remote execution. One file per process, named by the shard when sharded, so
  // that the shards' archives unzip into one directory without a clash (pids repeat in
  // sandboxes).
  if (o.report_pattern.empty()) {
    if (const char* dir = env("TEST_UNDECLARED_OUTPUTS_DIR"); dir != nullptr && *dir != '\0') {
      std::string name = "memx-%p.json";
      const char* shard = env("TEST_SHARD_INDEX");
      if (shard != nullptr && *shard != '\0' &&
          std::string_view(shard).find_first_not_of("0123456789") == std::string_view::npos) {
        name = std::string("memx-shard") + shard + "-%p.json";
      }
      std::string pattern = dir;
      if (pattern.back() != '/') pattern += '/';
      // A '%' in the directory is the directory's, not a pattern's.
      std::string escaped;
      for (char c : pattern) escaped += c == '%' ? std::string("%%") : std::string(1, c);
      o.report_pattern = escaped + name;
      o.report_from_bazel = true;
    }
  }
  return out;
}

std::vector<std::string> read_process_arguments() {
  std::vector<std::string> args;
  const int fd = ::open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return args;
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  std::size_t begin = 0;
  while (begin < text.size()) {
    std::size_t end = text.find('\0', begin);
    if (end == std::string::npos) end = text.size();
    args.emplace_back(text, begin, end - begin);
    begin = end + 1;
  }
  return args;
}

bool has_flag(const std::vector<std::string>& args, std::string_view flag) {
  for (const std::string& a : args) {
    const std::string_view s = a;
    if (s == flag || (starts_with(s, flag) && s.size() > flag.size() && s[flag.size()] == '=')) {
      return true;
    }
  }
  return false;
}

}  // namespace memx
