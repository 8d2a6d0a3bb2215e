#include "skiff/agent/dns/dns_server.h"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <random>
#include <thread>

#include "skiff/agent/dns/response_cache.h"
#include "udp_batch.h"

namespace skiff::agent::dns {

namespace asio = boost::asio;
using asio::awaitable;
using asio::ip::tcp;
using asio::ip::udp;
using Bytes = std::vector<std::uint8_t>;

namespace {

constexpr auto kTcpIdle = std::chrono::seconds(10);

Result<asio::ip::address> parseAddress(const std::string& s) {
  boost::system::error_code ec;
  auto a = asio::ip::make_address(s, ec);
  if (ec) return Error(ErrorCode::Invalid, "address '" + s + "': " + ec.message());
  return a;
}

// "ip", "ip:port", "[v6]:port" -> endpoint (port 53 when absent).
std::optional<std::pair<asio::ip::address, std::uint16_t>> parseUpstream(const std::string& s) {
  std::string host = s;
  std::uint16_t port = 53;
  if (!s.empty() && s[0] == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return std::nullopt;
    host = s.substr(1, close - 1);
    if (close + 2 < s.size() && s[close + 1] == ':')
      port = static_cast<std::uint16_t>(std::atoi(s.c_str() + close + 2));
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    host = s.substr(0, s.find(':'));
    port = static_cast<std::uint16_t>(std::atoi(s.c_str() + s.find(':') + 1));
  }
  auto a = parseAddress(host);
  if (!a) return std::nullopt;
  return std::make_pair(*a, port);
}

void setFreebind(int fd) {
  int one = 1;
  (void)::setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof one);
}

class DnsServerImpl final : public DnsServer {
 public:
  DnsServerImpl(DnsServerOptions o, std::shared_ptr<const RecordIndex> idx)
      : o_(std::move(o)),
        responder_(o_.responder),
        cache_(o_.cache_size, o_.cache_max_ttl),
        index_(std::move(idx)),
        upstreams_(o_.upstreams),
        udp_(io_),
        tcp_(io_),
        metrics_acc_(io_),
        rng_(std::random_device{}()) {}
  ~DnsServerImpl() override { stop(); }

  Result<void> bind() {
    SKIFF_ASSIGN_OR_RETURN(auto addr, parseAddress(o_.listen_address));
    boost::system::error_code ec;
    auto fail = [&](const std::string& what) {
      return Error(ErrorCode::Unavailable, what + " '" + o_.listen_address + ":" +
                                               std::to_string(o_.port) + "': " + ec.message());
    };
    // TCP on the same port as UDP. An ephemeral UDP port (port 0) may be taken for TCP by
    // another socket: then both are closed and another port is drawn, a few times.
    std::uint16_t port = 0;
    for (int attempt = 0;; ++attempt) {
      udp_.open(addr.is_v4() ? udp::v4() : udp::v6(), ec);
      if (ec) return fail("open udp");
      if (o_.freebind) setFreebind(udp_.native_handle());
      udp_.bind({addr, o_.port}, ec);
      if (ec) return fail("bind udp");
      udp_.non_blocking(true, ec);  // drain() reads until the queue is empty
      if (ec) return fail("udp non-blocking");
      port = udp_.local_endpoint().port();
      if (listen(tcp_, addr, port, ec)) break;
      if (o_.port != 0 || ec != boost::asio::error::address_in_use || attempt == 15)
        return fail("bind tcp");
      boost::system::error_code ignored;
      tcp_.close(ignored);
      udp_.close(ignored);
    }
    port_ = port;
    if (o_.metrics_port >= 0) {
      if (!listen(metrics_acc_, addr, static_cast<std::uint16_t>(o_.metrics_port), ec))
        return fail("bind metrics");
      metrics_port_ = metrics_acc_.local_endpoint().port();
    }
    metrics_.setServer("dns://" + o_.listen_address + ":" + std::to_string(port_));
    return ok();
  }

