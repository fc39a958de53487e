// libFuzzer target: read_report never throws or crashes, what it accepts round-trips and
// holds each test once.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>

#include "memx/report.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const memx::ReportRead read = memx::read_report(text, "fuzz.json");
  if (read.report.has_value() == !read.error.empty()) std::abort();
  if (read.report) {
    std::set<std::string> names;
    for (const memx::TestRecord& t : read.report->tests) {
      if (!names.insert(t.name).second) std::abort();  // a duplicate test was accepted
    }
    memx::Report r = *read.report;
    memx::analyze_report(r);  // must cope with whatever a file says
    const memx::ReportRead again = memx::read_report(memx::to_json(*read.report), "again.json");
    // NaN cannot appear (JSON has none), so equality is exact.
    if (!again.report || *again.report != *read.report) std::abort();
  }
  return 0;
}
