// Leak verdicts on recorded series (net_bytes, net_blocks per repetition; the first one is
// the warm-up). The series are shaped after what the gtest plugin records on real tests.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "memx/leak.hpp"

namespace {

using memx::Confidence;
using memx::RunNet;
using memx::Verdict;

std::vector<RunNet> repeat(RunNet r, int times) {
  return std::vector<RunNet>(times, r);
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(AssessLeak, OneSixteenByteBlockPerRunOverFiveRunsIsAHighConfidenceLeak) {
  const memx::LeakAssessment a = memx::assess_leak(repeat({16, 1}, 5));
  EXPECT_EQ(a.verdict, Verdict::leak);
  EXPECT_EQ(a.confidence, Confidence::high);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 16);
  EXPECT_DOUBLE_EQ(a.blocks_per_run, 1);
  EXPECT_EQ(a.reason, "grows 16 B (1 block) in each of 4 runs after warm-up");
}

TEST(AssessLeak, ThreeRunsGiveMediumConfidence) {
  const memx::LeakAssessment a = memx::assess_leak(repeat({16, 1}, 3));
  EXPECT_EQ(a.verdict, Verdict::leak);
  EXPECT_EQ(a.confidence, Confidence::medium);
}

TEST(AssessLeak, StaticCacheFilledInTheFirstRunIsClean) {
  const memx::LeakAssessment a = memx::assess_leak({{4096, 3}, {0, 0}, {0, 0}, {0, 0}, {0, 0}});
  EXPECT_EQ(a.verdict, Verdict::clean);
  EXPECT_EQ(a.confidence, Confidence::high);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 0);
  EXPECT_EQ(a.reason, "no net growth in 4 runs after warm-up");
}

TEST(AssessLeak, StaticCacheWithTwoRunsIsCleanWithLowConfidence) {
  const memx::LeakAssessment a = memx::assess_leak({{4096, 3}, {0, 0}});
  EXPECT_EQ(a.verdict, Verdict::clean);
  EXPECT_EQ(a.confidence, Confidence::low);
}

TEST(AssessLeak, SingleRunThatGrewIsSuspect) {
  const memx::LeakAssessment a = memx::assess_leak({{4096, 3}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::low);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 4096);
  EXPECT_DOUBLE_EQ(a.blocks_per_run, 3);
  EXPECT_TRUE(contains(a.reason, "grew 4 KiB (3 blocks) in its only run")) << a.reason;
}

TEST(AssessLeak, SingleRunWithoutGrowthIsClean) {
  for (RunNet r : {RunNet{0, 0}, RunNet{-64, -1}}) {
    const memx::LeakAssessment a = memx::assess_leak({r});
    EXPECT_EQ(a.verdict, Verdict::clean);
    EXPECT_EQ(a.confidence, Confidence::low);
  }
}

TEST(AssessLeak, OneRunAfterWarmUpThatGrewIsSuspect) {
  const memx::LeakAssessment a = memx::assess_leak({{4096, 3}, {16, 1}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::low);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 16);
}

TEST(AssessLeak, NoRunsIsUnknown) {
  const memx::LeakAssessment a = memx::assess_leak({});
  EXPECT_EQ(a.verdict, Verdict::unknown);
  EXPECT_EQ(a.confidence, Confidence::low);
  EXPECT_EQ(a.reason, "no runs recorded");
}

TEST(AssessLeak, NoisyAllocatorSizesWithAConstantBlockCountAreALeak) {
  // One block per run whose usable size varies with the size class it lands in.
  const memx::LeakAssessment a = memx::assess_leak({{48, 1}, {48, 1}, {64, 1}, {32, 1}, {48, 1}});
  EXPECT_EQ(a.verdict, Verdict::leak);
  EXPECT_EQ(a.confidence, Confidence::high);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 48);
}

TEST(AssessLeak, BytesWithinAQuarterOfTheMedianAreALeak) {
  // Growing a block in place (realloc-like): no new blocks, steady byte growth.
  const memx::LeakAssessment a = memx::assess_leak({{0, 0}, {100, 0}, {96, 0}, {124, 0}});
  EXPECT_EQ(a.verdict, Verdict::leak);
  EXPECT_EQ(a.confidence, Confidence::medium);
}

