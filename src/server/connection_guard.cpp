#include "server/connection_guard.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>

namespace vf::server {

namespace {

using Clock = std::chrono::steady_clock;

thread_local bool t_close_after_response = false;

// poll() for one event; > 0 ready, 0 timed out, < 0 error.
int wait_for(int sock, short events, int timeout_ms) {
  pollfd p{sock, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, timeout_ms < 0 ? 0 : timeout_ms);
  } while (r < 0 && errno == EINTR);
  if (r > 0 && (p.revents & (POLLERR | POLLNVAL))) return -1;
  return r;
}

std::string numeric_host(const sockaddr_storage& addr, socklen_t len, int& port) {
  char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
  if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                    NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return "";
  port = std::atoi(serv);
  std::string h = host;
  // An IPv4 client on a dual-stack socket: count it under its IPv4 address.
  if (h.rfind("::ffff:", 0) == 0 && h.find('.') != std::string::npos) h = h.substr(7);
  return h;
}

// A socket stream that enforces one deadline for the request line and headers together
// and a byte budget for them; bodies get the per-read timeout.
class GuardedStream : public httplib::Stream {
 public:
  GuardedStream(int sock, const ConnectionLimits& limits) : sock_(sock), limits_(limits) {}

  // Called when the first byte of a new request is readable.
  void begin_request() {
    in_headers_ = true;
    header_bytes_ = 0;
    crlf_matched_ = 0;
    header_timed_out_ = false;
    header_deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                          std::chrono::duration<double>(limits_.header_timeout_s));
  }
  bool header_timed_out() const { return header_timed_out_; }
  bool has_buffered() const { return buf_pos_ < buf_len_; }

  bool is_readable() const override { return has_buffered() || wait_for(sock_, POLLIN, read_timeout_ms()) > 0; }
  bool is_writable() const override { return wait_for(sock_, POLLOUT, limits_.write_timeout_s * 1000) > 0; }

  ssize_t read(char* ptr, size_t size) override {
    if (size == 0) return 0;
    if (!has_buffered()) {
      int timeout = read_timeout_ms();
      if (in_headers_ && timeout <= 0) {
        header_timed_out_ = true;
        return -1;
      }
      int r = wait_for(sock_, POLLIN, timeout);
      if (r <= 0) {
        if (r == 0 && in_headers_) header_timed_out_ = true;
        return -1;
      }
      ssize_t n;
      do {
        n = ::recv(sock_, buf_, sizeof buf_, 0);
      } while (n < 0 && errno == EINTR);
      if (n <= 0) return n;
      buf_pos_ = 0;
      buf_len_ = size_t(n);
    }
    size_t n = std::min(size, buf_len_ - buf_pos_);
    std::memcpy(ptr, buf_ + buf_pos_, n);
    buf_pos_ += n;
    if (in_headers_ && !count_header_bytes(ptr, n)) return -1;
    return ssize_t(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!is_writable()) return -1;
    ssize_t n;
    do {
      n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    return n;
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip = numeric_host(addr, len, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(sock_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) ip = numeric_host(addr, len, port);
  }
  socket_t socket() const override { return sock_; }

 private:
  int read_timeout_ms() const {
    if (!in_headers_) return limits_.read_timeout_s * 1000;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(header_deadline_ - Clock::now()).count();
    return int(std::max<int64_t>(0, left));
  }

  // Tracks the end of the headers (CRLF CRLF); false when they outgrow the budget.
  bool count_header_bytes(const char* p, size_t n) {
    static const char kEnd[] = "\r\n\r\n";
    for (size_t i = 0; i < n && in_headers_; ++i) {
      if (++header_bytes_ > limits_.max_header_bytes) return false;
      crlf_matched_ = p[i] == kEnd[crlf_matched_] ? crlf_matched_ + 1 : (p[i] == '\r' ? 1 : 0);
      if (crlf_matched_ == 4) in_headers_ = false;
    }
    return true;
  }

  int sock_;
  const ConnectionLimits& limits_;
  char buf_[4096];
  size_t buf_pos_ = 0, buf_len_ = 0;
  bool in_headers_ = true;
  bool header_timed_out_ = false;
  size_t header_bytes_ = 0;
  int crlf_matched_ = 0;
  Clock::time_point header_deadline_{};
};

// After a refusal sent before the body was read: stop sending, then read and drop what the
// client is still sending for a short while, so that its send completes and it reads the
// answer (closing with unread data makes the kernel reset the connection, and the client
// sees a broken pipe instead of the 413). Bounded: 2 s and 16 MB; memory stays one buffer.
void linger_and_discard(int sock) {
  ::shutdown(sock, SHUT_WR);
  char sink[16384];
  auto until = Clock::now() + std::chrono::seconds(2);
  size_t budget = 16 << 20;
  while (Clock::now() < until) {
    int left = int(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
    if (wait_for(sock, POLLIN, left) <= 0) break;
    ssize_t n = ::recv(sock, sink, sizeof sink, 0);
    if (n <= 0 || size_t(n) >= budget) break;
    budget -= size_t(n);
  }
}

}  // namespace

void close_connection_after_response() { t_close_after_response = true; }

GuardedServer::GuardedServer(ConnectionLimits limits, std::function<void(const std::string&)> log)
    : limits_(limits), log_(std::move(log)) {}

nlohmann::json GuardedServer::stats() const {
  return {{"refused_connections", refused_.load()}, {"header_timeouts", header_timeouts_.load()},
          {"max_connections_per_ip", limits_.max_per_ip}, {"header_timeout_s", limits_.header_timeout_s}};
}

bool GuardedServer::admit(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  int& open = open_per_ip_[ip];
  if (limits_.max_per_ip > 0 && open >= limits_.max_per_ip) return false;
  ++open;
  return true;
}

void GuardedServer::leave(const std::string& ip) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_per_ip_.find(ip);
  if (it != open_per_ip_.end() && --it->second <= 0) open_per_ip_.erase(it);
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  GuardedStream strm(sock, limits_);
  std::string ip;
  int port = 0;
  strm.get_remote_ip_and_port(ip, port);
  bool ret = false;
  if (!admit(ip)) {
    if (refused_++ % 100 == 0)
      log_("refused a connection from " + ip + ": it already holds " + std::to_string(limits_.max_per_ip) +
           " (max_connections_per_ip; logged once per 100)");
    const std::string body = "{\"error\":\"too many connections from your address; retry shortly\",\"status\":503}";
    const std::string busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\n"
                             "Connection: close\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    strm.write(busy.data(), busy.size());
  } else {
    size_t count = keep_alive_max_count_;
    while (svr_sock_ != INVALID_SOCKET && count > 0 &&
           (strm.has_buffered() || wait_for(sock, POLLIN, int(keep_alive_timeout_sec_ * 1000)) > 0)) {
      strm.begin_request();
      t_close_after_response = false;
      bool connection_closed = false;
      ret = process_request(strm, count == 1, connection_closed, nullptr);
      if (strm.header_timed_out()) {
        ++header_timeouts_;
        break;
      }
      if (t_close_after_response) {
        linger_and_discard(sock);
        break;
      }
      if (!ret || connection_closed) break;
      --count;
    }
    leave(ip);
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ret;
}

}  // namespace vf::server
