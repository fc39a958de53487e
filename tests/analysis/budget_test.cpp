#include <cstdint>
#include <limits>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "budget_parse.hpp"
#include "memx/budget.hpp"

namespace {

constexpr std::int64_t KiB = 1024;
constexpr std::int64_t MiB = 1024 * KiB;
constexpr std::int64_t GiB = 1024 * MiB;

using memx_test::parse_error;
using memx_test::parse_ok;

TEST(ParseBudget, SpacesAroundEqualsAndCommas) {
  memx::Budget b = parse_ok("peak = 4MiB , net =0,allocs= 20000 ,\tblocks\t=\t3");
  EXPECT_EQ(b.peak, 4 * MiB);
  EXPECT_EQ(b.net, 0);
  EXPECT_EQ(b.allocs, 20000);
  EXPECT_EQ(b.blocks, 3);
  EXPECT_EQ(parse_error("net= , peak=1"), "memx budget \"net= , peak=1\": empty value in \"net=\"");
  EXPECT_EQ(parse_error("net= peak=1"), "memx budget \"net= peak=1\": empty value in \"net=\"");
  EXPECT_EQ(parse_error("peak =, net=0"), "memx budget \"peak =, net=0\": empty value in \"peak =\"");
  EXPECT_NE(parse_error("peak 4MiB").find("missing '=' in \"peak\""), std::string::npos);
}

TEST(ParseBudgetErrors, EmbeddedNul) {
  EXPECT_EQ(parse_error(std::string("peak=1KiB\0net=0", 15)),
            "memx budget \"peak=1KiB\\x00net=0\": a NUL byte at offset 9 (a budget is text without "
            "NUL bytes)");
  EXPECT_NE(parse_error(std::string(1, '\0')).find("a NUL byte at offset 0"), std::string::npos);
}

TEST(ParseBudget, TheDocumentedExample) {
  memx::Budget b = parse_ok("peak=4MiB, net=0, allocs=20000");
  EXPECT_EQ(b.peak, 4 * MiB);
  EXPECT_EQ(b.net, 0);
  EXPECT_EQ(b.allocs, 20000);
  EXPECT_FALSE(b.blocks.has_value());
  EXPECT_FALSE(b.rss.has_value());
  EXPECT_FALSE(b.empty());
}

TEST(ParseBudget, WhitespaceAndCommasSeparate) {
  memx::Budget b = parse_ok("  peak=1KiB\tnet=2,blocks=3 ,, rss=4MB\n");
  EXPECT_EQ(b.peak, KiB);
  EXPECT_EQ(b.net, 2);
  EXPECT_EQ(b.blocks, 3);
  EXPECT_EQ(b.rss, 4000000);
}

TEST(ParseBudget, EveryUnit) {
  EXPECT_EQ(parse_ok("peak=7").peak, 7);
  EXPECT_EQ(parse_ok("peak=7B").peak, 7);
  EXPECT_EQ(parse_ok("peak=7KB").peak, 7000);
  EXPECT_EQ(parse_ok("peak=7MB").peak, 7000000);
  EXPECT_EQ(parse_ok("peak=7GB").peak, 7000000000);
  EXPECT_EQ(parse_ok("peak=7KiB").peak, 7 * KiB);
  EXPECT_EQ(parse_ok("peak=7MiB").peak, 7 * MiB);
  EXPECT_EQ(parse_ok("peak=7GiB").peak, 7 * GiB);
}

TEST(ParseBudget, DecimalsRoundDownToWholeBytes) {
  EXPECT_EQ(parse_ok("peak=1.5MiB").peak, 3 * MiB / 2);
  EXPECT_EQ(parse_ok("net=0.1KiB").net, 102);  // 102.4
  EXPECT_EQ(parse_ok("rss=2.25GB").rss, 2250000000);
  EXPECT_EQ(parse_ok("peak=0.5").peak, 0);
}

TEST(ParseBudget, EmptyTextIsAnEmptyBudget) {
  EXPECT_TRUE(parse_ok("").empty());
  EXPECT_TRUE(parse_ok(" , \t").empty());
}

TEST(ParseBudget, LargestValues) {
  EXPECT_EQ(parse_ok("allocs=9223372036854775807").allocs,
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_ok("peak=8589934591GiB").peak, 8589934591 * GiB);
}

TEST(ParseBudgetErrors, UnknownUnitNamesTheUnitAndToken) {
  EXPECT_EQ(parse_error("peak=4MiX"),
            "memx budget \"peak=4MiX\": unknown unit \"MiX\" in \"peak=4MiX\" (use B, KB, MB, GB, "
            "KiB, MiB, GiB)");
  // Units are case-sensitive as written.
  EXPECT_EQ(parse_error("net=0, peak=4mib"),
            "memx budget \"net=0, peak=4mib\": unknown unit \"mib\" in \"peak=4mib\" (use B, KB, "
            "MB, GB, KiB, MiB, GiB)");
}

TEST(ParseBudgetErrors, UnknownKey) {
  EXPECT_EQ(parse_error("peek=1"),
            "memx budget \"peek=1\": unknown key \"peek\" in \"peek=1\" (use peak, net, blocks, "
            "allocs, rss, leak, fds, threads, warn)");
  EXPECT_NE(parse_error("Peak=1").find("unknown key \"Peak\""), std::string::npos);
}

TEST(ParseBudgetErrors, DuplicateKey) {
  EXPECT_EQ(parse_error("peak=1 net=0 peak=2"),
            "memx budget \"peak=1 net=0 peak=2\": duplicate key \"peak\" in \"peak=2\"");
}

TEST(ParseBudgetErrors, MissingEquals) {
  EXPECT_EQ(parse_error("peak"),
            "memx budget \"peak\": missing '=' in \"peak\" (expected key=value, e.g. peak=4MiB)");
  // A space before the unit splits the pair; the stray unit is named.
  EXPECT_NE(parse_error("peak=4 MiB").find("missing '=' in \"MiB\""), std::string::npos);
}

TEST(ParseBudgetErrors, EmptyValue) {
  EXPECT_EQ(parse_error("net=, peak=1"), "memx budget \"net=, peak=1\": empty value in \"net=\"");
}

TEST(ParseBudgetErrors, Negative) {
  EXPECT_EQ(parse_error("net=-1"),
            "memx budget \"net=-1\": negative value \"-1\" in \"net=-1\": a budget is a limit "
            "of 0 or more (net=0 allows no growth)");
  EXPECT_NE(parse_error("peak = -1KiB").find("negative value \"-1KiB\" in \"peak = -1KiB\""),
            std::string::npos);
}

TEST(ParseBudgetErrors, Overflow) {
  EXPECT_EQ(parse_error("peak=8589934592GiB"),
            "memx budget \"peak=8589934592GiB\": value \"8589934592GiB\" in "
            "\"peak=8589934592GiB\" is too large (at most 9223372036854775807 bytes)");
  EXPECT_NE(parse_error("allocs=99999999999999999999").find("is too large"), std::string::npos);
  EXPECT_NE(parse_error("peak=9223372036854775.999KB").find("is too large"), std::string::npos);
}

TEST(ParseBudgetErrors, NotANumber) {
  EXPECT_EQ(parse_error("peak=abc"),
            "memx budget \"peak=abc\": invalid number \"abc\" in \"peak=abc\"");
  EXPECT_NE(parse_error("peak=.5MiB").find("invalid number \".5MiB\""), std::string::npos);
  EXPECT_NE(parse_error("peak=4.MiB").find("invalid number \"4.MiB\""), std::string::npos);
  EXPECT_NE(parse_error("peak=+4").find("invalid number \"+4\""), std::string::npos);
}

TEST(ParseBudgetErrors, CountsTakePlainWholeNumbers) {
  EXPECT_EQ(parse_error("allocs=20k"),
            "memx budget \"allocs=20k\": \"allocs\" takes a plain whole number, not \"20k\" in "
            "\"allocs=20k\"");
  EXPECT_NE(parse_error("blocks=1.5").find("\"blocks\" takes a plain whole number"),
            std::string::npos);
  EXPECT_NE(parse_error("blocks=3B").find("not \"3B\""), std::string::npos);
}

TEST(ParseBudget, RandomInputEitherParsesOrNamesTheProblem) {
  const std::string alphabet = "peakntblocsr=0123456789.,- \tKMGiBX";
  std::mt19937 rng(12345);
  for (int i = 0; i < 5000; ++i) {
    std::string text;
    const int length = static_cast<int>(rng() % 24);
    for (int c = 0; c < length; ++c) text += alphabet[rng() % alphabet.size()];
    memx::BudgetParse p = memx::parse_budget(text);
    ASSERT_NE(p.budget.has_value(), !p.error.empty()) << text;
    if (p.budget) {
      // Whatever parses prints back to itself.
      memx::BudgetParse again = memx::parse_budget(memx::to_string(*p.budget));
      ASSERT_TRUE(again.budget.has_value()) << text << " -> " << again.error;
      ASSERT_EQ(*again.budget, *p.budget) << text;
    } else {
      ASSERT_EQ(p.error.rfind("memx budget \"" + text + "\": ", 0), 0u) << p.error;
    }
  }
}

TEST(BudgetToString, CanonicalText) {
  EXPECT_EQ(memx::to_string(parse_ok("allocs=20000, net=0, peak=4MiB")),
            "peak=4MiB, net=0, allocs=20000");
  EXPECT_EQ(memx::to_string(parse_ok("peak=1.5MiB rss=1000 blocks=7")),
            "peak=1536KiB, blocks=7, rss=1000");
  EXPECT_EQ(memx::to_string(parse_ok("rss=2GiB")), "rss=2GiB");
  EXPECT_EQ(memx::to_string(memx::Budget{}), "");
}

TEST(BudgetToString, RoundTrips) {
  memx::Budget b;
  b.peak = 4 * MiB + 1;
  b.net = 0;
  b.blocks = 12;
  b.allocs = std::numeric_limits<std::int64_t>::max();
  b.rss = 3 * GiB;
  memx::BudgetParse p = memx::parse_budget(memx::to_string(b));
  ASSERT_TRUE(p.budget.has_value()) << p.error;
  EXPECT_EQ(*p.budget, b);
}

TEST(Budget, OverriddenByReplacesOnlyTheKeysItSets) {
  const memx::Budget global = parse_ok("peak=4MiB net=0 allocs=100");
  const memx::Budget local = parse_ok("peak=8MiB rss=1MiB");
  const memx::Budget merged = global.overridden_by(local);
  EXPECT_EQ(merged, parse_ok("peak=8MiB net=0 allocs=100 rss=1MiB"));
  EXPECT_EQ(global.overridden_by(memx::Budget{}), global);
  EXPECT_EQ(memx::Budget{}.overridden_by(local), local);
}

TEST(CheckBudget, OnlyExceededKeysInFixedOrder) {
  const memx::Budget b = parse_ok("rss=1MiB allocs=10 blocks=0 net=0 peak=4MiB");
  memx::Measurement m;
  m.peak_bytes = 4 * MiB;  // equal is within budget
  m.net_bytes = 16;
  m.net_blocks = 1;
  m.allocs = 11;
  m.rss_peak_bytes = 2 * MiB;
  const std::vector<memx::Violation> v = memx::check_budget(b, m);
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0], (memx::Violation{"net", 16, 0}));
  EXPECT_EQ(v[1], (memx::Violation{"blocks", 1, 0}));
  EXPECT_EQ(v[2], (memx::Violation{"allocs", 11, 10}));
  EXPECT_EQ(v[3], (memx::Violation{"rss", 2 * MiB, MiB}));
}

