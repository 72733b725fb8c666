// chat_load: the room chat under load (issue 19). Opens N room WebSockets on the gateway (tokens
// signed here with LC_SESSION_SECRET): `--staff` ops watch sockets (distinct ops subjects: their
// comments carry the host badge), then `--senders - --staff` viewers who comment, `--likers`
// viewers who send like batches, and plain viewers. Comments go out at `--comment-rate` a second
// spread evenly over the senders, like batches of `--like-batch` taps at `--like-rate` taps a
// second spread over the likers (one batch in a hundred sent twice with the same batch id: it must
// not count twice). Each comment's text starts with a marker, "S|<sender>|<seq>|<unix us>" (staff)
// or "V|..." (viewer), so a receiver finds staff and own comments and their latency with a
// substring scan, without parsing every frame.
//
// Every socket must receive every staff comment acknowledged during the measured window (after
// the warm-up) and its own acknowledged comments; `lost` counts those it did not. Latency is
// receive time minus the marker's send time, over every comment item received in the window.
//
// The clients speak WebSocket by hand (the upgrade, then frames read straight from the socket),
// not through Beast's client: the load generator shares the machine with what it measures, and
// Beast's read path, its UTF-8 check above all, cost about a quarter of a core at 50,000 frames a
// second. Server frames are parsed whole or in fragments; pings are answered.
//
// The reference: `--serve-reference` runs a bare Beast server (a process of its own, as the
// gateway is) that SUBSCRIBEs to a Redis channel and writes every message it gets to all its
// sockets; `--reference --target <its address>` opens the same number of sockets to it and
// PUBLISHes chat-like frames of `--frame-bytes` bytes `--ref-rate` times a second (as often as
// the gateway sends chat frames); the same receivers measure publish -> receive.
//
//   chat_load --target 127.0.0.1:8080 --room 1 --brand demo --gateway-pid 1234 --duration 60
//   chat_load --serve-reference --redis 127.0.0.1:6379 &   # prints port=<port>
//   chat_load --reference --target 127.0.0.1:<port> --gateway-pid <its pid>
//             --redis 127.0.0.1:6379 --frame-bytes 900 --duration 60
//
// Prints: rate=<chat frames received/s> p50_ms p99_ms delivered folded lost lost_staff lost_own
// staff_sent own_acked comments_sent comments_acked refused likes_expected likes_pushed
// double_counted like_refused frames cpu_s cpu_s_per_million_frames avg_chat_frame_bytes ...
#include <hiredis/hiredis.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/bare_broadcast.h"
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
  int senders = 200;
  int staff = 10;
  double comment_rate = 100;  // comments a second, all senders together
  int likers = 400;
  double like_rate = 2000;  // taps a second, all likers together
  int like_batch = 5;       // taps per batch
  int resend_percent = 1;   // like batches sent twice
  int duration = 60;
  int warmup = 3;
  int threads = 2;
  int connect_rate = 500;  // the room and interaction services answer each join
  int gateway_pid = 0;
  bool reference = false;        // clients of a --serve-reference server at --target
  bool serve_reference = false;  // be that server
  std::string channel = "lc:bench:chat-ref";
  std::string redis = "127.0.0.1:6379";
  int frame_bytes = 1000;
  double ref_rate = 5;
  bool timeline = false;  // print the worst latencies of each second to stderr
};

[[noreturn]] void Usage() {
  std::fprintf(stderr,
               "usage: chat_load [--target H:P --room ID --brand B --gateway-pid PID] "
               "[--serve-reference | --reference --target H:P --gateway-pid PID] [--redis H:P] "
               "[--channel C] [--frame-bytes N] [--ref-rate R] [--sockets N] "
               "[--senders N] [--staff N] [--comment-rate R] [--likers N] [--like-rate R] "
               "[--like-batch N] [--resend-percent P] [--duration S] [--warmup S] [--threads T] "
               "[--connect-rate R] [--timeline]\n");
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
      if (!absl::SimpleAtoi(value(), &n) || n < 0) Usage();
      return n;
    };
    auto real = [&]() {
      double d = 0;
      if (!absl::SimpleAtod(value(), &d) || d <= 0) Usage();
      return d;
    };
    if (a == "--target")
      o.target = value();
    else if (a == "--room")
      o.room = value();
    else if (a == "--brand")
      o.brand = value();
    else if (a == "--sockets")
      o.sockets = number();
    else if (a == "--senders")
      o.senders = number();
    else if (a == "--staff")
      o.staff = number();
    else if (a == "--comment-rate")
      o.comment_rate = real();
    else if (a == "--likers")
      o.likers = number();
    else if (a == "--like-rate")
      o.like_rate = real();
    else if (a == "--like-batch")
      o.like_batch = number();
    else if (a == "--resend-percent")
      o.resend_percent = number();
    else if (a == "--duration")
      o.duration = number();
    else if (a == "--warmup")
      o.warmup = number();
    else if (a == "--threads")
      o.threads = number();
    else if (a == "--connect-rate")
      o.connect_rate = number();
    else if (a == "--gateway-pid")
      o.gateway_pid = number();
    else if (a == "--reference")
      o.reference = true;
    else if (a == "--serve-reference")
      o.serve_reference = true;
    else if (a == "--channel")
      o.channel = value();
    else if (a == "--redis")
      o.redis = value();
    else if (a == "--frame-bytes")
      o.frame_bytes = number();
    else if (a == "--ref-rate")
      o.ref_rate = real();
    else if (a == "--timeline")
      o.timeline = true;
    else
      Usage();
  }
  if (o.threads < 1 || o.sockets < 1 || o.staff > o.senders || o.senders + o.likers > o.sockets ||
      o.like_batch < 1 || o.duration < 1) {
    Usage();
  }
  return o;
}

