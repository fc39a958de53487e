// memx CLI: table drawing.
#include "table.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace memx::cli {

std::size_t display_width(const std::string& text) {
  std::size_t n = 0;
  for (char c : text) {
    // Count every byte that does not continue a UTF-8 sequence.
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string paint(const std::string& text, Color color, bool enabled) {
  if (!enabled || color == Color::none || text.empty()) return text;
  const char* code = "";
  switch (color) {
    case Color::red:
      code = "\x1b[31m";
      break;
    case Color::yellow:
      code = "\x1b[33m";
      break;
    case Color::green:
      code = "\x1b[32m";
      break;
    case Color::dim:
      code = "\x1b[2m";
      break;
    case Color::bold:
      code = "\x1b[1m";
      break;
    case Color::none:
      break;
  }
  return std::string(code) + text + "\x1b[0m";
}

std::string Table::render(bool color, bool ascii) const {
  const std::size_t n = columns_.size();
  std::vector<std::size_t> width(n, 0);
  for (std::size_t c = 0; c < n; ++c) width[c] = display_width(columns_[c].heading);
  for (const auto& row : rows_) {
    for (std::size_t c = 0; c < n && c < row.size(); ++c) {
      width[c] = std::max(width[c], display_width(row[c].text));
    }
  }
  const std::string h = ascii ? "-" : "─";
  const std::string v = ascii ? "|" : "│";
  auto rule = [&](const char* left, const char* mid, const char* right) {
    std::string line = ascii ? "+" : left;
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = 0; i < width[c] + 2; ++i) line += h;
      line += ascii ? "+" : (c + 1 < n ? mid : right);
    }
    return line + "\n";
  };
  auto line = [&](const std::vector<Cell>& cells, bool heading) {
    std::string out = v;
    for (std::size_t c = 0; c < n; ++c) {
      const Cell empty;
      const Cell& cell = c < cells.size() ? cells[c] : empty;
      const std::string pad(width[c] - display_width(cell.text), ' ');
      const std::string text = paint(cell.text, heading ? Color::bold : cell.color, color);
      out += " ";
      out += columns_[c].right ? pad + text : text + pad;
      out += " " + v;
    }
    return out + "\n";
  };
  std::vector<Cell> heading;
  for (const Column& c : columns_) heading.push_back(Cell{c.heading, Color::bold});
  std::string out = rule("┌", "┬", "┐");
  out += line(heading, true);
  out += rule("├", "┼", "┤");
  for (const auto& row : rows_) out += line(row, false);
  out += rule("└", "┴", "┘");
  return out;
}

}  // namespace memx::cli
