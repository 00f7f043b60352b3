// `viewfinder model download`: fetch a model from the Hugging Face hub with libcurl, resumable
// and verified (see DownloadParams in hub.h).
#include <curl/curl.h>
#include <sys/stat.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include "model/model_config.h"
#include "model/safetensors.h"
#include "viewfinder/engine.h"
#include "viewfinder/hub.h"
#include "viewfinder/error.h"

namespace vf {

const char* version();

namespace {

namespace fs = std::filesystem;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// An ETag that is a git-LFS sha256 ("W/\"<64 hex>\"" or "<64 hex>"), lower-cased; else "".
std::string sha256_from_etag(std::string e) {
  e = trim(e);
  if (e.rfind("W/", 0) == 0) e = e.substr(2);
  if (e.size() >= 2 && e.front() == '"' && e.back() == '"') e = e.substr(1, e.size() - 2);
  if (e.size() != 64) return "";
  for (char c : e)
    if (!std::isxdigit(static_cast<unsigned char>(c))) return "";
  return lower(e);
}

struct Headers {
  long status = 0;
  std::string etag, linked_etag, location;
  int64_t content_length = -1, linked_size = -1;
  std::string content_range;
};

size_t on_header(char* buf, size_t size, size_t n, void* user) {
  auto* h = static_cast<Headers*>(user);
  std::string line(buf, size * n);
  if (line.rfind("HTTP/", 0) == 0) {  // a new response (after a redirect): reset
    const long status = h->status;
    *h = Headers();
    h->status = status;
    return size * n;
  }
  const auto colon = line.find(':');
  if (colon == std::string::npos) return size * n;
  const std::string key = lower(trim(line.substr(0, colon))), value = trim(line.substr(colon + 1));
  if (key == "etag") h->etag = value;
  if (key == "x-linked-etag") h->linked_etag = value;
  if (key == "location") h->location = value;
  if (key == "content-range") h->content_range = value;
  try {
    if (key == "content-length") h->content_length = std::stoll(value);
    if (key == "x-linked-size") h->linked_size = std::stoll(value);
  } catch (const std::exception&) {
  }
  return size * n;
}

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* s) const { curl_slist_free_all(s); }
};

struct Transfer {
  std::FILE* out = nullptr;
  const std::function<void(const DownloadProgress&)>* progress = nullptr;
  DownloadProgress state;
  int64_t offset = 0;  // bytes already on disk when this request started
  Headers headers;
  bool accept_body = true;
};

size_t on_body(char* buf, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->accept_body || !t->out) return size * n;  // error page bodies are discarded
  return std::fwrite(buf, 1, size * n, t->out);
}

int on_progress(void* user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t, curl_off_t) {
  auto* t = static_cast<Transfer*>(user);
  if (t->progress && *t->progress) {
    t->state.done = t->offset + dlnow;
    if (dltotal > 0) t->state.total = t->offset + dltotal;
    (*t->progress)(t->state);
  }
  return 0;
}

std::string http_problem(long status, const std::string& url) {
  if (status == 401 || status == 403)
    return "HTTP " + std::to_string(status) + " for " + url +
           " (gated or private repository: set HF_TOKEN to a token with access)";
  if (status == 404) return "HTTP 404 for " + url + " (no such repository, revision or file)";
  return "HTTP " + std::to_string(status) + " for " + url;
}

CURL* new_handle(const std::string& url, curl_slist* headers, int timeout_s) {
  CURL* c = curl_easy_init();
  if (!c) throw Error("cannot initialise libcurl", ErrorCode::Network);
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, static_cast<long>(timeout_s));
  // A stalled transfer (under 1 byte/s for timeout_s) is abandoned rather than hanging.
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, static_cast<long>(timeout_s));
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // The token must not follow a redirect to the CDN host (curl drops it on host change).
  curl_easy_setopt(c, CURLOPT_UNRESTRICTED_AUTH, 0L);
  return c;
}

