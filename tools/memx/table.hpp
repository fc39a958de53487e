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
  explicit Table(std::vector<Column> columns) : columns_(std::move(columns)) {}
  /// Appends a row; missing cells are empty, extra cells ignored.
  void add_row(std::vector<Cell> cells) { rows_.push_back(std::move(cells)); }
  /// The number of rows added.
  std::size_t size() const { return rows_.size(); }
  /// The table drawn with box-drawing characters (or +-| when `ascii`), colours when
  /// `color`, each line ending with '\n'.
  std::string render(bool color, bool ascii) const;

 private:
  std::vector<Column> columns_;
  std::vector<std::vector<Cell>> rows_;
};

/// The number of terminal columns of a UTF-8 string (one per code point).
std::size_t display_width(const std::string& text);

/// `text` wrapped in the ANSI sequence of `color` when `enabled`, else `text`.
std::string paint(const std::string& text, Color color, bool enabled);

}  // namespace memx::cli
