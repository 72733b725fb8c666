// lcctl: a small command-line client for the services, for operators and for trying the API.
// It signs its own principal with LC_INTERNAL_SECRET, so it is an admin tool: keep it off
// machines that should not hold that secret.
//
//   lcctl [--as ROLE] [--brand BRAND] [--subject ID] COMMAND ARGS...
//
// Output is the response message as protobuf JSON.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/grpcpp.h>

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "livecommerce/v1/catalog.grpc.pb.h"
#include "livecommerce/v1/flash.grpc.pb.h"
#include "livecommerce/v1/order.grpc.pb.h"
#include "livecommerce/v1/room.grpc.pb.h"
#include "services/common/config.h"
#include "services/common/principal.h"
#include "services/common/proto_util.h"

namespace {

namespace v1 = livecommerce::v1;
using livecommerce::common::Principal;

constexpr char kUsage[] = R"(usage: lcctl [--as ROLE] [--brand BRAND] [--subject ID] COMMAND ...

identity (signed with LC_INTERNAL_SECRET):
  --as ROLE         viewer, associate, ops (default), finance or service
  --brand BRAND     default: demo
  --subject ID      default: cli

commands:
  token                                  print the signed principal (x-lc-principal)
  room create --title T [--visibility public|private] [--audience clients,prospects,followers]
              [--objective awareness|purchase] [--format inspirational|sales_driven]
              [--start 2026-12-01T12:00:00Z] [--end ...] [--description D] [--host SA]
  room get ROOM | room list [--status scheduled|live|ended]
  room live ROOM | room end ROOM | room stats ROOM | room watch ROOM
  room pin ROOM PRODUCT [SKU] | room unpin ROOM
  room sessions ROOM
  invite issue ROOM [--cohort C] [--associate SA] [--count N] [--clients ref1,ref2]
  invite list ROOM | invite revoke INVITE
  join ROOM [--device D] [--token INVITE_TOKEN]
  heartbeat ROOM [--device D] | leave ROOM [--device D]
  product create --name N --price FEN [--currency CNY] [--category C] [--sku CODE] [--stock N]
  product activate PRODUCT | product get PRODUCT | product list
  room products ROOM | room attach ROOM PRODUCT [--cohort C]
  sale create ROOM SKU --price FEN --stock N [--limit N] [--minutes M] [--buckets B]
  sale get SALE | sale list ROOM | sale rebuild SALE
  hold SALE --client VIEWER [--qty N] [--ttl SECONDS]
  reserve SALE --buyer VIEWER [--qty N] [--id RESERVATION] [--ttl SECONDS]   (as --as service)
  confirm RESERVATION | release RESERVATION                                    (as --as service)
  cart add SKU [--sale SALE] [--qty N] | cart get | cart clear                 (as a viewer)
  checkout --key KEY (--cart | --sku SKU [--sale SALE] [--qty N]) [--room R --session S]
           [--associate SA]                                                     (as a viewer)
  order get ORDER | order list | order cancel ORDER | pay ORDER (sandbox)
  order fulfil ORDER | order complete ORDER                                    (as ops)

servers: LC_ROOM_ADDR (default 127.0.0.1:7101), LC_CATALOG_ADDR (default 127.0.0.1:7102),
         LC_ORDER_ADDR (default 127.0.0.1:7103)
)";

[[noreturn]] void Fail(const std::string& message) {
  std::fprintf(stderr, "lcctl: %s\n", message.c_str());
  std::exit(2);
}

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;
  std::string Flag(const std::string& name, const std::string& fallback = "") const {
    auto it = flags.find(name);
    return it == flags.end() ? fallback : it->second;
  }
  const std::string& At(size_t i, const char* what) const {
    if (i >= positional.size()) Fail(std::string("missing ") + what);
    return positional[i];
  }
};

Args Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0) {
      // A flag followed by nothing or by another flag is a switch (--cart).
      bool has_value = i + 1 < argc && std::string(argv[i + 1]).rfind("--", 0) != 0;
      args.flags[a.substr(2)] = has_value ? argv[++i] : "true";
    } else {
      args.positional.push_back(a);
    }
  }
  return args;
}