  void run() {
    receive();
    asio::co_spawn(io_, accept(), asio::detached);
    if (metrics_acc_.is_open()) asio::co_spawn(io_, acceptMetrics(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }

  void setIndex(std::shared_ptr<const RecordIndex> index) override {
    asio::post(io_, [this, index = std::move(index)]() mutable { index_ = std::move(index); });
  }
  void setUpstreams(std::vector<std::string> ups) override {
    asio::post(io_, [this, ups = std::move(ups)]() mutable { upstreams_ = std::move(ups); });
  }
  std::uint16_t port() const override { return port_; }
  std::uint16_t metricsPort() const override { return metrics_port_; }
  const DnsMetrics& metrics() const override { return metrics_; }
  void stop() override {
    if (stopped_.exchange(true)) return;
    io_.stop();
    if (thread_.joinable()) thread_.join();
    boost::system::error_code ec;
    udp_.close(ec);
    tcp_.close(ec);
    metrics_acc_.close(ec);
  }

 private:
  bool listen(tcp::acceptor& acc, const asio::ip::address& addr, std::uint16_t port,
              boost::system::error_code& ec) {
    acc.open(addr.is_v4() ? tcp::v4() : tcp::v6(), ec);
    if (ec) return false;
    acc.set_option(tcp::acceptor::reuse_address(true), ec);
    if (o_.freebind) setFreebind(acc.native_handle());
    acc.bind({addr, port}, ec);
    if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
    return !ec;
  }

  // The UDP fast path: the socket's queue is drained in batches (recvmmsg, then one sendmmsg
  // for the replies); cluster names and cache hits are answered inline, without a coroutine or
  // a copy of the query; only forwarded names leave this handler. At most kRounds batches per
  // wakeup, so TCP clients and upstream replies get their turn under a flood.
  void receive() {
    udp_.async_wait(udp::socket::wait_read, [this](auto ec) {
      if (ec == asio::error::operation_aborted || stopped_) return;
      if (!ec) drain();
      receive();
    });
  }
  void drain() {
    constexpr int kRounds = 4;
    const int fd = udp_.native_handle();
    for (int round = 0; round < kRounds; ++round) {
      int n = batch_.receive(fd);
      if (n <= 0) return;
      for (int i = 0; i < n; ++i) {
        if (!batch_.truncated(i)) onDatagram(static_cast<std::size_t>(i));
      }
      batch_.flush(fd);
      if (static_cast<std::size_t>(n) < UdpBatch::kSize) return;
    }
  }
  void onDatagram(std::size_t i) {
    auto t0 = std::chrono::steady_clock::now();
    const std::uint8_t* query = batch_.data(i);
    const std::size_t n = batch_.length(i);
    Outcome out = responder_.handle(query, n, *index_, false);
    if (out.action == Action::Drop) return;
    metrics_.request(false, out.question.type);
    if (out.action == Action::Reply) {
      int rcode = out.rcode;
      batch_.reply(i, std::move(out.wire));
      metrics_.response(rcode, false, out.question.type, since(t0));
      return;
    }
    // A cache hit is answered here too, without a coroutine; only a miss waits for upstreams.
    const Question& q = out.question;
    auto key = ResponseCache::key(q.name, q.type, q.klass, q.edns, q.dnssec_ok);
    if (auto res = fromCache(q, key, ResponseCache::Clock::now())) {
      auto& [reply, rcode] = *res;
      searchFallback(q, query, n, reply, rcode);
      batch_.reply(i, std::move(reply));
      metrics_.response(rcode, true, q.type, since(t0));
      return;
    }
    udp::endpoint client;
    std::memcpy(client.data(), &batch_.source(i), batch_.sourceLength(i));
    client.resize(batch_.sourceLength(i));
    asio::co_spawn(io_, forwardUdp(out.question, Bytes(query, query + n), client, t0),
                   asio::detached);
  }
  static double since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }

  awaitable<void> forwardUdp(Question q, Bytes query, udp::endpoint client,
                             std::chrono::steady_clock::time_point t0) {
    auto [reply, rcode] = co_await resolve(q, query, false);
    searchFallback(q, query.data(), query.size(), reply, rcode);
    boost::system::error_code ec;
    if (!reply.empty())
      co_await udp_.async_send_to(asio::buffer(reply), client,
                                  asio::redirect_error(asio::use_awaitable, ec));
    metrics_.response(rcode, true, q.type, since(t0));
  }

  // `kubernetes.default` asked as is (Responder::searchFallback), once the upstreams had no
  // answer for it.
  void searchFallback(const Question& q, const std::uint8_t* query, std::size_t len, Bytes& reply,
                      int& rcode) const {
    if (rcode != 2 && rcode != 3 && rcode != 5) return;  // SERVFAIL, NXDOMAIN, REFUSED
    if (auto fb = responder_.searchFallback(query, len, q, *index_)) {
      reply = std::move(*fb);
      rcode = 0;
    }
  }

  // The cache, then each upstream in turn. Returns the reply for the client and its rcode.
  std::optional<std::pair<Bytes, int>> fromCache(const Question& q, const std::string& key,
                                                 ResponseCache::Clock::time_point now) {
    auto hit = cache_.get(key, now);
    if (!hit) return std::nullopt;
    metrics_.cacheHit(hit->negative);
    const CachedReply& c = *hit->reply;
    std::pair<Bytes, int> res{
        responder_.adapt(c.wire, q, hit->age_seconds, c.mapped ? &c.ttls : nullptr), 2};
    if (res.first.size() >= 4) res.second = res.first[3] & 15;
    return res;
  }

  awaitable<std::pair<Bytes, int>> resolve(const Question& q, Bytes query, bool tcp) {
    std::string key = ResponseCache::key(q.name, q.type, q.klass, q.edns, q.dnssec_ok);
    auto now = ResponseCache::Clock::now();
    if (auto res = fromCache(q, key, now)) co_return std::move(*res);
    metrics_.cacheMiss();
    if (inflight_ >= o_.max_inflight_forwards) {
      std::pair<Bytes, int> res{responder_.errorReply(q, 2), 2};
      co_return res;
    }
    ++inflight_;
    Bytes reply;
    auto ups = upstreams_;
    for (const auto& u : ups) {
      auto ep = parseUpstream(u);
      if (!ep) continue;
      metrics_.forwardTo();
      // Two statements, not `?:`: GCC 12 destroys a co_await temporary of a conditional twice.
      if (tcp) {
        reply = co_await exchangeTcp(*ep, query);
      } else {
        reply = co_await exchangeUdp(*ep, query);
      }
      if (!reply.empty()) break;
    }
    --inflight_;
    if (reply.empty()) {
      std::pair<Bytes, int> res{responder_.errorReply(q, 2), 2};
      co_return res;
    }  // SERVFAIL
    auto v = cacheVerdict(reply);
    if (v.cacheable) {
      cache_.put(key, reply, v.ttl, v.negative, now);
      metrics_.setCacheEntries(cache_.size());
    }
    std::pair<Bytes, int> res{responder_.adapt(reply, q, 0), reply[3] & 15};
    co_return res;
  }

  // Sends `query` under a fresh random ID (the client's comes back through adapt()) and waits
  // for the reply with that ID and QR set; empty on timeout or error.
  awaitable<Bytes> exchangeUdp(std::pair<asio::ip::address, std::uint16_t> up, Bytes query) {
    udp::socket s(io_);
    boost::system::error_code ec;
    s.open(up.first.is_v4() ? udp::v4() : udp::v6(), ec);
    if (ec) co_return Bytes{};
    s.connect({up.first, up.second}, ec);
    if (ec) co_return Bytes{};
    std::uint16_t id = static_cast<std::uint16_t>(rng_());
    query[0] = static_cast<std::uint8_t>(id >> 8);
    query[1] = static_cast<std::uint8_t>(id);
    asio::steady_timer timer(io_);
    timer.expires_after(o_.upstream_timeout);
    timer.async_wait([&s](auto e) {
      if (!e) s.cancel();
    });
    co_await s.async_send(asio::buffer(query), asio::redirect_error(asio::use_awaitable, ec));
    Bytes buf(65535);
    while (!ec) {
      std::size_t n = co_await s.async_receive(asio::buffer(buf),
                                               asio::redirect_error(asio::use_awaitable, ec));
      if (ec || n < 12) continue;
      if (buf[0] == query[0] && buf[1] == query[1] && (buf[2] & 0x80)) {
        buf.resize(n);
        timer.cancel();
        co_return buf;
      }
    }
    timer.cancel();
    co_return Bytes{};
  }

  awaitable<Bytes> exchangeTcp(std::pair<asio::ip::address, std::uint16_t> up, Bytes query) {
    tcp::socket s(io_);
    boost::system::error_code ec;
    asio::steady_timer timer(io_);
    timer.expires_after(o_.upstream_timeout);
    timer.async_wait([&s](auto e) {
      if (!e) s.close();
    });
    auto ro = asio::redirect_error(asio::use_awaitable, ec);
    co_await s.async_connect({up.first, up.second}, ro);
    std::uint16_t id = static_cast<std::uint16_t>(rng_());
    query[0] = static_cast<std::uint8_t>(id >> 8);
    query[1] = static_cast<std::uint8_t>(id);
    std::array<std::uint8_t, 2> len{static_cast<std::uint8_t>(query.size() >> 8),
                                    static_cast<std::uint8_t>(query.size())};
    if (!ec) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(len), asio::buffer(query)};
      co_await asio::async_write(s, bufs, ro);
    }
    if (!ec) co_await asio::async_read(s, asio::buffer(len), ro);
    Bytes buf((std::size_t(len[0]) << 8) | len[1]);
    if (!ec) co_await asio::async_read(s, asio::buffer(buf), ro);
    timer.cancel();
    if (ec || buf.size() < 12 || buf[0] != query[0] || buf[1] != query[1]) co_return Bytes{};
    co_return buf;
  }

