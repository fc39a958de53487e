// The analysis tests' two ways of parsing a budget: one that must parse, one that must not.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "memx/budget.hpp"

namespace memx_test {

/// The budget `text` parses to; a test failure (and an empty budget) when it does not.
inline memx::Budget parse_ok(const std::string& text) {
  memx::BudgetParse p = memx::parse_budget(text);
  EXPECT_TRUE(p.budget.has_value()) << text << " -> " << p.error;
  EXPECT_EQ(p.error, "");
  return p.budget.value_or(memx::Budget{});
}

/// The message parsing `text` gives; a test failure when it parses.
inline std::string parse_error(const std::string& text) {
  memx::BudgetParse p = memx::parse_budget(text);
  EXPECT_FALSE(p.budget.has_value()) << text << " parsed";
  return p.error;
}

}  // namespace memx_test
