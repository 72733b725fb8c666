#include "gateway/server/http_server.h"

#include <sys/resource.h>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gateway/http/connection_limits.h"
#include "gateway/http/status_map.h"
#include "gateway/server/websocket_policy.h"
#include "services/common/config.h"
#include "services/common/log_format.h"
#include "services/common/request_id.h"

namespace livecommerce::gateway {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

struct ServerState {
  HttpServerOptions options;
  Gateway* gateway;
  RoomHub* hub;
  ChatHub* chat = nullptr;
  AlertHub* alerts;
  Metrics* metrics;
  std::unique_ptr<ConnectionLimits> limits;  // made by Start, once the fd limit is known
  std::atomic<int64_t> in_flight{0};
  std::atomic<bool> stopping{false};
};

// A connection's place in the ConnectionLimits: taken at accept, given back when the connection
// (its HTTP session, then perhaps its WebSocket) is gone.
class ConnectionSlot {
 public:
  ConnectionSlot(ServerState& state, std::string address, bool counted)
      : state_(state), address_(std::move(address)), counted_(counted) {
    state_.metrics->ConnectionOpened();
  }
  ~ConnectionSlot() {
    state_.limits->Close(address_, counted_);
    state_.metrics->ConnectionClosed();
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
  const std::string& address() const { return address_; }

 private:
  ServerState& state_;
  std::string address_;
  bool counted_;
};

// One server WebSocket: the handshake, a queue of text messages written one at a time, reads
// (answering "ping"), closing. Lives on its connection's io_context; what may come from other
// threads is posted there. The kinds say what happens when it opens and when it ends.
class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  // `drop_when_full`: past the queue limit new messages are dropped (room pushes, which the next
  // stats replace); otherwise the sender paces itself (alerts).
  WsSession(beast::tcp_stream stream, ServerState& state, bool drop_when_full,
            std::shared_ptr<ConnectionSlot> slot)
      : ws_(std::move(stream)),
        state_(state),
        drop_when_full_(drop_when_full),
        slot_(std::move(slot)) {}
  virtual ~WsSession() = default;

  void Accept(http::request<http::string_body> request, std::string first_message) {
    beast::get_lowest_layer(ws_).expires_never();
    ConfigureServerWebSocket(ws_, state_.options.max_ws_message_bytes);
    auto self = shared_from_this();
    request_ = std::move(request);
    ws_.async_accept(request_, [self, first = std::move(first_message)](beast::error_code ec) {
      if (ec) {
        self->NeverOpened();
        return;
      }
      self->open_ = true;
      if (!first.empty()) self->Enqueue(std::make_shared<const std::string>(first), nullptr);
      self->Opened();
      self->Read();
    });
  }

 protected:
  // The handshake succeeded / failed; the open socket ended (once, after Opened).
  virtual void Opened() = 0;
  virtual void NeverOpened() = 0;
  virtual void Ended() = 0;
  // A text message from the client other than "ping" (ignored unless the kind wants it).
  virtual void Received(std::string text) { (void)text; }

  void Post(std::shared_ptr<const std::string> message, std::shared_ptr<void> written) {
    net::post(ws_.get_executor(), [self = shared_from_this(), message = std::move(message),
                                   written = std::move(written)]() mutable {
      self->Enqueue(std::move(message), std::move(written));
    });
  }

  void PostClose(websocket::close_reason reason) {
    net::post(ws_.get_executor(), [self = shared_from_this(), reason = std::move(reason)] {
      if (!self->open_ || self->closing_) return;
      self->closing_ = true;
      self->ReleaseQueued();
      self->ws_.async_close(reason, [self](beast::error_code) { self->Finish(); });
    });
  }

 private:
  struct Outgoing {
    std::shared_ptr<const std::string> text;  // null while `pieces` are to be merged at write time
    std::shared_ptr<void> written;            // released once written (or never will be)
    std::string key;  // a message the next of its kind replaces while it waits ("stats" ...)
    std::vector<std::shared_ptr<const ChatPiece>> pieces;  // a chat frame still open to merging
  };

  // The first queued message not being written.
  size_t FirstWaiting() const { return writing_ ? 1 : 0; }

