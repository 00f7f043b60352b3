// Files of a photo: the one checked read, and thumbnails of other sizes made on demand.
#include "server/photo_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "common/value_parse.h"
#include "server/server_state.h"
#include "server/server_util.h"
#include "viewfinder/image.h"

namespace vf::server {

namespace fs = std::filesystem;

const std::vector<int>& thumb_sizes() {
  // 512 covers a ~180 CSS px phone tile at 3x and a 355 px desktop tile at 1.5x; 1024 a 355 px
  // tile at 3x (the 1280 px preview is the next step up).
  static const std::vector<int> sizes = {256, 512, 1024};
  return sizes;
}

void add_thumb_features(json& health) { health["features"]["thumb_sizes"] = thumb_sizes(); }

bool inside_roots(ServerState& s, const std::vector<std::string>& roots, const PhotoRecord& rec) {
  auto real = real_path(rec.path);
  if (!real || path_within_any(*real, roots)) return true;
  s.log.line("refused: photo " + std::to_string(rec.id) + " resolves outside the library: " + *real);
  return false;
}

void require_inside_roots(ServerState& s, const std::vector<std::string>& roots, const PhotoRecord& rec) {
  if (!inside_roots(s, roots, rec))
    throw HttpError{403, "the file of photo " + std::to_string(rec.id) + " resolves outside the library"};
}

std::string read_photo_file(ServerState& s, const Generation& g, const PhotoRecord& rec, const std::string& path,
                            bool original) {
  const std::string id = std::to_string(rec.id);
  auto real = real_path(path);
  if (!real) throw HttpError{404, "the file of photo " + id + " is missing; re-index"};
  const std::vector<std::string> allowed = original ? g.roots : std::vector<std::string>{g.thumbs_root};
  if (!path_within_any(*real, allowed)) {
    s.log.line("refused: photo " + id + " resolves outside the library: " + *real);
    throw HttpError{403, "the file of photo " + id + " now resolves outside the library"};
  }
  int fd = ::open(real->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw HttpError{404, "cannot open the file of photo " + id};
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw HttpError{403, "the file of photo " + id + " is not a regular file"};
  }
  if (original) {
    int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    // The catalog's size and mtime identify the indexed file; anything else is a different
    // file now sitting at that path.
    if (st.st_size != rec.meta.file_size || (rec.meta.mtime_ns && mtime_ns != rec.meta.mtime_ns)) {
      ::close(fd);
      throw HttpError{409, "the file of photo " + id + " changed since it was indexed; re-index"};
    }
  }
  std::string body;
  body.resize(size_t(st.st_size));
  size_t got = 0;
  while (got < body.size()) {
    ssize_t n = ::read(fd, body.data() + got, body.size() - got);
    if (n <= 0) break;
    got += size_t(n);
  }
  ::close(fd);
  if (got != body.size()) throw HttpError{500, "short read on the file of photo " + id};
  return body;
}

namespace {

// Written under a unique temporary name, then renamed: a reader never sees half a file, and
// two requests making the same size at once both end with a whole one.
void write_cache_atomically(const fs::path& target, const std::vector<uint8_t>& jpeg, RequestLog& log) {
  std::error_code ec;
  fs::create_directories(target.parent_path(), ec);
  const fs::path tmp = target.string() + ".tmp" + std::to_string(::getpid()) + "-" +
                       std::to_string(std::hash<std::thread::id>{}(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(jpeg.data()), static_cast<std::streamsize>(jpeg.size()));
    out.close();
    if (!out) {
      fs::remove(tmp, ec);
      log.line("thumbnail cache not written (" + target.string() + "): disk full or read-only?");
      return;
    }
  }
  fs::rename(tmp, target, ec);
  if (ec) {
    fs::remove(tmp, ec);
    log.line("thumbnail cache not written (" + target.string() + "): " + ec.message());
  }
}

Reply jpeg_reply(std::string body) {
  Reply reply;
  reply.headers.emplace_back("Cache-Control", "private, max-age=3600");
  reply.body = std::move(body);
  reply.content_type = "image/jpeg";
  return reply;
}

fs::path cached_size_path(const Generation& g, const std::string& hash, int size) {
  return fs::path(g.thumbs_root) / "thumbs" / hash.substr(0, 2) / (hash + "." + std::to_string(size) + ".jpg");
}

// The preview made at indexing, else one made on first view and cached; "" when neither exists.
std::string preview_source(const Generation& g, const PhotoRecord& rec, int size) {
  if (!rec.preview_path.empty() || size >= kPreviewSize) return rec.preview_path;
  const fs::path made = cached_size_path(g, rec.meta.content_hash, kPreviewSize);
  std::error_code ec;
  return fs::is_regular_file(made, ec) ? made.string() : std::string();
}

// A cache miss: from the preview, or from the original when the preview is too small.
Reply make_sized_thumb(ServerState& s, const Generation& g, const PhotoRecord& rec, int size, const fs::path& cached) {
  const std::string id = std::to_string(rec.id);
  const int original_long = std::max(rec.meta.width, rec.meta.height);
  const int want = original_long > 0 ? std::min(size, original_long) : size;
  std::vector<uint8_t> jpeg;
  int source_long = 0;
  if (const std::string source = preview_source(g, rec, size); !source.empty()) {
    const std::string preview = read_photo_file(s, g, rec, source, false);
    jpeg = resized_jpeg(reinterpret_cast<const uint8_t*>(preview.data()), preview.size(), "preview of photo " + id,
                        size, &source_long);
  }
  // A preview smaller than the size asked for while the original is larger: the original.
  if (jpeg.empty() || (source_long < want && original_long > source_long)) {
    const std::string original = read_photo_file(s, g, rec, rec.path, true);
    jpeg = resized_jpeg(reinterpret_cast<const uint8_t*>(original.data()), original.size(), "photo " + id, size);
  }
  write_cache_atomically(cached, jpeg, s.log);
  return jpeg_reply(std::string(jpeg.begin(), jpeg.end()));
}

}  // namespace

Reply sized_thumb(ServerState& s, const Generation& g, const PhotoRecord& rec, const std::string& size_param) {
  const auto& sizes = thumb_sizes();
  int size = 0;
  try {
    size = static_cast<int>(parse_int(size_param, "size", 1, 100000));
  } catch (const Error&) {
  }
  if (std::find(sizes.begin(), sizes.end(), size) == sizes.end()) {
    std::string list;
    for (int n : sizes) list += (list.empty() ? "" : ", ") + std::to_string(n);
    throw HttpError{400, "size must be one of " + list + " (GET /api/health lists them as features.thumb_sizes)"};
  }
  if (size == sizes.front() && !rec.thumb_path.empty())  // the indexer's own thumbnail
    return jpeg_reply(read_photo_file(s, g, rec, rec.thumb_path, false));
  return resized_photo(s, g, rec, size);
}

Reply resized_photo(ServerState& s, const Generation& g, const PhotoRecord& rec, int size) {
  const std::string id = std::to_string(rec.id);
  const std::string& hash = rec.meta.content_hash;
  if (hash.size() < 3) throw HttpError{404, "photo " + id + " has no content hash; re-index"};
  const fs::path cached = cached_size_path(g, hash, size);
  std::error_code ec;
  if (fs::is_regular_file(cached, ec)) return jpeg_reply(read_photo_file(s, g, rec, cached.string(), false));

  // Decoding and resizing is CPU work like a search: it waits in the same queue.
  return s.limited([&](int, double) { return make_sized_thumb(s, g, rec, size, cached); });
}

}  // namespace vf::server