int64_t NowMicros() { return absl::ToUnixMicros(absl::Now()); }

// Latencies in 100 us buckets up to a minute (one more bucket for anything later).
constexpr size_t kBuckets = 600000;

constexpr size_t kSeconds = 600;  // of --timeline

// What each io thread records, merged at the end.
struct ThreadStats {
  std::vector<uint32_t> histogram = std::vector<uint32_t>(kBuckets + 1, 0);
  int64_t samples = 0;
  int64_t frames = 0;       // every frame received in the window
  int64_t chat_frames = 0;  // chat frames received in the window
  int64_t chat_bytes = 0;
  int64_t delivered = 0;  // comment items in chat frames in the window
  int64_t folded = 0;
  int64_t comments_acked = 0;
  int64_t likes_pushed = 0;  // the largest likes total pushed
  int64_t likes_expected = 0;
  int64_t likes_acked_counted = 0;  // taps of acks that said counted
  int64_t double_counted = 0;       // a resent batch acknowledged as counted twice
  // Send -> acknowledgement, in the window: where a slow comment spends its time.
  std::vector<uint32_t> comment_ack_histogram = std::vector<uint32_t>(kBuckets + 1, 0);
  int64_t comment_ack_samples = 0;
  std::vector<uint32_t> like_ack_histogram = std::vector<uint32_t>(kBuckets + 1, 0);
  int64_t like_ack_samples = 0;
  std::map<std::string, int64_t> comment_refused;
  std::map<std::string, int64_t> like_refused;
  // --timeline: per second of the run, the worst delivery, comment ack and like ack (us).
  std::vector<std::array<int64_t, 3>> worst = std::vector<std::array<int64_t, 3>>(kSeconds);
};

// Staff (or, in --reference, published) messages: a flag per (sender, seq), set when the
// message is acknowledged and was sent within the window.
struct Expected {
  Expected(int senders, int per_sender)
      : per_sender(per_sender), flags(static_cast<size_t>(senders) * per_sender) {}
  size_t Index(int sender, int seq) const {
    return static_cast<size_t>(sender) * static_cast<size_t>(per_sender) + static_cast<size_t>(seq);
  }
  int per_sender;
  // Bit 1: sent within the window; bit 2: acknowledged.
  std::vector<std::atomic<uint8_t>> flags;
};

struct Shared {
  explicit Shared(const Options& o)
      : staff(o.reference ? 1 : std::max(o.staff, 1),
              o.reference ? static_cast<int>(o.ref_rate * (o.duration + o.warmup + 10)) + 10
                          : static_cast<int>(o.comment_rate / std::max(o.senders, 1) *
                                             (o.duration + o.warmup + 10)) +
                                10) {}
  std::atomic<int> connected{0};
  std::atomic<int> failed{0};
  std::atomic<int> dropped{0};       // closed by the server after opening
  std::atomic<int64_t> sent{0};      // comments and like batches written
  std::atomic<int64_t> answered{0};  // acknowledged or refused
  std::atomic<bool> measuring{false};
  int64_t started_us = NowMicros();  // --timeline's origin
  Expected staff;
};

// The number after `key` in `text` at or after `from`, or -1.
int64_t NumberAfter(absl::string_view text, absl::string_view key, size_t from = 0) {
  size_t at = text.find(key, from);
  if (at == absl::string_view::npos) return -1;
  at += key.size();
  int64_t n = 0;
  bool any = false;
  while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
    n = n * 10 + (text[at] - '0');
    ++at;
    any = true;
  }
  return any ? n : -1;
}

// The string after `key` (up to the next quote), or empty.
absl::string_view StringAfter(absl::string_view text, absl::string_view key) {
  size_t at = text.find(key);
  if (at == absl::string_view::npos) return {};
  at += key.size();
  size_t end = text.find('"', at);
  return end == absl::string_view::npos ? absl::string_view() : text.substr(at, end - at);
}

// A marker "K|sender|seq|us" at the start of `text`.
struct Marker {
  char kind = 0;
  int sender = -1;
  int seq = -1;
  int64_t sent_us = 0;
};
bool ParseMarker(absl::string_view text, Marker* m) {
  if (text.size() < 8 || text[1] != '|') return false;
  m->kind = text[0];
  int64_t fields[3] = {0, 0, 0};
  size_t at = 2;
  for (int f = 0; f < 3; ++f) {
    bool any = false;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9') {
      fields[f] = fields[f] * 10 + (text[at] - '0');
      ++at;
      any = true;
    }
    if (!any) return false;
    if (f < 2) {
      if (at >= text.size() || text[at] != '|') return false;
      ++at;
    }
  }
  m->sender = static_cast<int>(fields[0]);
  m->seq = static_cast<int>(fields[1]);
  m->sent_us = fields[2];
  return true;
}

enum class Kind { kStaff, kSender, kLiker, kViewer };

class Client : public std::enable_shared_from_this<Client> {
 public:
  Client(net::io_context& ioc, tcp::endpoint endpoint, std::string host, std::string path,
         int index, Kind kind, const Options& options, Shared& shared, ThreadStats& stats)
      : socket_(ioc),
        endpoint_(endpoint),
        host_(std::move(host)),
        path_(std::move(path)),
        index_(index),
        kind_(kind),
        options_(options),
        shared_(shared),
        stats_(stats),
        staff_seen_(shared.staff.flags.size(), 0) {
    if (kind == Kind::kStaff || kind == Kind::kSender) {
      own_state_.assign(static_cast<size_t>(shared.staff.per_sender), 0);
      sent_at_.assign(static_cast<size_t>(shared.staff.per_sender), 0);
    }
  }