TEST(AssessLeak, BytesBeyondAQuarterOfTheMedianAreOnlySuspect) {
  const memx::LeakAssessment a = memx::assess_leak({{0, 0}, {100, 0}, {96, 0}, {126, 0}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::medium);
}

TEST(AssessLeak, OneOutlierRunAmongFourIsStillALeak) {
  // Recorded under ThreadSanitizer: a 240 B leak in every run, and in one run a background
  // thread's 64 B block was live when the test ended.
  const memx::LeakAssessment a =
      memx::assess_leak({{240, 4}, {240, 4}, {240, 4}, {304, 5}, {240, 4}});
  EXPECT_EQ(a.verdict, Verdict::leak) << a.reason;
  EXPECT_EQ(a.confidence, Confidence::medium);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 240);
  EXPECT_DOUBLE_EQ(a.blocks_per_run, 4);
  EXPECT_NE(a.reason.find("3 of 4 runs"), std::string::npos) << a.reason;
  // Two outliers, or one among only three measured runs, are not enough.
  EXPECT_EQ(memx::assess_leak({{240, 4}, {240, 4}, {240, 4}, {400, 6}, {520, 8}}).verdict,
            Verdict::suspect);
  EXPECT_EQ(memx::assess_leak({{240, 4}, {240, 4}, {304, 5}, {240, 4}}).verdict, Verdict::suspect);
}

