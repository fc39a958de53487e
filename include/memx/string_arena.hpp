// memx: many short strings stored one after another in large blocks (test names of a
// million-test report), each kept as a pointer and a length by its user.
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace memx {

/// Append-only storage for strings: 1 MiB blocks filled one after another (a string longer
/// than a quarter of a block gets a block of its own). What store() returns stays valid as
/// long as the arena; nothing is freed before. Not thread-safe.
class StringArena {
 public:
  /// Copies text (no terminating NUL) and returns where it now is.
  const char* store(std::string_view text) {
    if (text.size() > kBlock / 4) {
      long_.push_back(std::make_unique<char[]>(text.size()));
      std::memcpy(long_.back().get(), text.data(), text.size());
      return long_.back().get();
    }
    if (blocks_.empty() || used_ + text.size() > kBlock) {
      blocks_.push_back(std::make_unique<char[]>(kBlock));
      used_ = 0;
    }
    char* at = blocks_.back().get() + used_;
    std::memcpy(at, text.data(), text.size());
    used_ += text.size();
    return at;
  }

 private:
  static constexpr std::size_t kBlock = std::size_t{1} << 20;
  std::vector<std::unique_ptr<char[]>> blocks_;  // short strings, one after another
  std::vector<std::unique_ptr<char[]>> long_;    // strings longer than a quarter of a block
  std::size_t used_ = 0;                         // bytes of the last block taken
};

}  // namespace memx
