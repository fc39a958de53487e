#include <cstdint>
#include <limits>
#include <string>

#include <gtest/gtest.h>

#include "memx/units.hpp"

namespace {

TEST(FormatBytes, BytesBelowOneKiB) {
  EXPECT_EQ(memx::format_bytes(0), "0 B");
  EXPECT_EQ(memx::format_bytes(1), "1 B");
  EXPECT_EQ(memx::format_bytes(1023), "1023 B");
}

TEST(FormatBytes, BinaryUnitsWithOneDecimalDroppedWhenZero) {
  EXPECT_EQ(memx::format_bytes(1024), "1 KiB");
  EXPECT_EQ(memx::format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(memx::format_bytes(4 * 1024 * 1024), "4 MiB");
  EXPECT_EQ(memx::format_bytes(5452595), "5.2 MiB");
  EXPECT_EQ(memx::format_bytes(std::int64_t{3} * 1024 * 1024 * 1024 / 2), "1.5 GiB");
  EXPECT_EQ(memx::format_bytes(std::int64_t{4096} * 1024 * 1024 * 1024), "4096 GiB");
}

TEST(FormatBytes, RoundingUpMovesToTheNextUnit) {
  EXPECT_EQ(memx::format_bytes(1024 * 1024 - 1), "1 MiB");
  EXPECT_EQ(memx::format_bytes(1024 * 1024 - 60), "1023.9 KiB");
}

TEST(FormatBytes, NegativeKeepsTheSign) {
  EXPECT_EQ(memx::format_bytes(-96), "-96 B");
  EXPECT_EQ(memx::format_bytes(-1536), "-1.5 KiB");
  EXPECT_EQ(memx::format_bytes(std::numeric_limits<std::int64_t>::min()), "-8589934592 GiB");
}

TEST(FormatCount, PowersOfThousand) {
  EXPECT_EQ(memx::format_count(0), "0");
  EXPECT_EQ(memx::format_count(999), "999");
  EXPECT_EQ(memx::format_count(1000), "1k");
  EXPECT_EQ(memx::format_count(12345), "12.3k");
  EXPECT_EQ(memx::format_count(20000), "20k");
  EXPECT_EQ(memx::format_count(4000000), "4M");
  EXPECT_EQ(memx::format_count(999999), "1M");
  EXPECT_EQ(memx::format_count(1100000000), "1.1G");
}

TEST(PrintableName, EscapesControlCharactersOnly) {
  EXPECT_EQ(memx::printable_name("Suite.Test/0"), "Suite.Test/0");
  EXPECT_EQ(memx::printable_name("Parser.Slow/\"quoted\" \\ \xc3\xbc"), "Parser.Slow/\"quoted\" \\ \xc3\xbc");
  EXPECT_EQ(memx::printable_name("a\nb\rc\td"), "a\\nb\\rc\\td");
  EXPECT_EQ(memx::printable_name("\x1b[31mred\x1b[0m"), "\\x1b[31mred\\x1b[0m");
  EXPECT_EQ(memx::printable_name("\x1b]0;title\x07"), "\\x1b]0;title\\x07");
  EXPECT_EQ(memx::printable_name(std::string("nul\0del\x7f", 8)), "nul\\x00del\\x7f");
  // C1 controls (U+0080-U+009F, here CSI U+009B) start sequences on some terminals; other
  // two-byte characters beginning with 0xC2 (U+00A0-U+00BF) are kept.
  EXPECT_EQ(memx::printable_name("\xc2\x9b" "31m \xc2\xa9"), "\\u009b31m \xc2\xa9");
  EXPECT_EQ(memx::printable_name("end\xc2"), "end\xc2");
}

}  // namespace
