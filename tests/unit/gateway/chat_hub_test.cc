#include "gateway/server/chat_hub.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace livecommerce::gateway {
namespace {

using ItemPtr = std::shared_ptr<const ChatItem>;

ItemPtr Comment(const std::string& id, const std::string& author, const std::string& badge,
                const std::string& reply_to = "") {
  std::string json = nlohmann::json{
      {"v", 1},
      {"type", "comment"},
      {"room_id", "42"},
      {"at", "2026-12-07T06:00:00.123Z"},
      {"comment_id", id},
      {"session_id", "7"},
      {"author_id", author},
      {"author_alias", "3f2a"},
      {"badge", badge},
      {"text", "是的，黑色还有"},
      {"reply_to",
       reply_to}}.dump();
  std::optional<ChatItem> item = ParseChatEntry(json);
  EXPECT_TRUE(item.has_value()) << json;
  return std::make_shared<const ChatItem>(*item);
}

ItemPtr Muted(const std::string& viewer) {
  std::optional<ChatItem> item =
      ParseChatEntry(R"({"v":1,"type":"viewer_muted","room_id":"42","at":"x","viewer_id":")" +
                     viewer + R"(","until":"2026-12-07T07:00:00.000Z"})");
  EXPECT_TRUE(item.has_value());
  return std::make_shared<const ChatItem>(*item);
}

// The items as a room keeping `share` of viewers' plain comments has them.
std::vector<ItemPtr> Sampled(const std::vector<ItemPtr>& items, double share) {
  std::vector<ItemPtr> out;
  for (const ItemPtr& item : items) {
    ChatItem copy = *item;
    DecideSample(copy, share);
    out.push_back(std::make_shared<const ChatItem>(std::move(copy)));
  }
  return out;
}

nlohmann::json Frame(const std::vector<ItemPtr>& items, double share, const std::string& view_of,
                     bool full, int64_t* folded = nullptr, const ChatSnapshot& snapshot = {}) {
  std::string text = ChatFrame(Sampled(items, share), view_of, full, folded, snapshot);
  if (text.empty()) return nullptr;
  return nlohmann::json::parse(text);
}

std::shared_ptr<const ChatPiece> Piece(const std::vector<ItemPtr>& items, double share,
                                       const std::string& view_of, bool full,
                                       const ChatSnapshot& snapshot = {}) {
  return ChatPieceOf(Sampled(items, share), view_of, full, snapshot);
}

TEST(ChatEntryTest, ReadsTheFourKindsAndRefusesTheRest) {
  EXPECT_TRUE(Comment("1", "oAlice", "viewer")->reply == false);
  EXPECT_TRUE(Comment("2", "oAlice", "viewer", "1")->reply);
  EXPECT_TRUE(ParseChatEntry(R"({"v":1,"type":"comment_deleted","comment_id":"9"})").has_value());
  EXPECT_TRUE(ParseChatEntry(R"({"v":1,"type":"announcement","text":""})").has_value());
  EXPECT_FALSE(ParseChatEntry(R"({"v":2,"type":"comment","comment_id":"1","author_id":"a"})"));
  EXPECT_FALSE(ParseChatEntry(R"({"v":1,"type":"poll"})"));
  EXPECT_FALSE(ParseChatEntry(R"({"v":1,"type":"comment","comment_id":"1"})"));  // no author
  EXPECT_FALSE(ParseChatEntry(R"({"v":1,"type":"viewer_muted"})"));
  EXPECT_FALSE(ParseChatEntry("not json"));
  EXPECT_FALSE(ParseChatEntry("[1,2]"));
  // The room id and version are not repeated to clients.
  EXPECT_FALSE(Comment("1", "a", "viewer")->body.contains("v"));
  EXPECT_FALSE(Comment("1", "a", "viewer")->body.contains("room_id"));
}