 protected:
  // The io_context the socket lives on: what is queued for it is queued from there.
  const void* Context() { return &net::query(ws_.get_executor(), net::execution::context); }
  template <typename Fn>
  void PostToSocketThread(Fn fn) {
    net::post(ws_.get_executor(), std::move(fn));
  }

  // On the socket's thread.
  void Enqueue(std::shared_ptr<const std::string> message, std::shared_ptr<void> written) {
    if (!open_ || closing_) return;
    if (drop_when_full_) {
      // Room sockets. A snapshot (stats, likes, the pinned product, flash stock) replaces the
      // one of its kind still waiting: a slow reader gets the newest, not a backlog. Answers to
      // the client (acks, refusals, history) are never dropped short of a hard cap.
      std::string key = SnapshotKind(*message);
      if (!key.empty()) {
        for (size_t i = FirstWaiting(); i < queue_.size(); ++i) {
          if (queue_[i].key == key) {
            queue_[i].text = std::move(message);
            return;
          }
        }
        if (queue_.size() >= state_.options.socket_queue_limit) {
          state_.metrics->MessagesDropped(1);
          return;
        }
      } else if (queue_.size() >= 4 * state_.options.socket_queue_limit) {
        state_.metrics->MessagesDropped(1);
        return;
      }
      queue_.push_back(Outgoing{std::move(message), std::move(written), std::move(key), {}});
    } else {
      queue_.push_back(Outgoing{std::move(message), std::move(written), "", {}});
    }
    if (!writing_) WriteNext();
  }

  // A chat frame: merged into a chat frame still waiting, so a reader that falls behind gets one
  // bigger frame when it can take one, rather than a queue that grows (and drops) frame by frame.
  // On the socket's thread.
  void EnqueueChat(std::shared_ptr<const ChatPiece> piece) {
    if (!open_ || closing_) return;
    // The like total or stats it carries are newer than those of a frame of their own still
    // waiting, which would otherwise be read after them.
    bool likes = piece->snapshot.likes >= 0;
    bool stats = piece->snapshot.stats != nullptr;
    if (likes || stats) {
      for (size_t i = FirstWaiting(); i < queue_.size();) {
        if ((likes && queue_[i].key == "likes") || (stats && queue_[i].key == "stats")) {
          queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(i));
        } else {
          ++i;
        }
      }
    }
    for (size_t i = FirstWaiting(); i < queue_.size(); ++i) {
      if (!queue_[i].pieces.empty()) {
        queue_[i].pieces.push_back(std::move(piece));
        queue_[i].text = nullptr;
        return;
      }
    }
    std::shared_ptr<const std::string> frame = piece->frame;
    queue_.push_back(Outgoing{std::move(frame), nullptr, "", {std::move(piece)}});
    if (!writing_) WriteNext();
  }

  // "stats", "likes", "pinned" or "flash_stock" for those messages; "" for any other. (Every
  // message to a room socket passes here: no allocation.)
  static std::string SnapshotKind(const std::string& message) {
    static constexpr absl::string_view kHead = "{\"type\":\"";
    if (!absl::StartsWith(message, kHead)) return "";
    absl::string_view rest = absl::string_view(message).substr(kHead.size());
    static constexpr absl::string_view kKinds[] = {"stats", "likes", "pinned", "flash_stock"};
    for (absl::string_view kind : kKinds) {
      if (absl::StartsWith(rest, kind) && rest.size() > kind.size() && rest[kind.size()] == '"') {
        return std::string(kind);
      }
    }
    return "";
  }

 protected:
  void PostChat(std::shared_ptr<const ChatPiece> piece) {
    net::post(ws_.get_executor(), [self = shared_from_this(), piece = std::move(piece)]() mutable {
      self->EnqueueChat(std::move(piece));
    });
  }

