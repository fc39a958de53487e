// Allocation sites: folding system frames, describing sites, verdicts by site.
#include <algorithm>
#include <cmath>
#include <string_view>

#include <fmt/format.h>

#include "memx/sites.hpp"
#include "memx/units.hpp"

namespace memx {
namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }
bool contains(std::string_view s, std::string_view p) { return s.find(p) != std::string_view::npos; }

std::string_view basename(std::string_view path) {
  const std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// The qualified name of a demangled function without the return type that templates'
/// names start with ("void std::vector<int>::_M_realloc_insert<...>(...)").
std::string_view qualified_name(std::string_view f) {
  // The return type ends at the last space before the first '(' or '<' that is outside
  // brackets; names without a return type have no space there.
  int depth = 0;
  std::size_t last_space = std::string_view::npos;
  for (std::size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '<' || c == '(') {
      if (depth == 0 && c == '(') break;
      ++depth;
    } else if (c == '>' || c == ')') {
      if (depth > 0) --depth;
    } else if (c == ' ' && depth == 0) {
      last_space = i;
    }
  }
  if (last_space == std::string_view::npos) return f;
  // "operator new(unsigned long)" has a space inside the name itself.
  const std::string_view rest = f.substr(last_space + 1);
  if (starts_with(rest, "new") || starts_with(rest, "delete")) return f;
  return rest;
}

bool system_function(std::string_view f) {
  const std::string_view q = qualified_name(f);
  constexpr std::string_view kPrefixes[] = {
      "operator new", "operator delete", "memx::", "memx_", "mi_", "_mi_", "malloc", "calloc",
      "realloc", "std::", "__gnu_cxx::", "__cxxabiv1::", "__cxa_", "testing::", "Catch::",
      "__libc_", "_start"};
  for (std::string_view p : kPrefixes) {
    if (starts_with(q, p)) return true;
  }
  return false;
}

bool system_file(std::string_view file) {
  // Installed headers: the standard library's and the frameworks' (and other libraries' a
  // test calls into: the call from the user's code is the line to show).
  if (starts_with(file, "/usr/include/") || starts_with(file, "/usr/local/include/")) return true;
  // A framework built from source: googletest/src, googlemock/src, Catch2's sources.
  return contains(file, "/googletest/include/") || contains(file, "/googletest/src/") ||
         contains(file, "/googlemock/include/") || contains(file, "/googlemock/src/") ||
         contains(file, "/catch2/") || contains(file, "/Catch2/src/");
}

/// memx's own plugin sources (the listeners' lambdas are named "operator()" and "invoke"
/// without their namespace when inlined).
bool memx_file(std::string_view file) {
  return contains(file, "catch2_plugin/") || contains(file, "gtest_plugin/") ||
         contains(file, "include/memx/");
}

bool framework_file(std::string_view file) {
  return contains(file, "/gtest/") || contains(file, "/gmock/") || contains(file, "/catch2/") ||
         contains(file, "/googletest/src/") || contains(file, "/googlemock/src/") ||
         contains(file, "/Catch2/src/") || memx_file(file);
}

bool framework_function(std::string_view f) {
  const std::string_view q = qualified_name(f);
  return starts_with(q, "testing::") || starts_with(q, "Catch::") || starts_with(q, "memx::");
}

bool system_module(std::string_view module) {
  const std::string_view b = basename(module);
  constexpr std::string_view kLibraries[] = {"libstdc++.so", "libc.so",    "libc-",
                                             "libm.so",      "libgcc_s.so", "ld-linux",
                                             "libmimalloc",  "libgtest",    "libgmock",
                                             "libCatch2",    "libpthread",  "libunwind"};
  for (std::string_view l : kLibraries) {
    if (starts_with(b, l)) return true;
  }
  return false;
}

std::string plural(std::int64_t n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

}  // namespace

/// The C library's allocation functions, wherever they are defined: memx::count_malloc
/// defines them in the user's program (alloc/malloc.cpp), with debug information.
bool c_allocation_function(std::string_view f) {
  constexpr std::string_view kNames[] = {"malloc",        "calloc",         "realloc",
                                         "reallocarray",  "free",           "memalign",
                                         "aligned_alloc", "posix_memalign", "valloc",
                                         "pvalloc"};
  for (std::string_view n : kNames) {
    if (f == n) return true;
  }
  return false;
}

bool is_system_frame(const FrameRecord& f) {
  if (!f.module.empty() && system_module(f.module)) return true;
  const std::string_view q = qualified_name(f.function);
  if (starts_with(q, "operator new") || starts_with(q, "operator delete") ||
      starts_with(q, "memx::") || starts_with(q, "memx_") || c_allocation_function(q)) {
    return true;
  }
  // Where the source file is known it decides: the user's own code may live in a namespace
  // named like a library's (GoogleTest's own tests are in namespace testing).
  if (!f.file.empty()) return system_file(f.file) || memx_file(f.file);
  return !f.function.empty() && system_function(f.function);
}

int first_user_frame(const std::vector<FrameRecord>& frames) {
  for (std::size_t i = 0; i < frames.size(); ++i) {
    if (!is_system_frame(frames[i])) return static_cast<int>(i);
  }
  return 0;
}