void check_curl(CURLcode rc, const std::string& url, const char* errbuf) {
  if (rc == CURLE_OK) return;
  std::string msg = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
  std::string hint;
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST || rc == CURLE_OPERATION_TIMEDOUT ||
      rc == CURLE_COULDNT_RESOLVE_PROXY)
    hint = " (no network? on an offline machine, copy the model directory here, or set HF_ENDPOINT to a mirror)";
  throw Error("cannot download " + url + ": " + msg + hint, ErrorCode::Network);
}

// HEAD without following redirects: the hub answers LFS files with a redirect that carries
// X-Linked-Etag (the sha256) and X-Linked-Size, like huggingface_hub reads them.
Headers head(const std::string& url, curl_slist* hdrs, int timeout_s) {
  std::unique_ptr<CURL, CurlDeleter> c(new_handle(url, hdrs, timeout_s));
  Headers h;
  char errbuf[CURL_ERROR_SIZE] = {0};
  curl_easy_setopt(c.get(), CURLOPT_NOBODY, 1L);
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &h);
  curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
  check_curl(curl_easy_perform(c.get()), url, errbuf);
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &h.status);
  return h;
}

int64_t file_size_or(const fs::path& p, int64_t fallback) {
  std::error_code ec;
  const auto n = fs::file_size(p, ec);
  return ec ? fallback : static_cast<int64_t>(n);
}

void fetch_file(const DownloadParams& p, const std::string& endpoint, curl_slist* hdrs, const std::string& file,
                const fs::path& dest, const std::function<void(const DownloadProgress&)>& progress) {
  const std::string url = endpoint + "/" + p.repo + "/resolve/" + p.revision + "/" + file;
  const Headers meta = head(url, hdrs, p.timeout_s);
  if (meta.status >= 400) throw Error(http_problem(meta.status, url), ErrorCode::Network);
  const std::string expected_sha = sha256_from_etag(!meta.linked_etag.empty() ? meta.linked_etag : meta.etag);
  int64_t expected_size = meta.linked_size >= 0 ? meta.linked_size
                          : (meta.status / 100 == 2 ? meta.content_length : -1);

  const fs::path final_path = dest / file, part = dest / (file + ".incomplete");
  if (!p.force && fs::exists(final_path) && expected_size >= 0 && file_size_or(final_path, -1) == expected_size &&
      (expected_sha.empty() || model::sha256_file(final_path.string()) == expected_sha)) {
    if (progress) progress({file, expected_size, expected_size, false});
    return;  // already complete and verified
  }

  int64_t have = file_size_or(part, 0);
  if (expected_size >= 0 && have > expected_size) have = 0;  // a stale partial of another version
  Transfer t;
  t.progress = &progress;
  t.state.file = file;
  t.state.total = expected_size > 0 ? expected_size : 0;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool resume = have > 0 && (expected_size < 0 || have < expected_size);
    if (have > 0 && expected_size >= 0 && have == expected_size) break;  // partial is complete
    t.out = std::fopen(part.c_str(), resume ? "ab" : "wb");
    if (!t.out) throw Error(part.string() + ": cannot write (" + std::strerror(errno) + ")", ErrorCode::Io);
    t.offset = resume ? have : 0;
    t.state.resumed = resume;
    t.headers = Headers();
    std::unique_ptr<CURL, CurlDeleter> c(new_handle(url, hdrs, p.timeout_s));
    char errbuf[CURL_ERROR_SIZE] = {0};
    const std::string range = std::to_string(have) + "-";
    if (resume) curl_easy_setopt(c.get(), CURLOPT_RANGE, range.c_str());
    curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &t.headers);
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c.get(), CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(c.get(), CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c.get(), CURLOPT_ERRORBUFFER, errbuf);
    // Decide from the status line whether the body is ours before any byte is written.
    curl_easy_setopt(c.get(), CURLOPT_FAILONERROR, 0L);
    const CURLcode rc = curl_easy_perform(c.get());
    long status = 0;
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &status);
    const bool write_failed = std::fflush(t.out) != 0;
    std::fclose(t.out);
    t.out = nullptr;
    if (write_failed) throw Error(part.string() + ": write failed (disk full?)", ErrorCode::Io);
    if (rc != CURLE_OK) check_curl(rc, url, errbuf);  // the partial file stays for a later resume
    if (resume && status == 416) {
      have = 0;  // the server rejects our range: start over
      fs::remove(part);
      continue;
    }
    if (status >= 400) {
      // The body was an error page: do not keep it as model data.
      if (!resume) fs::remove(part);
      throw Error(http_problem(status, url), ErrorCode::Network);
    }
    if (resume && status == 200) {
      // Range ignored: the server sent the whole file after our partial bytes. Restart clean.
      fs::remove(part);
      have = 0;
      continue;
    }
    break;
  }
  const int64_t got = file_size_or(part, -1);
  if (expected_size >= 0 && got != expected_size)
    throw Error(part.string() + ": size " + std::to_string(got) + " but the server announced " +
                    std::to_string(expected_size) + " bytes (interrupted? run the command again to resume)",
                ErrorCode::Network);
  if (!expected_sha.empty()) {
    const std::string actual = model::sha256_file(part.string());
    if (actual != expected_sha) {
      fs::remove(part);  // corrupt data cannot be resumed
      throw Error(final_path.string() + ": sha256 " + actual + " does not match the hub's " + expected_sha +
                      " (corrupt download; removed, run the command again)",
                  ErrorCode::BadModel);
    }
  }
  if (file.size() > 12 && file.substr(file.size() - 12) == ".safetensors") {
    model::SafetensorsFile check(part.string());  // throws naming the problem
  }
  fs::rename(part, final_path);
}

}  // namespace

