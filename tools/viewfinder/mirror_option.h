// What `mirror` and `serve --reader` share: the collection a reader mirrors, its path map,
// and the sync's progress on stderr.
#pragma once

#include <string>

#include "cli.h"
#include "viewfinder/library.h"

namespace vf::cli {

// Declares --path-map FROM=TO (repeatable).
Args& add_path_map_option(Args& args);
// The sync's parameters: --store given, else the collection the reader `dir` mirrors (else
// an error naming `command`); --path-map given (replacing the remembered one), else unset.
MirrorParams mirror_params(const Args& args, const std::string& command, const std::string& dir,
                           const std::string& model_dir);
// Rows read, rate and ETA on `bar` (stderr), shown once a sync has run a second: small
// syncs print nothing but their summary.
ProgressFn sync_progress(ProgressLine& bar);

}  // namespace vf::cli