template <typename Enum>
Enum ParseEnum(const std::string& prefix, const std::string& value,
               bool (*parse)(const std::string&, Enum*)) {
  std::string name = prefix;
  for (char c : value) name += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  Enum out{};
  if (!parse(name, &out)) Fail("unknown value " + value);
  return out;
}

void SetTime(const std::string& text, google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &t, &error))
    Fail("bad time " + text + ": " + error);
  livecommerce::common::ToTimestamp(t, out);
}

void Print(const google::protobuf::Message& message) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;
  options.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(message, &json, options);
  std::fputs(json.c_str(), stdout);
  std::fflush(stdout);
}

int Check(const grpc::Status& status) {
  if (status.ok()) return 0;
  std::fprintf(stderr, "error %d: %s\n", static_cast<int>(status.error_code()),
               status.error_message().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace livecommerce;
  Args args = Parse(argc, argv);
  if (args.positional.empty() || args.positional[0] == "help") {
    std::fputs(kUsage, stdout);
    return args.positional.empty() ? 2 : 0;
  }
  absl::StatusOr<common::Role> role = common::ParseRole(args.Flag("as", "ops"));
  if (!role.ok()) Fail(std::string(role.status().message()));
  Principal principal{*role, args.Flag("brand", "demo"), args.Flag("subject", "cli"),
                      absl::Now() + absl::Hours(1)};
  common::PrincipalCodec codec(common::OrExit(common::LoadInternalSecret()));
  std::string token = codec.Encode(principal);
  const std::string& command = args.positional[0];
  if (command == "token") {
    std::printf("%s\n", token.c_str());
    return 0;
  }

  auto stub = v1::RoomService::NewStub(grpc::CreateChannel(
      common::EnvString("LC_ROOM_ADDR", "127.0.0.1:7101"), grpc::InsecureChannelCredentials()));
  auto context = [&](int seconds = 10) {
    auto c = std::make_unique<grpc::ClientContext>();
    common::AttachPrincipal(*c, token);
    c->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
    return c;
  };
  const std::string sub = args.positional.size() > 1 ? args.positional[1] : "";
  auto catalog_channel = grpc::CreateChannel(common::EnvString("LC_CATALOG_ADDR", "127.0.0.1:7102"),
                                             grpc::InsecureChannelCredentials());
  auto catalog = v1::CatalogService::NewStub(catalog_channel);
  auto flash = v1::FlashSaleService::NewStub(catalog_channel);
  auto orders = v1::OrderService::NewStub(grpc::CreateChannel(
      common::EnvString("LC_ORDER_ADDR", "127.0.0.1:7103"), grpc::InsecureChannelCredentials()));
  auto number = [&](const std::string& flag, const std::string& fallback) {
    int64_t value = 0;
    if (!absl::SimpleAtoi(args.Flag(flag, fallback), &value)) Fail("--" + flag + " needs a number");
    return value;
  };

  if (command == "room" && sub == "create") {
    v1::CreateRoomRequest r;
    r.set_brand_id(principal.brand_id);
    r.set_title(args.Flag("title"));
    r.set_description(args.Flag("description"));
    r.set_host_associate_id(args.Flag("host"));
    SetTime(
        args.Flag("start", absl::FormatTime(absl::RFC3339_sec, absl::Now(), absl::UTCTimeZone())),
        r.mutable_scheduled_start());
    if (!args.Flag("end").empty()) SetTime(args.Flag("end"), r.mutable_scheduled_end());
    r.set_visibility(ParseEnum<v1::Visibility>("VISIBILITY_", args.Flag("visibility", "public"),
                                               v1::Visibility_Parse));
    for (const std::string& a :
         std::vector<std::string>(absl::StrSplit(args.Flag("audience", "followers"), ','))) {
      r.add_audiences(ParseEnum<v1::Audience>("AUDIENCE_", a, v1::Audience_Parse));
    }
    r.set_objective(ParseEnum<v1::Objective>("OBJECTIVE_", args.Flag("objective", "awareness"),
                                             v1::Objective_Parse));
    r.set_format(
        ParseEnum<v1::Format>("FORMAT_", args.Flag("format", "inspirational"), v1::Format_Parse));
    v1::CreateRoomResponse out;
    if (int rc = Check(stub->CreateRoom(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "get") {
    v1::GetRoomRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::GetRoomResponse out;
    if (int rc = Check(stub->GetRoom(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "list") {
    v1::ListRoomsRequest r;
    r.set_brand_id(principal.brand_id);
    if (!args.Flag("status").empty()) {
      r.set_status(
          ParseEnum<v1::RoomStatus>("ROOM_STATUS_", args.Flag("status"), v1::RoomStatus_Parse));
    }
    v1::ListRoomsResponse out;
    if (int rc = Check(stub->ListRooms(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "live") {
    v1::GoLiveRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::GoLiveResponse out;
    if (int rc = Check(stub->GoLive(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "end") {
    v1::EndSessionRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::EndSessionResponse out;
    if (int rc = Check(stub->EndSession(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "stats") {
    v1::GetRoomStatsRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::GetRoomStatsResponse out;
    if (int rc = Check(stub->GetRoomStats(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "sessions") {
    v1::ListSessionsRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::ListSessionsResponse out;
    if (int rc = Check(stub->ListSessions(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "watch") {
    v1::WatchRoomRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    auto c = context(24 * 3600);
    auto reader = stub->WatchRoom(c.get(), r);
    v1::WatchRoomResponse message;
    while (reader->Read(&message)) Print(message);
    return Check(reader->Finish());
  } else if (command == "room" && sub == "pin") {
    v1::PinProductRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    r.set_product_id(args.At(3, "PRODUCT"));
    if (args.positional.size() > 4) r.set_sku_id(args.positional[4]);
    v1::PinProductResponse out;
    if (int rc = Check(stub->PinProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "unpin") {
    v1::UnpinProductRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::UnpinProductResponse out;
    if (int rc = Check(stub->UnpinProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "invite" && sub == "issue") {
    v1::IssueInvitesRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    r.set_cohort(args.Flag("cohort"));
    r.set_associate_id(args.Flag("associate"));
    if (!args.Flag("clients").empty()) {
      for (const std::string& ref :
           std::vector<std::string>(absl::StrSplit(args.Flag("clients"), ','))) {
        r.add_invitees()->set_client_ref(ref);
      }
    } else {
      int count = 1;
      if (!absl::SimpleAtoi(args.Flag("count", "1"), &count)) Fail("--count needs a number");
      r.set_count(count);
    }
    v1::IssueInvitesResponse out;
    if (int rc = Check(stub->IssueInvites(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "invite" && sub == "list") {
    v1::ListInvitesRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::ListInvitesResponse out;
    if (int rc = Check(stub->ListInvites(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "invite" && sub == "revoke") {
    v1::RevokeInviteRequest r;
    r.set_invite_id(args.At(2, "INVITE"));
    v1::RevokeInviteResponse out;
    if (int rc = Check(stub->RevokeInvite(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "join") {
    v1::JoinRoomRequest r;
    r.set_room_id(args.At(1, "ROOM"));
    r.set_device_id(args.Flag("device", "cli"));
    r.set_invite_token(args.Flag("token"));
    v1::JoinRoomResponse out;
    if (int rc = Check(stub->JoinRoom(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "heartbeat") {
    v1::HeartbeatRequest r;
    r.set_room_id(args.At(1, "ROOM"));
    r.set_device_id(args.Flag("device", "cli"));
    v1::HeartbeatResponse out;
    if (int rc = Check(stub->Heartbeat(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "leave") {
    v1::LeaveRoomRequest r;
    r.set_room_id(args.At(1, "ROOM"));
    r.set_device_id(args.Flag("device", "cli"));
    v1::LeaveRoomResponse out;
    if (int rc = Check(stub->LeaveRoom(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "product" && sub == "create") {
    v1::CreateProductRequest r;
    r.set_brand_id(principal.brand_id);
    r.set_name(args.Flag("name"));
    r.set_category(args.Flag("category"));
    r.mutable_list_price()->set_amount_fen(number("price", "0"));
    r.mutable_list_price()->set_currency(args.Flag("currency", "CNY"));
    v1::NewSku* sku = r.add_skus();
    sku->set_sku_code(args.Flag("sku", "DEFAULT"));
    sku->set_on_hand(number("stock", "0"));
    v1::CreateProductResponse out;
    if (int rc = Check(catalog->CreateProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "product" && sub == "activate") {
    v1::ActivateProductRequest r;
    r.set_product_id(args.At(2, "PRODUCT"));
    v1::ActivateProductResponse out;
    if (int rc = Check(catalog->ActivateProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "product" && sub == "get") {
    v1::GetProductRequest r;
    r.set_product_id(args.At(2, "PRODUCT"));
    v1::GetProductResponse out;
    if (int rc = Check(catalog->GetProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "product" && sub == "list") {
    v1::ListProductsRequest r;
    r.set_brand_id(principal.brand_id);
    v1::ListProductsResponse out;
    if (int rc = Check(catalog->ListProducts(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "products") {
    v1::ListRoomProductsRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::ListRoomProductsResponse out;
    if (int rc = Check(catalog->ListRoomProducts(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "room" && sub == "attach") {
    v1::AttachRoomProductRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    r.set_product_id(args.At(3, "PRODUCT"));
    r.set_visible_to_cohort(args.Flag("cohort"));
    v1::AttachRoomProductResponse out;
    if (int rc = Check(catalog->AttachRoomProduct(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "sale" && sub == "create") {
    v1::CreateFlashSaleRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    r.set_sku_id(args.At(3, "SKU"));
    r.mutable_sale_price()->set_amount_fen(number("price", "0"));
    r.mutable_sale_price()->set_currency(args.Flag("currency", "CNY"));
    r.set_total_stock(number("stock", "0"));
    r.set_per_buyer_limit(static_cast<int32_t>(number("limit", "1")));
    r.set_buckets(static_cast<int32_t>(number("buckets", "0")));
    common::ToTimestamp(absl::Now(), r.mutable_starts_at());
    common::ToTimestamp(absl::Now() + absl::Minutes(number("minutes", "30")), r.mutable_ends_at());
    v1::CreateFlashSaleResponse out;
    if (int rc = Check(flash->CreateFlashSale(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "sale" && sub == "get") {
    v1::GetFlashSaleRequest r;
    r.set_sale_id(args.At(2, "SALE"));
    v1::GetFlashSaleResponse out;
    if (int rc = Check(flash->GetFlashSale(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "sale" && sub == "list") {
    v1::ListRoomFlashSalesRequest r;
    r.set_room_id(args.At(2, "ROOM"));
    v1::ListRoomFlashSalesResponse out;
    if (int rc = Check(flash->ListRoomFlashSales(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "sale" && sub == "rebuild") {
    v1::RebuildFlashStockRequest r;
    r.set_sale_id(args.At(2, "SALE"));
    v1::RebuildFlashStockResponse out;
    if (int rc = Check(flash->RebuildFlashStock(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "hold") {
    v1::CreateHoldRequest r;
    r.set_sale_id(args.At(1, "SALE"));
    r.set_client_id(args.Flag("client"));
    r.set_quantity(number("qty", "1"));
    r.set_ttl_seconds(static_cast<int32_t>(number("ttl", "3600")));
    v1::CreateHoldResponse out;
    if (int rc = Check(flash->CreateHold(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "reserve") {
    v1::ReserveStockRequest r;
    r.set_sale_id(args.At(1, "SALE"));
    r.set_buyer_id(args.Flag("buyer"));
    r.set_quantity(number("qty", "1"));
    r.set_ttl_seconds(static_cast<int32_t>(number("ttl", "900")));
    r.set_reservation_id(args.Flag("id", "cli-" + std::to_string(absl::ToUnixMicros(absl::Now()))));
    v1::ReserveStockResponse out;
    if (int rc = Check(flash->ReserveStock(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "confirm") {
    v1::ConfirmReservationRequest r;
    r.set_reservation_id(args.At(1, "RESERVATION"));
    v1::ConfirmReservationResponse out;
    if (int rc = Check(flash->ConfirmReservation(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "release") {
    v1::ReleaseReservationRequest r;
    r.set_reservation_id(args.At(1, "RESERVATION"));
    v1::ReleaseReservationResponse out;
    if (int rc = Check(flash->ReleaseReservation(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "cart" && sub == "add") {
    v1::AddCartItemRequest r;
    r.mutable_item()->set_sku_id(args.At(2, "SKU"));
    r.mutable_item()->set_sale_id(args.Flag("sale"));
    r.mutable_item()->set_quantity(number("qty", "1"));
    v1::AddCartItemResponse out;
    if (int rc = Check(orders->AddCartItem(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "cart" && sub == "get") {
    v1::GetCartResponse out;
    if (int rc = Check(orders->GetCart(context().get(), v1::GetCartRequest(), &out))) return rc;
    Print(out);
  } else if (command == "cart" && sub == "clear") {
    v1::ClearCartResponse out;
    if (int rc = Check(orders->ClearCart(context().get(), v1::ClearCartRequest(), &out))) return rc;
    Print(out);
  } else if (command == "checkout") {
    v1::CheckoutRequest r;
    r.set_idempotency_key(args.Flag("key"));
    if (args.flags.count("cart") != 0) {
      r.set_from_cart(true);
    } else {
      v1::CheckoutLine* line = r.add_lines();
      line->set_sku_id(args.Flag("sku"));
      line->set_sale_id(args.Flag("sale"));
      line->set_quantity(number("qty", "1"));
    }
    r.mutable_room()->set_room_id(args.Flag("room"));
    r.mutable_room()->set_session_id(args.Flag("session"));
    if (!args.Flag("associate").empty()) {
      r.mutable_attribution()->set_channel(v1::CHANNEL_INVITE);
      r.mutable_attribution()->set_associate_id(args.Flag("associate"));
    }
    v1::DeliveryAddress* a = r.mutable_address();
    a->set_recipient(args.Flag("recipient", "Demo Client"));
    a->set_phone(args.Flag("phone", "13800000000"));
    a->set_province(args.Flag("province", "Shanghai"));
    a->set_city(args.Flag("city", "Shanghai"));
    a->set_street(args.Flag("street", "1 Demo Road"));
    v1::CheckoutResponse out;
    if (int rc = Check(orders->Checkout(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "order" && sub == "get") {
    v1::GetOrderRequest r;
    r.set_order_id(args.At(2, "ORDER"));
    v1::GetOrderResponse out;
    if (int rc = Check(orders->GetOrder(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "order" && sub == "list") {
    v1::ListOrdersRequest r;
    r.set_brand_id(principal.brand_id);
    v1::ListOrdersResponse out;
    if (int rc = Check(orders->ListOrders(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "order" && sub == "cancel") {
    v1::CancelOrderRequest r;
    r.set_order_id(args.At(2, "ORDER"));
    v1::CancelOrderResponse out;
    if (int rc = Check(orders->CancelOrder(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "order" && sub == "fulfil") {
    v1::FulfillOrderRequest r;
    r.set_order_id(args.At(2, "ORDER"));
    v1::FulfillOrderResponse out;
    if (int rc = Check(orders->FulfillOrder(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "order" && sub == "complete") {
    v1::CompleteOrderRequest r;
    r.set_order_id(args.At(2, "ORDER"));
    v1::CompleteOrderResponse out;
    if (int rc = Check(orders->CompleteOrder(context().get(), r, &out))) return rc;
    Print(out);
  } else if (command == "pay") {
    v1::ConfirmSandboxPaymentRequest r;
    r.set_order_id(args.At(1, "ORDER"));
    v1::ConfirmSandboxPaymentResponse out;
    if (int rc = Check(orders->ConfirmSandboxPayment(context().get(), r, &out))) return rc;
    Print(out);
  } else {
    std::fputs(kUsage, stderr);
    return 2;
  }
  return 0;
}
