// websocket_load: opens N room WebSockets on the gateway (one viewer each, tokens signed here
// with LC_SESSION_SECRET) and measures how late the per-second stats push reaches each of them:
// receive time minus the stats' as_of (when the room service read the counts). With
// --reference it instead measures a bare Beast broadcast server (the same push to every socket
// each second, nothing else), as the floor on this machine: the one --serve-reference runs in a
// process of its own (printing port=N), as the gateway is, when --target names it; else one in
// this process (which then holds both ends of every socket).
//
//   websocket_load --target 127.0.0.1:8080 --room 1 --brand demo --sockets 10000 --duration 30
//   websocket_load --serve-reference &   # prints port=N
//   websocket_load --reference --target 127.0.0.1:N --sockets 10000 --duration 30
//
// Prints: rate=<deliveries/s> p50_ms p99_ms duration_s sockets connected failed pushes
// deliveries lost
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bare_broadcast.h"
#include "bench/bench_util.h"
#include "gateway/auth/session_token.h"
#include "services/common/config.h"

namespace {

namespace beast = boost::beast;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using livecommerce::gateway::SessionClaims;
using livecommerce::gateway::SessionTokenCodec;

struct Options {
  std::string target = "127.0.0.1:8080";
  std::string room = "1";
  std::string brand = "demo";
  int sockets = 10000;
  int duration = 30;
  int connect_rate = 1000;  // new sockets per second
  int threads = 2;
  bool reference = false;
  bool serve_reference = false;
};

[[noreturn]] void Usage() {
  std::fprintf(
      stderr,
      "usage: websocket_load [--target H:P --room ID --brand B | --reference [--target H:P] | "
      "--serve-reference] "
      "[--sockets N] [--duration S] [--connect-rate R] [--threads T]\n");
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage();
      return argv[++i];
    };
    auto number = [&]() {
      int n = 0;
      if (!absl::SimpleAtoi(value(), &n) || n <= 0) Usage();
      return n;
    };
    if (a == "--target")
      o.target = value();
    else if (a == "--room")
      o.room = value();
    else if (a == "--brand")
      o.brand = value();
    else if (a == "--sockets")
      o.sockets = number();
    else if (a == "--duration")
      o.duration = number();
    else if (a == "--connect-rate")
      o.connect_rate = number();
    else if (a == "--threads")
      o.threads = number();
    else if (a == "--reference")
      o.reference = true;
    else if (a == "--serve-reference")
      o.serve_reference = true;
    else
      Usage();
  }
  return o;
}

// What each io thread records, merged at the end.
struct ThreadStats {
  std::vector<uint32_t> latencies_us;
  std::map<std::string, int> deliveries;  // as_of -> sockets that got it
};

struct Shared {
  std::atomic<int> connected{0};
  std::atomic<int> failed{0};
  std::atomic<int> refused{0};  // the handshake failed (an HTTP error instead of the upgrade)
  std::atomic<bool> measuring{false};
  std::atomic<bool> stopping{false};
};

// The as_of of a stats message, or empty.
std::string StatsAsOf(const std::string& text) {
  if (text.find("\"type\":\"stats\"") == std::string::npos) return "";
  size_t at = text.find("\"as_of\":\"");
  if (at == std::string::npos) return "";
  at += 9;
  size_t end = text.find('"', at);
  return end == std::string::npos ? "" : text.substr(at, end - at);
}

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(net::io_context& ioc, tcp::endpoint endpoint, std::string host, std::string path,
         Shared& shared, ThreadStats& stats)
      : ws_(ioc),
        endpoint_(endpoint),
        host_(std::move(host)),
        path_(std::move(path)),
        shared_(shared),
        stats_(stats) {}

  void Start() {
    beast::get_lowest_layer(ws_).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(ws_).async_connect(endpoint_, [self = shared_from_this()](
                                                              beast::error_code ec) {
      if (ec) return self->Fail();
      beast::get_lowest_layer(self->ws_).expires_never();
      self->ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
      self->ws_.async_handshake(self->host_, self->path_, [self](beast::error_code ec2) {
        if (ec2) {
          self->shared_.refused++;
          return self->Fail();
        }
        self->shared_.connected++;
        self->Read();
      });
    });
  }

  void Close() {
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  void Fail() { shared_.failed++; }

  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return;
      absl::Time now = absl::Now();
      if (self->shared_.measuring) {
        std::string text = beast::buffers_to_string(self->buffer_.data());
        std::string as_of = StatsAsOf(text);
        absl::Time sent;
        std::string error;
        if (!as_of.empty() && absl::ParseTime(absl::RFC3339_full, as_of, &sent, &error)) {
          int64_t us = std::max<int64_t>(0, absl::ToInt64Microseconds(now - sent));
          self->stats_.latencies_us.push_back(
              static_cast<uint32_t>(std::min<int64_t>(us, 1 << 30)));
          self->stats_.deliveries[as_of]++;
        }
      }
      self->buffer_.consume(self->buffer_.size());
      self->Read();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  tcp::endpoint endpoint_;
  std::string host_;
  std::string path_;
  Shared& shared_;
  ThreadStats& stats_;
  beast::flat_buffer buffer_;
};

// --reference: every second, the same small stats message to every socket of the bare server.
class BroadcastServer {
 public:
  explicit BroadcastServer(net::io_context& ioc) : bare_(ioc), timer_(ioc) { Tick(); }
  unsigned short port() const { return bare_.port(); }

