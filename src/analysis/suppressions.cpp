// Leak suppressions: LeakSanitizer's file format and pattern match, applied to a test.
#include "memx/suppressions.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

#include "memx/report.hpp"
#include "memx/sites.hpp"
#include "memx/units.hpp"

namespace memx {
// The classic greedy match with one backtrack point, linear in practice.
bool glob_whole(std::string_view pattern, std::string_view text) {
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}


bool frame_matches(std::string_view pattern, const FrameRecord& f) {
  return suppression_matches(pattern, f.function) || suppression_matches(pattern, f.file) ||
         suppression_matches(pattern, f.module);
}

bool site_matches(std::string_view pattern, const SiteRecord& site) {
  for (const FrameRecord& f : site.frames) {
    if (frame_matches(pattern, f)) return true;
  }
  return false;
}

}  // namespace

std::string Suppression::text() const {
  return (kind == Kind::test ? "test:" : "leak:") + pattern;
}

SuppressionsParse parse_suppressions(std::string_view text, std::string_view source) {
  SuppressionsParse out;
  std::vector<Suppression> list;
  int number = 0;
  std::size_t begin = 0;
  while (begin <= text.size()) {
    std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view raw = text.substr(begin, end - begin);
    begin = end + 1;
    ++number;
    const std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#') {
      if (end == text.size()) break;
      continue;
    }
    for (const char c : line) {
      if (static_cast<unsigned char>(c) < 0x20 && c != '\t') {
        out.error = fmt::format("{}:{}: a control character in \"{}\": not a suppressions file",
                                source, number, printable_name(line));
        return out;
      }
    }
    const std::size_t colon = line.find(':');
    const std::string_view kind = colon == std::string_view::npos ? line : trim(line.substr(0, colon));
    Suppression s;
    s.line = number;
    if (colon != std::string_view::npos && kind == "leak") {
      s.kind = Suppression::Kind::leak;
    } else if (colon != std::string_view::npos && kind == "test") {
      s.kind = Suppression::Kind::test;
    } else {
      out.error = fmt::format(
          "{}:{}: unknown line \"{}\" (expected leak:PATTERN or test:PATTERN; '#' starts a comment)",
          source, number, printable_name(line));
      return out;
    }
    s.pattern = std::string(trim(line.substr(colon + 1)));
    if (s.pattern.empty()) {
      out.error = fmt::format("{}:{}: \"{}\" has no pattern (it would match nothing)", source,
                              number, printable_name(line));
      return out;
    }
    list.push_back(std::move(s));
    if (end == text.size()) break;
  }
  out.list = std::move(list);
  return out;
}

SuppressionsParse read_suppressions_file(const std::string& path) {
  SuppressionsParse out;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.error = fmt::format("{}: cannot read the suppressions file: {}", path, std::strerror(errno));
    return out;
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    out.error = fmt::format("{}: cannot read the suppressions file: {}", path, std::strerror(errno));
    return out;
  }
  return parse_suppressions(text.str(), path);
}

bool suppression_matches(std::string_view pattern, std::string_view text) {
  if (text.empty()) return false;
  const bool at_start = !pattern.empty() && pattern.front() == '^';
  if (at_start) pattern.remove_prefix(1);
  const bool at_end = !pattern.empty() && pattern.back() == '$';
  if (at_end) pattern.remove_suffix(1);
  // Unanchored ends match anywhere: the pattern is surrounded by implicit '*'.
  std::string whole;
  whole.reserve(pattern.size() + 2);
  if (!at_start) whole += '*';
  whole.append(pattern.data(), pattern.size());
  if (!at_end) whole += '*';
  return glob_whole(whole, text);
}

std::optional<std::size_t> find_suppression(const std::vector<Suppression>& list,
                                            const TestRecord& test) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (list[i].kind == Suppression::Kind::test && suppression_matches(list[i].pattern, test.name)) {
      return i;
    }
  }
  // The leak's sites: those that keep blocks from every measured repetition, else all.
  std::vector<const SiteRecord*> sites;
  for (const SiteRecord& s : test.sites) {
    if (grows_every_repetition(s, site_repetitions(test))) sites.push_back(&s);
  }
  if (sites.empty()) {
    for (const SiteRecord& s : test.sites) sites.push_back(&s);
  }
  if (sites.empty()) return std::nullopt;
  // Each site by some `leak:` line (LSan suppresses each leaked stack on its own); the
  // test's leak is suppressed by the line that matched its first site.
  std::optional<std::size_t> first;
  for (const SiteRecord* s : sites) {
    std::optional<std::size_t> match;
    for (std::size_t i = 0; i < list.size() && !match; ++i) {
      if (list[i].kind == Suppression::Kind::leak && site_matches(list[i].pattern, *s)) match = i;
    }
    if (!match) return std::nullopt;
    if (!first) first = match;
  }
  return first;
}

}  // namespace memx
