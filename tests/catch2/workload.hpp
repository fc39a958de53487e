// The same workload for a GoogleTest and a Catch2 binary: each function is the whole body
// of one test, so that both plugins must report the same figures for it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace workload {

inline std::vector<std::unique_ptr<char[]>>& kept() {
  static std::vector<std::unique_ptr<char[]>>* v = [] {
    auto* k = new std::vector<std::unique_ptr<char[]>>();
    k->reserve(256);  // the program's, before any test
    return k;
  }();
  return *v;
}

inline void vector_of_ints() {
  std::vector<int> v(1000, 7);
  v.push_back(8);  // grows: a second buffer, the first freed
}

inline void map_of_strings() {
  std::map<int, std::string> m;
  for (int i = 0; i < 100; ++i) m[i] = std::string(40, static_cast<char>('a' + i % 26));
}

inline void string_growth() {
  std::string s;
  for (int i = 0; i < 1000; ++i) s += static_cast<char>('a' + i % 26);
}

inline void keeps_a_block() { kept().emplace_back(new char[64]); }

inline void leaks_sixteen_bytes() { kept().emplace_back(new char[16]); }

inline void allocates_in_a_thread() {
  std::thread t([] { std::vector<double> v(500, 1.0); });
  t.join();
}

}  // namespace workload

/// Test name, workload function: the list both binaries register.
#define MEMX_WORKLOADS(X)                           \
  X(VectorOfInts, workload::vector_of_ints)         \
  X(MapOfStrings, workload::map_of_strings)         \
  X(StringGrowth, workload::string_growth)          \
  X(KeepsABlock, workload::keeps_a_block)           \
  X(LeaksSixteenBytes, workload::leaks_sixteen_bytes) \
  X(AllocatesInAThread, workload::allocates_in_a_thread)
