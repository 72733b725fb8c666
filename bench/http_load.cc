// http_load: an open-loop HTTP/1.1 load generator (issue 21). Requests are due on a fixed
// schedule at the offered rate and go out over N keep-alive connections; latency runs from when
// each request was due, so a request waiting for a free connection (the server is slow) counts
// its wait. It reads steps "RATE SECONDS" on standard input, as the gRPC generators do
// (bench/step.h), and prints one line of figures per step, then a "final" line at the end.
//
//   http_load --target 127.0.0.1:8080 --paths /v1/rooms/1,/v1/rooms/1/products
//             (--tokens FILE | --sign-viewers BRAND) [--connections 64] [--threads 2] --steps
//
// Answers are classed as: 2xx accepted; 429 or 503 refused (refused_without_hint counts those
// without Retry-After, as the gRPC generators count refusals without the retry trailer);
// anything else, a broken connection or no answer within the step's drain time, an error.
//
// --tokens: one bearer token a line, used in turn (the gateway's per-viewer cache then serves
// the repeats). --sign-viewers BRAND: every request carries a viewer token signed here
// (LC_SESSION_SECRET) for a subject never used before, so the gateway's cache, kept per
// principal, cannot answer it: every request reaches a service.
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/step.h"
#include "gateway/auth/session_token.h"
#include "services/common/config.h"

namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
using livecommerce::bench::StepTally;

struct Options {
  std::string target = "127.0.0.1:8080";
  std::vector<std::string> paths;
  std::string tokens_file;
  std::string sign_brand;  // non-empty: a fresh viewer token per request
  int connections = 64;
  int threads = 2;
  int drain_s = 10;  // how long a step waits for its last answers
  bool steps = false;
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: http_load --target H:P --paths P1,P2 [--tokens FILE | --sign-viewers "
               "BRAND] [--connections N] [--threads T] [--drain-s S] --steps\n");
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
    else if (a == "--paths")
      o.paths = absl::StrSplit(value(), ',', absl::SkipEmpty());
    else if (a == "--tokens")
      o.tokens_file = value();
    else if (a == "--sign-viewers")
      o.sign_brand = value();
    else if (a == "--connections")
      o.connections = number();
    else if (a == "--threads")
      o.threads = number();
    else if (a == "--drain-s")
      o.drain_s = number();
    else if (a == "--steps")
      o.steps = true;
    else
      Usage();
  }
  if (o.paths.empty() || !o.steps || o.connections < o.threads) Usage();
  return o;
}

// Where each request's path and token come from. Shared by the threads: the counter makes every
// signed subject distinct across them.
class RequestSource {
 public:
  RequestSource(const Options& o) : paths_(o.paths), sign_brand_(o.sign_brand) {
    if (!o.tokens_file.empty()) {
      std::ifstream in(o.tokens_file);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) tokens_.push_back(line);
      }
      if (tokens_.empty()) {
        std::fprintf(stderr, "http_load: no tokens in %s\n", o.tokens_file.c_str());
        std::exit(2);
      }
    }
    if (!sign_brand_.empty()) {
      codec_ = std::make_unique<livecommerce::gateway::SessionTokenCodec>(
          livecommerce::common::OrExit(livecommerce::gateway::LoadSessionSecret()));
      // Distinct from one run to the next too: the gateway outlives a generator.
      run_tag_ = absl::StrCat(absl::ToUnixSeconds(absl::Now()));
    }
  }

  void Fill(http::request<http::empty_body>& request) {
    uint64_t n = next_.fetch_add(1, std::memory_order_relaxed);
    request.target(paths_[n % paths_.size()]);
    std::string token;
    if (codec_ != nullptr) {
      absl::Time now = absl::Now();
      livecommerce::gateway::SessionClaims claims{absl::StrCat("hl-", run_tag_, "-", n),
                                                  livecommerce::common::Role::kViewer,
                                                  sign_brand_,
                                                  absl::StrCat("hl-viewer-", run_tag_, "-", n),
                                                  now,
                                                  now + absl::Hours(1)};
      absl::StatusOr<std::string> issued = codec_->Issue(claims);
      if (issued.ok()) token = *std::move(issued);
    } else if (!tokens_.empty()) {
      // Each token reads every path before the next token is used, as wrk's script did.
      token = tokens_[(n / paths_.size()) % tokens_.size()];
    }
    if (token.empty()) {
      request.erase(http::field::authorization);
    } else {
      request.set(http::field::authorization, absl::StrCat("Bearer ", token));
    }
  }

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> tokens_;
  std::string sign_brand_;
  std::string run_tag_;
  std::unique_ptr<livecommerce::gateway::SessionTokenCodec> codec_;
  std::atomic<uint64_t> next_{0};
};

