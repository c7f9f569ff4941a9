#pragma once
// Small text forms every human-readable sink shares, so a trace id, a
// duration or a source location reads the same in tree, dot and chrome.

#include <cstdint>
#include <string>
#include <string_view>

#include "model/model.hpp"

namespace cotrace {

// A trace id as printed everywhere: 16 hex digits.
std::string trace_id_text(std::uint64_t id);
// "12.41 ms"; with a third decimal below 0.1 ms, so short spans do not all read "0.00 ms".
std::string millis_text(std::uint64_t ns);
// "pipeline.cpp:57": the file's base name and line; the function when the
// file is unknown; "?" when nothing is known. full_path keeps the directory.
std::string site_text(const source_site& s, bool full_path = false);

}  // namespace cotrace

namespace cotrace {

// Display width of UTF-8 text: one column per code point (box drawing, …).
std::size_t display_width(const std::string& s);
// `s` cut to at most `width` columns, ending in "…" when cut.
std::string fit_width(const std::string& s, std::size_t width);
// A C++ name as a person reads it: the standard library's spelled-out
// defaults elided (std::__cxx11::basic_string<char, ...> → std::string,
// ", std::allocator<...>", ", std::char_traits<...>", ", std::less<...>",
// ", std::default_delete<...>", ...; std::__cxx11:: → std::), then, when
// still longer than max_width columns, its middle replaced by "…" (0: no
// limit). The full name stays in jsonl.
std::string short_name(std::string_view name, std::size_t max_width = 0);

}  // namespace cotrace
