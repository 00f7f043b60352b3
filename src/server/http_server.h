// The HTTP layer of the server: one handler type, the request queue, the request log, and
// the glue to cpp-httplib (auth, static files, error answers) in http_server.cpp.
//
// A route is a function (state, request) -> Reply. Routes never touch httplib's response:
// they return a Reply or throw (HttpError for a chosen status, vf::Error mapped by its code),
// and the layer turns either into the answer. Route files (routes_*.cpp) register their
// routes with a RouteTable; they may use the state, the public library/search API,
// json_encode and server_util, never httplib::Server itself.
#pragma once

#include <httplib.h>

#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <utility>
#include <vector>

namespace vf::server {

using json = nlohmann::json;
using Request = httplib::Request;

// What a route answers.
struct Reply {
  int status = 200;
  std::string body;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A JSON answer (never cached: it reflects the library's current state).
Reply json_reply(const json& body, int status = 200);
// {"error": message, "status": status}.
Reply error_reply(int status, const std::string& message);

// An HTTP error with a JSON body, thrown inside routes.
struct HttpError {
  int status;
  std::string message;
};

class ServerState;
using Handler = std::function<Reply(ServerState&, const Request&)>;

// The query parameters a route accepts; any other is answered 400 naming it (a typo such as
// `bbox=` for a filter must not silently return everything).
struct QueryParams {
  std::vector<std::string> names;
  bool filters = false;  // also every metadata filter (date_from, model, gps_bbox, ...)
  bool any = false;      // no check (static files: cache-busting parameters)
};

// Where route files register their routes (httplib path patterns: regex groups become
// req.matches) with the query parameters each accepts.
class RouteTable {
 public:
  RouteTable(httplib::Server& server, ServerState& state) : server_(server), state_(state) {}
  void get(const std::string& pattern, Handler handler, QueryParams accepted = {});
  void post(const std::string& pattern, Handler handler, QueryParams accepted = {});
  // 405 with Allow when the path is a known API route but not for this method (HEAD counts
  // as GET); nullopt otherwise. Non-API paths (the UI's files) allow GET and HEAD only.
  std::optional<Reply> method_not_allowed(const Request& req) const;

 private:
  httplib::Server::Handler wrap(Handler handler, QueryParams accepted);
  httplib::Server& server_;
  ServerState& state_;
  std::vector<std::pair<std::regex, std::string>> methods_;  // API pattern, method
};

// The photo id of a path like /api/photos/(\d+)...
int64_t path_id(const Request& req);
// The query parameters as a map (a repeated key: its last value).
std::map<std::string, std::string> params_map(const Request& req);

// ---- the request log: one line per request, to a file or stderr ----
class RequestLog {
 public:
  explicit RequestLog(const std::string& file);  // "" = stderr
  ~RequestLog();
  RequestLog(const RequestLog&) = delete;
  RequestLog& operator=(const RequestLog&) = delete;
  void line(const std::string& text);

 private:
  FILE* file_ = nullptr;
  std::mutex mu_;
};

// ---- the request queue (the spec's): at most max_concurrent run, at most max_queue wait,
// anything beyond is refused at once ----
class Limiter {
 public:
  Limiter(int max_concurrent, int max_queue, double timeout_s);
  // A slot index in [0, max_concurrent), or -1 when the queue is full or the wait timed out.
  int acquire();
  void release(int slot);
  json stats();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int max_running_, max_waiting_;
  double timeout_s_;
  int running_ = 0, waiting_ = 0;
  int64_t served_ = 0, rejected_ = 0;
  std::vector<bool> slots_free_;
};

struct SlotGuard {
  Limiter& limiter;
  int slot;
  ~SlotGuard() { limiter.release(slot); }
};

}  // namespace vf::server