ModelInfo download_model(const DownloadParams& p, const std::function<void(const DownloadProgress&)>& progress) {
  if (p.repo.empty() || p.repo.find("..") != std::string::npos || p.repo.front() == '/')
    throw Error("model download: bad repository name '" + p.repo + "' (expected OWNER/NAME)",
                ErrorCode::InvalidArgument);
  if (p.dest_dir.empty()) throw Error("model download: no destination directory", ErrorCode::InvalidArgument);
  std::string endpoint = p.endpoint;
  if (endpoint.empty()) {
    const char* e = std::getenv("HF_ENDPOINT");
    endpoint = e && *e ? e : "https://huggingface.co";
  }
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  std::string token = p.token;
  if (token.empty()) {
    const char* t = std::getenv("HF_TOKEN");
    if (t && *t) token = t;
  }
  std::error_code ec;
  fs::create_directories(p.dest_dir, ec);
  if (ec) throw Error(p.dest_dir + ": cannot create directory (" + ec.message() + ")", ErrorCode::Io);

  static const bool curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
  if (!curl_ready) throw Error("cannot initialise libcurl", ErrorCode::Network);
  curl_slist* raw = nullptr;
  raw = curl_slist_append(raw, (std::string("User-Agent: viewfinder/") + version() + "; libcurl").c_str());
  if (!token.empty()) raw = curl_slist_append(raw, ("Authorization: Bearer " + token).c_str());
  std::unique_ptr<curl_slist, SlistDeleter> hdrs(raw);

  for (const auto& file : p.files) {
    try {
      fetch_file(p, endpoint, hdrs.get(), file, fs::path(p.dest_dir), progress);
    } catch (const Error& e) {
      // preprocessor_config.json is optional (the engine falls back to dinov2-base's values).
      if (file == "preprocessor_config.json" && std::string(e.what()).find("HTTP 404") != std::string::npos) continue;
      throw;
    }
  }
  return inspect_model(p.dest_dir, true);
}

}  // namespace vf
