// The parsers of outside input: /proc files, durations, sizes, booleans, environment.
#include <gtest/gtest.h>

#include <cstdlib>

#include "memx/config.hpp"
#include "memx/process.hpp"
#include "memx/rss.hpp"

namespace {

TEST(ParseStatm, ReadsTheSevenFields) {
  const auto s = memx::parse_statm("10944 2304 1792 204 0 1456 0\n");
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->size, 10944u);
  EXPECT_EQ(s->resident, 2304u);
  EXPECT_EQ(s->shared, 1792u);
  EXPECT_EQ(s->text, 204u);
  EXPECT_EQ(s->lib, 0u);
  EXPECT_EQ(s->data, 1456u);
  EXPECT_EQ(s->dt, 0u);
  EXPECT_TRUE(memx::parse_statm("1 2 3 4 5 6 7").has_value()) << "newline is optional";
  EXPECT_TRUE(memx::parse_statm("18446744073709551615 2 3 4 5 6 7\n").has_value());
}

TEST(ParseStatm, RejectsAnythingElse) {
  for (const char* bad : {"", "\n", "1 2 3 4 5 6", "1 2 3 4 5 6 7 8", "1 2 3 x 5 6 7",
                          "1 2 3 4 5 6 -7", "1 2 3 4 5 6 7\nextra", "18446744073709551616 2 3 4 5 6 7",
                          "1,2 3 4 5 6 7 8", "a"}) {
    EXPECT_FALSE(memx::parse_statm(bad).has_value()) << '"' << bad << '"';
  }
}

TEST(ParseStatm, ReadsThisProcess) {
  const auto s = memx::read_statm();
  ASSERT_TRUE(s.has_value());
  EXPECT_GT(s->resident, 0u);
  EXPECT_GE(s->size, s->resident);
  EXPECT_GT(memx::current_rss_bytes(), 0);
}

TEST(ParseProcStat, HandlesCommandNamesWithSpacesAndParentheses) {
  const char* text =
      "4242 (my (odd) prog) S 1 4242 4242 0 -1 4194560 500 0 0 0 "
      "123 45 0 0 20 0 7 0 98765 1234567890 4321 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 "
      "17 1 0 0 0 0 0\n";
  const auto st = memx::parse_proc_stat(text);
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->utime_ticks, 123u);
  EXPECT_EQ(st->stime_ticks, 45u);
  EXPECT_EQ(st->num_threads, 7);
  EXPECT_EQ(st->starttime_ticks, 98765u);
  EXPECT_EQ(st->vsize_bytes, 1234567890u);
  EXPECT_EQ(st->rss_pages, 4321);
}

TEST(ParseProcStat, RejectsTruncatedOrMalformedText) {
  EXPECT_FALSE(memx::parse_proc_stat("").has_value());
  EXPECT_FALSE(memx::parse_proc_stat("42 (x) S 1 2 3").has_value());
  EXPECT_FALSE(memx::parse_proc_stat("42 x S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21")
                   .has_value());
  EXPECT_FALSE(memx::parse_proc_stat("42 (x) S 1 2 3 4 5 6 7 8 9 10 abc 12 13 14 15 16 17 18 19 20 "
                                     "21 22")
                   .has_value());
}

TEST(ParseDuration, AcceptsUnitsAndBareMilliseconds) {
  using std::chrono::microseconds;
  EXPECT_EQ(memx::parse_duration("10ms"), microseconds(10000));
  EXPECT_EQ(memx::parse_duration("10"), microseconds(10000));
  EXPECT_EQ(memx::parse_duration("250us"), microseconds(250));
  EXPECT_EQ(memx::parse_duration("2s"), microseconds(2000000));
  EXPECT_EQ(memx::parse_duration(" 5 ms "), microseconds(5000));
}

TEST(ParseDuration, RejectsBadValues) {
  for (const char* bad : {"", "ms", "0", "0ms", "-5ms", "10 minutes", "1.5ms", "10h", "abc",
                          "99999999999999999999"}) {
    EXPECT_FALSE(memx::parse_duration(bad).has_value()) << bad;
  }
}

