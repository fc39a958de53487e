// libFuzzer target: read_report never throws or crashes, what it accepts round-trips and
// holds each test (binary and name) once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "memx/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const memx::ReportRead read = memx::read_report(text, "fuzz.json");
  if (read.report.has_value() == !read.error.empty()) std::abort();
  if (read.report) {
    std::set<std::pair<std::string, std::string>> keys;
    for (const memx::TestRecord& t : read.report->tests) {
      const std::string& binary = t.binary.empty() ? read.report->binary : t.binary;
      // A duplicate test (the same name of the same binary) was accepted.
      if (!keys.insert({binary, t.name}).second) std::abort();
    }
    memx::Report r = *read.report;
    memx::analyze_report(r);  // must cope with whatever a file says
    const memx::ReportRead again = memx::read_report(memx::to_json(*read.report), "again.json");
    // NaN cannot appear (JSON has none), so equality is exact.
    if (!again.report || *again.report != *read.report) std::abort();
  }
  return 0;
}