 private:
  void WriteNext() {
    writing_ = true;
    Outgoing& next = queue_.front();
    if (next.text == nullptr) {
      next.text = std::make_shared<const std::string>(MergeChatPieces(next.pieces));
    }
    next.pieces.clear();  // being written: nothing more merges into it
    ws_.text(true);
    ws_.async_write(net::buffer(*queue_.front().text),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->queue_.pop_front();
                      if (ec) {
                        self->writing_ = false;
                        self->Finish();
                        return;
                      }
                      self->state_.metrics->MessagesPushed(1);
                      if (!self->queue_.empty() && !self->closing_) {
                        self->WriteNext();
                      } else {
                        self->writing_ = false;
                      }
                    });
  }

  void Read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) {
        self->Finish();
        return;
      }
      std::string text = beast::buffers_to_string(self->buffer_.data());
      if (std::shared_ptr<const std::string> reply = ClientMessageReply(text)) {
        self->Enqueue(std::move(reply), nullptr);
      } else {
        self->Received(std::move(text));
      }
      self->buffer_.consume(self->buffer_.size());
      self->Read();
    });
  }

  // Messages that will not be written: their senders may go on. (The one being written keeps its
  // buffer until the write ends.)
  void ReleaseQueued() {
    for (Outgoing& o : queue_) o.written.reset();
  }

  void Finish() {
    if (finished_) return;
    finished_ = true;
    open_ = false;
    ReleaseQueued();
    Ended();
    beast::error_code ignored;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  websocket::stream<beast::tcp_stream> ws_;

 protected:
  ServerState& state_;

 private:
  bool drop_when_full_;
  std::shared_ptr<ConnectionSlot> slot_;
  http::request<http::string_body> request_;
  beast::flat_buffer buffer_;
  std::deque<Outgoing> queue_;
  bool writing_ = false;
  bool open_ = false;
  bool closing_ = false;
  bool finished_ = false;
};

// A room WebSocket: its viewer joined before the upgrade; the RoomHub pushes to it.
class RoomSocketSession final : public WsSession, public RoomSocket {
 public:
  RoomSocketSession(beast::tcp_stream stream, ServerState& state,
                    std::shared_ptr<ConnectionSlot> slot, SocketInfo info)
      : WsSession(std::move(stream), state, /*drop_when_full=*/true, std::move(slot)),
        info_(std::move(info)),
        context_(Context()) {}

  void Push(std::shared_ptr<const std::string> message) override {
    Post(std::move(message), nullptr);
  }
  void PushChat(std::shared_ptr<const ChatPiece> piece) override { PostChat(std::move(piece)); }
  void Close() override { PostClose(websocket::close_code::going_away); }
  const SocketInfo& info() const override { return info_; }
  const void* thread() const override { return context_; }
  // One task on the sockets' thread for the batch (DeliverAll hands this socket only deliveries
  // to sockets of its own thread(), all of them sessions of this kind). The task queues a slice
  // of the batch and posts itself again for the rest: what else waits for the thread (a client's
  // comment, an ack) runs between slices instead of after a whole round of the room.
  void PushBatch(std::vector<SocketDelivery> batch) override {
    auto shared = std::make_shared<std::vector<SocketDelivery>>(std::move(batch));
    PostSlice(std::static_pointer_cast<RoomSocketSession>(shared_from_this()), std::move(shared),
              0);
  }

 private:
  void Opened() override {
    auto self = std::static_pointer_cast<RoomSocketSession>(shared_from_this());
    state_.hub->Add(self);
    if (state_.chat != nullptr) state_.chat->Add(self);
  }
  void NeverOpened() override { state_.hub->Abandon(info_); }
  void Ended() override {
    if (state_.chat != nullptr) state_.chat->Remove(this);
    state_.hub->Remove(this);
  }
  // Comments and like batches go to the chat hub, which answers on the socket.
  void Received(std::string text) override {
    if (state_.chat != nullptr) {
      state_.chat->OnClientMessage(std::static_pointer_cast<RoomSocketSession>(shared_from_this()),
                                   text);
    }
  }

  static void PostSlice(std::shared_ptr<RoomSocketSession> poster,
                        std::shared_ptr<std::vector<SocketDelivery>> batch, size_t from) {
    constexpr size_t kSlice = 64;  // about a millisecond of writes
    RoomSocketSession* on = poster.get();
    on->PostToSocketThread([poster = std::move(poster), batch = std::move(batch), from]() mutable {
      size_t end = std::min(batch->size(), from + kSlice);
      for (size_t i = from; i < end; ++i) {
        SocketDelivery& d = (*batch)[i];
        auto* session = static_cast<RoomSocketSession*>(d.socket.get());
        if (d.chat != nullptr) {
          session->EnqueueChat(std::move(d.chat));
        } else if (d.message != nullptr) {
          session->Enqueue(std::move(d.message), nullptr);
        }
        d.socket.reset();
      }
      if (end < batch->size()) PostSlice(std::move(poster), std::move(batch), end);
    });
  }

