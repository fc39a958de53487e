// A shared library of the sites scenarios (see sites_lib.hpp).
#include "sites_lib.hpp"

#include <vector>

namespace sites_lib {
namespace {
std::vector<char*>& kept() {
  static auto* v = new std::vector<char*>;  // one-time
  return *v;
}
}  // namespace

[[gnu::noinline]] void keep_block(std::size_t size) {
  char* p = new char[size];  // SITE: library
  kept().push_back(p);
}
}  // namespace sites_lib