TEST(ChatThinningTest, StaffRepliesAndModerationAreAlwaysDelivered) {
  EXPECT_FALSE(AlwaysDelivered(*Comment("1", "oA", "viewer")));
  EXPECT_TRUE(AlwaysDelivered(*Comment("1", "oA", "viewer", "0")));
  EXPECT_TRUE(AlwaysDelivered(*Comment("1", "ops-1", "host")));
  EXPECT_TRUE(AlwaysDelivered(*Comment("1", "as-1", "associate")));
  EXPECT_TRUE(AlwaysDelivered(*Muted("oA")));
}

TEST(ChatThinningTest, KeepsEverythingUpToTheReadableRateThenAProportion) {
  EXPECT_DOUBLE_EQ(KeepShare(0, 20), 1.0);
  EXPECT_DOUBLE_EQ(KeepShare(20, 20), 1.0);
  EXPECT_DOUBLE_EQ(KeepShare(100, 20), 0.2);
  EXPECT_DOUBLE_EQ(KeepShare(1000, 20), 0.02);
}

TEST(ChatThinningTest, TheSampleIsAboutTheShareAndTheSameEverywhere) {
  int kept = 0;
  for (int i = 0; i < 10000; ++i) {
    std::string id = std::to_string(100000 + i);
    bool k = KeptInSample(id, 0.2);
    EXPECT_EQ(k, KeptInSample(id, 0.2));  // decided by the id alone
    kept += k ? 1 : 0;
  }
  EXPECT_GT(kept, 1800);
  EXPECT_LT(kept, 2200);
  EXPECT_TRUE(KeptInSample("anything", 1.0));
}

TEST(ChatThinningTest, ARoomRateIsTheLastSecondsComments) {
  ChatRate rate;
  absl::Time t = absl::FromUnixMillis(1'000'000);
  rate.Add(t, 10);
  rate.Add(t + absl::Milliseconds(500), 5);
  EXPECT_DOUBLE_EQ(rate.PerSecond(t + absl::Milliseconds(900)), 15);
  // The first ten fall out of the window after a second.
  EXPECT_DOUBLE_EQ(rate.PerSecond(t + absl::Milliseconds(1050)), 5);
  EXPECT_DOUBLE_EQ(rate.PerSecond(t + absl::Seconds(10)), 0);
}

TEST(ChatFrameTest, ViewersGetASampleWithAFoldedCountAndNoOpenids) {
  std::vector<ItemPtr> items;
  for (int i = 0; i < 200; ++i) items.push_back(Comment(std::to_string(i), "oOther", "viewer"));
  items.push_back(Comment("host", "ops-1", "host"));
  int64_t folded = 0;
  nlohmann::json frame = Frame(items, 0.1, "", false, &folded);
  ASSERT_FALSE(frame.is_null());
  EXPECT_EQ(frame["type"], "chat");
  EXPECT_EQ(frame["folded"], folded);
  EXPECT_GT(folded, 150);
  EXPECT_EQ(static_cast<int64_t>(frame["items"].size()) + folded, 201);
  bool host_seen = false;
  for (const auto& item : frame["items"]) {
    EXPECT_FALSE(item.contains("author_id")) << item;
    EXPECT_FALSE(item["own"].get<bool>());
    host_seen = host_seen || item["comment_id"] == "host";
  }
  EXPECT_TRUE(host_seen);
}

TEST(ChatFrameTest, AViewersOwnCommentsAndMuteAlwaysReachThem) {
  std::vector<ItemPtr> items;
  for (int i = 0; i < 100; ++i) {
    items.push_back(Comment(std::to_string(i), i % 10 == 0 ? "oMe" : "oOther", "viewer"));
  }
  items.push_back(Muted("oMe"));
  nlohmann::json frame = Frame(items, 0.01, "oMe", false);
  int own = 0;
  bool muted = false;
  for (const auto& item : frame["items"]) {
    if (item["type"] == "viewer_muted") {
      muted = true;
      EXPECT_FALSE(item.contains("viewer_id")) << item;
    }
    if (item["type"] == "comment" && item["own"].get<bool>()) {
      ++own;
      EXPECT_EQ(item["author_id"], "oMe");
    }
  }
  EXPECT_EQ(own, 10);
  EXPECT_TRUE(muted);
  // Someone else never hears of the mute.
  nlohmann::json others = Frame({Muted("oMe")}, 1.0, "oYou", false);
  EXPECT_TRUE(others.is_null());
}