  SocketInfo info_;
  const void* context_;
};

// An associate's alerts WebSocket: the AlertHub streams the alerts to it once it is open.
class AlertSocketSession final : public WsSession, public AlertSocket {
 public:
  AlertSocketSession(beast::tcp_stream stream, ServerState& state,
                     std::shared_ptr<ConnectionSlot> slot, AlertSocketInfo info)
      : WsSession(std::move(stream), state, /*drop_when_full=*/false, std::move(slot)),
        info_(std::move(info)) {}

  void Send(std::vector<std::shared_ptr<const std::string>> messages,
            std::shared_ptr<void> written) override {
    // The last message carries `written`: it is released after all of them.
    for (size_t i = 0; i < messages.size(); ++i) {
      Post(std::move(messages[i]), i + 1 == messages.size() ? std::move(written) : nullptr);
    }
  }
  void Close(uint16_t code, std::string reason) override {
    if (reason.size() > 123) reason.resize(123);  // what a close frame holds
    PostClose(websocket::close_reason(static_cast<websocket::close_code>(code), reason));
  }
  const AlertSocketInfo& info() const override { return info_; }

 private:
  void Opened() override {
    state_.alerts->Add(std::static_pointer_cast<AlertSocketSession>(shared_from_this()));
  }
  void NeverOpened() override { state_.alerts->Abandon(info_); }
  void Ended() override { state_.alerts->Remove(this); }

  AlertSocketInfo info_;
};

