// Photo routes: the filtered list, one photo's metadata, its files (thumbnail, preview,
// original) and the example photos of the start page.
//
// Files are only ever served by catalog id: the handler looks the photo up, resolves its
// path with realpath, requires the result to lie inside the library roots (or the library's
// thumbs/ for thumbnails), opens it and checks size and mtime against the catalog, so a
// file swapped for a symlink to elsewhere, or replaced since indexing, is refused.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/value_parse.h"
#include "server/json_encode.h"
#include "server/routes.h"
#include "server/server_state.h"
#include "server/server_util.h"

namespace vf::server {

namespace {

// The containment rule of originals holds for everything derived from one: a photo whose
// file resolves outside the library roots (a symlink to elsewhere) shows no preview,
// thumbnail or metadata either. (A file that is gone resolves to nothing: its thumbnail stays.)
void require_inside_roots(ServerState& s, const std::vector<std::string>& roots, const PhotoRecord& rec) {
  auto real = real_path(rec.path);
  if (!real) return;
  for (auto& r : roots)
    if (path_within(*real, r)) return;
  s.log.line("refused: photo " + std::to_string(rec.id) + " resolves outside the library: " + *real);
  throw HttpError{403, "the file of photo " + std::to_string(rec.id) + " resolves outside the library"};
}

Reply list_photos(ServerState& s, const Request& req) {
  auto m = params_map(req);
  int k = 60, offset = 0;
  if (m.count("k")) k = int(parse_int(m["k"], "k", 1, 1000));
  if (m.count("offset")) offset = int(parse_int(m["offset"], "offset", 0, 10'000'000));
  m.erase("k");
  m.erase("offset");
  Filters f = filters_from_params(m);
  auto g = s.gen();
  return s.limited([&](int slot, double queue_ms) {
    auto r = g->searcher(slot).list(f, k, offset);
    json items = json::array();
    for (auto& h : r.hits) items.push_back(photo_summary(h.photo));
    json t = timings_json(r.timings);
    t["queue_ms"] = queue_ms;
    return json_reply({{"photos", items}, {"matched", r.matched}, {"filter_matches", filter_matches_json(r)}, {"k", k}, {"offset", offset}, {"timings", t}});
  });
}

Reply photo(ServerState& s, const Request& req) {
  auto g = s.gen();
  int64_t id = path_id(req);
  auto rec = g->library->photo(id);
  if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
  require_inside_roots(s, g->roots, *rec);
  return json_reply(photo_detail(*rec));
}

Reply examples(ServerState& s, const Request&) {
  auto g = s.gen();
  json items = json::array();
  for (auto id : g->examples)
    if (auto rec = g->library->photo(id)) items.push_back(photo_summary(*rec));
  return json_reply({{"examples", items}});
}

Reply photo_file(ServerState& s, const Request& req, const std::string& kind) {
  auto g = s.gen();
  int64_t id = path_id(req);
  auto rec = g->library->photo(id);
  if (!rec) throw HttpError{404, "no photo with id " + std::to_string(id)};
  std::string path;
  std::vector<std::string> allowed;
  std::string mime = "image/jpeg";
  if (kind == "original") {
    path = rec->path;
    allowed = g->roots;
    mime = rec->meta.mime.empty() ? "application/octet-stream" : rec->meta.mime;
  } else {
    require_inside_roots(s, g->roots, *rec);
    path = kind == "preview" && !rec->preview_path.empty() ? rec->preview_path : rec->thumb_path;
    allowed = {g->thumbs_root};
    if (path.empty()) throw HttpError{404, "photo " + std::to_string(id) + " has no cached " + kind};
  }
  auto real = real_path(path);
  if (!real) throw HttpError{404, "the file of photo " + std::to_string(id) + " is missing; re-index"};
  bool inside = false;
  for (auto& r : allowed) inside = inside || path_within(*real, r);
  if (!inside) {
    s.log.line("refused: photo " + std::to_string(id) + " resolves outside the library: " + *real);
    throw HttpError{403, "the file of photo " + std::to_string(id) + " now resolves outside the library"};
  }
  int fd = ::open(real->c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) throw HttpError{404, "cannot open the file of photo " + std::to_string(id)};
  struct stat st{};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw HttpError{403, "the file of photo " + std::to_string(id) + " is not a regular file"};
  }
  if (kind == "original") {
    int64_t mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    // The catalog's size and mtime identify the indexed file; anything else is a different
    // file now sitting at that path.
    if (st.st_size != rec->meta.file_size || (rec->meta.mtime_ns && mtime_ns != rec->meta.mtime_ns)) {
      ::close(fd);
      throw HttpError{409, "the file of photo " + std::to_string(id) + " changed since it was indexed; re-index"};
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
  if (got != body.size()) throw HttpError{500, "short read on the file of photo " + std::to_string(id)};
  Reply reply;
  if (kind == "original") {
    std::string name = basename_of(rec->path);
    std::string safe;
    for (char c : name) safe += (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) ? '_' : c;
    reply.headers.emplace_back("Content-Disposition", "attachment; filename=\"" + safe + "\"");
    reply.headers.emplace_back("Cache-Control", "private, no-cache");
  } else {
    reply.headers.emplace_back("Cache-Control", "private, max-age=3600");
  }
  reply.body = std::move(body);
  reply.content_type = mime;
  return reply;
}

}  // namespace

void add_photo_routes(RouteTable& routes) {
  routes.get("/api/photos", list_photos);
  routes.get(R"(/api/photos/(\d+))", photo);
  for (const char* kind : {"thumb", "preview", "original"}) {
    std::string k = kind;
    routes.get(R"(/api/photos/(\d+)/)" + k, [k](ServerState& s, const Request& req) { return photo_file(s, req, k); });
  }
  routes.get("/api/examples", examples);
}

}  // namespace vf::server
