// The sample project's tests (examples/ci/sample). SAMPLE_GROW=1 in the environment plants a
// regression in Sample.Buffer: 64 KiB more at its peak.
#include <cstdlib>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <memx/gtest.hpp>

MEMX_SUITE_BUDGET(Sample, "net=0");

TEST(Sample, Buffer) {
  const char* grow = std::getenv("SAMPLE_GROW");
  std::vector<char> buffer(grow != nullptr && *grow == '1' ? 65536 + 4096 : 4096, 'x');
  EXPECT_EQ(buffer.front(), 'x');
}

TEST(Sample, Strings) {
  std::vector<std::string> v(8, std::string(100, 's'));
  EXPECT_EQ(v.size(), 8u);
}