// One HTTP/1.1 connection: one request at a time, kept alive while the client wants.
class HttpSession final : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(tcp::socket socket, ServerState& state, std::shared_ptr<ConnectionSlot> slot)
      : stream_(std::move(socket)), state_(state), slot_(std::move(slot)) {
    peer_ip_ = slot_->address();
    beast::error_code ec;
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  void Start() { Read(); }

 private:
  // Waits up to the idle timeout for a request's first byte, then up to the read timeout for the
  // whole request: a client that trickles its headers or body is cut at the read deadline.
  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(state_.options.max_header_bytes));
    parser_->body_limit(state_.options.max_body_bytes);
    if (buffer_.size() > 0) {  // the next request began in the last read
      ReadRequest();
      return;
    }
    stream_.expires_after(absl::ToChronoMilliseconds(state_.options.idle_timeout));
    stream_.async_read_some(buffer_.prepare(4096),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              if (ec) {
                                self->OnRead(ec, /*started=*/false);
                                return;
                              }
                              self->buffer_.commit(n);
                              self->ReadRequest();
                            });
  }

  void ReadRequest() {
    stream_.expires_after(absl::ToChronoMilliseconds(state_.options.read_timeout));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->OnRead(ec, /*started=*/true);
                     });
  }

  // `started`: the request's first byte had come (a timeout is then a slow client's).
  void OnRead(beast::error_code ec, bool started) {
    if (ec == http::error::body_limit) {
      Fail(413, grpc::StatusCode::INVALID_ARGUMENT,
           absl::StrCat("body: larger than ", state_.options.max_body_bytes, " bytes"));
      return;
    }
    if (ec == http::error::header_limit) {
      Fail(431, grpc::StatusCode::INVALID_ARGUMENT,
           absl::StrCat("headers: larger than ", state_.options.max_header_bytes, " bytes"));
      return;
    }
    if (ec == beast::error::timeout && started) state_.metrics->ReadTimedOut();
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      Close();
      return;
    }
    if (ec) {
      Fail(400, grpc::StatusCode::INVALID_ARGUMENT, "request: malformed HTTP");
      return;
    }
    http::request<http::string_body> req = parser_->release();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    // The caller's id when it sent a usable one, else a new one: answered in X-Request-Id, logged,
    // and passed to every service the request reaches (RpcClient reads it from this thread).
    auto given = req.find("x-request-id");
    absl::string_view given_id;
    if (given != req.end()) {
      given_id = absl::string_view(given->value().data(), given->value().size());
    }
    request_id_ =
        common::IsValidRequestId(given_id) ? std::string(given_id) : common::NewRequestId();
    common::ScopedRequestId scoped_request_id(request_id_);
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    request.received = absl::Now();
    for (const auto& field : req) {
      request.headers.emplace_back(absl::AsciiStrToLower(std::string(field.name_string())),
                                   std::string(field.value()));
    }
    request.client_ip = peer_ip_;
    if (!state_.options.trusted_proxies.empty()) {
      std::vector<absl::string_view> forwarded_for;
      for (const auto& [name, value] : request.headers) {
        if (name == "x-forwarded-for") forwarded_for.push_back(value);
      }
      request.client_ip = state_.options.trusted_proxies.ClientAddress(peer_ip_, forwarded_for);
    }
    stream_.expires_never();
    state_.in_flight++;
    auto self = shared_from_this();
    // Answered at once when the answer is ready on this connection's thread (a cached read),
    // posted there otherwise.
    Reply reply = [self](HttpResponse response) {
      net::dispatch(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->Write(std::move(response));
      });
    };
    if (websocket::is_upgrade(req) &&
        state_.gateway->IsSocketRoute(request.method, request.target)) {
      auto upgrade = std::make_shared<http::request<http::string_body>>(std::move(req));
      state_.gateway->PrepareSocket(
          std::move(request),
          [self, upgrade](SocketGrant grant) {
            net::post(self->stream_.get_executor(), [self, upgrade,
                                                     grant = std::move(grant)]() mutable {
              self->state_.in_flight--;
              std::shared_ptr<WsSession> socket;
              if (grant.kind == SocketKind::kAlerts) {
                socket = std::make_shared<AlertSocketSession>(
                    std::move(self->stream_), self->state_, self->slot_, std::move(grant.alerts));
              } else {
                socket = std::make_shared<RoomSocketSession>(std::move(self->stream_), self->state_,
                                                             self->slot_, std::move(grant.info));
              }
              socket->Accept(std::move(*upgrade), std::move(grant.joined_json));
            });
          },
          std::move(reply));
      return;
    }
    request.body = std::move(req.body());
    state_.gateway->Handle(std::move(request), std::move(reply));
  }

  void Fail(int status, grpc::StatusCode code, const std::string& message) {
    keep_alive_ = false;
    request_id_ = common::NewRequestId();
    state_.in_flight++;
    HttpResponse r;
    r.status = status;
    r.body = ErrorJson(code, message);
    Write(std::move(r));
  }

  // The answer and the body its span points into, kept alive together until written.
  struct Outgoing {
    std::shared_ptr<const std::string> body;
    http::response<http::span_body<const char>> message;
  };

  void Write(HttpResponse response) {
    auto out = std::make_shared<Outgoing>();
    out->body = response.shared_body != nullptr
                    ? std::move(response.shared_body)
                    : std::make_shared<const std::string>(std::move(response.body));
    http::response<http::span_body<const char>>* res = &out->message;
    res->version(version_);
    res->result(static_cast<unsigned>(response.status));
    res->set(http::field::server, "livecommerce-gateway");
    res->set(http::field::content_type, response.content_type);
    res->set("X-Request-Id", request_id_);
    if (response.retry_after_seconds > 0) {
      res->set(http::field::retry_after, std::to_string(response.retry_after_seconds));
    }
    res->keep_alive(keep_alive_ && !state_.stopping);
    res->body() = http::span_body<const char>::value_type(out->body->data(), out->body->size());
    res->prepare_payload();
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res,
                      [self = shared_from_this(), out](beast::error_code ec, size_t) {
                        self->state_.in_flight--;
                        if (ec || !out->message.keep_alive()) {
                          self->Close();
                          return;
                        }
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  beast::tcp_stream stream_;
  ServerState& state_;
  std::shared_ptr<ConnectionSlot> slot_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string peer_ip_;  // the TCP peer: the client, or a proxy
  bool keep_alive_ = true;
  unsigned version_ = 11;
  std::string request_id_;  // of the request being answered (one at a time per connection)
};

// The connection limit that fits the open-file limit (raised to its hard limit first), keeping
// 256 descriptors for the listener, the gRPC channels, Redis and logs: past it accept() would fail
// with EMFILE instead of the gateway refusing cleanly.
size_t ConnectionsWithinFileLimit(size_t wanted) {
  constexpr rlim_t kReserve = 256;
  struct rlimit files {};
  if (getrlimit(RLIMIT_NOFILE, &files) != 0) return wanted;
  if (files.rlim_cur < files.rlim_max) {
    struct rlimit raised = files;
    raised.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) files = raised;
  }
  if (files.rlim_cur == RLIM_INFINITY) return wanted;
  size_t fit = files.rlim_cur > 2 * kReserve ? static_cast<size_t>(files.rlim_cur - kReserve)
                                             : static_cast<size_t>(files.rlim_cur / 2);
  if (wanted == 0) return fit;
  if (wanted > fit) {
    spdlog::info("LC_GATEWAY_MAX_CONNECTIONS: {} lowered to {} to fit the open-file limit {}",
                 wanted, fit, static_cast<uint64_t>(files.rlim_cur));
    return fit;
  }
  return wanted;
}

}  // namespace