TEST(AssessLeak, GrowthEveryRunByVaryingAmountsIsSuspect) {
  // An unbounded container growing geometrically: every run grows, blocks and bytes vary.
  const memx::LeakAssessment a =
      memx::assess_leak({{0, 0}, {16, 1}, {1024, 5}, {16, 1}, {4096, 9}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::medium);
  EXPECT_TRUE(contains(a.reason, "by varying amounts (16 B to 4 KiB")) << a.reason;
}

TEST(AssessLeak, SporadicGrowthIsLowConfidenceSuspect) {
  const memx::LeakAssessment a = memx::assess_leak({{0, 0}, {0, 0}, {0, 0}, {64, 1}, {0, 0}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::low);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, 16);
  EXPECT_TRUE(contains(a.reason, "only 1 of 4 runs after warm-up grew")) << a.reason;
}

TEST(AssessLeak, GrowthInMostRunsIsMediumConfidenceSuspect) {
  const memx::LeakAssessment a = memx::assess_leak({{0, 0}, {64, 1}, {64, 1}, {0, 0}, {64, 1}});
  EXPECT_EQ(a.verdict, Verdict::suspect);
  EXPECT_EQ(a.confidence, Confidence::medium);
}

TEST(AssessLeak, NoiseThatCancelsOutIsLowConfidenceClean) {
  // An allocator that keeps a small free-list block some runs and returns it in others.
  const memx::LeakAssessment a =
      memx::assess_leak({{1024, 4}, {8, 0}, {-8, 0}, {0, 0}, {16, 1}, {-16, -1}});
  EXPECT_EQ(a.verdict, Verdict::clean);
  EXPECT_EQ(a.confidence, Confidence::low);
  EXPECT_TRUE(contains(a.reason, "2 of 5 runs after warm-up grew")) << a.reason;
}

TEST(AssessLeak, ShrinkingEveryRunIsClean) {
  const memx::LeakAssessment a = memx::assess_leak(repeat({-96, -1}, 5));
  EXPECT_EQ(a.verdict, Verdict::clean);
  EXPECT_EQ(a.confidence, Confidence::high);
  EXPECT_DOUBLE_EQ(a.bytes_per_run, -96);
}

// ---- the whole-run handoff rule ------------------------------------------------------------

std::vector<std::int64_t> live(std::int64_t start, std::int64_t step, int iterations) {
  std::vector<std::int64_t> out;
  for (int i = 0; i < iterations; ++i) out.push_back(start + step * i);
  return out;
}

TEST(AnalyzeLeaks, HandoffToALaterTestIsSuspectWhenTheIterationIsFlat) {
  // Producer pushes 96 B into a global queue every run; Consumer pops it in the same iteration.
  const std::vector<memx::TestSeries> tests = {
      {"Queue.Producer", repeat({96, 1}, 5)},
      {"Queue.Unrelated", repeat({0, 0}, 5)},
      {"Queue.Consumer", repeat({-96, -1}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, live(500000, 0, 5));
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].verdict, Verdict::suspect);
  EXPECT_EQ(out[0].confidence, Confidence::medium);
  EXPECT_DOUBLE_EQ(out[0].bytes_per_run, 96);
  EXPECT_EQ(out[0].reason,
            "grows 96 B per run but the whole iteration does not grow: likely handed to a later "
            "test (Queue.Consumer shrinks 96 B per run)");
  EXPECT_EQ(out[1].verdict, Verdict::clean);
  EXPECT_EQ(out[2].verdict, Verdict::clean);
}

TEST(AnalyzeLeaks, SameSeriesIsALeakWhenTheIterationGrowsToo) {
  const std::vector<memx::TestSeries> tests = {
      {"Queue.Producer", repeat({96, 1}, 5)},
      {"Queue.Consumer", repeat({-96, -1}, 5)},
  };
  // The consumer frees something else; the producer's blocks really accumulate.
  const auto out = memx::analyze_leaks(tests, live(500000, 96, 5));
  EXPECT_EQ(out[0].verdict, Verdict::leak);
  EXPECT_EQ(out[0].confidence, Confidence::high);
  EXPECT_EQ(out[0].reason,
            "grows 96 B (1 block) in each of 4 runs after warm-up; the whole iteration grows 96 B "
            "per run too");
}

TEST(AnalyzeLeaks, WithoutIterationTotalsEachTestIsJudgedAlone) {
  const std::vector<memx::TestSeries> tests = {
      {"Queue.Producer", repeat({96, 1}, 5)},
      {"Queue.Consumer", repeat({-96, -1}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, {});
  EXPECT_EQ(out[0], memx::assess_leak(tests[0].runs));
  EXPECT_EQ(out[0].verdict, Verdict::leak);
  EXPECT_EQ(out[1], memx::assess_leak(tests[1].runs));
}

TEST(AnalyzeLeaks, SixteenByteLeakStandsWhenTheIterationGrowsBySixteen) {
  const std::vector<memx::TestSeries> tests = {
      {"Cache.Fill", {{4096, 3}, {0, 0}, {0, 0}, {0, 0}, {0, 0}}},
      {"Parser.Leaks", repeat({16, 1}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, {10000, 10016, 10032, 10048, 10064});
  EXPECT_EQ(out[0].verdict, Verdict::clean);
  EXPECT_EQ(out[1].verdict, Verdict::leak);
  EXPECT_EQ(out[1].confidence, Confidence::high);
}

TEST(AnalyzeLeaks, RealLeakKeepsTheIterationGrowthBeforeAPairedCandidate) {
  // Handed listed first: the unpaired real leak still claims the iteration's growth.
  const std::vector<memx::TestSeries> tests = {
      {"Queue.Producer", repeat({96, 1}, 5)},
      {"Parser.Leaks", repeat({16, 1}, 5)},
      {"Queue.Consumer", repeat({-96, -1}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, live(0, 16, 5));
  EXPECT_EQ(out[0].verdict, Verdict::suspect);
  EXPECT_EQ(out[0].reason,
            "grows 96 B per run but the whole iteration grows only 16 B per run: likely handed to "
            "a later test (Queue.Consumer shrinks 96 B per run)");
  EXPECT_EQ(out[1].verdict, Verdict::leak);
  EXPECT_EQ(out[2].verdict, Verdict::clean);
}

TEST(AnalyzeLeaks, ReceiverPairsWithTheGiverOfTheSameAmountInAShuffledOrder) {
  // A random order (Catch2 3's default, --gtest_shuffle) ran the receiver first and put a
  // real leak ahead of the giver: the 352 B receiver is the 352 B giver's partner, and the
  // two real leaks add up to the iteration's growth.
  const std::vector<memx::TestSeries> tests = {
      {"Leak.NewSetNeverDeleted", repeat({240, 4}, 5)},
      {"Handoff.DropsThePlugin", {{0, 0}, {-352, -3}, {-352, -3}, {-352, -3}, {-352, -3}}},
      {"Leak.CallbackHoldsItsOwner", repeat({3168, 3}, 5)},
      {"Handoff.RegistersAPlugin", repeat({352, 3}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, live(100000, 3408, 5));
  EXPECT_EQ(out[0].verdict, Verdict::leak) << out[0].reason;
  EXPECT_EQ(out[2].verdict, Verdict::leak) << out[2].reason;
  EXPECT_EQ(out[3].verdict, Verdict::suspect) << out[3].reason;
  EXPECT_TRUE(contains(out[3].reason, "likely handed to an earlier test (Handoff.DropsThePlugin"))
      << out[3].reason;
}

TEST(AnalyzeLeaks, HandoffInAnOrderShuffledEveryIteration) {
  // --gtest_shuffle: the receiver runs after the giver in some iterations and before it in
  // others, so it frees nothing in one run and two plugins in another, and the plugin is
  // live at some iteration ends only. The real leaks still add up to the growth.
  const std::vector<memx::TestSeries> tests = {
      {"Handoff.RegistersAPlugin", repeat({352, 3}, 5)},
      {"Handoff.DropsThePlugin", {{-352, -3}, {0, 0}, {-704, -6}, {-352, -3}, {-352, -3}}},
      {"Leak.NewSetNeverDeleted", repeat({240, 4}, 5)},
      {"Leak.CallbackHoldsItsOwner", repeat({3168, 3}, 5)},
  };
  std::vector<std::int64_t> ends = live(100000, 3408, 5);
  for (std::size_t k : {1u, 3u}) ends[k] += 352;  // the plugin is live at these ends
  const auto out = memx::analyze_leaks(tests, ends);
  EXPECT_EQ(out[0].verdict, Verdict::suspect) << out[0].reason;
  EXPECT_TRUE(contains(out[0].reason, "Handoff.DropsThePlugin shrinks 352 B per run")) << out[0].reason;
  EXPECT_EQ(out[1].verdict, Verdict::clean);
  EXPECT_EQ(out[2].verdict, Verdict::leak) << out[2].reason;
  EXPECT_EQ(out[3].verdict, Verdict::leak) << out[3].reason;
}

TEST(AnalyzeLeaks, HandoffToAnEarlierTestOfTheNextIteration) {
  const std::vector<memx::TestSeries> tests = {
      {"Session.Close", {{0, 0}, {-200, -2}, {-200, -2}, {-200, -2}}},
      {"Session.Open", repeat({200, 2}, 4)},
  };
  const auto out = memx::analyze_leaks(tests, live(1000, 0, 4));
  EXPECT_EQ(out[1].verdict, Verdict::suspect);
  EXPECT_TRUE(contains(out[1].reason, "likely handed to an earlier test (Session.Close shrinks"))
      << out[1].reason;
}

TEST(AnalyzeLeaks, FlatIterationWithoutAReceiverIsLowConfidenceSuspect) {
  // Freed between tests (by a fixture's static TearDownTestSuite, a listener, a thread).
  const std::vector<memx::TestSeries> tests = {{"Pool.Borrow", repeat({64, 1}, 5)}};
  const auto out = memx::analyze_leaks(tests, live(1000, 0, 5));
  EXPECT_EQ(out[0].verdict, Verdict::suspect);
  EXPECT_EQ(out[0].confidence, Confidence::low);
  EXPECT_EQ(out[0].reason,
            "grows 64 B per run but the whole iteration does not grow: likely handed to a later "
            "test or freed between tests");
}

TEST(AnalyzeLeaks, NoisyIterationGrowthWithinAQuarterStillConfirms) {
  const std::vector<memx::TestSeries> tests = {{"Parser.Leaks", repeat({96, 1}, 5)}};
  // 80 B per run on average: at least 75% of 96 B.
  EXPECT_EQ(memx::analyze_leaks(tests, {0, 70, 170, 230, 320})[0].verdict, Verdict::leak);
  // 40 B per run: not enough.
  EXPECT_EQ(memx::analyze_leaks(tests, {0, 40, 80, 120, 160})[0].verdict, Verdict::suspect);
}

TEST(AnalyzeLeaks, TwoRealLeaksShareTheIterationGrowth) {
  const std::vector<memx::TestSeries> tests = {
      {"A.Leaks", repeat({16, 1}, 5)},
      {"B.Leaks", repeat({32, 2}, 5)},
  };
  auto out = memx::analyze_leaks(tests, live(0, 48, 5));
  EXPECT_EQ(out[0].verdict, Verdict::leak);
  EXPECT_EQ(out[1].verdict, Verdict::leak);
  // Only enough growth for the first one.
  out = memx::analyze_leaks(tests, live(0, 16, 5));
  EXPECT_EQ(out[0].verdict, Verdict::leak);
  EXPECT_EQ(out[1].verdict, Verdict::suspect);
}

TEST(AnalyzeLeaks, TheCandidatesThatAddUpToTheIterationGrowthAreTheLeaks) {
  // Recorded under the Catch2 plugin: a test installs a new global locale every repetition
  // (+1520 B, the previous locale is released only between tests), listed before two real
  // leaks (240 B and 3168 B). The iteration grows by exactly the real leaks: they are the
  // leaks, whatever the order of the tests.
  const std::vector<memx::TestSeries> tests = {
      {"Lazy global locale installed by one test", repeat({1520, 15}, 5)},
      {"Real leak: new set never deleted", repeat({240, 4}, 5)},
      {"Real leak: callback holds its owner", repeat({3168, 3}, 5)},
  };
  const auto out = memx::analyze_leaks(tests, {80000, 84928, 88336, 91744, 95152});
  EXPECT_EQ(out[0].verdict, Verdict::suspect) << out[0].reason;
  EXPECT_NE(out[0].reason.find("freed between tests"), std::string::npos) << out[0].reason;
  EXPECT_EQ(out[1].verdict, Verdict::leak) << out[1].reason;
  EXPECT_EQ(out[2].verdict, Verdict::leak) << out[2].reason;
  // The same in another order.
  const std::vector<memx::TestSeries> reversed = {tests[2], tests[1], tests[0]};
  const auto back = memx::analyze_leaks(reversed, {80000, 84928, 88336, 91744, 95152});
  EXPECT_EQ(back[0].verdict, Verdict::leak);
  EXPECT_EQ(back[1].verdict, Verdict::leak);
  EXPECT_EQ(back[2].verdict, Verdict::suspect);
}

TEST(AnalyzeLeaks, TestWithAnotherRunCountIsJudgedAlone) {
  // A test filtered into only some iterations cannot be compared with iteration totals.
  const std::vector<memx::TestSeries> tests = {{"Odd.Test", repeat({16, 1}, 3)}};
  const auto out = memx::analyze_leaks(tests, live(0, 0, 5));
  EXPECT_EQ(out[0].verdict, Verdict::leak);
}

TEST(AnalyzeLeaks, NonLeaksAreNeverChanged) {
  const std::vector<memx::TestSeries> tests = {
      {"S.Sporadic", {{0, 0}, {0, 0}, {64, 1}, {0, 0}, {0, 0}}},
      {"S.Cache", {{4096, 3}, {0, 0}, {0, 0}, {0, 0}, {0, 0}}},
      {"S.None", {}},
  };
  const auto out = memx::analyze_leaks(tests, live(0, 1000, 5));
  for (std::size_t i = 0; i < tests.size(); ++i) {
    EXPECT_EQ(out[i], memx::assess_leak(tests[i].runs)) << tests[i].name;
  }
}

TEST(AnalyzeLeaks, ExtremeValuesFromAFileDoNotOverflow) {
  // Reports are outside input: sums saturate and the verdicts stay sensible.
  constexpr std::int64_t kMax = std::numeric_limits<std::int64_t>::max();
  constexpr std::int64_t kMin = std::numeric_limits<std::int64_t>::min();
  const std::vector<memx::TestSeries> tests = {
      {"Huge.Growth", repeat({kMax, kMax}, 4)},
      {"Huge.Shrink", repeat({kMin, kMin}, 4)},
  };
  const auto out = memx::analyze_leaks(tests, {kMin, 0, kMax, kMax});
  EXPECT_EQ(out[0].verdict, Verdict::leak);
  EXPECT_EQ(out[1].verdict, Verdict::clean);
  EXPECT_FALSE(out[0].reason.empty());
}

TEST(VerdictStrings, RoundTrip) {
  for (Verdict v : {Verdict::unknown, Verdict::clean, Verdict::suspect, Verdict::leak}) {
    Verdict back = Verdict::unknown;
    EXPECT_TRUE(memx::from_string(memx::to_string(v), back));
    EXPECT_EQ(back, v);
  }
  EXPECT_STREQ(memx::to_string(Verdict::leak), "leak");
  Verdict untouched = Verdict::clean;
  EXPECT_FALSE(memx::from_string("LEAK", untouched));
  EXPECT_EQ(untouched, Verdict::clean);
}

TEST(ConfidenceStrings, RoundTrip) {
  for (Confidence c : {Confidence::low, Confidence::medium, Confidence::high}) {
    Confidence back = Confidence::low;
    EXPECT_TRUE(memx::from_string(memx::to_string(c), back));
    EXPECT_EQ(back, c);
  }
  EXPECT_STREQ(memx::to_string(Confidence::medium), "medium");
  Confidence untouched = Confidence::high;
  EXPECT_FALSE(memx::from_string("", untouched));
  EXPECT_EQ(untouched, Confidence::high);
}

}  // namespace
