// memx CLI: a box-drawn text table with optional ANSI colours.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace memx::cli {

/// ANSI colours a cell may use.
enum class Color { none, red, yellow, green, dim, bold };

/// One cell: its text and colour.
struct Cell {
  std::string text;          ///< UTF-8 text
  Color color = Color::none; ///< shown only when colours are on
};

/// A table with a header row; columns are left- or right-aligned.
class Table {
 public:
  /// A column's heading and alignment.
  struct Column {
    std::string heading;   ///< header text
    bool right = false;    ///< right-aligned (numbers)
  };

  /// A table with these columns.
  explicit Table(std::vector<Column> columns);
  /// Appends a row; missing cells are empty, extra cells ignored.
  void add_row(const std::vector<Cell>& cells);
  /// The number of rows added.
  std::size_t size() const { return rows_; }
  /// The table drawn with box-drawing characters (or +-| when `ascii`), colours when
  /// `color`, each line ending with '\n'.
  std::string render(bool color, bool ascii) const;
  /// The same, written to `out` a row at a time (a million rows are never one string).
  void render(bool color, bool ascii, std::ostream& out) const;

 private:
  // The cells' texts one after another in text_, each cell a reference into it: a table of
  // a million rows costs its text, not nine strings and a vector per row.
  // A cell is where its text ends in text_ and its colour, in one word (it starts where the
  // previous cell ends).
  struct CellRef {
    std::uint64_t end : 56;
    std::uint64_t color : 8;
  };
  static_assert(sizeof(CellRef) == 8, "one word per cell");
  std::vector<Column> columns_;
  std::string text_;
  std::vector<CellRef> cells_;  // rows_ * columns_.size()
  std::vector<std::size_t> width_;  // each column's widest cell so far
  std::size_t rows_ = 0;
};

/// The number of terminal columns of a UTF-8 string (one per code point).
std::size_t display_width(const std::string& text);

/// `text` wrapped in the ANSI sequence of `color` when `enabled`, else `text`.
std::string paint(const std::string& text, Color color, bool enabled);

}  // namespace memx::cli