absl::StatusOr<HttpServerOptions> LoadHttpServerOptions() {
  HttpServerOptions o;
  o.host = common::EnvString("LC_GATEWAY_HOST", o.host);
  auto port = common::EnvInt("LC_GATEWAY_PORT", 8080, 0, 65535);
  auto threads = common::EnvInt("LC_GATEWAY_THREADS", 0, 0, 256);
  auto body = common::EnvInt("LC_GATEWAY_MAX_BODY_BYTES", 64 * 1024, 1024, 64 << 20);
  auto header = common::EnvInt("LC_GATEWAY_MAX_HEADER_BYTES", 8 * 1024, 1024, 1 << 20);
  auto idle = common::EnvMillis("LC_GATEWAY_IDLE_TIMEOUT_MS", 60000, 1000, 3600000);
  auto read = common::EnvMillis("LC_GATEWAY_READ_TIMEOUT_MS", 10000, 100, 600000);
  auto ws_message = common::EnvInt("LC_GATEWAY_MAX_WS_MESSAGE_BYTES",
                                   static_cast<int64_t>(kMaxClientMessageBytes), 125, 16 << 20);
  auto connections = common::EnvInt("LC_GATEWAY_MAX_CONNECTIONS", 20000, 0, 10000000);
  auto per_ip = common::EnvInt("LC_GATEWAY_MAX_CONNECTIONS_PER_IP", 512, 0, 10000000);
  auto grace = common::EnvMillis("LC_SHUTDOWN_GRACE_MS", 10000, 0, 600000);
  auto proxies = LoadTrustedProxies();
  for (const absl::Status& s :
       {port.status(), threads.status(), body.status(), header.status(), idle.status(),
        read.status(), ws_message.status(), connections.status(), per_ip.status(), grace.status(),
        proxies.status()}) {
    if (!s.ok()) return s;
  }
  o.trusted_proxies = *std::move(proxies);
  o.port = static_cast<int>(*port);
  o.threads = static_cast<int>(*threads);
  o.max_body_bytes = static_cast<size_t>(*body);
  o.max_header_bytes = static_cast<size_t>(*header);
  o.idle_timeout = *idle;
  o.read_timeout = *read;
  o.max_ws_message_bytes = static_cast<size_t>(*ws_message);
  o.max_connections = static_cast<size_t>(*connections);
  o.max_connections_per_ip = static_cast<size_t>(*per_ip);
  o.shutdown_grace = *grace;
  return o;
}

struct HttpServer::Impl {
  ServerState state;
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<net::steady_timer> accept_retry;
  size_t next = 0;
  bool stopped = false;