TEST(ChatFrameTest, OpsGetEverythingWithAuthors) {
  std::vector<ItemPtr> items;
  for (int i = 0; i < 50; ++i) items.push_back(Comment(std::to_string(i), "oX", "viewer"));
  items.push_back(Muted("oX"));
  int64_t folded = -1;
  nlohmann::json frame = Frame(items, 0.01, "", true, &folded);
  EXPECT_EQ(folded, 0);
  ASSERT_EQ(frame["items"].size(), 51u);
  EXPECT_EQ(frame["items"][0]["author_id"], "oX");
  EXPECT_EQ(frame["items"][50]["viewer_id"], "oX");
}

TEST(ChatFrameTest, FramesWaitingForOneSocketMergeIntoOneInOrder) {
  auto a = Piece({Comment("1", "oA", "viewer"), Comment("2", "ops-1", "host")}, 1.0, "", false);
  std::vector<ItemPtr> many;
  for (int i = 3; i < 103; ++i) many.push_back(Comment(std::to_string(i), "oB", "viewer"));
  auto b = Piece(many, 0.05, "", false);
  auto empty = Piece({Muted("oX")}, 1.0, "oY", false);  // nothing for this viewer
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(empty, nullptr);
  EXPECT_EQ(MergeChatPieces({a}), *a->frame);
  nlohmann::json merged = nlohmann::json::parse(MergeChatPieces({a, b}));
  nlohmann::json first = nlohmann::json::parse(*a->frame);
  nlohmann::json second = nlohmann::json::parse(*b->frame);
  EXPECT_EQ(merged["type"], "chat");
  EXPECT_EQ(merged["folded"], b->folded);
  EXPECT_GT(b->folded, 50);
  ASSERT_EQ(merged["items"].size(), first["items"].size() + second["items"].size());
  EXPECT_EQ(merged["items"][0]["comment_id"], "1");
  EXPECT_EQ(merged["items"][1]["comment_id"], "2");
  EXPECT_EQ(merged["items"][2], second["items"][0]);
  // A piece with only a folded count adds to the count and no items.
  auto folded_only = Piece({Comment("900", "oC", "viewer")}, 0.0, "", false);
  ASSERT_NE(folded_only, nullptr);
  EXPECT_TRUE(folded_only->items.empty());
  nlohmann::json with_folded = nlohmann::json::parse(MergeChatPieces({folded_only, a}));
  EXPECT_EQ(with_folded["folded"], 1);
  EXPECT_EQ(with_folded["items"].size(), 2u);
}

TEST(ChatFrameTest, TheSampleIsDecidedOnceWhenTheItemIsRead) {
  // Decided with the room's rate when read: a frame built later for any socket keeps or folds
  // the same comments, whatever the rate is by then.
  std::vector<ItemPtr> early = Sampled(
      {Comment("1", "oA", "viewer"), Comment("2", "oB", "viewer"), Comment("3", "oC", "viewer")},
      0.0);
  std::vector<ItemPtr> items = early;
  items.push_back(Sampled({Comment("4", "oD", "viewer")}, 1.0).front());
  int64_t folded = 0;
  nlohmann::json frame = nlohmann::json::parse(ChatFrame(items, "", false, &folded));
  EXPECT_EQ(folded, 3);
  ASSERT_EQ(frame["items"].size(), 1u);
  EXPECT_EQ(frame["items"][0]["comment_id"], "4");
  // The author still gets their own; ops get all four.
  nlohmann::json own = nlohmann::json::parse(ChatFrame(items, "oB", false, nullptr));
  EXPECT_EQ(own["folded"], 2);
  EXPECT_EQ(own["items"][0]["comment_id"], "2");
  EXPECT_TRUE(own["items"][0]["own"].get<bool>());
  EXPECT_EQ(nlohmann::json::parse(ChatFrame(items, "", true, nullptr))["items"].size(), 4u);
}

