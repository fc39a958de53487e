// memx: leak verdicts from a test's net heap growth across repetitions.
// The exact rule is documented in docs/leak-verdicts.md.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace memx {

/// What memx concludes about a test's net growth.
enum class Verdict {
  unknown,  ///< not enough repetitions to tell
  clean,    ///< no growth that survives the warm-up
  suspect,  ///< grows, but not consistently, or the process as a whole does not grow
  leak,     ///< grows by a consistent amount every repetition
  expected, ///< leaks exactly the blocks per repetition its budget declares (`leak=N`)
};

/// How sure memx is of a verdict.
enum class Confidence { low, medium, high };

/// The net growth of one repetition of a test.
struct RunNet {
  std::int64_t net_bytes = 0;   ///< live bytes at the end minus at the start
  std::int64_t net_blocks = 0;  ///< live blocks at the end minus at the start
};

/// The verdict on one test.
struct LeakAssessment {
  Verdict verdict = Verdict::unknown;       ///< the conclusion
  Confidence confidence = Confidence::low;  ///< how sure
  double bytes_per_run = 0;                 ///< typical growth per measured repetition, bytes
  double blocks_per_run = 0;                ///< typical growth per measured repetition, blocks
  std::string reason;                       ///< one sentence for people saying why
  /// The suppression ("leak:PATTERN" or "test:PATTERN") that suppressed this leak: it does
  /// not fail the test or the gate. "" when not suppressed (memx/suppressions.hpp).
  std::string suppressed_by;

  /// True for a leak that counts: verdict leak, not suppressed.
  bool reported_leak() const noexcept { return verdict == Verdict::leak && suppressed_by.empty(); }

  /// Field-wise equality.
  friend bool operator==(const LeakAssessment& a, const LeakAssessment& b) {
    return a.verdict == b.verdict && a.confidence == b.confidence &&
           a.bytes_per_run == b.bytes_per_run && a.blocks_per_run == b.blocks_per_run &&
           a.reason == b.reason && a.suppressed_by == b.suppressed_by;
  }
  /// Field-wise inequality.
  friend bool operator!=(const LeakAssessment& a, const LeakAssessment& b) { return !(a == b); }
};

/// Judges one test from its repetitions in order; runs[0] is the warm-up and is excluded
/// when there are two or more runs.
LeakAssessment assess_leak(const std::vector<RunNet>& runs);

/// assess_leak of runs[0, n) into `out`, every field set afresh (`suppressed_by` cleared)
/// and the texts keeping their storage: a verdict worded without figures (a clean test's)
/// is copied in without an allocation. The plugins judge each test as it ends.
void assess_leak_into(const RunNet* runs, std::size_t n, LeakAssessment& out);

/// One test's repetitions, as fed to analyze_leaks.
struct TestSeries {
  std::string name;          ///< the test's name (for messages only)
  std::vector<RunNet> runs;  ///< one entry per repetition, in order
};

/// Judges every test of a whole run with the handoff rule: a test's consistent growth is a
/// leak only to the extent that the process's live heap at the end of each iteration grows
/// too. iteration_end_live_bytes[k] is the live heap at the end of iteration k (one entry
/// per repetition); when it is empty each test is judged alone with assess_leak.
/// Returns one assessment per test, in the same order.
std::vector<LeakAssessment> analyze_leaks(
    const std::vector<TestSeries>& tests,
    const std::vector<std::int64_t>& iteration_end_live_bytes);

/// "unknown", "clean", "suspect", "leak" or "expected".
const char* to_string(Verdict v);
/// "low", "medium" or "high".
const char* to_string(Confidence c);
/// Reads a verdict written by to_string; false (and `out` untouched) on anything else.
bool from_string(std::string_view text, Verdict& out);
/// Reads a confidence written by to_string; false (and `out` untouched) on anything else.
bool from_string(std::string_view text, Confidence& out);

}  // namespace memx
