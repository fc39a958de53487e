// Budgets that memx would fail (16 bytes of peak, 1 KiB allocated): built with
// memx::annotations alone they are nothing, and the tests pass.
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <memx/gtest.hpp>

MEMX_SUITE_BUDGET(Annotated, "peak=16");

TEST(Annotated, OverItsBudgetWithMemx) {
  MEMX_BUDGET("peak=16, allocs=0");
  const std::string text = "allocs=0";
  MEMX_BUDGET(text);
  std::vector<char> v(1024, 'x');
  EXPECT_EQ(v[0], 'x');
}

TEST(Annotated, IgnoreScopesRunTheirStatements) {
  MEMX_EXPECT_LEAK(0);
  int made = 0;
  MEMX_IGNORE(made = 1, ++made);
  { memx::IgnoreScope ignore; ++made; }
  EXPECT_EQ(made, 3);
}