  // Connects and upgrades by hand: the handshake's answer may be followed at once by the first
  // frames, which then wait in `in_` for the frame reader.
  void Start() {
    socket_.async_connect(endpoint_, [self = shared_from_this()](beast::error_code ec) {
      if (ec) return self->Fail();
      beast::error_code ignored;
      self->socket_.set_option(tcp::no_delay(true), ignored);
      // Any 16 bytes, base64: the server only checks the form.
      self->request_ = absl::StrCat("GET ", self->path_, " HTTP/1.1\r\nHost: ", self->host_,
                                    "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                                    "Sec-WebSocket-Key: Y2hhdC1sb2FkLWJlbmNoIQ==\r\n"
                                    "Sec-WebSocket-Version: 13\r\n\r\n");
      net::async_write(self->socket_, net::buffer(self->request_),
                       [self](beast::error_code ec2, size_t) {
                         if (ec2) return self->Fail();
                         self->ReadHandshake();
                       });
    });
  }

  // The next comment (called on this client's thread). `in_window`: it counts.
  void SendComment(bool in_window) {
    if (!open_) return;
    int seq = next_seq_++;
    if (seq >= static_cast<int>(own_state_.size())) return;
    bool staff = kind_ == Kind::kStaff;
    sent_at_[static_cast<size_t>(seq)] = NowMicros();
    if (in_window) {
      own_state_[static_cast<size_t>(seq)] |= 1;
      if (staff) shared_.staff.flags[shared_.staff.Index(index_, seq)] |= 1;
    }
    // Some ordinary text after the marker, as a real comment has.
    Write(absl::StrCat("{\"type\":\"comment\",\"client_id\":\"c-", index_, "-", seq,
                       "\",\"text\":\"", staff ? "S|" : "V|", index_, "|", seq, "|", NowMicros(),
                       " 这件25厘米黑色的还有吗？\",\"reply_to\":\"\"}"));
  }

  // The next like batch; `resend`: the previous one again, same batch id.
  void SendLikes(bool resend) {
    if (!open_) return;
    if (!resend) ++batch_;
    if (batch_ == 0) return;
    if (!resend) batch_sent_at_[batch_] = NowMicros();
    Write(absl::StrCat("{\"type\":\"like\",\"batch_id\":\"b-", index_, "-", batch_,
                       "\",\"count\":", options_.like_batch, "}"));
  }

  void Close() {
    open_ = false;
    beast::error_code ignored;
    socket_.close(ignored);
  }

  bool was_open() const { return ever_open_; }
  bool dropped() const { return dropped_; }
  Kind kind() const { return kind_; }

  // Staff messages expected and not received (only after the threads stopped).
  int64_t LostStaff() const {
    int64_t lost = 0;
    for (size_t i = 0; i < staff_seen_.size(); ++i) {
      if (shared_.staff.flags[i] == 3 && staff_seen_[i] == 0) ++lost;
    }
    return lost;
  }
  // Own comments acknowledged in the window and not received.
  int64_t LostOwn() const {
    int64_t lost = 0;
    for (uint8_t s : own_state_) {
      if ((s & 3) == 3 && (s & 4) == 0) ++lost;
    }
    return lost;
  }
  int64_t OwnAcked() const {
    int64_t n = 0;
    for (uint8_t s : own_state_) n += (s & 3) == 3 ? 1 : 0;
    return n;
  }

 private:
  void Fail() { shared_.failed++; }

