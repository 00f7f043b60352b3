// Connection handling for plain HTTP that a slow or greedy client cannot abuse
// (slowloris): cpp-httplib gives every connection a worker thread and waits up to the read
// timeout for each byte, so 40 sockets sending a header line every 5 s held every worker
// and /api/health timed out. GuardedServer replaces httplib's per-connection loop:
// - the request line and headers must arrive within header_timeout_s in all, and within
//   64 KiB (httplib itself only bounds one line, after reading it);
// - one client address holds at most max_per_ip connections; more are answered 503 and
//   closed at once, so one client can never take every worker;
// - a kept-alive connection waits for its next request in poll(), not a 1 ms sleep loop.
// With --tls-cert, httplib's own SSLServer handles connections (only its read timeouts
// apply): put a proxy in front for exposed TLS deployments (docs/deploy.md).
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace vf::server {

struct ConnectionLimits {
  double header_timeout_s = 10;
  int read_timeout_s = 30;   // each read of a body, once the headers are in
  int write_timeout_s = 30;
  int max_per_ip = 16;       // 0: no cap
  size_t max_header_bytes = 64 << 10;
};

class GuardedServer : public httplib::Server {
 public:
  GuardedServer(ConnectionLimits limits, std::function<void(const std::string&)> log);
  nlohmann::json stats() const;

 private:
  bool process_and_close_socket(socket_t sock) override;
  bool admit(const std::string& ip);
  void leave(const std::string& ip);

  const ConnectionLimits limits_;
  std::function<void(const std::string&)> log_;
  std::mutex mu_;
  std::map<std::string, int> open_per_ip_;
  std::atomic<int64_t> refused_{0}, header_timeouts_{0};
};

// Asks the connection loop to close the connection after the current answer (a refusal
// sent before the request body was read: the unread body cannot be parsed as a request).
void close_connection_after_response();

}  // namespace vf::server