bool is_framework_frame(const FrameRecord& f) {
  if (!f.module.empty() && (starts_with(basename(f.module), "libgtest") ||
                            starts_with(basename(f.module), "libgmock") ||
                            starts_with(basename(f.module), "libCatch2"))) {
    return true;
  }
  if (!f.file.empty()) return framework_file(f.file);
  return !f.function.empty() && framework_function(f.function);
}

bool framework_own(const std::vector<FrameRecord>& frames) {
  // GoogleTest's fixture base allocates its flag saver in every test object's constructor:
  // the plugin books it to the framework (the fixture overhead), so do the sites.
  for (const FrameRecord& f : frames) {
    if (!is_system_frame(f)) break;
    if (starts_with(qualified_name(f.function), "testing::Test::Test(")) return true;
  }
  bool framework = false;
  for (const FrameRecord& f : frames) {
    if (!is_system_frame(f)) return false;
    framework = framework || is_framework_frame(f);
  }
  return framework;
}

namespace {

std::string frame_location(const FrameRecord& f) {
  std::string function = f.function.empty() ? std::string("??") : f.function;
  // Catch2 names a TEST_CASE's function (a TEST_CASE_METHOD's class) itself:
  // C_A_T_C_H_T_E_S_T_7 in 2.x (____C_A_T_C_H____T_E_S_T____7 before 2.3),
  // CATCH2_INTERNAL_TEST_7 in 3.x. Say what it is.
  if (contains(function, "C_A_T_C_H_T_E_S_T_") || contains(function, "C_A_T_C_H____T_E_S_T") ||
      contains(function, "CATCH2_INTERNAL_TEST_")) {
    function = "the TEST_CASE";
  }
  if (!f.file.empty() && f.line > 0) return fmt::format("{}:{} in {}", f.file, f.line, function);
  std::string s = fmt::format("{}+0x{:x}", f.module.empty() ? std::string("??") : f.module, f.offset);
  if (!f.function.empty()) s += " in " + f.function;
  if (!f.note.empty()) s += " (" + f.note + ")";
  return s;
}

}  // namespace

std::string site_location(const SiteRecord& site, std::string_view test_file) {
  if (site.frames.empty()) return "an unknown place (no stack recorded)";
  const std::size_t i =
      std::min<std::size_t>(static_cast<std::size_t>(std::max(site.user_frame, 0)),
                            site.frames.size() - 1);
  std::string s = frame_location(site.frames[i]);
  // Allocated in a helper of the user's: also where the test itself called it.
  if (!test_file.empty() && basename(site.frames[i].file) != basename(test_file)) {
    for (std::size_t j = i + 1; j < site.frames.size(); ++j) {
      const FrameRecord& f = site.frames[j];
      if (f.line > 0 && basename(f.file) == basename(test_file) && !is_system_frame(f)) {
        s += ", called from " + frame_location(f);
        break;
      }
    }
  }
  return s;
}

namespace {

/// The frame site_location names: the first user frame (the last frame when user_frame is
/// past the end), or nullptr for a site without frames.
const FrameRecord* shown_frame(const SiteRecord& site) {
  if (site.frames.empty()) return nullptr;
  const std::size_t i = std::min<std::size_t>(static_cast<std::size_t>(std::max(site.user_frame, 0)),
                                              site.frames.size() - 1);
  return &site.frames[i];
}

}  // namespace

bool same_place(const SiteRecord& a, const SiteRecord& b) {
  const FrameRecord* fa = shown_frame(a);
  const FrameRecord* fb = shown_frame(b);
  if (fa == nullptr || fb == nullptr) return fa == fb;
  return basename(fa->file) == basename(fb->file) && fa->line == fb->line &&
         fa->function == fb->function;
}

bool allocates_itself(const SiteRecord& site) {
  return site.user_frame == 0 && !site.frames.empty() && !is_system_frame(site.frames.front());
}

std::string site_entry(std::int64_t bytes, std::int64_t blocks, const SiteRecord& site,
                       std::string_view test_file) {
  return fmt::format("{} in {} at {}", format_bytes(bytes), plural(blocks, "block"),
                     site_location(site, test_file));
}

namespace {

std::size_t measured_runs_with_blocks(const SiteRecord& s) {
  std::size_t n = 0;
  for (std::size_t k = 1; k < s.runs.size(); ++k) n += s.runs[k].blocks > 0;
  return n;
}

}  // namespace

bool site_before(const SiteRecord& a, const SiteRecord& b) {
  const std::size_t ra = measured_runs_with_blocks(a), rb = measured_runs_with_blocks(b);
  if (ra != rb) return ra > rb;
  if (a.bytes != b.bytes) return a.bytes > b.bytes;
  return a.blocks > b.blocks;
}

void sort_sites(std::vector<SiteRecord>& sites) {
  std::stable_sort(sites.begin(), sites.end(), site_before);
}

bool grows_every_repetition(const SiteRecord& site, std::size_t runs) {
  if (runs < 2 || site.runs.size() < runs) return false;
  for (std::size_t k = 1; k < runs; ++k) {
    if (site.runs[k].blocks <= 0) return false;
  }
  return true;
}