TEST(ParseSize, DecimalAndBinaryUnits) {
  EXPECT_EQ(memx::parse_size("0"), 0u);
  EXPECT_EQ(memx::parse_size("512"), 512u);
  EXPECT_EQ(memx::parse_size("512B"), 512u);
  EXPECT_EQ(memx::parse_size("4KB"), 4000u);
  EXPECT_EQ(memx::parse_size("4KiB"), 4096u);
  EXPECT_EQ(memx::parse_size("3MB"), 3000000u);
  EXPECT_EQ(memx::parse_size("3 MiB"), 3u << 20);
  EXPECT_EQ(memx::parse_size("2GiB"), 2ull << 30);
  EXPECT_EQ(memx::parse_size("1GB"), 1000000000u);
}

TEST(ParseSize, RejectsBadValues) {
  for (const char* bad : {"", "MiB", "4kb", "4MiX", "-1", "1.5MiB", "99999999999TiB", "4 M"}) {
    EXPECT_FALSE(memx::parse_size(bad).has_value()) << bad;
  }
}

TEST(ParseBool, Spellings) {
  for (const char* t : {"1", "true", "TRUE", "yes", "On"}) EXPECT_EQ(memx::parse_bool(t), true);
  for (const char* f : {"0", "false", "No", "off"}) EXPECT_EQ(memx::parse_bool(f), false);
  for (const char* bad : {"", "2", "yep", "enable"}) EXPECT_FALSE(memx::parse_bool(bad)) << bad;
}

TEST(Environment, ABadValueWarnsOnceNamingTheVariableAndUsesTheDefault) {
  setenv("MEMX_TEST_INTERVAL", "fast", 1);
  ::testing::internal::CaptureStderr();
  const auto d = memx::env_duration("MEMX_TEST_INTERVAL", std::chrono::milliseconds(10));
  const std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(d, std::chrono::milliseconds(10));
  EXPECT_EQ(err,
            "memx: ignoring MEMX_TEST_INTERVAL=\"fast\": expected a positive duration such as "
            "10ms, 500us or 1s; using 10000us\n");
  unsetenv("MEMX_TEST_INTERVAL");
}

TEST(Environment, GoodAndUnsetValues) {
  setenv("MEMX_TEST_INTERVAL", "3ms", 1);
  EXPECT_EQ(memx::env_duration("MEMX_TEST_INTERVAL", std::chrono::milliseconds(10)),
            std::chrono::milliseconds(3));
  unsetenv("MEMX_TEST_INTERVAL");
  EXPECT_EQ(memx::env_duration("MEMX_TEST_INTERVAL", std::chrono::milliseconds(10)),
            std::chrono::milliseconds(10));
  setenv("MEMX_TEST_FLAG", "yes", 1);
  EXPECT_TRUE(memx::env_bool("MEMX_TEST_FLAG", false));
  setenv("MEMX_TEST_FLAG", "maybe", 1);
  ::testing::internal::CaptureStderr();
  EXPECT_FALSE(memx::env_bool("MEMX_TEST_FLAG", false));
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("MEMX_TEST_FLAG=\"maybe\""),
            std::string::npos);
  unsetenv("MEMX_TEST_FLAG");
  setenv("MEMX_TEST_INT", "70", 1);
  ::testing::internal::CaptureStderr();
  EXPECT_EQ(memx::env_int("MEMX_TEST_INT", 5, 1, 50), 5);
  EXPECT_NE(::testing::internal::GetCapturedStderr().find("a whole number from 1 to 50"),
            std::string::npos);
  setenv("MEMX_TEST_INT", "42", 1);
  EXPECT_EQ(memx::env_int("MEMX_TEST_INT", 5, 1, 50), 42);
  unsetenv("MEMX_TEST_INT");
}

TEST(Environment, UnknownMemxVariablesAreNamed) {
  setenv("MEMX_SAMPLE_INTERVALL", "5ms", 1);
  ::testing::internal::CaptureStderr();
  memx::warn_unknown_environment();
  const std::string err = ::testing::internal::GetCapturedStderr();
  unsetenv("MEMX_SAMPLE_INTERVALL");
  EXPECT_NE(err.find("memx: ignoring unknown environment variable MEMX_SAMPLE_INTERVALL"),
            std::string::npos)
      << err;
}

}  // namespace