TEST(CheckBudget, EmptyBudgetNeverViolated) {
  memx::Measurement m;
  m.peak_bytes = GiB;
  m.allocs = std::numeric_limits<std::uint64_t>::max();
  EXPECT_TRUE(memx::check_budget(memx::Budget{}, m).empty());
}

TEST(CheckBudget, HugeAllocationCountsSaturate) {
  memx::Measurement m;
  m.allocs = std::numeric_limits<std::uint64_t>::max();
  const std::vector<memx::Violation> v = memx::check_budget(parse_ok("allocs=5"), m);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].measured, std::numeric_limits<std::int64_t>::max());
}

TEST(DescribeViolation, HumanUnits) {
  EXPECT_EQ(memx::describe({"peak", 5452595, 4 * MiB}),
            "peak 5.2 MiB exceeds budget 4 MiB (+1.2 MiB)");
  EXPECT_EQ(memx::describe({"net", 16, 0}), "net 16 B exceeds budget 0 B (+16 B)");
  EXPECT_EQ(memx::describe({"allocs", 25000, 20000}), "allocs 25k exceeds budget 20k (+5k)");
  EXPECT_EQ(memx::describe({"blocks", 3, 0}), "blocks 3 exceeds budget 0 (+3)");
  EXPECT_EQ(memx::describe({"rss", 3 * GiB, GiB}), "rss 3 GiB exceeds budget 1 GiB (+2 GiB)");
}

}  // namespace
