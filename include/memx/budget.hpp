// memx: memory budgets of a test ("peak=4MiB, net=0") and checking measurements against them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memx {

/// Whose allocations a test's figures count (budget key `threads`, --memx-threads).
enum class Threads {
  all,      ///< every thread of the process (the default)
  current,  ///< only the test's own thread: a server or pool thread beside it is left out
};

/// "all" or "current".
const char* to_string(Threads t);

/// Limits on what one test may use. An unset key means "no limit".
struct Budget {
  std::optional<std::int64_t> peak;    ///< peak live heap above the test's start, bytes
  std::optional<std::int64_t> net;     ///< live bytes left at the end, bytes
  std::optional<std::int64_t> blocks;  ///< live blocks left at the end
  std::optional<std::int64_t> allocs;  ///< number of allocations
  std::optional<std::int64_t> rss;     ///< peak RSS growth above the test's start, bytes
  /// Blocks the test is expected to leak per repetition (`leak=N`): judged over repetitions,
  /// the test fails when it leaks another number, and its verdict is "expected" when it
  /// leaks exactly this many (N > 0).
  std::optional<std::int64_t> leak;
  std::optional<Threads> threads;      ///< whose allocations count (`threads=current|all`)
  /// Descriptors the test may leave open at its end that were not open at its start (`fds=N`).
  std::optional<std::int64_t> fds;
  /// Threads the test may leave running at its end that were not at its start (`threads=N`,
  /// a whole number; the words `current` and `all` set `threads` instead).
  std::optional<std::int64_t> threads_left;
  /// `warn`: violations and leaks of the test are reported but do not fail it.
  std::optional<bool> warn;

  /// True when no key is set.
  bool empty() const;
  /// This budget with every key that `more_specific` sets replaced by its value
  /// (for example a global budget overridden by a test's own).
  Budget overridden_by(const Budget& more_specific) const;

  /// Key-by-key equality.
  friend bool operator==(const Budget& a, const Budget& b) {
    return a.peak == b.peak && a.net == b.net && a.blocks == b.blocks && a.allocs == b.allocs &&
           a.rss == b.rss && a.leak == b.leak && a.threads == b.threads && a.fds == b.fds &&
           a.threads_left == b.threads_left && a.warn == b.warn;
  }
  /// Key-by-key inequality.
  friend bool operator!=(const Budget& a, const Budget& b) { return !(a == b); }
};

/// The result of parse_budget: a budget, or an error message naming the bad token.
struct BudgetParse {
  std::optional<Budget> budget;  ///< set on success
  std::string error;  ///< set on failure, e.g. `memx budget "peak=4MiX": unknown unit ...`
};

/// Parses comma- or whitespace-separated `key=value` pairs such as "peak=4MiB, net=0,
/// allocs=20000". Keys: peak, net, rss (sizes: a whole or decimal number with an optional
/// unit B, KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024)); blocks, allocs, leak
/// (whole numbers, no unit); fds (descriptors left open, a whole number); threads: the word
/// `current` or `all` (whose allocations count) or a whole number (threads left running), at
/// most one of each ("threads=current, threads=0"). The bare word `warn` (no value) makes the
/// budget warn-only. Each key at most once. An empty or blank string is an empty budget.
BudgetParse parse_budget(std::string_view text);

/// Canonical text of a budget ("peak=4194304 net=0"), which parse_budget reads back equal.
std::string to_string(const Budget& budget);

/// What one run of a test used, as compared against a Budget.
struct Measurement {
  std::int64_t net_bytes = 0;       ///< live bytes at the end minus at the start
  std::int64_t net_blocks = 0;      ///< live blocks at the end minus at the start
  std::int64_t peak_bytes = 0;      ///< highest live heap above the start
  std::uint64_t allocs = 0;         ///< allocations made
  std::int64_t rss_peak_bytes = 0;  ///< peak RSS growth above the start
  std::int64_t fds = 0;             ///< descriptors open at the end that were not at the start
  std::int64_t threads = 0;         ///< threads alive at the end that were not at the start
};

/// One budget key that a measurement exceeded.
struct Violation {
  std::string key;            ///< "peak", "net", "blocks", "allocs", "rss", "fds", "threads" or "leak"
  std::int64_t measured = 0;  ///< what the run used (leak: blocks leaked per repetition)
  std::int64_t allowed = 0;   ///< the budget's limit (leak: the blocks expected)

  /// Field-wise equality.
  friend bool operator==(const Violation& a, const Violation& b) {
    return a.key == b.key && a.measured == b.measured && a.allowed == b.allowed;
  }
};

/// The keys of `budget` that `m` exceeds (measured > allowed), in the order peak, net,
/// blocks, allocs, rss, fds, threads (the number: threads left running). Empty when the measurement fits. `leak` is judged over repetitions
/// (judge_expected_leak in memx/report.hpp), not here.
std::vector<Violation> check_budget(const Budget& budget, const Measurement& m);

/// One line for people, e.g. "peak 5.2 MiB exceeds budget 4 MiB (+1.2 MiB)"; for the key
/// "leak", "leaks 3 blocks per repetition, its budget expects 2 (leak=2)"; for "fds" and
/// "threads", "leaves 2 descriptors open, its budget allows 0 (fds=0)".
std::string describe(const Violation& v);

}  // namespace memx