  void Accept() {
    net::io_context& target = *contexts[next++ % contexts.size()];
    acceptor->async_accept(target, [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (state.stopping) return;
        // Out of file descriptors (EMFILE) and the like: try again shortly rather than spin.
        accept_retry->expires_after(std::chrono::milliseconds(50));
        accept_retry->async_wait([this](beast::error_code waited) {
          if (!waited && !state.stopping) Accept();
        });
        return;
      }
      Admit(std::move(socket));
      Accept();
    });
  }

  // Within the connection limits, a session; past them the socket is closed at once.
  void Admit(tcp::socket socket) {
    beast::error_code ec;
    tcp::endpoint remote = socket.remote_endpoint(ec);
    std::string address = ec ? std::string() : remote.address().to_string();
    bool counted = true;  // a trusted proxy carries many clients: it counts in the total only
    if (!state.options.trusted_proxies.empty()) {
      std::optional<IpAddress> ip = IpAddress::Parse(address);
      counted = !(ip.has_value() && state.options.trusted_proxies.Trusts(*ip));
    }
    ConnectionLimits::Refusal refusal = state.limits->TryOpen(address, counted);
    if (refusal != ConnectionLimits::Refusal::kNone) {
      state.metrics->ConnectionRefused(refusal == ConnectionLimits::Refusal::kAddress);
      socket.close(ec);
      return;
    }
    auto slot = std::make_shared<ConnectionSlot>(state, std::move(address), counted);
    std::make_shared<HttpSession>(std::move(socket), state, std::move(slot))->Start();
  }
};

HttpServer::HttpServer(HttpServerOptions options, Gateway& gateway, RoomHub& hub, AlertHub& alerts,
                       Metrics& metrics, ChatHub* chat)
    : impl_(std::make_unique<Impl>()) {
  impl_->state.options = std::move(options);
  impl_->state.gateway = &gateway;
  impl_->state.hub = &hub;
  impl_->state.chat = chat;
  impl_->state.alerts = &alerts;
  impl_->state.metrics = &metrics;
  // A room's stats go in its sockets' chat frames when the chat hub runs (one frame fewer per
  // socket and second); the room hub pushes them itself otherwise.
  if (chat != nullptr) {
    hub.SetStatsSink([chat](const std::string& brand_id, const std::string& room_id,
                            const std::string& stats_json) {
      return chat->OfferStats(brand_id, room_id, stats_json);
    });
  }
}

HttpServer::~HttpServer() { Stop(); }

absl::Status HttpServer::Start() {
  int threads = impl_->state.options.threads;
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < threads; ++i) {
    impl_->contexts.push_back(std::make_unique<net::io_context>(1));
    impl_->guards.push_back(net::make_work_guard(*impl_->contexts.back()));
  }
  beast::error_code ec;
  net::ip::address address = net::ip::make_address(impl_->state.options.host, ec);
  if (ec) {
    return absl::InvalidArgumentError("LC_GATEWAY_HOST: not an IP address");
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->state.options.port));
  auto acceptor = std::make_unique<tcp::acceptor>(*impl_->contexts[0]);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(4096, ec);
  if (ec) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", impl_->state.options.host, ":",
                                               impl_->state.options.port, ": ", ec.message()));
  }
  port_ = acceptor->local_endpoint().port();
  impl_->acceptor = std::move(acceptor);
  impl_->accept_retry = std::make_unique<net::steady_timer>(*impl_->contexts[0]);
  impl_->state.limits = std::make_unique<ConnectionLimits>(
      ConnectionsWithinFileLimit(impl_->state.options.max_connections),
      impl_->state.options.max_connections_per_ip);
  impl_->Accept();
  for (auto& context : impl_->contexts) {
    net::io_context* ioc = context.get();
    impl_->threads.emplace_back([ioc] { ioc->run(); });
  }
  return absl::OkStatus();
}

void HttpServer::Stop() {
  if (impl_->stopped || impl_->threads.empty()) return;
  impl_->stopped = true;
  ServerState& state = impl_->state;
  state.stopping = true;
  net::post(*impl_->contexts[0], [this] {
    beast::error_code ignored;
    impl_->acceptor->close(ignored);
  });
  state.hub->CloseAll();
  state.alerts->CloseAll();
  absl::Time deadline = absl::Now() + state.options.shutdown_grace;
  while (absl::Now() < deadline && (state.in_flight > 0 || state.metrics->sockets_open() > 0)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (auto& context : impl_->contexts) context->stop();
  for (auto& thread : impl_->threads) thread.join();
  impl_->threads.clear();
  // Sockets that did not close in the grace period go now, while the hubs are still there:
  // releasing what they held lets the hubs' upstream calls end.
  impl_->acceptor.reset();
  impl_->accept_retry.reset();
  impl_->guards.clear();
  impl_->contexts.clear();
}

}  // namespace livecommerce::gateway