  awaitable<void> accept() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s = co_await tcp_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped_) co_return;
      if (!ec) asio::co_spawn(io_, serveTcp(std::move(s)), asio::detached);
    }
  }

  awaitable<void> serveTcp(tcp::socket s) {
    auto sock = std::make_shared<tcp::socket>(std::move(s));
    asio::steady_timer idle(io_);
    boost::system::error_code ec;
    auto ro = asio::redirect_error(asio::use_awaitable, ec);
    for (;;) {
      idle.expires_after(kTcpIdle);
      idle.async_wait([sock](auto e) {
        if (!e) sock->close();
      });
      std::array<std::uint8_t, 2> len{};
      co_await asio::async_read(*sock, asio::buffer(len), ro);
      if (ec) break;
      Bytes msg((std::size_t(len[0]) << 8) | len[1]);
      co_await asio::async_read(*sock, asio::buffer(msg), ro);
      if (ec) break;
      auto t0 = std::chrono::steady_clock::now();
      Outcome out = responder_.handle(msg.data(), msg.size(), *index_, true);
      if (out.action == Action::Drop) continue;
      metrics_.request(true, out.question.type);
      bool fwd = out.action == Action::Forward;
      if (fwd) {
        std::tie(out.wire, out.rcode) = co_await resolve(out.question, msg, true);
        searchFallback(out.question, msg.data(), msg.size(), out.wire, out.rcode);
      }
      std::array<std::uint8_t, 2> olen{static_cast<std::uint8_t>(out.wire.size() >> 8),
                                       static_cast<std::uint8_t>(out.wire.size())};
      std::array<asio::const_buffer, 2> bufs{asio::buffer(olen), asio::buffer(out.wire)};
      co_await asio::async_write(*sock, bufs, ro);
      metrics_.response(out.rcode, fwd, out.question.type, since(t0));
      if (ec) break;
    }
    idle.cancel();
  }

  awaitable<void> acceptMetrics() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket s =
          co_await metrics_acc_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || stopped_) co_return;
      if (!ec) asio::co_spawn(io_, serveMetrics(std::move(s)), asio::detached);
    }
  }

  // One request per connection (Connection: close), GET /metrics or /health.
  awaitable<void> serveMetrics(tcp::socket s) {
    boost::system::error_code ec;
    std::string req;
    co_await asio::async_read_until(s, asio::dynamic_buffer(req, 8192), "\r\n\r\n",
                                    asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;
    std::string status = "200 OK", body;
    if (req.starts_with("GET /metrics")) {
      body = metrics_.render();
    } else if (req.starts_with("GET /health")) {
      body = "OK";
    } else {
      status = "404 Not Found";
      body = "404 page not found\n";
    }
    std::string resp = "HTTP/1.1 " + status +
                       "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                       "Content-Length: " +
                       std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    co_await asio::async_write(s, asio::buffer(resp),
                               asio::redirect_error(asio::use_awaitable, ec));
  }

  DnsServerOptions o_;
  Responder responder_;
  ResponseCache cache_;
  DnsMetrics metrics_;
  asio::io_context io_{1};
  std::shared_ptr<const RecordIndex> index_;  // touched on the io thread only
  std::vector<std::string> upstreams_;        // idem
  udp::socket udp_;
  tcp::acceptor tcp_;
  tcp::acceptor metrics_acc_;
  UdpBatch batch_;  // the io thread's receive and reply buffers
  std::mt19937 rng_;
  std::size_t inflight_ = 0;
  std::uint16_t port_ = 0, metrics_port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};
};

}  // namespace

Result<std::unique_ptr<DnsServer>> startDnsServer(DnsServerOptions options,
                                                  std::shared_ptr<const RecordIndex> index) {
  if (!index) index = RecordIndex::build({}, {}, "cluster.local");
  auto s = std::make_unique<DnsServerImpl>(std::move(options), std::move(index));
  SKIFF_TRY(s->bind());
  s->run();
  return std::unique_ptr<DnsServer>(std::move(s));
}

}  // namespace skiff::agent::dns