TEST(ChatFrameTest, AFrameCarriesTheLikeTotalAndStatsWhenGiven) {
  ChatSnapshot snapshot;
  snapshot.likes = 1234;
  snapshot.stats = std::make_shared<const std::string>(R"({"room_id":"42","reach":"9"})");
  std::string text =
      ChatFrame(Sampled({Comment("1", "oA", "viewer")}, 1.0), "", false, nullptr, snapshot);
  // The type first, as in every pushed message.
  EXPECT_EQ(text.rfind(R"({"type":"chat","items":[)", 0), 0u) << text;
  nlohmann::json frame = nlohmann::json::parse(text);
  EXPECT_EQ(frame["likes"], 1234);
  EXPECT_EQ(frame["stats"]["reach"], "9");
  EXPECT_EQ(frame["items"].size(), 1u);
  // Without a snapshot, neither field.
  nlohmann::json plain = Frame({Comment("1", "oA", "viewer")}, 1.0, "", false);
  EXPECT_FALSE(plain.contains("likes"));
  EXPECT_FALSE(plain.contains("stats"));
  // A snapshot alone makes no chat frame: it goes in a frame of its own.
  EXPECT_EQ(ChatFrame(Sampled({Muted("oX")}, 1.0), "oY", false, nullptr, snapshot), "");
  EXPECT_EQ(ChatPieceOf({}, "", false, snapshot), nullptr);
}

TEST(ChatFrameTest, MergedFramesCarryTheNewestFigures) {
  ChatSnapshot older;
  older.likes = 10;
  older.stats = std::make_shared<const std::string>(R"({"reach":"1"})");
  ChatSnapshot newer;
  newer.likes = 25;
  auto a = Piece({Comment("1", "oA", "viewer")}, 1.0, "", false, older);
  auto b = Piece({Comment("2", "oB", "viewer")}, 1.0, "", false, newer);
  auto c = Piece({Comment("3", "oC", "viewer")}, 1.0, "", false);
  nlohmann::json merged = nlohmann::json::parse(MergeChatPieces({a, b, c}));
  EXPECT_EQ(merged["likes"], 25);
  EXPECT_EQ(merged["stats"]["reach"], "1");  // only the older piece had stats
  EXPECT_EQ(merged["items"].size(), 3u);
  EXPECT_FALSE(nlohmann::json::parse(MergeChatPieces({c, c})).contains("likes"));
}

TEST(ChatGridTest, EachGroupHasItsOwnPointInTheInterval) {
  absl::Time epoch = absl::FromUnixMillis(1'000'000);
  absl::Duration batch = absl::Milliseconds(200);
  // Eight groups: 25 ms apart, each every 200 ms.
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 8, 0, epoch), epoch);
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 8, 3, epoch), epoch + absl::Milliseconds(75));
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 8, 3, epoch + absl::Milliseconds(76)),
            epoch + absl::Milliseconds(275));
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 8, 3, epoch + absl::Milliseconds(275)),
            epoch + absl::Milliseconds(275));
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 8, 7, epoch + absl::Seconds(10)),
            epoch + absl::Seconds(10) + absl::Milliseconds(175));
  // One group: every point of the interval's grid.
  EXPECT_EQ(GridPointAtOrAfter(epoch, batch, 1, 0, epoch + absl::Milliseconds(1)), epoch + batch);
}

