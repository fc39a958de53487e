// Budgets declared in code: MEMX_BUDGET in a test body and group (suite) defaults
// registered by static initialisers, possibly before any Session exists.
#include <map>
#include <mutex>
#include <string>

#include "memx/session.hpp"
#include "memx/uncounted.hpp"
#include "session/registry.hpp"

namespace memx {
namespace detail {

GroupBudgets& group_budgets() {
  // Created under a guard and never destroyed: static initialisers of other translation
  // units may register into it, and static destructors must never free it counted.
  static GroupBudgets* registry = [] {
    Uncounted guard;
    return new GroupBudgets();
  }();
  return *registry;
}

std::optional<GroupBudget> GroupBudgets::find(const std::string& group) const {
  if (!any.load(std::memory_order_acquire)) return std::nullopt;
  std::lock_guard<std::mutex> lock(mutex);
  auto it = by_group.find(group);
  if (it == by_group.end()) return std::nullopt;
  return it->second;
}

}  // namespace detail

bool register_group_budget(const char* group, const char* text, const char* file, int line) noexcept {
  Uncounted guard;
  try {
    detail::GroupBudget entry;
    entry.text = text;
    entry.where = std::string(file) + ":" + std::to_string(line);
    BudgetParse parsed = parse_budget(text);
    if (parsed.budget) {
      entry.budget = *parsed.budget;
      if (entry.budget.fds || entry.budget.threads_left) detail::group_budgets().limits_resources = true;
    } else {
      entry.error = parsed.error;
    }
    detail::GroupBudgets& r = detail::group_budgets();
    std::lock_guard<std::mutex> lock(r.mutex);
    r.by_group[group] = std::move(entry);
    r.any.store(true, std::memory_order_release);
  } catch (...) {
    // Out of memory at static initialisation: the budget is lost, the program goes on.
  }
  return true;
}

void declare_budget(std::string_view text, const char* file, int line) noexcept {
  Session* s = Session::current();
  if (s == nullptr) return;
  try {
    s->declare_test_budget(text, file, line);
  } catch (...) {
    // Out of memory: nothing sensible to report from inside the test.
  }
}

namespace detail {

void declare_budget_text(const char* text, std::size_t size, const char* file, int line) noexcept {
  declare_budget(std::string_view(text == nullptr ? "" : text, text == nullptr ? 0 : size), file, line);
}

}  // namespace detail

}  // namespace memx
