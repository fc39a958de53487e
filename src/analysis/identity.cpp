// Test identity: binary (relative to a root) and name.
#include "memx/identity.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <system_error>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>  // fmt::join (fmt 11 moved it here)

#include "memx/units.hpp"

namespace memx {
namespace {

namespace fs = std::filesystem;

// `root` as an absolute, normalised path without a trailing separator.
fs::path absolute_root(std::string_view root) {
  fs::path r{std::string(root)};
  std::error_code ec;
  if (r.is_relative()) {
    const fs::path cwd = fs::current_path(ec);
    if (!ec) r = cwd / r;
  }
  r = r.lexically_normal();
  if (!r.has_filename() && r.has_parent_path() && r != r.root_path()) r = r.parent_path();
  return r;
}

// "" when `p` is not below `root`, else the relative path.
std::string relative_below(const fs::path& p, const fs::path& root) {
  const fs::path rel = p.lexically_relative(root);
  if (rel.empty() || rel == "." || *rel.begin() == "..") return "";
  return rel.generic_string();
}

}  // namespace

const std::string& binary_of(const Report& report, const TestRecord& test) {
  return test.binary.empty() ? report.binary : test.binary;
}

std::string binary_identity(std::string_view binary, std::string_view root) {
  const fs::path p = fs::path{std::string(binary)}.lexically_normal();
  if (root.empty()) {
    const std::string name = p.filename().string();
    return name.empty() ? p.generic_string() : name;
  }
  if (p.is_relative()) return p.generic_string();
  const std::string rel = relative_below(p, absolute_root(root));
  return rel.empty() ? p.generic_string() : rel;
}

bool under_root(std::string_view binary, std::string_view root) {
  if (root.empty()) return true;
  const fs::path p = fs::path{std::string(binary)}.lexically_normal();
  return p.is_relative() || !relative_below(p, absolute_root(root)).empty();
}

const std::string& BinaryIdentities::of(const Report& report, const TestRecord& test) {
  const std::string& raw = binary_of(report, test);
  auto it = cache_.find(raw);
  if (it == cache_.end()) it = cache_.emplace(raw, binary_identity(raw, root_)).first;
  return it->second;
}

std::vector<TestKey> test_keys(const Report& report, std::string_view root) {
  BinaryIdentities identities(root);
  std::vector<TestKey> out;
  out.reserve(report.tests.size());
  for (const TestRecord& t : report.tests) out.push_back(TestKey{identities.of(report, t), t.name});
  return out;
}

std::vector<std::string> binary_identities(const Report& report, std::string_view root) {
  std::vector<std::string> out;
  for (const TestKey& k : test_keys(report, root)) {
    if (std::find(out.begin(), out.end(), k.binary) == out.end()) out.push_back(k.binary);
  }
  return out;
}

std::string identity_collision(const Report& report, std::string_view root) {
  // One binary (no test has its own): the reader already refused a name twice.
  bool own = false;
  for (const TestRecord& t : report.tests) own = own || !t.binary.empty();
  if (!own) return "";
  const std::vector<TestKey> keys = test_keys(report, root);
  std::map<TestKey, std::size_t> seen;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    const auto [first, inserted] = seen.emplace(keys[i], i);
    if (inserted) continue;
    const std::string& a = binary_of(report, report.tests[first->second]);
    const std::string& b = binary_of(report, report.tests[i]);
    return fmt::format(
        "the binaries {} and {} both count as \"{}\" and both have the test {}: tell them "
        "apart with --root DIR (binaries compared by their path relative to DIR)",
        a, b, keys[i].binary, printable_name(keys[i].name));
  }
  return "";
}

void rebase_binaries(Report& report, std::string_view root) {
  std::vector<std::string> distinct;
  for (TestRecord& t : report.tests) {
    t.binary = binary_identity(binary_of(report, t), root);
    if (std::find(distinct.begin(), distinct.end(), t.binary) == distinct.end()) {
      distinct.push_back(t.binary);
    }
  }
  if (distinct.empty()) {
    report.binary = binary_identity(report.binary, root);
    return;
  }
  report.binary = fmt::format("{}", fmt::join(distinct, ", "));
  if (distinct.size() == 1) {
    for (TestRecord& t : report.tests) t.binary.clear();
  }
}

std::string qualified_name(std::string_view binary, std::string_view name) {
  if (binary.empty()) return std::string(name);
  return fmt::format("{}: {}", binary, name);
}

}  // namespace memx
