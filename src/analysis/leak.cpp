// Leak verdicts: the per-test rule and the whole-run handoff rule of docs/leak-verdicts.md.
#include "memx/leak.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iterator>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "memx/units.hpp"

namespace memx {
namespace {

// A run "grew" when it left live bytes or live blocks behind.
bool grew(const RunNet& r) {
  return r.net_bytes > 0 || r.net_blocks > 0;
}

// Rounds to whole bytes, saturating at the int64 range (reports are outside input).
std::int64_t to_int64(double v) {
  constexpr double kLimit = 9.2e18;
  if (!(v > -kLimit)) return -static_cast<std::int64_t>(kLimit);
  if (!(v < kLimit)) return static_cast<std::int64_t>(kLimit);
  return std::llround(v);
}

std::string bytes_text(double bytes) {
  return format_bytes(to_int64(bytes));
}

// a + b, saturating instead of overflowing.
std::int64_t add_saturating(std::int64_t a, std::int64_t b) {
  std::int64_t out = 0;
  if (__builtin_add_overflow(a, b, &out)) {
    return b > 0 ? std::numeric_limits<std::int64_t>::max()
                 : std::numeric_limits<std::int64_t>::min();
  }
  return out;
}

// "16 B (1 block)", "1.5 KiB (3 blocks)", "96 B (0.5 blocks)".
std::string growth_text(double bytes, double blocks) {
  const bool whole = blocks == std::floor(blocks);
  const std::string count =
      whole ? fmt::format("{}", to_int64(blocks)) : fmt::format("{:.1f}", blocks);
  return fmt::format("{} ({} block{})", bytes_text(bytes), count,
                     blocks == 1 || blocks == -1 ? "" : "s");
}

// `out` = the formatted text, in out's own storage when it fits.
template <class... T>
void set_reason(std::string& out, fmt::format_string<T...> format, T&&... args) {
  out.clear();
  fmt::format_to(std::back_inserter(out), format, std::forward<T>(args)...);
}

template <class T>
double median(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  if (n % 2 == 1) return static_cast<double>(v[n / 2]);
  return (static_cast<double>(v[n / 2 - 1]) + static_cast<double>(v[n / 2])) / 2.0;
}

// Every measured run left the same positive number of blocks, or every run's bytes are
// within ±25% of the median of the runs' bytes (and that median is positive).
bool consistent(const std::vector<RunNet>& measured) {
  const std::int64_t k = measured.front().net_blocks;
  bool same_blocks = k > 0;
  std::vector<std::int64_t> bytes;
  for (const RunNet& r : measured) {
    same_blocks = same_blocks && r.net_blocks == k;
    bytes.push_back(r.net_bytes);
  }
  if (same_blocks) return true;
  const double med = median(bytes);
  if (med <= 0) return false;
  for (std::int64_t b : bytes) {
    if (std::fabs(static_cast<double>(b) - med) > 0.25 * med) return false;
  }
  return true;
}

/// With at least 4 measured runs all grown, the index of the single run whose bytes lie
/// outside ±25% of the median while every other run is consistent (the other runs alone
/// pass `consistent`): a background thread allocating or freeing at the moment one run
/// ended. Returns measured.size() when there is no such single outlier.
std::size_t single_outlier(const std::vector<RunNet>& measured) {
  if (measured.size() < 4) return measured.size();
  std::vector<std::int64_t> bytes;
  for (const RunNet& r : measured) bytes.push_back(r.net_bytes);
  const double med = median(bytes);
  if (med <= 0) return measured.size();
  std::size_t outlier = measured.size();
  for (std::size_t i = 0; i < measured.size(); ++i) {
    if (std::fabs(static_cast<double>(measured[i].net_bytes) - med) > 0.25 * med) {
      if (outlier != measured.size()) return measured.size();  // a second one
      outlier = i;
    }
  }
  if (outlier == measured.size()) return outlier;
  std::vector<RunNet> rest = measured;
  rest.erase(rest.begin() + static_cast<std::ptrdiff_t>(outlier));
  return consistent(rest) ? outlier : measured.size();
}

}  // namespace

void assess_leak_into(const RunNet* runs, std::size_t n, LeakAssessment& a) {
  // Every field set afresh; the texts keep their storage (the plain sentences below are
  // copied in without an allocation).
  a.verdict = Verdict::unknown;
  a.confidence = Confidence::low;
  a.bytes_per_run = 0;
  a.blocks_per_run = 0;
  a.suppressed_by.clear();
  if (n == 0) {
    a.reason = "no runs recorded";
    return;
  }
  if (n == 1) {
    const RunNet& r = runs[0];
    a.bytes_per_run = static_cast<double>(r.net_bytes);
    a.blocks_per_run = static_cast<double>(r.net_blocks);
    if (grew(r)) {
      a.verdict = Verdict::suspect;
      set_reason(a.reason,
          "grew {} in its only run; repeat the test at least 3 times to tell a leak from a "
          "cache filled once",
          growth_text(a.bytes_per_run, a.blocks_per_run));
    } else {
      a.verdict = Verdict::clean;
      a.reason = "no net growth in its only run";
    }
    return;
  }

  const std::vector<RunNet> measured(runs + 1, runs + n);
  const std::size_t m = measured.size();
  std::int64_t sum_bytes = 0;
  std::int64_t sum_blocks = 0;
  std::size_t positive = 0;
  std::int64_t min_bytes = measured.front().net_bytes;
  std::int64_t max_bytes = min_bytes;
  for (const RunNet& r : measured) {
    sum_bytes = add_saturating(sum_bytes, r.net_bytes);
    sum_blocks = add_saturating(sum_blocks, r.net_blocks);
    positive += grew(r) ? 1 : 0;
    min_bytes = std::min(min_bytes, r.net_bytes);
    max_bytes = std::max(max_bytes, r.net_bytes);
  }
  a.bytes_per_run = static_cast<double>(sum_bytes) / static_cast<double>(m);
  a.blocks_per_run = static_cast<double>(sum_blocks) / static_cast<double>(m);
  // Formatted only for the verdicts that mention it: most tests are clean, and plugins
  // judge every test of a run.
  const auto growth = [&a] { return growth_text(a.bytes_per_run, a.blocks_per_run); };

  if (m == 1) {
    if (positive == 1) {
      a.verdict = Verdict::suspect;
      set_reason(a.reason,
          "grew {} in the only run after warm-up; repeat the test at least 3 times to be sure",
          growth());
    } else {
      a.verdict = Verdict::clean;
      a.reason = "no net growth in the only run after warm-up";
    }
    return;
  }

  const std::size_t outlier = positive == m ? single_outlier(measured) : m;
  if (positive == m && consistent(measured)) {
    a.verdict = Verdict::leak;
    a.confidence = m >= 4 ? Confidence::high : Confidence::medium;
    set_reason(a.reason, "grows {} in each of {} runs after warm-up", growth(), m);
  } else if (outlier < m) {
    // Every run grew and all but one by the same amount: the odd one caught another
    // thread's allocation or free in flight. A leak, judged on the others.
    const RunNet odd = measured[outlier];
    a.bytes_per_run = static_cast<double>(sum_bytes - odd.net_bytes) / static_cast<double>(m - 1);
    a.blocks_per_run = static_cast<double>(sum_blocks - odd.net_blocks) / static_cast<double>(m - 1);
    a.verdict = Verdict::leak;
    a.confidence = Confidence::medium;
    set_reason(a.reason,
        "grows {} in {} of {} runs after warm-up, and {} in the other (another thread's "
        "allocations at that moment?)",
        growth(), m - 1, m, format_bytes(odd.net_bytes));
  } else if (sum_bytes > 0 || sum_blocks > 0) {
    a.verdict = Verdict::suspect;
    if (positive == m) {
      a.confidence = Confidence::medium;
      set_reason(a.reason,
          "grows in each of {} runs after warm-up, but by varying amounts ({} to {}; {} per run "
          "on average)",
          m, format_bytes(min_bytes), format_bytes(max_bytes), growth());
    } else {
      a.confidence = 2 * positive > m ? Confidence::medium : Confidence::low;
      a.reason =
          fmt::format("grows {} per run on average, but only {} of {} runs after warm-up grew",
                      growth(), positive, m);
    }
  } else {
    a.verdict = Verdict::clean;
    if (positive == 0) {
      a.confidence = m >= 4 ? Confidence::high : Confidence::medium;
      a.reason.assign("no net growth in ").append(std::to_string(m)).append(" runs after warm-up");
    } else {
      a.confidence = Confidence::low;
      set_reason(a.reason,
          "{} of {} runs after warm-up grew, but the others shrank as much (net {} over all runs)",
          positive, m, format_bytes(sum_bytes));
    }
  }
}

LeakAssessment assess_leak(const std::vector<RunNet>& runs) {
  LeakAssessment a;
  assess_leak_into(runs.data(), runs.size(), a);
  return a;
}

std::vector<LeakAssessment> analyze_leaks(
    const std::vector<TestSeries>& tests,
    const std::vector<std::int64_t>& iteration_end_live_bytes) {
  std::vector<LeakAssessment> out;
  out.reserve(tests.size());
  for (const TestSeries& t : tests) out.push_back(assess_leak(t.runs));

  const std::size_t iterations = iteration_end_live_bytes.size();
  if (iterations < 3) return out;  // no test can be a leak with fewer than 3 runs
  // The iteration growth: the median of the slopes between every two iteration ends
  // (Theil-Sen). A one-off step (state that settles in one iteration) moves only the slopes
  // across it; a handoff whose receiver runs before or after its giver depending on the
  // iteration (--gtest_shuffle) moves single ends, which long spans average out.
  std::vector<double> slopes;
  for (std::size_t i = 0; i < iterations; ++i) {
    for (std::size_t j = i + 1; j < iterations; ++j) {
      slopes.push_back((static_cast<double>(iteration_end_live_bytes[j]) -
                        static_cast<double>(iteration_end_live_bytes[i])) /
                       static_cast<double>(j - i));
    }
  }
  const double whole_growth = median(std::move(slopes));

  // Only tests that ran once in every iteration take part in the handoff rule.
  auto aligned = [&](std::size_t i) { return tests[i].runs.size() == iterations; };

  // Receivers: tests that never grow after warm-up and shrink on average; capacity = bytes
  // freed per run on average. (In a shuffled order a receiver that ran before its giver in
  // one iteration and after it in the next frees nothing in one run and twice in another.)
  std::vector<double> capacity(tests.size(), 0.0);
  for (std::size_t i = 0; i < tests.size(); ++i) {
    if (!aligned(i)) continue;
    const auto first = tests[i].runs.begin() + 1, last = tests[i].runs.end();
    const bool never_grows =
        std::all_of(first, last, [](const RunNet& r) { return r.net_bytes <= 0; });
    double freed = 0.0;
    for (auto r = first; r != last; ++r) freed -= static_cast<double>(r->net_bytes);
    freed /= static_cast<double>(last - first);
    if (never_grows && freed > 0.0) capacity[i] = freed;
  }

  // Candidates: per-test leaks with positive byte growth. Each is paired with a receiver that
  // frees at least 75% of its growth per run: the closest amounts first (a shuffled or
  // random test order can put another candidate between a giver and its receiver, or the
  // receiver first), then the nearest receiver after the candidate (then before it). A
  // receiver takes several candidates while it frees enough.
  constexpr std::size_t kNone = static_cast<std::size_t>(-1);
  std::vector<std::size_t> candidates;
  std::vector<std::size_t> partner(tests.size(), kNone);
  struct Match {
    double mismatch;       // |freed - grown| relative to the larger
    std::size_t distance;  // receivers after the candidate first, cyclically
    std::size_t candidate;
    std::size_t receiver;
  };
  std::vector<Match> matches;
  for (std::size_t i = 0; i < tests.size(); ++i) {
    if (!aligned(i) || out[i].verdict != Verdict::leak || out[i].bytes_per_run <= 0) continue;
    candidates.push_back(i);
    const double grown = out[i].bytes_per_run;
    for (std::size_t step = 1; step < tests.size(); ++step) {
      const std::size_t j = (i + step) % tests.size();
      if (capacity[j] < 0.75 * grown) continue;
      matches.push_back({std::abs(capacity[j] - grown) / std::max(capacity[j], grown), step, i, j});
    }
  }
  std::stable_sort(matches.begin(), matches.end(), [](const Match& a, const Match& b) {
    if (a.mismatch != b.mismatch) return a.mismatch < b.mismatch;
    return a.distance < b.distance;
  });
  for (const Match& m : matches) {
    if (partner[m.candidate] != kNone) continue;
    const double grown = out[m.candidate].bytes_per_run;
    if (capacity[m.receiver] < 0.75 * grown) continue;  // taken by a closer match
    partner[m.candidate] = m.receiver;
    capacity[m.receiver] = std::max(0.0, capacity[m.receiver] - grown);
  }

  // The unpaired candidates that explain the whole iteration's growth keep their verdict:
  // of the subsets whose total the growth covers to at least 75%, the one whose total is
  // closest to the growth (ties: the larger total, then the earlier tests). A candidate
  // left out grew in its own runs but not in the iteration's: something freed it between
  // tests. Past kMaxExact unpaired candidates, they claim the growth in test order instead.
  // The paired candidates then claim what is left, in test order.
  std::stable_partition(candidates.begin(), candidates.end(),
                        [&](std::size_t i) { return partner[i] == kNone; });
  const double growth = std::max(0.0, whole_growth);
  std::vector<bool> keeps(tests.size(), false);
  std::size_t unpaired = 0;
  while (unpaired < candidates.size() && partner[candidates[unpaired]] == kNone) ++unpaired;
  double unclaimed = growth;
  constexpr std::size_t kMaxExact = 20;
  if (unpaired <= kMaxExact) {
    std::uint32_t best = 0;
    double best_sum = 0.0;
    for (std::uint32_t mask = 1; mask < (std::uint32_t{1} << unpaired); ++mask) {
      double sum = 0.0;
      for (std::size_t k = 0; k < unpaired; ++k) {
        if (mask & (std::uint32_t{1} << k)) sum += out[candidates[k]].bytes_per_run;
      }
      if (growth < 0.75 * sum) continue;  // the iteration does not grow enough for all of them
      const double d = std::abs(growth - sum), best_d = std::abs(growth - best_sum);
      if (d < best_d || (d == best_d && sum > best_sum)) {
        best = mask;
        best_sum = sum;
      }
    }
    for (std::size_t k = 0; k < unpaired; ++k) {
      if (best & (std::uint32_t{1} << k)) keeps[candidates[k]] = true;
    }
    unclaimed = std::max(0.0, growth - best_sum);
  } else {
    for (std::size_t k = 0; k < unpaired; ++k) {
      const double b = out[candidates[k]].bytes_per_run;
      if (unclaimed >= 0.75 * b) {
        keeps[candidates[k]] = true;
        unclaimed = std::max(0.0, unclaimed - b);
      }
    }
  }
  for (std::size_t k = unpaired; k < candidates.size(); ++k) {
    const double b = out[candidates[k]].bytes_per_run;
    if (unclaimed >= 0.75 * b) {
      keeps[candidates[k]] = true;
      unclaimed = std::max(0.0, unclaimed - b);
    }
  }
  for (std::size_t i : candidates) {
    LeakAssessment& a = out[i];
    const double b = a.bytes_per_run;
    if (keeps[i]) {
      a.reason +=
          fmt::format("; the whole iteration grows {} per run too", bytes_text(whole_growth));
      continue;
    }
    const std::string whole = whole_growth <= 0
                                  ? std::string("does not grow")
                                  : fmt::format("grows only {} per run", bytes_text(whole_growth));
    a.verdict = Verdict::suspect;
    if (partner[i] != kNone) {
      const std::size_t j = partner[i];
      a.confidence = Confidence::medium;
      set_reason(a.reason,
          "grows {} per run but the whole iteration {}: likely handed to {} test ({} shrinks {} "
          "per run)",
          bytes_text(b), whole, j > i ? "a later" : "an earlier", tests[j].name,
          bytes_text(-out[j].bytes_per_run));
    } else {
      a.confidence = Confidence::low;
      set_reason(a.reason,
          "grows {} per run but the whole iteration {}: likely handed to a later test or freed "
          "between tests",
          bytes_text(b), whole);
    }
  }
  return out;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::unknown:
      return "unknown";
    case Verdict::clean:
      return "clean";
    case Verdict::suspect:
      return "suspect";
    case Verdict::leak:
      return "leak";
    case Verdict::expected:
      return "expected";
  }
  return "unknown";
}

const char* to_string(Confidence c) {
  switch (c) {
    case Confidence::low:
      return "low";
    case Confidence::medium:
      return "medium";
    case Confidence::high:
      return "high";
  }
  return "low";
}

bool from_string(std::string_view text, Verdict& out) {
  for (Verdict v : {Verdict::unknown, Verdict::clean, Verdict::suspect, Verdict::leak,
                    Verdict::expected}) {
    if (text == to_string(v)) {
      out = v;
      return true;
    }
  }
  return false;
}

bool from_string(std::string_view text, Confidence& out) {
  for (Confidence c : {Confidence::low, Confidence::medium, Confidence::high}) {
    if (text == to_string(c)) {
      out = c;
      return true;
    }
  }
  return false;
}

}  // namespace memx
