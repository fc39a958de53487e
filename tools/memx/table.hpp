// memx CLI: a box-drawn text table with optional ANSI colours.
#pragma once

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

 private:
  // The cells' texts one after another in text_, each cell a reference into it: a table of
  // a million rows costs its text, not nine strings and a vector per row.
  struct CellRef {
    std::size_t at = 0;
    std::size_t size = 0;
    Color color = Color::none;
  };
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