class Worker;

// One keep-alive connection: takes the next due request from its worker when idle.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(Worker& worker, net::io_context& ioc, tcp::endpoint endpoint)
      : worker_(worker), socket_(ioc), endpoint_(endpoint) {}

  bool idle() const { return connected_ && !busy_; }
  void Connect();
  void Send(Clock::time_point due, uint64_t generation);
  // Drops whatever is in flight (a step that ran out of time); the connection is made again.
  void Abort() {
    if (!busy_) return;
    beast::error_code ignored;
    socket_.close(ignored);
  }

 private:
  void Done(beast::error_code ec);
  // While idle, notices the server closing the connection (an idle timeout between steps), so
  // that the next request does not fail on a socket already gone.
  void WatchIdle();

  Worker& worker_;
  tcp::socket socket_;
  tcp::endpoint endpoint_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> request_;
  std::unique_ptr<http::response_parser<http::string_body>> parser_;
  Clock::time_point due_;
  uint64_t generation_ = 0;
  uint64_t watch_ = 0;  // the idle watch that is current
  bool connected_ = false;
  bool busy_ = false;
};

// One io thread with its share of the connections and of the offered rate.
class Worker {
 public:
  Worker(const Options& o, RequestSource& source, tcp::endpoint endpoint, std::string host,
         int connections)
      : source_(source), host_(std::move(host)), timer_(ioc_), guard_(net::make_work_guard(ioc_)) {
    for (int i = 0; i < connections; ++i) {
      connections_.push_back(std::make_shared<Connection>(*this, ioc_, endpoint));
    }
    drain_ = std::chrono::seconds(o.drain_s);
    thread_ = std::thread([this] { ioc_.run(); });
    net::post(ioc_, [this] {
      for (auto& c : connections_) c->Connect();
    });
  }
  ~Worker() {
    guard_.reset();
    ioc_.stop();
    thread_.join();
  }

  // Runs one step of `total` requests at `rate` a second from `started`; the future is ready
  // when every one has been answered or failed, or the drain time after the last one is up.
  std::future<StepTally> Step(double rate, int64_t total, Clock::time_point started) {
    auto promise = std::make_shared<std::promise<StepTally>>();
    std::future<StepTally> result = promise->get_future();
    net::post(ioc_, [this, rate, total, started, promise] {
      ++generation_;
      tally_ = StepTally{};
      tally_.all.reserve(static_cast<size_t>(total));
      tally_.accepted.reserve(static_cast<size_t>(total));
      rate_ = rate;
      total_ = total;
      issued_ = 0;
      completed_ = 0;
      started_ = started;
      promise_ = promise;
      if (total_ == 0) return Finish();
      Tick();
    });
    return result;
  }

  const std::string& host() const { return host_; }
  RequestSource& source() { return source_; }

