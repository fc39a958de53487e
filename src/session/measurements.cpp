// Each test's figures as CTest measurements (MEMX_CTEST_MEASUREMENTS=1): CTest reads
// <CTestMeasurement> tags in a test's output into Test.xml (<NamedMeasurement>), and CDash
// shows them per test and draws them over time.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

#include "memx/diff.hpp"
#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "memx/units.hpp"
#include "session/session_impl.hpp"

namespace memx {
namespace {

// A test's name inside an XML attribute: as printed elsewhere, with & < > " escaped.
std::string attribute(std::string_view name) {
  std::string out;
  for (char c : printable_name(name)) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace

std::string Session::ctest_measurements() const {
  Uncounted guard;
  const Impl& m = *impl_;
  if (!m.config.options.ctest_measurements || !m.report.measured) return {};
  std::size_t ran = 0;
  for (const TestRecord& t : m.report.tests) ran += t.runs.empty() ? 0 : 1;
  std::string out;
  for (const TestRecord& t : m.report.tests) {
    if (t.runs.empty()) continue;  // skipped, or never reached: nothing was measured
    // One test in the process (ctest runs one discovered test per process): plain names,
    // which CDash lines up across tests; several: the test's name in each.
    const std::string prefix = ran == 1 ? "memx." : "memx." + attribute(t.name) + ".";
    const TestFigures f = compared_figures(t);
    const std::pair<const char*, std::int64_t> figures[] = {
        {"peak_bytes", f.peak_bytes},
        {"net_bytes", f.net_bytes},
        {"net_blocks", f.net_blocks},
        {"allocs", static_cast<std::int64_t>(f.allocs)},
    };
    for (const auto& [name, value] : figures) {
      out += fmt::format("<CTestMeasurement type=\"numeric/double\" name=\"{}{}\">{}</CTestMeasurement>\n",
                         prefix, name, value);
    }
  }
  return out;
}

}  // namespace memx
