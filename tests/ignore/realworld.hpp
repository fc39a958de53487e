// A real-world-shaped suite's helpers, shared by the GoogleTest and Catch2 scenarios: what
// projects keep for the process's lifetime, and one true leak.
#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <unordered_map>
#include <vector>

namespace realworld {

/// A process-lifetime registry (a logger registry, a plugin table), created by the first
/// test that uses it and never destroyed.
class Registry {
 public:
  static Registry& instance() {
    static Registry* r = new Registry;
    return *r;
  }
  void set(const std::string& name, const std::string& value) { entries_[name] = value; }
  bool has(const std::string& name) const { return entries_.count(name) != 0; }

 private:
  std::map<std::string, std::string> entries_;
};

/// A function-local static std::regex, built at the first call.
inline bool is_identifier(const std::string& s) {
  static const std::regex re("[A-Za-z_][A-Za-z0-9_]*");
  return std::regex_match(s, re);
}

/// A lazily filled cache: an entry per key at its first use, kept.
inline const std::string& cached_name(int id) {
  static std::unordered_map<int, std::string> cache;
  auto it = cache.find(id);
  if (it == cache.end()) {
    it = cache.emplace(id, "name-" + std::to_string(id) + std::string(40, '-')).first;
  }
  return it->second;
}

/// Where the true leak keeps its blocks.
inline std::vector<std::unique_ptr<int[]>>& kept() {
  static std::vector<std::unique_ptr<int[]>> v = [] {
    std::vector<std::unique_ptr<int[]>> r;
    r.reserve(1024);
    return r;
  }();
  return v;
}

}  // namespace realworld
