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

nlohmann::json Frame(const std::vector<ItemPtr>& items, double share, const std::string& view_of,
                     bool full, int64_t* folded = nullptr) {
  std::string text = ChatFrame(items, share, view_of, full, folded);
  if (text.empty()) return nullptr;
  return nlohmann::json::parse(text);
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
  auto a =
      ChatPieceOf({Comment("1", "oA", "viewer"), Comment("2", "ops-1", "host")}, 1.0, "", false);
  std::vector<ItemPtr> many;
  for (int i = 3; i < 103; ++i) many.push_back(Comment(std::to_string(i), "oB", "viewer"));
  auto b = ChatPieceOf(many, 0.05, "", false);
  auto empty = ChatPieceOf({Muted("oX")}, 1.0, "oY", false);  // nothing for this viewer
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
  auto folded_only = ChatPieceOf({Comment("900", "oC", "viewer")}, 0.0, "", false);
  ASSERT_NE(folded_only, nullptr);
  EXPECT_TRUE(folded_only->items.empty());
  nlohmann::json with_folded = nlohmann::json::parse(MergeChatPieces({folded_only, a}));
  EXPECT_EQ(with_folded["folded"], 1);
  EXPECT_EQ(with_folded["items"].size(), 2u);
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
