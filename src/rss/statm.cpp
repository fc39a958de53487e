// /proc/self/statm: the parser (a free function, unit-tested) and the reader.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

#include "memx/rss.hpp"
#include "sys/proc_file.hpp"

namespace memx {

std::optional<StatmPages> parse_statm(std::string_view text) noexcept {
  std::uint64_t fields[7];
  std::size_t count = 0, i = 0;
  while (true) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
    if (i == text.size() || text[i] == '\n') break;
    if (text[i] < '0' || text[i] > '9' || count == 7) return std::nullopt;
    std::uint64_t v = 0;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') {
      const auto digit = static_cast<std::uint64_t>(text[i] - '0');
      if (v > (UINT64_MAX - digit) / 10) return std::nullopt;
      v = v * 10 + digit;
      ++i;
    }
    if (i < text.size() && text[i] != ' ' && text[i] != '\t' && text[i] != '\n') return std::nullopt;
    fields[count++] = v;
  }
  // Nothing but the final newline may follow.
  if (i < text.size() && text.substr(i) != "\n") return std::nullopt;
  if (count != 7) return std::nullopt;
  return StatmPages{fields[0], fields[1], fields[2], fields[3], fields[4], fields[5], fields[6]};
}

std::optional<StatmPages> read_statm() noexcept {
  char buf[256];
  const std::size_t n = detail::read_proc_file("/proc/self/statm", buf, sizeof buf);
  if (n == 0) return std::nullopt;
  return parse_statm(std::string_view(buf, n));
}

std::int64_t current_rss_bytes() noexcept {
  static const long page = ::sysconf(_SC_PAGESIZE);
  const auto pages = read_statm();
  return pages ? static_cast<std::int64_t>(pages->resident) * page : 0;
}

}  // namespace memx
