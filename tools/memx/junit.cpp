// memx CLI: the gate's verdict as JUnit XML.
#include "junit.hpp"

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <fmt/format.h>

#include "memx/units.hpp"

namespace memx::cli {
namespace {

// The length of the well-formed UTF-8 sequence at the start of `s` that XML 1.0 allows
// (no surrogates, no overlong forms, not U+FFFE or U+FFFF), or 0.
std::size_t xml_char_length(std::string_view s) {
  const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  const auto cont = [&](std::size_t i) { return i < s.size() && (b(i) & 0xc0) == 0x80; };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (c >= 0xc2 && c <= 0xdf) {
    n = 2;
    cp = c & 0x1f;
  } else if (c >= 0xe0 && c <= 0xef) {
    n = 3;
    cp = c & 0x0f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  for (std::size_t i = 1; i < n; ++i) {
    if (!cont(i)) return 0;
    cp = (cp << 6) | (b(i) & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) return 0;
  if (cp >= 0xd800 && cp <= 0xdfff) return 0;
  if (cp == 0xfffe || cp == 0xffff) return 0;
  return n;
}

// "10035 -> 12000 (+1965)": exact figures.
std::string exact(std::int64_t base, std::int64_t now) {
  const long long delta = static_cast<long long>(now) - static_cast<long long>(base);
  return fmt::format("{} -> {} ({:+})", base, now, delta);
}

std::string figures_text(const TestDiff& d) {
  if (!d.base || !d.now) return {};
  const TestFigures a = *d.base_figures();
  const TestFigures b = *d.now_figures();
  std::string out = "exact figures, baseline -> new (worst run after the warm-up):\n";
  out += fmt::format("peak_bytes: {}\n", exact(a.peak_bytes, b.peak_bytes));
  out += fmt::format("net_bytes: {}\n", exact(a.net_bytes, b.net_bytes));
  out += fmt::format("net_blocks: {}\n", exact(a.net_blocks, b.net_blocks));
  out += fmt::format("allocs: {} -> {}\n", a.allocs, b.allocs);
  out += fmt::format("rss_peak_bytes: {}\n", exact(a.rss_peak_bytes, b.rss_peak_bytes));
  out += fmt::format("runs: {} -> {}\n", a.runs, b.runs);
  return out;
}

std::string new_figures_text(const TestFigures& f) {
  return fmt::format(
      "exact figures (worst run after the warm-up):\npeak_bytes: {}\nnet_bytes: {}\nnet_blocks: "
      "{}\nallocs: {}\nrss_peak_bytes: {}\nruns: {}\n",
      f.peak_bytes, f.net_bytes, f.net_blocks, f.allocs, f.rss_peak_bytes, f.runs);
}

}  // namespace

std::string xml_escape(std::string_view text, bool attribute) {
  std::string out;
  out.reserve(text.size());
  while (!text.empty()) {
    const auto c = static_cast<unsigned char>(text.front());
    std::size_t n = 1;
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>':  // only where it would close a CDATA section ("]]>"); readable otherwise
        out += out.size() >= 2 && out.compare(out.size() - 2, 2, "]]") == 0 ? "&gt;" : ">";
        break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      case '\n': out += attribute ? "&#10;" : "\n"; break;
      case '\r': out += "&#13;"; break;
      case '\t': out += attribute ? "&#9;" : "\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += fmt::format("\\x{:02x}", c);
        } else if ((n = xml_char_length(text)) == 0) {
          n = 1;
          if (c == 0xef && text.size() >= 3 && static_cast<unsigned char>(text[1]) == 0xbf &&
              (static_cast<unsigned char>(text[2]) & 0xfe) == 0xbe) {
            out += fmt::format("\\u{:04x}", 0xfffe + (static_cast<unsigned char>(text[2]) & 1));
            n = 3;
          } else {
            out += fmt::format("\\x{:02x}", c);
          }
        } else {
          out.append(text.data(), n);
        }
    }
    text.remove_prefix(n);
  }
  return out;
}

std::string gate_junit(const std::vector<TestDiff>& diffs,
                       const std::vector<TestRegressions>& changed, const GateJunitFacts& facts,
                       const std::vector<std::pair<std::size_t, std::string_view>>& left_out) {
  std::string cases;
  std::size_t tests = 0, failures = 0, skipped = 0;
  auto testcase = [&](const std::string& name, const std::string& body) {
    ++tests;
    cases += fmt::format("    <testcase classname=\"memx gate\" name=\"{}\"", xml_escape(name, true));
    cases += body.empty() ? std::string("/>\n") : ">\n" + body + "    </testcase>\n";
  };
  auto element = [](const char* tag, const char* type, const std::string& message,
                    const std::string& text) {
    std::string e = fmt::format("      <{}", tag);
    if (type != nullptr) e += fmt::format(" type=\"{}\"", type);
    e += fmt::format(" message=\"{}\"", xml_escape(message, true));
    if (text.empty()) return e + "/>\n";
    return e + ">" + xml_escape(text, false) + fmt::format("</{}>\n", tag);
  };
  // Each test's line (the first of its name) and the missing tests, found by name once: a
  // search of the lists for each of a million tests would take hours.
  std::unordered_map<std::string_view, const TestRegressions*> line_of;
  for (const TestRegressions& t : changed) line_of.emplace(t.test, &t);
  const std::unordered_set<std::string_view> missing(facts.missing.begin(), facts.missing.end());
  // The tests left out of `diffs` in their places among the new report's: `index` is the
  // new report's next test; `all` writes every one left.
  std::size_t next_left_out = 0, index = 0;
  auto write_left_out = [&](bool all) {
    while (next_left_out < left_out.size() && (all || left_out[next_left_out].first == index)) {
      testcase(printable_name(std::string(left_out[next_left_out].second)), "");
      ++next_left_out;
      ++index;
    }
  };
  for (const TestDiff& d : diffs) {
    write_left_out(!d.now);  // the baseline's missing tests come after all the new report's
    if (d.now) ++index;
    const std::string label = d.label();
    const std::string name = printable_name(label);
    const auto found = line_of.find(label);
    const TestRegressions* c = found == line_of.end() ? nullptr : found->second;
    std::string body;
    if (d.removed()) {
      const std::string why = "in the baseline, not in the new report";
      if (missing.count(label) > 0) {
        ++failures;
        body = element("failure", "missing", name + ": " + why,
                       name + ": " + why + " (removed, renamed, filtered out or never reached)\n");
      } else {
        ++skipped;
        body = element("skipped", nullptr, name + ": " + why + " (not gated)", "");
      }
    } else if (c != nullptr) {
      const std::string text =
          c->line + "\n" + (d.base ? figures_text(d) : new_figures_text(*d.now_figures()));
      if (c->allowed) {
        body = "      <system-out>" +
               xml_escape(fmt::format("allowed by {}: {}", facts.allow, text), false) +
               "</system-out>\n";
      } else {
        ++failures;
        body = element("failure", "regression", c->line, text);
      }
    }
    testcase(name, body);
  }
  write_left_out(true);
  // The testcase's name stays the same from run to run (CI systems track tests by name);
  // the message names the file.
  for (const auto& [what, paths] : facts.incomplete) {
    ++failures;
    testcase("(the " + what + " is complete)",
             element("failure", "incomplete",
                     "the " + what + " " + paths + " is incomplete: its process did not finish "
                     "(crashed, killed or still running); --allow-incomplete gates its finished "
                     "tests",
                     ""));
  }
  for (const auto& [what, paths] : facts.incomplete_allowed) {
    ++skipped;
    testcase("(the " + what + " is complete)",
             element("skipped", nullptr,
                     "the " + what + " " + paths + " is incomplete (allowed by "
                     "--allow-incomplete): only its finished tests are gated",
                     ""));
  }
  const std::string counts =
      fmt::format("tests=\"{}\" failures=\"{}\" errors=\"0\" skipped=\"{}\"", tests, failures, skipped);
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" +
         fmt::format("<testsuites name=\"memx gate\" {}>\n", counts) +
         fmt::format("  <testsuite name=\"memx gate\" {}>\n", counts) + cases +
         "  </testsuite>\n</testsuites>\n";
}

}  // namespace memx::cli
