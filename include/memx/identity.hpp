// memx: how a test is told apart from the others across reports: its binary and its name.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "memx/report.hpp"

namespace memx {

/// The binary that ran `test`: its own `binary` in a merged report, else the report's.
const std::string& binary_of(const Report& report, const TestRecord& test);

/// The name under which a binary is compared, the same on every checkout and machine.
/// Without a root: the binary's file name ("build/tests/parser_tests" -> "parser_tests").
/// With a root: an absolute path relative to the root ("/ci/build/tests/x" with root
/// "/ci/build" -> "tests/x"), a relative path taken as relative to the root already
/// (normalised: "./tests/x" -> "tests/x"); an absolute path outside the root stays whole.
/// A relative root is taken from the current directory.
std::string binary_identity(std::string_view binary, std::string_view root);

/// binary_identity of tests' binaries under one root, computed once per distinct binary (a
/// report of a million tests has a handful); the strings returned live as long as it.
class BinaryIdentities {
 public:
  explicit BinaryIdentities(std::string_view root) : root_(root) {}
  /// binary_identity(binary_of(report, test), root).
  const std::string& of(const Report& report, const TestRecord& test);

 private:
  std::string root_;
  std::map<std::string, std::string> cache_;  // the binary as written -> its identity
};

/// True when binary_identity(binary, root) is relative to the root (always without a root).
bool under_root(std::string_view binary, std::string_view root);

/// A test's identity: its binary's binary_identity and its name.
struct TestKey {
  std::string binary;  ///< binary_identity of the test's binary
  std::string name;    ///< the test's full name

  /// Ordered by binary, then name.
  friend bool operator<(const TestKey& a, const TestKey& b) {
    return a.binary != b.binary ? a.binary < b.binary : a.name < b.name;
  }
  /// Field-wise equality.
  friend bool operator==(const TestKey& a, const TestKey& b) {
    return a.binary == b.binary && a.name == b.name;
  }
};

/// The key of every test of `report`, in its order.
std::vector<TestKey> test_keys(const Report& report, std::string_view root);

/// The distinct binary identities of `report`'s tests, in first-seen order.
std::vector<std::string> binary_identities(const Report& report, std::string_view root);

/// "" when every test of `report` has its own key; else one line naming a test, the two
/// binaries whose identities collide and the remedy (--root): two different binaries that
/// share a file name, holding a test of the same name.
std::string identity_collision(const Report& report, std::string_view root);

/// Replaces every test's binary by its binary_identity under `root`, so that the report
/// matches wherever it is read (a baseline made on another machine): the report's `binary`
/// becomes the one identity, or the distinct ones joined with ", " (each test keeping its own).
void rebase_binaries(Report& report, std::string_view root);

/// How a test is shown where a report holds several binaries: "<binary>: <name>"; the name
/// alone when `binary` is "".
std::string qualified_name(std::string_view binary, std::string_view name);

}  // namespace memx