// A socket that records what it is handed, on a "thread" of the test's choosing.
class FakeSocket final : public RoomSocket {
 public:
  explicit FakeSocket(const void* thread) : thread_(thread) {}
  void Push(std::shared_ptr<const std::string> message) override { got.push_back(*message); }
  void PushChat(std::shared_ptr<const ChatPiece> piece) override { got.push_back(*piece->frame); }
  void Close() override {}
  const SocketInfo& info() const override { return info_; }
  const void* thread() const override { return thread_; }
  void PushBatch(std::vector<SocketDelivery> batch) override {
    ++batches;
    batch_sizes.push_back(batch.size());
    for (SocketDelivery& d : batch) {
      EXPECT_EQ(d.socket->thread(), thread_);
      RoomSocket::PushBatch({d});
    }
  }
  std::vector<std::string> got;
  std::vector<size_t> batch_sizes;
  int batches = 0;

 private:
  const void* thread_;
  SocketInfo info_;
};

TEST(ChatDeliveryTest, SocketsOfOneThreadGetTheirFramesInOneBatch) {
  int thread_a = 0;
  int thread_b = 0;
  std::vector<std::shared_ptr<FakeSocket>> sockets;
  for (int i = 0; i < 10; ++i) {
    sockets.push_back(std::make_shared<FakeSocket>(i % 2 == 0 ? &thread_a : &thread_b));
  }
  auto lone = std::make_shared<FakeSocket>(nullptr);  // no thread: one by one
  auto frame = Piece({Comment("1", "oA", "viewer")}, 1.0, "", false);
  auto likes = std::make_shared<const std::string>(R"({"type":"likes","total":3})");
  std::vector<SocketDelivery> deliveries;
  for (const auto& s : sockets) deliveries.push_back(SocketDelivery{s, nullptr, frame});
  deliveries.push_back(SocketDelivery{lone, likes, nullptr});
  deliveries.push_back(SocketDelivery{sockets[0], likes, nullptr});
  DeliverAll(std::move(deliveries));
  // One batch per thread, handed to the first socket of that thread met.
  EXPECT_EQ(sockets[0]->batches, 1);
  EXPECT_EQ(sockets[0]->batch_sizes, std::vector<size_t>{6});
  EXPECT_EQ(sockets[1]->batches, 1);
  EXPECT_EQ(sockets[1]->batch_sizes, std::vector<size_t>{5});
  for (size_t i = 2; i < sockets.size(); ++i) EXPECT_EQ(sockets[i]->batches, 0);
  EXPECT_EQ(lone->batches, 1);
  // Every socket got its frame, in order.
  for (const auto& s : sockets) ASSERT_FALSE(s->got.empty());
  EXPECT_EQ(sockets[0]->got, (std::vector<std::string>{*frame->frame, *likes}));
  EXPECT_EQ(sockets[3]->got, std::vector<std::string>{*frame->frame});
  EXPECT_EQ(lone->got, std::vector<std::string>{*likes});
}

TEST(ChatRefusalTest, TheServicesReasonOrOneFromTheCode) {
  auto [reason, message] = ChatRefusal(
      grpc::Status(grpc::StatusCode::PERMISSION_DENIED, "muted: you are muted until 20:00"));
  EXPECT_EQ(reason, "muted");
  EXPECT_EQ(message, "you are muted until 20:00");
  EXPECT_EQ(ChatRefusal(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "text: blank")).first,
            "invalid");
  // A field named like a reason is not a reason.
  EXPECT_EQ(ChatRefusal(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "client_id: bad")).first,
            "invalid");
  EXPECT_EQ(ChatRefusal(grpc::Status(grpc::StatusCode::UNAVAILABLE, "connect failed")).first,
            "unavailable");
  auto internal = ChatRefusal(grpc::Status(grpc::StatusCode::INTERNAL, "mysql: secret detail"));
  EXPECT_EQ(internal.first, "error");
  EXPECT_EQ(internal.second.find("mysql"), std::string::npos);
  EXPECT_EQ(RefusalReasonOf("too_fast: wait"), "too_fast");
  EXPECT_EQ(RefusalReasonOf("too_fastwait"), "");
}

}  // namespace
}  // namespace livecommerce::gateway
