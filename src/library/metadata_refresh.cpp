// Metadata of unchanged photos re-read once after the metadata reader changed what it gives
// for the same bytes (catalog::kMetadataVersion): no decode, no thumbnail, no embedding,
// only read_metadata() and an UPDATE of the metadata columns, in batches.
#include "catalog/photo_row.h"
#include "library/indexer.h"

namespace vf::detail {

void Indexer::refresh_metadata(const std::vector<std::pair<int64_t, std::string>>& photos) {
  note("re-reading the metadata of " + std::to_string(photos.size()) +
       " photos (file times apart from capture times, lenses, GPS, HEIC orientation); nothing is re-embedded");
  const std::string sql = catalog::photo_metadata_update_sql();
  size_t at = 0;
  while (at < photos.size()) {
    Transaction t(db);
    Stmt up(db, sql);
    size_t end = std::min(photos.size(), at + 256);
    for (; at < end; ++at) {
      catalog::PhotoRow row;
      try {
        row.meta = read_metadata(photos[at].second);
      } catch (const Error&) {
        continue;  // unreadable now: keep what the catalog has; a change is caught next run
      }
      catalog::bind_photo_metadata(up, photos[at].first, row);
      up.run();
      ++report.metadata_refreshed;
    }
    bump_generation(db);
    t.commit();
  }
}

}  // namespace vf::detail