  // An answer (or a failure) of the current step's request due at `due`.
  void Record(uint64_t generation, Clock::time_point due, int status, bool retry_after,
              bool failed) {
    if (generation != generation_ || promise_ == nullptr) return;  // a step already closed
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - due);
    uint32_t us = static_cast<uint32_t>(std::min<int64_t>(micros.count(), UINT32_MAX));
    bool ok = !failed && status >= 200 && status < 300;
    tally_.Add(us, ok);
    if (!ok) {
      if (!failed && (status == 429 || status == 503)) {
        ++tally_.refused;
        if (!retry_after) ++tally_.refused_without_hint;
      } else if (tally_.errors++ < 5) {
        std::fprintf(stderr, "http_load: %s\n",
                     failed ? "connection failed" : absl::StrCat("status ", status).c_str());
      }
    }
    if (++completed_ == total_) Finish();
  }

  // A connection became idle (answered, or connected again).
  void Dispatch() {
    if (promise_ == nullptr) return;
    for (auto& c : connections_) {
      if (queue_.empty()) return;
      if (c->idle()) {
        Clock::time_point due = queue_.front();
        queue_.pop_front();
        c->Send(due, generation_);
      }
    }
  }

 private:
  // Moves the requests due by now into the queue, hands them to idle connections, and comes
  // back at the next one due (or, past the last, at the end of the drain time).
  void Tick() {
    if (promise_ == nullptr) return;
    auto now = Clock::now();
    double elapsed = std::chrono::duration<double>(now - started_).count();
    int64_t due_by_now = std::min<int64_t>(total_, static_cast<int64_t>(elapsed * rate_) + 1);
    for (; issued_ < due_by_now; ++issued_) {
      queue_.push_back(started_ + std::chrono::nanoseconds(static_cast<int64_t>(
                                      static_cast<double>(issued_) * 1e9 / rate_)));
    }
    Dispatch();
    if (issued_ < total_) {
      auto next = started_ + std::chrono::nanoseconds(
                                 static_cast<int64_t>(static_cast<double>(issued_) * 1e9 / rate_));
      // At most every 200 µs: a timer per request would cost more than the requests.
      timer_.expires_at(std::max(next, now + std::chrono::microseconds(200)));
      timer_.async_wait([this, g = generation_](beast::error_code ec) {
        if (!ec && g == generation_) Tick();
      });
    } else {
      timer_.expires_at(now + drain_);
      timer_.async_wait([this, g = generation_](beast::error_code ec) {
        if (ec || g != generation_ || promise_ == nullptr) return;
        // Out of time: whatever is still queued or in flight is an error of this step.
        int64_t missing = total_ - completed_;
        tally_.errors += missing;
        std::fprintf(stderr, "http_load: %lld requests unanswered after the drain time\n",
                     static_cast<long long>(missing));
        queue_.clear();
        Finish();
        for (auto& c : connections_) c->Abort();
      });
    }
  }

  void Finish() {
    timer_.cancel();
    ++generation_;  // late answers belong to no step
    promise_->set_value(std::move(tally_));
    promise_.reset();
  }

  RequestSource& source_;
  std::string host_;
  net::io_context ioc_;
  net::steady_timer timer_;
  net::executor_work_guard<net::io_context::executor_type> guard_;
  std::vector<std::shared_ptr<Connection>> connections_;
  std::thread thread_;
  std::chrono::seconds drain_{10};
  std::deque<Clock::time_point> queue_;
  StepTally tally_;
  std::shared_ptr<std::promise<StepTally>> promise_;
  uint64_t generation_ = 0;
  double rate_ = 1;
  int64_t total_ = 0;
  int64_t issued_ = 0;
  int64_t completed_ = 0;
  Clock::time_point started_;
};

void Connection::Connect() {
  connected_ = false;
  busy_ = false;
  beast::error_code ignored;
  socket_.close(ignored);
  socket_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
    if (ec) {
      // The server refuses connections for now: try again shortly.
      auto timer = std::make_shared<net::steady_timer>(self->socket_.get_executor(),
                                                       std::chrono::milliseconds(100));
      timer->async_wait([self, timer](beast::error_code) { self->Connect(); });
      return;
    }
    self->socket_.set_option(tcp::no_delay(true));
    self->connected_ = true;
    self->buffer_.clear();
    self->request_ = {};
    self->request_.version(11);
    self->request_.method(http::verb::get);
    self->request_.set(http::field::host, self->worker_.host());
    self->request_.keep_alive(true);
    self->WatchIdle();
    self->worker_.Dispatch();
  });
}