std::size_t site_repetitions(const TestRecord& test) {
  return test.site_runs == 0 ? test.runs.size()
                             : std::min<std::size_t>(test.site_runs, test.runs.size());
}

void refine_leak_by_sites(TestRecord& t, const StacksInfo& info) {
  if (info.depth <= 0 || t.sites.empty() || t.runs.empty()) return;
  const std::size_t runs = site_repetitions(t);  // the sites' runs: the counting ones below
  LeakAssessment& a = t.leak;
  const char* when = info.final ? "at the end of the run" : "after its last repetition";

  // Growth kept from every measured repetition, by site.
  std::vector<const SiteRecord*> growing;
  if (runs >= 3) {
    for (const SiteRecord& s : t.sites) {
      if (grows_every_repetition(s, runs)) growing.push_back(&s);
    }
  }
  bool every_run_grew = t.runs.size() >= 2;
  for (std::size_t k = 1; k < t.runs.size(); ++k) {
    every_run_grew = every_run_grew && (t.runs[k].net_bytes > 0 || t.runs[k].net_blocks > 0);
  }
  if (!growing.empty() &&
      (a.verdict == Verdict::leak || (a.verdict == Verdict::suspect && every_run_grew))) {
    // The site named: the first whose user frame is the allocating call itself (a `new` in
    // the user's code: what LeakSanitizer calls the direct leak; the blocks of the other
    // growing sites are usually held by it), else the first.
    const SiteRecord* named = growing.front();
    for (const SiteRecord* g : growing) {
      if (allocates_itself(*g)) {
        named = g;
        break;
      }
    }
    const SiteRecord& top = *named;
    double bytes = 0, blocks = 0;
    for (std::size_t k = 1; k < runs; ++k) {
      bytes += static_cast<double>(top.runs[k].bytes);
      blocks += static_cast<double>(top.runs[k].blocks);
    }
    bytes /= static_cast<double>(runs - 1);
    blocks /= static_cast<double>(runs - 1);
    if (a.verdict != Verdict::leak) {
      a.verdict = Verdict::leak;
      a.confidence = Confidence::medium;
      a.bytes_per_run = bytes;
      a.blocks_per_run = blocks;
    }
    a.reason = fmt::format(
        "every repetition leaves blocks live at {} ({} in {:g} block{} per repetition, still "
        "live {}){}",
        site_location(top, t.file), format_bytes(std::llround(bytes)), blocks, blocks == 1.0 ? "" : "s",
        when,
        growing.size() > 1 ? fmt::format(", and at {} more site{}", growing.size() - 1,
                                         growing.size() == 2 ? "" : "s")
                           : std::string());
    return;
  }

  // Sites of a rerun of the test alone (memx check --stacks) say nothing of a handoff to a
  // later test: that did not run.
  if (t.site_runs != 0) return;
  // Handed off: the growth came in blocks, and none of the blocks of the measured runs is
  // live any more. While the run goes on (not final) the last run's blocks have not met the
  // tests after it yet: only the runs before it are looked at, and there must be two.
  const std::size_t settled = info.final ? runs : runs - 1;
  std::int64_t settled_blocks = 0;
  const SiteRecord* last_run_site = nullptr;
  for (const SiteRecord& s : t.sites) {
    for (std::size_t k = 1; k < s.runs.size() && k < settled; ++k) settled_blocks += s.runs[k].blocks;
    if (last_run_site == nullptr && s.runs.size() >= runs && s.runs[runs - 1].blocks > 0) {
      last_run_site = &s;
    }
  }
  bool blocks_every_run = true;
  for (std::size_t k = 1; k < runs; ++k) blocks_every_run = blocks_every_run && t.runs[k].net_blocks > 0;
  if ((a.verdict == Verdict::leak || a.verdict == Verdict::suspect) && settled >= 3 &&
      info.dropped == 0 && blocks_every_run && settled_blocks == 0) {
    a.verdict = Verdict::clean;
    a.confidence = Confidence::medium;
    a.reason = info.final
                   ? "it grew, but every block its repetitions after the warm-up left live was "
                     "freed later in the run (handed to a later test or to code between tests)"
                   : "it grew, but every block its earlier repetitions after the warm-up left "
                     "live was freed later in the run (handed to a later test or to code "
                     "between tests)";
    return;
  }
  if ((a.verdict == Verdict::leak || a.verdict == Verdict::suspect) && last_run_site != nullptr) {
    a.reason += fmt::format("; its last repetition's blocks are live at {}",
                            site_location(*last_run_site, t.file));
    return;
  }
  if (a.verdict == Verdict::clean && runs >= 2) {
    for (const SiteRecord& s : t.sites) {
      if (s.runs.empty() || s.runs[0].blocks <= 0 || measured_runs_with_blocks(s) != 0) continue;
      a.reason += fmt::format("; the warm-up's {} in {} stay live at {} (made once)",
                              format_bytes(s.runs[0].bytes), plural(s.runs[0].blocks, "block"),
                              site_location(s, t.file));
      return;
    }
  }
}

}  // namespace memx
