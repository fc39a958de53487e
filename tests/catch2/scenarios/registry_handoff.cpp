// Test cases that hand global state to a later one, as a logging library's suite does: the
// first registers a logger by name (a second registration with that name fails), a later
// one drops it. Run with Catch2's own main and MEMX_REPEAT=5: memx must repeat the whole
// run in test order (as --gtest_repeat does); repeating each test case back to back would
// register the name twice and fail. No test is a leak.
// Catch2's own main: ../catch_own_main.cpp.
#include "../catch2_include.hpp"

#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace {

struct Logger {
  std::string name;
  std::string pattern = "[%Y-%m-%d %H:%M:%S] [%n] [%l] %v (a pattern long enough to allocate)";
};

std::map<std::string, std::unique_ptr<Logger>>& registry() {
  static auto* loggers = new std::map<std::string, std::unique_ptr<Logger>>();
  return *loggers;
}

void register_logger(const std::string& name) {
  if (registry().count(name) != 0) {
    throw std::runtime_error("logger with name '" + name + "' already exists");
  }
  registry()[name] = std::make_unique<Logger>(Logger{name});
}

}  // namespace

TEST_CASE("Registry registers the main logger") {
  register_logger("main-logger-with-a-long-name");
  CHECK(registry().size() == 1u);
}

TEST_CASE("Registry uses the main logger") {
  REQUIRE(registry().count("main-logger-with-a-long-name") == 1u);
  CHECK(!registry()["main-logger-with-a-long-name"]->pattern.empty());
}

TEST_CASE("Registry drops every logger") {
  registry().clear();
  CHECK(registry().empty());
}
