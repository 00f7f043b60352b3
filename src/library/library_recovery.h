// What a library does after a bad ending: temp files a crashed or disk-full run left behind,
// and a catalog that SQLite cannot read (damaged, not foreign) explained with the way back.
#pragma once

#include <string>

namespace vf::detail {

// Removes `*.tmp.<pid>*` files under the library directory and its thumbs/ whose writer
// process is gone (a disk-full or killed run). Returns how many were removed.
int remove_stale_temp_files(const std::string& library_dir);

// True when SQLite's message says the file is damaged ("malformed", "not a database", a
// truncated or torn file).
bool is_damaged_catalog_error(const std::string& sqlite_message);

// The error for a catalog that cannot be read: "damaged" with how to recover when the file
// is an SQLite database (or a torn one), "not a Viewfinder catalog" otherwise.
[[noreturn]] void throw_unreadable_catalog(const std::string& catalog_path, const std::string& reason);

}  // namespace vf::detail
