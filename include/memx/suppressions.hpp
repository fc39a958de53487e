// memx: leak suppressions in LeakSanitizer's file format (`leak:PATTERN` lines), plus
// `test:PATTERN` lines naming tests. A project reuses its LSan suppressions file with
// --memx-suppressions=FILE (MEMX_SUPPRESSIONS) and `memx gate --suppressions=FILE`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace memx {

struct TestRecord;

/// One line of a suppressions file.
struct Suppression {
  /// What the pattern is matched against.
  enum class Kind {
    leak,  ///< function, file and module names of every frame of a leak's sites (stack mode)
    test,  ///< the test's full name (works in counting mode too)
  };
  Kind kind = Kind::leak;  ///< the line's prefix
  std::string pattern;     ///< the text after "leak:" or "test:", trimmed
  int line = 0;            ///< line number in its file, from 1 (0: not from a file)

  /// "leak:PATTERN" or "test:PATTERN", as written in the file.
  std::string text() const;
};

/// The result of parse_suppressions: the lines, or one error naming the file and line.
struct SuppressionsParse {
  std::optional<std::vector<Suppression>> list;  ///< set on success
  std::string error;  ///< set on failure: "<source>:<line>: <what is wrong>"
};

/// Parses a suppressions file: one `leak:PATTERN` or `test:PATTERN` per line; blank lines
/// and lines starting with '#' are ignored, leading and trailing blanks are trimmed. Any
/// other line (LSan's other kinds, `called_from_lib:`, a typo) is an error with its line
/// number: a run must not go on without a suppression the user wrote.
SuppressionsParse parse_suppressions(std::string_view text, std::string_view source);

/// Reads and parses the file at `path`; a missing or unreadable file is an error naming it.
SuppressionsParse read_suppressions_file(const std::string& path);

/// True when `pattern` matches the whole of `text`, `*` matching any run of characters
/// (none included); no other character is special. Used by the suppressions below and by
/// `memx gate --allow`.
bool glob_whole(std::string_view pattern, std::string_view text);

/// LeakSanitizer's pattern match: `*` matches any run of characters (none included); a
/// pattern matches anywhere in `text` unless it starts with `^` (anchored at the start) or
/// ends with `$` (anchored at the end). An empty `text` never matches.
bool suppression_matches(std::string_view pattern, std::string_view text);

/// The first suppression of `list` that suppresses the test's leak, if any: a `test:` line
/// matching its name, or a `leak:` line matching a frame (function, file or module) of
/// every site that keeps blocks from every measured repetition (every site when none
/// does), so that a leak with one unsuppressed site stays a leak. Sites exist in stack
/// mode only: without them only `test:` lines apply.
std::optional<std::size_t> find_suppression(const std::vector<Suppression>& list,
                                            const TestRecord& test);

}  // namespace memx