 private:
  void Tick() {
    timer_.expires_after(std::chrono::seconds(1));
    timer_.async_wait([this](beast::error_code ec) {
      if (ec) return;
      bare_.Broadcast(std::make_shared<const std::string>(absl::StrCat(
          "{\"type\":\"stats\",\"stats\":{\"as_of\":\"",
          absl::FormatTime("%Y-%m-%d%ET%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()), "\"}}")));
      Tick();
    });
  }
  livecommerce::bench::BareBroadcastServer bare_;
  net::steady_timer timer_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  if (o.serve_reference) {
    net::io_context ioc(1);
    BroadcastServer server(ioc);
    std::printf("port=%u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    ioc.run();
    return 0;
  }
  Shared shared;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  for (int i = 0; i < o.threads; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
  std::vector<ThreadStats> stats(static_cast<size_t>(o.threads));

  std::unique_ptr<net::io_context> server_ioc;
  std::unique_ptr<BroadcastServer> server;
  std::thread server_thread;
  std::string host;
  unsigned short port = 0;
  if (o.reference && o.target.empty()) {
    server_ioc = std::make_unique<net::io_context>(1);
    server = std::make_unique<BroadcastServer>(*server_ioc);
    port = server->port();
    host = "127.0.0.1";
    server_thread = std::thread([&] { server_ioc->run(); });
  } else {
    size_t colon = o.target.rfind(':');
    host = o.target.substr(0, colon);
    int p = 0;
    if (colon == std::string::npos || !absl::SimpleAtoi(o.target.substr(colon + 1), &p)) Usage();
    port = static_cast<unsigned short>(p);
  }
  tcp::endpoint endpoint(net::ip::make_address(host), port);

  SessionTokenCodec codec(livecommerce::common::OrExit(livecommerce::gateway::LoadSessionSecret()));
  absl::Time now = absl::Now();
  std::vector<std::shared_ptr<Client>> clients;
  clients.reserve(static_cast<size_t>(o.sockets));
  for (int i = 0; i < o.sockets; ++i) {
    std::string path = "/";
    if (!o.reference) {
      SessionClaims claims{absl::StrCat("ws-bench-", i),
                           livecommerce::common::Role::kViewer,
                           o.brand,
                           absl::StrCat("ws-viewer-", i),
                           now,
                           now + absl::Hours(6)};
      path = absl::StrCat("/v1/rooms/", o.room, "/ws?access_token=", *codec.Issue(claims));
    }
    size_t t = static_cast<size_t>(i % o.threads);
    clients.push_back(
        std::make_shared<Client>(*contexts[t], endpoint, host, path, shared, stats[t]));
  }
  std::vector<std::thread> threads;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
  for (auto& c : contexts) threads.emplace_back([ctx = c.get()] { ctx->run(); });

  // Open the sockets at the connect rate.
  absl::Time connect_start = absl::Now();
  for (int i = 0; i < o.sockets; ++i) {
    absl::Time due = connect_start + absl::Seconds(static_cast<double>(i) / o.connect_rate);
    absl::SleepFor(due - absl::Now());
    net::post(*contexts[static_cast<size_t>(i % o.threads)], [c = clients[i]] { c->Start(); });
  }
  absl::Time wait_until = absl::Now() + absl::Seconds(30);
  while (shared.connected + shared.failed < o.sockets && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  double connect_s = absl::ToDoubleSeconds(absl::Now() - connect_start);
  absl::SleepFor(absl::Seconds(2));  // let the room's counts settle

  shared.measuring = true;
  absl::Time start = absl::Now();
  absl::SleepFor(absl::Seconds(o.duration));
  shared.measuring = false;
  double duration = absl::ToDoubleSeconds(absl::Now() - start);
  absl::SleepFor(absl::Milliseconds(500));

  for (size_t t = 0; t < contexts.size(); ++t) {
    net::post(*contexts[t], [&clients, t, n = contexts.size()] {
      for (size_t i = t; i < clients.size(); i += n) clients[i]->Close();
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  for (auto& c : contexts) c->stop();
  for (auto& t : threads) t.join();
  if (server_ioc) {
    server_ioc->stop();
    server_thread.join();
  }

  std::vector<uint32_t> all;
  std::map<std::string, int> deliveries;
  for (ThreadStats& s : stats) {
    all.insert(all.end(), s.latencies_us.begin(), s.latencies_us.end());
    for (const auto& [as_of, n] : s.deliveries) deliveries[as_of] += n;
  }
  // Pushes wholly inside the window (not the first or last, which a socket may have caught only
  // in part): every connected socket should have each of them.
  int64_t lost = 0;
  int pushes = static_cast<int>(deliveries.size());
  int index = 0;
  for (const auto& [as_of, n] : deliveries) {
    if (index > 0 && index + 1 < pushes) lost += std::max(0, shared.connected.load() - n);
    ++index;
  }
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f duration_s=%.1f sockets=%d connected=%d failed=%d "
      "pushes=%d deliveries=%zu lost=%lld connect_s=%.1f refused=%d\n",
      static_cast<double>(all.size()) / duration, livecommerce::bench::PercentileMs(all, 0.50),
      livecommerce::bench::PercentileMs(all, 0.99), duration, o.sockets, shared.connected.load(),
      shared.failed.load(), pushes, all.size(), static_cast<long long>(lost), connect_s,
      shared.refused.load());
  return 0;
}
