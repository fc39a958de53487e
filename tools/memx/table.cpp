// memx CLI: table drawing.
#include "table.hpp"

#include <algorithm>
#include <sstream>
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

Table::Table(std::vector<Column> columns) : columns_(std::move(columns)), width_(columns_.size(), 0) {
  for (std::size_t c = 0; c < columns_.size(); ++c) width_[c] = display_width(columns_[c].heading);
}

void Table::add_row(const std::vector<Cell>& cells) {
  for (std::size_t c = 0; c < columns_.size(); ++c) {
    Color color = Color::none;
    if (c < cells.size()) {
      text_ += cells[c].text;
      color = cells[c].color;
      width_[c] = std::max(width_[c], display_width(cells[c].text));
    }
    cells_.push_back(CellRef{text_.size(), static_cast<std::uint64_t>(color)});
  }
  ++rows_;
}

std::string Table::render(bool color, bool ascii) const {
  std::ostringstream out;
  render(color, ascii, out);
  return out.str();
}

void Table::render(bool color, bool ascii, std::ostream& os) const {
  const std::size_t n = columns_.size();
  const std::string h = ascii ? "-" : "─";
  const std::string v = ascii ? "|" : "│";
  auto rule = [&](const char* left, const char* mid, const char* right) {
    std::string line = ascii ? "+" : left;
    for (std::size_t c = 0; c < n; ++c) {
      for (std::size_t i = 0; i < width_[c] + 2; ++i) line += h;
      line += ascii ? "+" : (c + 1 < n ? mid : right);
    }
    return line + "\n";
  };
  std::string out = rule("┌", "┬", "┐");
  auto cell = [&](const std::string& text, Color cell_color, std::size_t c) {
    const std::string pad(width_[c] - display_width(text), ' ');
    const std::string painted = paint(text, cell_color, color);
    out += " ";
    out += columns_[c].right ? pad + painted : painted + pad;
    out += " " + v;
  };
  out += v;
  for (std::size_t c = 0; c < n; ++c) cell(columns_[c].heading, Color::bold, c);
  out += "\n";
  out += rule("├", "┼", "┤");
  std::string text;
  std::size_t at = 0;
  for (std::size_t r = 0; r < rows_; ++r) {
    out += v;
    for (std::size_t c = 0; c < n; ++c) {
      const CellRef& ref = cells_[r * n + c];
      text.assign(text_, at, ref.end - at);
      at = ref.end;
      cell(text, static_cast<Color>(ref.color), c);
    }
    out += "\n";
    if (out.size() >= (std::size_t{1} << 16)) {
      os << out;
      out.clear();
    }
  }
  out += rule("└", "┴", "┘");
  os << out;
}

}  // namespace memx::cli
