// libFuzzer target: HTTP request handling of `viewfinder serve` on untrusted bytes. Each
// input is raw request bytes (one or more pipelined requests) fed through cpp-httplib's
// request parser (request line, headers, Content-Length and multipart bodies) into the
// server's own pre-routing rules (Host, body framing, same-origin) and its request parsers:
// POST /api/search (JSON body, multipart form with uploads, query parameters), the filters
// of GET /api/photos and the ids of GET /api/search/similar/{id}.
//
// A bad request must end as HttpError, vf::Error or a JSON error (a 4xx in the server); any
// other exception is a 500 in the server and aborts here, as do sanitizer reports.
#include <httplib.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "../src/server/request_rules.h"
#include "../src/server/routes.h"
#include "../src/server/server_util.h"

namespace {

// The request bytes as a socket: reads drain them, writes vanish.
class BytesStream : public httplib::Stream {
 public:
  BytesStream(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  bool is_readable() const override { return true; }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    size_t n = std::min(size, size_ - pos_);
    std::memcpy(ptr, data_ + pos_, n);
    pos_ += n;
    return ssize_t(n);
  }
  ssize_t write(const char*, size_t size) override { return ssize_t(size); }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 40000;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip = "127.0.0.1";
    port = 7860;
  }
  socket_t socket() const override { return 0; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// A handler body: the server's parsing, with the exceptions the server maps to 4xx.
template <class Fn>
void guarded(httplib::Response& res, Fn&& fn) {
  try {
    fn();
    res.status = 200;
  } catch (const vf::server::HttpError& e) {
    res.status = e.status;
  } catch (const vf::Error&) {
    res.status = 400;
  } catch (const nlohmann::json::exception&) {
    res.status = 400;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "unexpected exception (a 500 in the server): %s\n", e.what());
    std::abort();
  }
}

class FuzzServer : public httplib::Server {
 public:
  FuzzServer() {
    params_.max_upload_bytes = 1 << 20;
    set_payload_max_length(size_t(params_.max_upload_bytes) + (1 << 20));
    set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      auto refused = vf::server::check_host(params_, req);
      if (!refused) refused = vf::server::check_body_framing(params_, req);
      if (!refused) refused = vf::server::check_same_origin(req);
      if (!refused) return HandlerResponse::Unhandled;
      res.status = refused->status;
      return HandlerResponse::Handled;
    });
    Post("/api/search", [](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        std::vector<const httplib::MultipartFormData*> uploads;
        vf::SearchQuery q = vf::server::search_request_query(req, uploads);
        for (auto* up : uploads) (void)vf::server::sniff_image(up->content);
      });
    });
    Get("/api/photos", [](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] {
        auto m = vf::server::params_map(req);
        for (auto& [k, v] : m)
          if (!vf::server::is_filter_param(k) && k != "k" && k != "offset") throw vf::server::HttpError{400, k};
        m.erase("k");
        m.erase("offset");
        (void)vf::server::filters_named(m);
      });
    });
    Get(R"(/api/search/similar/(\d+))", [](const httplib::Request& req, httplib::Response& res) {
      guarded(res, [&] { (void)vf::server::path_id(req); });
    });
  }

  void run(const uint8_t* data, size_t size) {
    BytesStream strm(data, size);
    for (int i = 0; i < 8 && !strm.done(); ++i) {
      bool closed = false;
      if (!process_request(strm, false, closed, nullptr) || closed) break;
    }
  }

 private:
  vf::ServerParams params_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static FuzzServer* server = new FuzzServer();
  server->run(data, size);
  return 0;
}
