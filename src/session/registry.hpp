// Internal: the registry of group (suite) budgets shared by budgets.cpp and session.cpp.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "memx/budget.hpp"

namespace memx::detail {

/// One MEMX_SUITE_BUDGET: its text, where it was written, and the parse result.
struct GroupBudget {
  std::string text;   ///< as written
  std::string where;  ///< "file:line"
  Budget budget;      ///< parsed (empty when error is set)
  std::string error;  ///< parse error naming the bad token, "" when valid
};

/// Group name -> budget. Its memory is allocated and freed only under memx::Uncounted.
struct GroupBudgets {
  mutable std::mutex mutex;
  std::map<std::string, GroupBudget> by_group;
  /// True once a group's budget limits descriptors or threads (fds=N, threads=N): only then
  /// does a test's start look its group up to know whether to list them.
  std::atomic<bool> limits_resources{false};
  /// True once any group has a budget: until then a test's end looks nothing up (no lock).
  std::atomic<bool> any{false};
  /// A copy of the group's entry (make it under a guard).
  std::optional<GroupBudget> find(const std::string& group) const;
};

/// The process's registry (never destroyed).
GroupBudgets& group_budgets();

}  // namespace memx::detail
