// Internal: replacing a file's content atomically (temporary file + rename), not durably.
#pragma once

#include <string>

namespace memx::detail {

/// Writes `text` to a temporary file next to `path` and renames it over `path`. Readers
/// never see a partial file; no fsync. False and *error (if given) on failure.
bool write_text_replacing(const std::string& path, const std::string& text, std::string* error);

}  // namespace memx::detail