void Connection::Send(Clock::time_point due, uint64_t generation) {
  busy_ = true;
  ++watch_;
  beast::error_code ignored;
  socket_.cancel(ignored);
  due_ = due;
  generation_ = generation;
  worker_.source().Fill(request_);
  http::async_write(socket_, request_, [self = shared_from_this()](beast::error_code ec, size_t) {
    if (ec) return self->Done(ec);
    self->parser_ = std::make_unique<http::response_parser<http::string_body>>();
    self->parser_->body_limit(16 * 1024 * 1024);
    http::async_read(self->socket_, self->buffer_, *self->parser_,
                     [self](beast::error_code ec2, size_t) { self->Done(ec2); });
  });
}

void Connection::Done(beast::error_code ec) {
  if (ec) {
    worker_.Record(generation_, due_, 0, false, true);
    Connect();
    return;
  }
  const auto& response = parser_->get();
  bool retry_after = response.find(http::field::retry_after) != response.end();
  bool keep_alive = response.keep_alive();
  worker_.Record(generation_, due_, static_cast<int>(response.result_int()), retry_after, false);
  busy_ = false;
  if (!keep_alive) {
    Connect();
    return;
  }
  WatchIdle();
  worker_.Dispatch();
}

void Connection::WatchIdle() {
  socket_.async_wait(tcp::socket::wait_read,
                     [self = shared_from_this(), w = ++watch_](beast::error_code ec) {
                       if (ec || w != self->watch_ || self->busy_) return;
                       self->Connect();
                     });
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  size_t colon = o.target.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(o.target.substr(colon + 1), &port)) Usage();
  std::string host = o.target.substr(0, colon);
  tcp::endpoint endpoint(net::ip::make_address(host), static_cast<unsigned short>(port));

  RequestSource source(o);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int t = 0; t < o.threads; ++t) {
    int share = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    workers.push_back(std::make_unique<Worker>(o, source, endpoint, host, share));
  }

  int64_t ops_total = 0;
  int64_t errors_total = 0;
  int64_t refused_total = 0;
  int rate = 0;
  int duration_s = 0;
  while (livecommerce::bench::NextStep(&rate, &duration_s)) {
    // The rate is split evenly; each thread keeps its own schedule from the same start.
    auto started = Clock::now();
    std::vector<std::future<StepTally>> parts;
    for (int t = 0; t < o.threads; ++t) {
      double share = static_cast<double>(rate) / o.threads;
      int64_t total = static_cast<int64_t>(share * duration_s);
      parts.push_back(workers[static_cast<size_t>(t)]->Step(share, total, started));
    }
    StepTally tally;
    for (auto& part : parts) {
      StepTally p = part.get();
      tally.all.insert(tally.all.end(), p.all.begin(), p.all.end());
      tally.accepted.insert(tally.accepted.end(), p.accepted.begin(), p.accepted.end());
      tally.errors += p.errors;
      tally.refused += p.refused;
      tally.refused_without_hint += p.refused_without_hint;
    }
    double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    ops_total += static_cast<int64_t>(tally.all.size());
    errors_total += tally.errors;
    refused_total += tally.refused;
    livecommerce::bench::PrintStep(rate, seconds, tally,
                                   absl::StrCat(" connections=", o.connections));
  }
  std::printf("final ops=%lld errors=%lld refused=%lld connections=%d\n",
              static_cast<long long>(ops_total), static_cast<long long>(errors_total),
              static_cast<long long>(refused_total), o.connections);
  std::fflush(stdout);
  workers.clear();
  return errors_total == 0 ? 0 : 1;
}