  // A text message, as a client frame (masked, as RFC 6455 wants from clients).
  void Write(absl::string_view text) {
    shared_.sent++;
    queue_.push_back(ClientFrame(0x1, text));
    if (queue_.size() == 1) WriteNext();
  }
  static std::string ClientFrame(uint8_t opcode, absl::string_view payload) {
    static constexpr uint8_t kMask[4] = {0x5a, 0x3c, 0x96, 0x0f};
    std::string frame;
    frame.reserve(payload.size() + 14);
    frame += static_cast<char>(0x80 | opcode);
    if (payload.size() < 126) {
      frame += static_cast<char>(0x80 | payload.size());
    } else if (payload.size() <= 0xffff) {
      frame += static_cast<char>(0x80 | 126);
      frame += static_cast<char>(payload.size() >> 8);
      frame += static_cast<char>(payload.size() & 0xff);
    } else {
      frame += static_cast<char>(0x80 | 127);
      for (int shift = 56; shift >= 0; shift -= 8) {
        frame += static_cast<char>((static_cast<uint64_t>(payload.size()) >> shift) & 0xff);
      }
    }
    frame.append(reinterpret_cast<const char*>(kMask), 4);
    for (size_t i = 0; i < payload.size(); ++i) {
      frame += static_cast<char>(static_cast<uint8_t>(payload[i]) ^ kMask[i % 4]);
    }
    return frame;
  }
  void WriteNext() {
    net::async_write(socket_, net::buffer(queue_.front()),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       self->queue_.pop_front();
                       if (ec) {
                         self->queue_.clear();
                         return;
                       }
                       if (!self->queue_.empty()) self->WriteNext();
                     });
  }

  // The upgrade's answer: "HTTP/1.1 101" up to the blank line; what follows is frames.
  void ReadHandshake() {
    ReadMore([self = shared_from_this()] {
      absl::string_view got(self->in_.data(), self->in_used_);
      size_t end = got.find("\r\n\r\n");
      if (end == absl::string_view::npos) {
        if (self->in_used_ > 16384) return self->Fail();
        return self->ReadHandshake();
      }
      if (!absl::StartsWith(got, "HTTP/1.1 101")) return self->Fail();
      self->Consume(end + 4);
      self->open_ = true;
      self->ever_open_ = true;
      self->shared_.connected++;
      self->ReadFrames();
    });
  }

  // Reads what the socket has into `in_` (growing it when full), then calls `then`.
  template <typename Then>
  void ReadMore(Then then) {
    if (in_.size() - in_used_ < 4096) in_.resize(std::max<size_t>(in_.size() * 2, 8192));
    socket_.async_read_some(
        net::buffer(in_.data() + in_used_, in_.size() - in_used_),
        [self = shared_from_this(), then = std::move(then)](beast::error_code ec, size_t n) {
          if (ec) {
            if (self->open_) {
              self->open_ = false;
              self->dropped_ = true;
              self->shared_.dropped++;
            }
            return;
          }
          self->in_used_ += n;
          then();
        });
  }

  void Consume(size_t n) {
    std::memmove(in_.data(), in_.data() + n, in_used_ - n);
    in_used_ -= n;
  }

  // Every whole frame in `in_`, then the next read. Server frames are not masked; a message may
  // come in fragments (a continuation frame after a first without FIN).
  void ReadFrames() {
    size_t at = 0;
    for (;;) {
      const auto* b = reinterpret_cast<const uint8_t*>(in_.data()) + at;
      size_t have = in_used_ - at;
      if (have < 2) break;
      bool fin = (b[0] & 0x80) != 0;
      uint8_t opcode = b[0] & 0x0f;
      bool masked = (b[1] & 0x80) != 0;
      uint64_t len = b[1] & 0x7f;
      size_t header = 2;
      if (len == 126) {
        if (have < 4) break;
        len = (static_cast<uint64_t>(b[2]) << 8) | b[3];
        header = 4;
      } else if (len == 127) {
        if (have < 10) break;
        len = 0;
        for (int i = 0; i < 8; ++i) len = (len << 8) | b[2 + i];
        header = 10;
      }
      size_t mask_at = header;
      if (masked) header += 4;
      if (have < header + len) break;
      char* payload = in_.data() + at + header;
      if (masked) {
        for (uint64_t i = 0; i < len; ++i) payload[i] ^= static_cast<char>(b[mask_at + i % 4]);
      }
      absl::string_view data(payload, static_cast<size_t>(len));
      at += header + static_cast<size_t>(len);
      if (opcode == 0x1 || opcode == 0x2) {
        if (fin) {
          Handle(data);
        } else {
          fragments_.assign(data.data(), data.size());
        }
      } else if (opcode == 0x0) {
        fragments_.append(data.data(), data.size());
        if (fin) {
          Handle(fragments_);
          fragments_.clear();
        }
      } else if (opcode == 0x9) {
        queue_.push_back(ClientFrame(0xA, data));  // ping: pong with the same data
        if (queue_.size() == 1) WriteNext();
      } else if (opcode == 0x8) {
        if (open_) {
          open_ = false;
          dropped_ = true;
          shared_.dropped++;
        }
        return;
      }
    }
    Consume(at);
    ReadMore([self = shared_from_this()] { self->ReadFrames(); });
  }

  // Answers are written by nlohmann (keys sorted): the type is anywhere in them.
  static bool Mentions(absl::string_view text, absl::string_view type) {
    return text.find(absl::StrCat("\"type\":\"", type, "\"")) != absl::string_view::npos;
  }
  // Chat frames (the many) are written with the type first, the reference's too.
  static bool OfType(absl::string_view text, absl::string_view type) {
    static constexpr absl::string_view kHead = "{\"type\":\"";
    return text.size() > kHead.size() + type.size() && absl::StartsWith(text, kHead) &&
           text.substr(kHead.size(), type.size()) == type &&
           text[kHead.size() + type.size()] == '"';
  }

  void Handle(absl::string_view text) {
    int64_t now = NowMicros();
    bool measuring = shared_.measuring;
    if (measuring) ++stats_.frames;
    if (OfType(text, "chat")) {
      // After the items: "folded", then the like total when the frame carries it.
      size_t tail = text.rfind("],\"folded\":");
      if (measuring) {
        ++stats_.chat_frames;
        stats_.chat_bytes += static_cast<int64_t>(text.size());
        int64_t folded =
            tail == absl::string_view::npos ? -1 : NumberAfter(text, "\"folded\":", tail);
        if (folded > 0) stats_.folded += folded;
      }
      if (tail != absl::string_view::npos) {
        stats_.likes_pushed = std::max(stats_.likes_pushed, NumberAfter(text, "\"likes\":", tail));
      }
      constexpr absl::string_view kText = "\"text\":\"";
      for (size_t at = text.find(kText); at != absl::string_view::npos; at = text.find(kText, at)) {
        at += kText.size();
        Marker m;
        if (!ParseMarker(text.substr(at, 64), &m)) continue;
        Received(m, now, measuring);
      }
      return;
    }
    if (Mentions(text, "comment_ack")) {
      shared_.answered++;
      absl::string_view id = StringAfter(text, "\"client_id\":\"c-");
      size_t dash = id.find('-');
      int seq = 0;
      if (dash == absl::string_view::npos || !absl::SimpleAtoi(id.substr(dash + 1), &seq) ||
          seq < 0 || seq >= static_cast<int>(own_state_.size())) {
        return;
      }
      if (text.find("\"held\":true") != absl::string_view::npos) return;
      uint8_t& state = own_state_[static_cast<size_t>(seq)];
      if ((state & 2) != 0) return;
      state |= 2;
      ++stats_.comments_acked;
      if (measuring) {
        Record(stats_.comment_ack_histogram, now - sent_at_[static_cast<size_t>(seq)]);
        Worst(now, 1, now - sent_at_[static_cast<size_t>(seq)]);
        ++stats_.comment_ack_samples;
      }
      if (kind_ == Kind::kStaff) shared_.staff.flags[shared_.staff.Index(index_, seq)] |= 2;
      return;
    }
    if (Mentions(text, "like_ack")) {
      shared_.answered++;
      absl::string_view id = StringAfter(text, "\"batch_id\":\"b-");
      size_t dash = id.find('-');
      int64_t batch = 0;
      if (dash == absl::string_view::npos || !absl::SimpleAtoi(id.substr(dash + 1), &batch)) {
        return;
      }
      bool counted = text.find("\"counted\":true") != absl::string_view::npos;
      bool first = acked_batches_.insert(batch).second;
      if (auto sent = batch_sent_at_.find(batch); sent != batch_sent_at_.end()) {
        if (measuring) {
          Record(stats_.like_ack_histogram, now - sent->second);
          Worst(now, 2, now - sent->second);
          ++stats_.like_ack_samples;
        }
        batch_sent_at_.erase(sent);
      }
      if (first) stats_.likes_expected += options_.like_batch;
      if (counted) {
        stats_.likes_acked_counted += options_.like_batch;
        if (!counted_batches_.insert(batch).second) ++stats_.double_counted;
      }
      int64_t total = NumberAfter(text, "\"total\":");
      stats_.likes_pushed = std::max(stats_.likes_pushed, total);
      return;
    }
    if (Mentions(text, "likes")) {
      stats_.likes_pushed = std::max(stats_.likes_pushed, NumberAfter(text, "\"total\":"));
      return;
    }
    if (Mentions(text, "comment_refused")) {
      shared_.answered++;
      stats_.comment_refused[std::string(StringAfter(text, "\"reason\":\""))]++;
      return;
    }
    if (Mentions(text, "like_refused")) {
      shared_.answered++;
      stats_.like_refused[std::string(StringAfter(text, "\"reason\":\""))]++;
    }
  }

  void Worst(int64_t now, size_t what, int64_t us) {
    size_t second = static_cast<size_t>(std::max<int64_t>(0, now - shared_.started_us) / 1000000);
    if (second < stats_.worst.size()) {
      stats_.worst[second][what] = std::max(stats_.worst[second][what], us);
    }
  }

  static void Record(std::vector<uint32_t>& histogram, int64_t us) {
    us = std::max<int64_t>(0, us);
    histogram[std::min<size_t>(static_cast<size_t>(us / 100), kBuckets)]++;
  }

  void Received(const Marker& m, int64_t now, bool measuring) {
    if (measuring) {
      ++stats_.delivered;
      Record(stats_.histogram, now - m.sent_us);
      Worst(now, 0, now - m.sent_us);
      ++stats_.samples;
    }
    if (m.kind == 'S' || m.kind == 'R') {
      int sender = m.kind == 'R' ? 0 : m.sender;
      if (sender < static_cast<int>(shared_.staff.flags.size() / shared_.staff.per_sender) &&
          m.seq >= 0 && m.seq < shared_.staff.per_sender) {
        staff_seen_[shared_.staff.Index(sender, m.seq)] = 1;
      }
    }
    if (m.kind != 'R' && m.sender == index_ && m.seq >= 0 &&
        m.seq < static_cast<int>(own_state_.size())) {
      own_state_[static_cast<size_t>(m.seq)] |= 4;
    }
  }

  tcp::socket socket_;
  tcp::endpoint endpoint_;
  std::string host_;
  std::string path_;
  int index_;
  Kind kind_;
  const Options& options_;
  Shared& shared_;
  ThreadStats& stats_;
  std::string request_;   // the upgrade request, while it is written
  std::vector<char> in_;  // bytes read: in_used_ of them not yet taken as frames
  size_t in_used_ = 0;
  std::string fragments_;          // a fragmented message's parts so far
  std::deque<std::string> queue_;  // client frames to write
  bool open_ = false;
  bool ever_open_ = false;
  bool dropped_ = false;
  std::vector<uint8_t> staff_seen_;
  // Own comments by seq: 1 sent in the window, 2 acknowledged, 4 received.
  std::vector<uint8_t> own_state_;
  int next_seq_ = 0;
  int64_t batch_ = 0;
  std::set<int64_t> acked_batches_;
  std::set<int64_t> counted_batches_;
  std::vector<int64_t> sent_at_;              // own comments' send times (unix us), by seq
  std::map<int64_t, int64_t> batch_sent_at_;  // like batches waiting for their ack
};

