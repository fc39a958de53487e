// memx CLI: allocation sites as text.
#include "sites_text.hpp"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "memx/sites.hpp"
#include "memx/units.hpp"
#include "table.hpp"

namespace memx::cli {
namespace {

std::string plural(std::int64_t n, const char* what) {
  return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s");
}

std::size_t run_count(const SiteRecord& site, std::size_t runs) {
  return std::max(runs, site.runs.size());
}

}  // namespace

std::string kept_by(const SiteRecord& site, std::size_t runs) {
  const std::size_t n = run_count(site, runs);
  // Ranges of 1-based runs with blocks: "1", "3-5".
  std::vector<std::string> ranges;
  std::size_t kept = 0;
  for (std::size_t k = 0; k < site.runs.size();) {
    if (site.runs[k].blocks <= 0) {
      ++k;
      continue;
    }
    std::size_t end = k;
    while (end + 1 < site.runs.size() && site.runs[end + 1].blocks > 0) ++end;
    kept += end - k + 1;
    ranges.push_back(end == k ? fmt::format("{}", k + 1) : fmt::format("{}-{}", k + 1, end + 1));
    k = end + 1;
  }
  if (kept == 0) return fmt::format("no run of {}", n);
  std::string list;
  for (const std::string& r : ranges) list += (list.empty() ? "" : ", ") + r;
  return fmt::format("{} {} of {}", kept == 1 ? "run" : "runs", list, n);
}

std::string site_line(const SiteRecord& site, std::size_t runs) {
  return fmt::format("{} in {} (kept by {}) at {}", format_bytes(site.bytes),
                     plural(site.blocks, "block"), kept_by(site, runs),
                     printable_name(site_location(site)));
}

std::string stack_lines(const SiteRecord& site, const std::string& indent, bool color) {
  std::string out;
  const std::size_t width = fmt::format("#{}", site.frames.empty() ? 0 : site.frames.size() - 1).size();
  for (std::size_t i = 0; i < site.frames.size(); ++i) {
    const FrameRecord& f = site.frames[i];
    const bool folded = static_cast<int>(i) < site.user_frame;
    const bool user = static_cast<int>(i) == site.user_frame;
    std::string text = f.function.empty() ? "??" : f.function;
    if (!f.file.empty() && f.line > 0) {
      text += fmt::format(" at {}:{}", f.file, f.line);
    } else if (!f.file.empty()) {
      text += fmt::format(" at {} in {}+0x{:x}", f.file, f.module.empty() ? "??" : f.module, f.offset);
    } else {
      text += fmt::format(" at {}+0x{:x}", f.module.empty() ? "??" : f.module, f.offset);
    }
    std::vector<std::string> notes;
    if (f.inlined) notes.push_back("inlined");
    if (!f.note.empty()) notes.push_back(f.note);
    for (std::size_t k = 0; k < notes.size(); ++k) {
      text += (k == 0 ? " (" : ", ") + notes[k] + (k + 1 == notes.size() ? ")" : "");
    }
    const std::string line = fmt::format("{:<{}} {:<6} {}", fmt::format("#{}", i), width,
                                         folded ? "folded" : user ? ">" : "", printable_name(text));
    out += indent + (folded ? paint(line, Color::dim, color) : line) + "\n";
  }
  return out;
}

PerRepetition per_repetition(const SiteRecord& site, std::size_t runs) {
  PerRepetition p;
  const std::size_t n = std::min(run_count(site, runs), site.runs.size());
  if (n < 2) return p;
  for (std::size_t k = 1; k < n; ++k) {
    p.bytes += static_cast<double>(site.runs[k].bytes);
    p.blocks += static_cast<double>(site.runs[k].blocks);
  }
  p.bytes /= static_cast<double>(n - 1);
  p.blocks /= static_cast<double>(n - 1);
  return p;
}

std::string new_leak_line(const SiteRecord& site, std::size_t runs) {
  const PerRepetition p = per_repetition(site, runs);
  return fmt::format("new leak at {} ({} in {:g} block{} per repetition)",
                     printable_name(site_location(site)), format_bytes(std::llround(p.bytes)),
                     p.blocks, p.blocks == 1.0 ? "" : "s");
}

std::vector<const SiteRecord*> growing_sites(const TestRecord& test) {
  std::vector<const SiteRecord*> out;
  for (const SiteRecord& s : test.sites) {
    if (grows_every_repetition(s, site_repetitions(test))) out.push_back(&s);
  }
  return out;
}

std::vector<const SiteRecord*> new_growing_sites(const TestRecord& base, const TestRecord& now) {
  std::vector<const SiteRecord*> out;
  for (const SiteRecord* s : growing_sites(now)) {
    const bool known = std::any_of(base.sites.begin(), base.sites.end(),
                                   [&](const SiteRecord& b) { return same_place(b, *s); });
    if (!known) out.push_back(s);
  }
  return out;
}

}  // namespace memx::cli