redisContext* ConnectRedis(const std::string& address) {
  size_t colon = address.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(address.substr(colon + 1), &port)) Usage();
  redisContext* c = redisConnect(address.substr(0, colon).c_str(), port);
  if (c == nullptr || c->err != 0) {
    std::fprintf(stderr, "chat_load: cannot connect to redis %s\n", address.c_str());
    std::exit(1);
  }
  return c;
}

// User + system CPU seconds of a process (the gateway) or of one of this process's threads (the
// reference server's), from /proc.
double CpuSeconds(const std::string& stat_path) {
  std::ifstream in(stat_path);
  std::string line;
  std::getline(in, line);
  size_t close = line.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  double utime = 0;
  double stime = 0;
  // Fields after the name start at 3 (state); utime is 14, stime 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) absl::SimpleAtod(field, &utime);
    if (i == 15) absl::SimpleAtod(field, &stime);
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}
double CpuSeconds(int pid) {
  return pid > 0 ? CpuSeconds(absl::StrCat("/proc/", pid, "/stat")) : 0;
}

double PercentileMs(const std::vector<uint32_t>& histogram, int64_t samples, double p) {
  if (samples == 0) return 0;
  int64_t want = static_cast<int64_t>(p * static_cast<double>(samples));
  int64_t seen = 0;
  for (size_t i = 0; i < histogram.size(); ++i) {
    seen += histogram[i];
    if (seen > want) return (static_cast<double>(i) + 0.5) / 10.0;
  }
  return static_cast<double>(histogram.size()) / 10.0;
}

// --serve-reference: the bare fan-out, in a process of its own (as the gateway is; it holds the
// server side of every socket): SUBSCRIBE to the channel on one thread, hand each message to the
// server's thread, which writes it to every socket. Prints "port=<port>", then runs until killed.
int ServeReference(const Options& o) {
  net::io_context ioc(1);
  // --reference: the bare server, fed every message of the Redis channel.
  livecommerce::bench::BareBroadcastServer server(ioc);
  redisContext* sub = ConnectRedis(o.redis);
  auto* reply = static_cast<redisReply*>(redisCommand(sub, "SUBSCRIBE %s", o.channel.c_str()));
  if (reply == nullptr) {
    std::fprintf(stderr, "chat_load: SUBSCRIBE failed\n");
    return 1;
  }
  freeReplyObject(reply);
  std::thread subscriber([sub, &ioc, &server] {
    for (;;) {
      void* r = nullptr;
      if (redisGetReply(sub, &r) != REDIS_OK || r == nullptr) break;
      auto* m = static_cast<redisReply*>(r);
      if (m->type == REDIS_REPLY_ARRAY && m->elements == 3 &&
          m->element[2]->type == REDIS_REPLY_STRING) {
        auto text = std::make_shared<const std::string>(m->element[2]->str, m->element[2]->len);
        net::post(ioc, [&server, text] { server.Broadcast(text); });
      }
      freeReplyObject(m);
    }
    std::fprintf(stderr, "chat_load: the subscription ended\n");
    std::_Exit(1);
  });
  std::printf("port=%d\n", server.port());
  std::fflush(stdout);
  auto guard = net::make_work_guard(ioc);
  ioc.run();
  subscriber.join();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = Parse(argc, argv);
  if (o.serve_reference) return ServeReference(o);
  Shared shared(o);
  std::vector<std::unique_ptr<net::io_context>> contexts;
  for (int i = 0; i < o.threads; ++i) contexts.push_back(std::make_unique<net::io_context>(1));
  std::vector<ThreadStats> stats(static_cast<size_t>(o.threads));

  // What the fan-out costs: the gateway's process, or the reference server's.
  auto fanout_cpu = [&] { return CpuSeconds(o.gateway_pid); };
  const std::string channel = o.channel;
  size_t colon = o.target.rfind(':');
  std::string host = o.target.substr(0, colon);
  int target_port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(o.target.substr(colon + 1), &target_port)) {
    Usage();
  }
  auto port = static_cast<unsigned short>(target_port);
  tcp::endpoint endpoint(net::ip::make_address(host), port);

  SessionTokenCodec codec(livecommerce::common::OrExit(livecommerce::gateway::LoadSessionSecret()));
  absl::Time now = absl::Now();
  std::vector<std::shared_ptr<Client>> clients;
  clients.reserve(static_cast<size_t>(o.sockets));
  for (int i = 0; i < o.sockets; ++i) {
    Kind kind = Kind::kViewer;
    if (!o.reference) {
      if (i < o.staff)
        kind = Kind::kStaff;
      else if (i < o.senders)
        kind = Kind::kSender;
      else if (i < o.senders + o.likers)
        kind = Kind::kLiker;
    }
    std::string path = "/";
    if (!o.reference) {
      bool ops = kind == Kind::kStaff;
      SessionClaims claims{
          absl::StrCat("chat-bench-", i),
          ops ? livecommerce::common::Role::kOps : livecommerce::common::Role::kViewer,
          o.brand,
          ops ? absl::StrCat("chat-bench-ops-", i) : absl::StrCat("chat-viewer-", i),
          now,
          now + absl::Hours(6)};
      path = absl::StrCat("/v1/rooms/", o.room, "/ws?access_token=", *codec.Issue(claims),
                          ops ? "&watch=1" : "");
    }
    size_t t = static_cast<size_t>(i % o.threads);
    clients.push_back(
        std::make_shared<Client>(*contexts[t], endpoint, host, path, i, kind, o, shared, stats[t]));
  }
  std::vector<std::thread> threads;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
  // Each thread takes what its sockets received every half millisecond instead of sleeping in
  // epoll until the next frame: on loopback the sender pays for waking the receiver, and 10,000
  // sockets waking a thread for each frame charged the gateway for 50,000 wake-ups a second,
  // which a server's clients on other machines never cost it. (At most 0.5 ms more latency.)
  for (auto& c : contexts) {
    threads.emplace_back([ctx = c.get()] {
      while (!ctx->stopped()) {
        if (ctx->poll() == 0) std::this_thread::sleep_for(std::chrono::microseconds(500));
      }
    });
  }
  auto on_thread = [&](int i, auto fn) {
    net::post(*contexts[static_cast<size_t>(i % o.threads)],
              [c = clients[static_cast<size_t>(i)], fn] { fn(*c); });
  };

  // Open the sockets at the connect rate.
  absl::Time connect_start = absl::Now();
  for (int i = 0; i < o.sockets; ++i) {
    absl::Time due = connect_start + absl::Seconds(static_cast<double>(i) / o.connect_rate);
    absl::SleepFor(due - absl::Now());
    on_thread(i, [](Client& c) { c.Start(); });
  }
  absl::Time wait_until = absl::Now() + absl::Seconds(30);
  while (shared.connected + shared.failed < o.sockets && absl::Now() < wait_until) {
    absl::SleepFor(absl::Milliseconds(50));
  }
  double connect_s = absl::ToDoubleSeconds(absl::Now() - connect_start);
  absl::SleepFor(absl::Seconds(2));  // histories sent, the room settled

  // The load: warm-up (thinning's rate settles), the measured window, then a drain with no new
  // messages so what was sent at the end of the window can arrive.
  redisContext* pub = o.reference ? ConnectRedis(o.redis) : nullptr;
  std::string padding;
  absl::Time begin = absl::Now();
  absl::Time window_start = begin + absl::Seconds(o.warmup);
  absl::Time window_end = window_start + absl::Seconds(o.duration);
  double cpu_start = 0;
  absl::Time measured_from = window_start;
  bool started = false;
  int64_t comments_due = 0;
  int64_t batches_due = 0;
  int64_t published = 0;
  int64_t comments_sent = 0;
  int64_t batches_sent = 0;
  int64_t resends = 0;
  double batch_rate = o.like_rate / o.like_batch;
  for (absl::Time t = absl::Now(); t < window_end; t = absl::Now()) {
    if (!started && t >= window_start) {
      started = true;
      cpu_start = fanout_cpu();
      measured_from = t;
      shared.measuring = true;
    }
    bool in_window = started;
    double elapsed = absl::ToDoubleSeconds(t - begin);
    if (o.reference) {
      int64_t due = static_cast<int64_t>(elapsed * o.ref_rate);
      for (; published < due; ++published) {
        int seq = static_cast<int>(published);
        if (seq >= shared.staff.per_sender) break;
        // Shaped like the gateway's chat frame: the type first, "folded" after the items.
        std::string head = absl::StrCat("{\"type\":\"chat\",\"items\":[{\"text\":\"R|0|", seq, "|",
                                        NowMicros(), "\",\"pad\":\"");
        std::string tail = "\"}],\"folded\":0}";
        size_t fill = static_cast<size_t>(o.frame_bytes) > head.size() + tail.size()
                          ? static_cast<size_t>(o.frame_bytes) - head.size() - tail.size()
                          : 0;
        std::string frame = absl::StrCat(head, std::string(fill, 'x'), tail);
        if (in_window) shared.staff.flags[shared.staff.Index(0, seq)] = 3;
        auto* r = static_cast<redisReply*>(
            redisCommand(pub, "PUBLISH %s %b", channel.c_str(), frame.data(), frame.size()));
        if (r != nullptr) freeReplyObject(r);
      }
    } else {
      int64_t due = static_cast<int64_t>(elapsed * o.comment_rate);
      for (; comments_due < due; ++comments_due) {
        int sender = static_cast<int>(comments_due % o.senders);
        on_thread(sender, [in_window](Client& c) { c.SendComment(in_window); });
        ++comments_sent;
      }
      if (o.likers > 0) {
        int64_t bdue = static_cast<int64_t>(elapsed * batch_rate);
        for (; batches_due < bdue; ++batches_due) {
          int liker = o.senders + static_cast<int>(batches_due % o.likers);
          on_thread(liker, [](Client& c) { c.SendLikes(false); });
          ++batches_sent;
          // One batch in a hundred (resend_percent) sent again, as a client whose ack was lost.
          if (o.resend_percent > 0 && (batches_due * 7919) % 100 < o.resend_percent) {
            on_thread(liker, [](Client& c) { c.SendLikes(true); });
            ++resends;
          }
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(1));
  }
  absl::Time measured_to = absl::Now();
  shared.measuring = false;
  double cpu_end = fanout_cpu();
  double duration = absl::ToDoubleSeconds(measured_to - measured_from);
  // Drain: anything sent in the window still counts if it arrives now (latency records stop,
  // but received flags and acks are still taken): every message answered (at most 30 s), then
  // 2 s for the last batch to reach every socket.
  absl::Time drain_until = absl::Now() + absl::Seconds(30);
  while (shared.answered < shared.sent && absl::Now() < drain_until) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  absl::SleepFor(absl::Seconds(2));
  int64_t unanswered = shared.sent - shared.answered;
  if (pub != nullptr) redisFree(pub);

  for (size_t t = 0; t < contexts.size(); ++t) {
    net::post(*contexts[t], [&clients, t, n = contexts.size()] {
      for (size_t i = t; i < clients.size(); i += n) clients[i]->Close();
    });
  }
  absl::SleepFor(absl::Milliseconds(500));
  for (auto& c : contexts) c->stop();
  for (auto& t : threads) t.join();

  ThreadStats all;
  for (ThreadStats& s : stats) {
    for (size_t i = 0; i < all.histogram.size(); ++i) all.histogram[i] += s.histogram[i];
    all.samples += s.samples;
    for (size_t i = 0; i < all.histogram.size(); ++i) {
      all.comment_ack_histogram[i] += s.comment_ack_histogram[i];
      all.like_ack_histogram[i] += s.like_ack_histogram[i];
    }
    all.comment_ack_samples += s.comment_ack_samples;
    all.like_ack_samples += s.like_ack_samples;
    all.frames += s.frames;
    all.chat_frames += s.chat_frames;
    all.chat_bytes += s.chat_bytes;
    all.delivered += s.delivered;
    all.folded += s.folded;
    all.comments_acked += s.comments_acked;
    all.likes_pushed = std::max(all.likes_pushed, s.likes_pushed);
    all.likes_expected += s.likes_expected;
    all.likes_acked_counted += s.likes_acked_counted;
    all.double_counted += s.double_counted;
    for (size_t i = 0; i < kSeconds; ++i) {
      for (size_t w = 0; w < 3; ++w) all.worst[i][w] = std::max(all.worst[i][w], s.worst[i][w]);
    }
    for (const auto& [k, v] : s.comment_refused) all.comment_refused[k] += v;
    for (const auto& [k, v] : s.like_refused) all.like_refused[k] += v;
  }
  if (o.timeline) {
    for (size_t i = 0; i < kSeconds; ++i) {
      if (all.worst[i][0] + all.worst[i][1] + all.worst[i][2] == 0) continue;
      std::fprintf(stderr,
                   "second %zu: worst delivery %.0f ms, comment ack %.0f ms, like ack %.0f ms\n", i,
                   all.worst[i][0] / 1000.0, all.worst[i][1] / 1000.0, all.worst[i][2] / 1000.0);
    }
  }
  int64_t lost_staff = 0;
  int64_t lost_own = 0;
  int64_t own_acked = 0;
  int measured_sockets = 0;
  for (const auto& c : clients) {
    if (!c->was_open()) continue;
    ++measured_sockets;
    lost_staff += c->LostStaff();
    lost_own += c->LostOwn();
    own_acked += c->OwnAcked();
  }
  int64_t staff_expected = 0;
  for (const auto& f : shared.staff.flags) staff_expected += f == 3 ? 1 : 0;
  auto reasons = [](const std::map<std::string, int64_t>& m) {
    std::string out;
    for (const auto& [k, v] : m) absl::StrAppend(&out, out.empty() ? "" : ",", k, ":", v);
    return out.empty() ? std::string("none") : out;
  };
  int64_t refused = 0;
  for (const auto& [k, v] : all.comment_refused) refused += v;
  int64_t like_refused = 0;
  for (const auto& [k, v] : all.like_refused) like_refused += v;
  double cpu_s = cpu_end - cpu_start;
  double frames_m = static_cast<double>(all.frames) / 1e6;
  std::printf(
      "rate=%.0f p50_ms=%.2f p99_ms=%.2f delivered=%lld folded=%lld lost=%lld lost_staff=%lld "
      "lost_own=%lld staff_expected=%lld own_acked=%lld comments_sent=%lld comments_acked=%lld "
      "refused=%lld refused_reasons=%s likes_expected=%lld likes_acked_counted=%lld "
      "likes_pushed=%lld double_counted=%lld like_batches=%lld like_resends=%lld "
      "like_refused=%lld like_refused_reasons=%s frames=%lld chat_frames=%lld "
      "avg_chat_frame_bytes=%.0f cpu_s=%.2f cpu_s_per_million_frames=%.2f duration_s=%.1f "
      "sockets=%d connected=%d failed=%d dropped=%d unanswered=%lld connect_s=%.1f "
      "comment_ack_p50_ms=%.2f "
      "comment_ack_p99_ms=%.2f like_ack_p50_ms=%.2f like_ack_p99_ms=%.2f p999_ms=%.2f "
      "max_ms=%.1f\n",
      static_cast<double>(all.chat_frames) / duration,
      PercentileMs(all.histogram, all.samples, 0.50),
      PercentileMs(all.histogram, all.samples, 0.99), static_cast<long long>(all.delivered),
      static_cast<long long>(all.folded), static_cast<long long>(lost_staff + lost_own),
      static_cast<long long>(lost_staff), static_cast<long long>(lost_own),
      static_cast<long long>(staff_expected), static_cast<long long>(own_acked),
      static_cast<long long>(comments_sent), static_cast<long long>(all.comments_acked),
      static_cast<long long>(refused), reasons(all.comment_refused).c_str(),
      static_cast<long long>(all.likes_expected), static_cast<long long>(all.likes_acked_counted),
      static_cast<long long>(all.likes_pushed), static_cast<long long>(all.double_counted),
      static_cast<long long>(batches_sent), static_cast<long long>(resends),
      static_cast<long long>(like_refused), reasons(all.like_refused).c_str(),
      static_cast<long long>(all.frames), static_cast<long long>(all.chat_frames),
      all.chat_frames > 0 ? static_cast<double>(all.chat_bytes) / all.chat_frames : 0.0, cpu_s,
      frames_m > 0 ? cpu_s / frames_m : 0.0, duration, o.sockets, shared.connected.load(),
      shared.failed.load(), shared.dropped.load(), static_cast<long long>(unanswered), connect_s,
      PercentileMs(all.comment_ack_histogram, all.comment_ack_samples, 0.50),
      PercentileMs(all.comment_ack_histogram, all.comment_ack_samples, 0.99),
      PercentileMs(all.like_ack_histogram, all.like_ack_samples, 0.50),
      PercentileMs(all.like_ack_histogram, all.like_ack_samples, 0.99),
      PercentileMs(all.histogram, all.samples, 0.999), [&] {
        for (size_t i = all.histogram.size(); i > 0; --i) {
          if (all.histogram[i - 1] > 0) return static_cast<double>(i) / 10.0;
        }
        return 0.0;
      }());
  (void)measured_sockets;
  std::fflush(stdout);
  std::_Exit(0);  // no waiting for the sockets' last handlers
}
