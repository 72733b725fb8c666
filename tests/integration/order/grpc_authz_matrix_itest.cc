// The services authorise every call themselves, whatever the gateway does. Every method of every
// gRPC service (read from the descriptors, so a new method cannot escape) is called over real gRPC,
// against the real services and MariaDB, with requests naming real objects of one brand:
// - with no principal, a forged one and an expired one: UNAUTHENTICATED, always;
// - as each user role the gateway's route table does not give the method (no role at all for
//   methods no route exposes): refused;
// - as each role the route table does give it, but of another brand: refused.
// A refusal is any status but OK (and not a deadline: the call must answer). The cells and the
// unauthorised successes are printed as a RESULT line.

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/support/byte_buffer.h>

#include <future>
#include <map>
#include <set>

#include "absl/strings/ascii.h"
#include "gateway/routes.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "livecommerce/v1/attribution.grpc.pb.h"
#include "livecommerce/v1/report.grpc.pb.h"
#include "tests/integration/order/order_fixture.h"

namespace livecommerce::order {
namespace {

namespace pb = google::protobuf;

class GrpcAuthorisationMatrixTest : public AttributedOrderTest {
 protected:
  // Calls `method` ("/pkg.Service/Method") with `request` bytes on the server at `port`, as the
  // encoded principal (none when empty).
  grpc::Status Call(int port, const std::string& method, const std::string& request,
                    const std::string& principal, std::string* response, bool stream) {
    auto channel = grpc::CreateChannel("127.0.0.1:" + std::to_string(port),
                                       grpc::InsecureChannelCredentials());
    grpc::GenericStub stub(channel);
    grpc::ClientContext context;
    if (!principal.empty()) common::AttachPrincipal(context, principal);
    // A stream that opens stays open: its deadline is short, and the first message is read.
    context.set_deadline(std::chrono::system_clock::now() +
                         (stream ? std::chrono::milliseconds(1500) : std::chrono::seconds(5)));
    grpc::Slice slice(request);
    grpc::ByteBuffer in(&slice, 1);
    grpc::ByteBuffer out;
    std::promise<grpc::Status> done;
    stub.UnaryCall(&context, method, grpc::StubOptions(), &in, &out,
                   [&](grpc::Status s) { done.set_value(std::move(s)); });
    grpc::Status status = done.get_future().get();
    std::vector<grpc::Slice> slices;
    if (out.Dump(&slices).ok()) {
      for (const grpc::Slice& slice : slices) {
        response->append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      }
    }
    return status;
  }
};

// Every string value in `message`, at any depth.
void Strings(const pb::Message& message, std::set<std::string>& out) {
  const pb::Reflection* r = message.GetReflection();
  std::vector<const pb::FieldDescriptor*> fields;
  r->ListFields(message, &fields);
  for (const pb::FieldDescriptor* f : fields) {
    if (f->type() == pb::FieldDescriptor::TYPE_STRING) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(message, f); ++i)
          out.insert(r->GetRepeatedString(message, f, i));
      } else {
        out.insert(r->GetString(message, f));
      }
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE) {
      if (f->is_repeated()) {
        for (int i = 0; i < r->FieldSize(message, f); ++i) {
          Strings(r->GetRepeatedMessage(message, f, i), out);
        }
      } else {
        Strings(r->GetMessage(message, f), out);
      }
    }
  }
}

// Fills every string field of `message` (and of its singular and repeated sub-messages, one of
// each) whose name the fixture knows with the fixture's value.
void Fill(pb::Message& message, const std::map<std::string, std::string>& ids, int depth = 0) {
  const pb::Descriptor* d = message.GetDescriptor();
  const pb::Reflection* r = message.GetReflection();
  for (int i = 0; i < d->field_count(); ++i) {
    const pb::FieldDescriptor* f = d->field(i);
    if (f->type() == pb::FieldDescriptor::TYPE_STRING && !f->is_repeated()) {
      auto found = ids.find(f->name());
      if (found != ids.end()) r->SetString(&message, f, found->second);
    } else if (f->type() == pb::FieldDescriptor::TYPE_MESSAGE && depth < 2 &&
               f->message_type()->full_name().rfind("livecommerce.", 0) == 0) {
      pb::Message* child =
          f->is_repeated() ? r->AddMessage(&message, f) : r->MutableMessage(&message, f);
      Fill(*child, ids, depth + 1);
    } else if (f->type() == pb::FieldDescriptor::TYPE_INT64 && !f->is_repeated() &&
               (f->name() == "quantity" || f->name() == "count")) {
      r->SetInt64(&message, f, 1);
    } else if (f->type() == pb::FieldDescriptor::TYPE_INT32 && !f->is_repeated() &&
               (f->name() == "quantity" || f->name() == "count" || f->name() == "page_size")) {
      r->SetInt32(&message, f, 1);
    }
  }
}

TEST_F(GrpcAuthorisationMatrixTest, EveryMethodRefusesWhomItMust) {
  // Real objects of the brand: Lin's store and client Mei, her private session, a product, a flash
  // sale and a paid order credited to Lin.
  Invited lin = InviteClient("mei");
  std::string sku = CreateSku(10);
  std::string product = Sku(sku).product_id();
  std::string sale = CreateSale(sku, 5, 50000);
  v1::CheckoutRequest checkout = CheckoutOf("gm1", {{sku, "", 1}});
  checkout.clear_attribution();
  *checkout.mutable_room() = lin.room;
  v1::Order order;
  ASSERT_TRUE(Checkout("mei", checkout, &order).ok());
  ASSERT_TRUE(Pay("mei", order.id()).ok());
  ASSERT_TRUE(relay_->DeliverOnce().ok());
  v1::CartItem kept = Item(sku, 1);  // a cart of this brand's to be kept from others
  *kept.mutable_room() = lin.room;
  kept.clear_attribution();
  ASSERT_TRUE(Add("mei", kept).ok());
  const std::map<std::string, std::string> ids = {{"brand_id", kBrand},
                                                  {"room_id", lin.room.room_id()},
                                                  {"session_id", lin.room.session_id()},
                                                  {"associate_id", lin.associate_id},
                                                  {"host_associate_id", lin.associate_id},
                                                  {"store_id", lin.store_id},
                                                  {"scope_id", lin.store_id},
                                                  {"recipient_id", lin.associate_id},
                                                  {"viewer_id", "mei"},
                                                  {"buyer_id", "mei"},
                                                  {"client_id", "mei"},
                                                  {"sku_id", sku},
                                                  {"product_id", product},
                                                  {"sale_id", sale},
                                                  {"order_id", order.id()},
                                                  {"refund_id", "rf-matrix"},
                                                  {"idempotency_key", "k-matrix"},
                                                  {"device_id", "phone"},
                                                  {"line_id", "1"},
                                                  {"reservation_id", "1"},
                                                  {"rule_id", "1"},
                                                  {"share_link_id", "1"},
                                                  {"invite_token", "x"},
                                                  {"touch_key", "x"},
                                                  {"name", "matrix"},
                                                  {"title", "matrix"},
                                                  {"currency", "CNY"}};

  // What only this brand has: another brand's caller must never be answered with it (values the
  // caller sent, or its own subject, are not this brand's secret).
  const std::set<std::string> brand_data = {kBrand,
                                            "mei",
                                            "Shanghai IFC",
                                            "Lin",
                                            order.id(),
                                            sku,
                                            product,
                                            sale,
                                            lin.room.room_id(),
                                            lin.room.session_id(),
                                            lin.associate_id,
                                            lin.store_id};

  const std::string upper_brand = absl::AsciiStrToUpper(kBrand);
  // What only the buyer "mei" has: their id and their order's delivery address (ids are not
  // told apart from other numbers, so the order is recognised by its address).
  const std::set<std::string> buyer_data = {"mei", "Ms Wang", "13800000000",
                                            "1266 West Nanjing Road"};

  // Who may call what, from the gateway's route table; its WebSockets are streams of these.
  const std::map<std::string, std::string> sockets = {
      {"rooms.socket", "livecommerce.v1.RoomService.WatchRoom"},
      {"alerts.socket", "livecommerce.v1.AttributionService.WatchAlerts"}};
  std::map<std::string, std::set<Role>> allowed;
  for (const gateway::Route& route : gateway::ApiRoutes()) {
    std::string rpc = route.rpc;
    if (auto socket = sockets.find(route.name); socket != sockets.end()) rpc = socket->second;
    if (rpc.empty()) continue;
    for (Role role : route.roles) allowed[rpc].insert(role);
  }
  std::map<std::string, int> ports = {
      {v1::RoomService::service_full_name(), room_server_->port()},
      {v1::CatalogService::service_full_name(), catalog_server_->port()},
      {v1::FlashSaleService::service_full_name(), catalog_server_->port()},
      {v1::OrderService::service_full_name(), server_->port()},
      {v1::AttributionService::service_full_name(), attribution_server_->port()},
      {v1::ReportService::service_full_name(), report_server_->port()}};
  // Every service of the files these services come from has a server here.
  std::set<const pb::FileDescriptor*> files;
  for (const auto& [name, port] : ports) {
    files.insert(pb::DescriptorPool::generated_pool()->FindServiceByName(name)->file());
  }
  for (const pb::FileDescriptor* file : files) {
    for (int i = 0; i < file->service_count(); ++i) {
      EXPECT_TRUE(ports.count(file->service(i)->full_name()))
          << file->service(i)->full_name() << " has no server in this test";
    }
  }

  const absl::Time now = clock_.Now();
  const common::PrincipalCodec forger("not-the-internal-secret-0123456789");
  const std::vector<Role> users = {Role::kViewer, Role::kAssociate, Role::kOps, Role::kFinance};
  auto subject = [&](Role role) {
    switch (role) {
      case Role::kViewer:
        return std::string("mei");
      case Role::kAssociate:
        return lin.associate_id;
      default:
        return std::string("staff-1");
    }
  };
  pb::DynamicMessageFactory factory;
  int cells = 0, unauthorised = 0, methods = 0;
  std::map<std::string, int> refusals;  // by status code
  for (const auto& [service_name, port] : ports) {
    const pb::ServiceDescriptor* service =
        pb::DescriptorPool::generated_pool()->FindServiceByName(service_name);
    ASSERT_NE(service, nullptr) << service_name;
    for (int m = 0; m < service->method_count(); ++m) {
      const pb::MethodDescriptor* method = service->method(m);
      ++methods;
      const std::string path = "/" + service_name + "/" + method->name();
      const std::string rpc = service_name + "." + method->name();
      std::unique_ptr<pb::Message> request(factory.GetPrototype(method->input_type())->New());
      Fill(*request, ids);
      const std::string bytes = request->SerializeAsString();
      const bool stream = method->server_streaming();
      std::set<std::string> sent;
      Strings(*request, sent);
      // `answered`: another brand's caller may be answered (with its own brand's data, which
      // must hold none of this brand's).
      auto expect_refused = [&](const std::string& who, const std::string& principal,
                                std::optional<grpc::StatusCode> exactly, bool answered = false,
                                const std::string& own_subject = "",
                                const std::set<std::string>* secret = nullptr) {
        const std::set<std::string>& hidden = secret != nullptr ? *secret : brand_data;
        ++cells;
        std::string response;
        grpc::Status s = Call(port, path, bytes, principal, &response, stream);
        bool opened = stream && s.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED;
        if (answered && (s.ok() || opened)) {
          std::unique_ptr<pb::Message> answer(factory.GetPrototype(method->output_type())->New());
          std::set<std::string> seen;
          if (answer->ParseFromString(response)) Strings(*answer, seen);
          for (const std::string& value : seen) {
            if (hidden.count(value) && !sent.count(value) && value != own_subject) {
              ++unauthorised;
              ADD_FAILURE() << rpc << " as " << who << ": answered with this brand's " << value;
            }
          }
          ++refusals["answered"];
          return;
        }
        if (s.ok() || opened) {
          ++unauthorised;
          ADD_FAILURE() << rpc << " as " << who << ": succeeded";
          return;
        }
        EXPECT_NE(s.error_code(), grpc::StatusCode::DEADLINE_EXCEEDED) << rpc << " as " << who;
        if (exactly.has_value()) {
          EXPECT_EQ(s.error_code(), *exactly) << rpc << " as " << who << ": " << s.error_message();
        }
        ++refusals[absl::StrCat(s.error_code())];
      };
      // Unauthenticated callers.
      Principal genuine{Role::kOps, kBrand, "staff-1", now + absl::Hours(1)};
      expect_refused("nobody", "", grpc::StatusCode::UNAUTHENTICATED);
      expect_refused("a forged principal", forger.Encode(genuine),
                     grpc::StatusCode::UNAUTHENTICATED);
      Principal expired = genuine;
      expired.expires_at = now - absl::Seconds(1);
      expect_refused("an expired principal", codec_.Encode(expired),
                     grpc::StatusCode::UNAUTHENTICATED);
      std::string tampered = codec_.Encode(genuine);
      tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
      expect_refused("a tampered principal", tampered, grpc::StatusCode::UNAUTHENTICATED);
      // Roles the route table does not give this method; every user role when no route exposes it.
      const std::set<Role>& may = allowed[rpc];
      for (Role role : users) {
        Principal p{role, kBrand, subject(role), now + absl::Hours(1)};
        if (!may.count(role)) {
          expect_refused(std::string(common::RoleName(role)), codec_.Encode(p), std::nullopt);
        } else {
          // The role may call it, but not on another brand's objects.
          p.brand_id = "rival";
          expect_refused(absl::StrCat(common::RoleName(role), " of another brand"),
                         codec_.Encode(p), std::nullopt, true, p.subject);
          // Nor of a brand whose id differs from this one's only in letter case (identifiers
          // compare byte for byte), with the same subject.
          p.brand_id = upper_brand;
          expect_refused(absl::StrCat(common::RoleName(role), " of the brand's upper-case twin"),
                         codec_.Encode(p), std::nullopt, true, p.subject);
          if (role == Role::kViewer) {
            // A viewer of this brand whose openid differs from the buyer's only in case sees
            // none of the buyer's own (their order, their id).
            Principal twin{Role::kViewer, kBrand, "MEI", now + absl::Hours(1)};
            expect_refused("the buyer's upper-case twin", codec_.Encode(twin), std::nullopt, true,
                           twin.subject, &buyer_data);
          }
        }
      }
    }
  }
  // Nothing the refused calls might have done happened: the order is as it was.
  EXPECT_EQ(StatusOf(order.id()), v1::ORDER_STATUS_PAID);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM refunds"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM payments"), 1);
  std::string codes;
  for (const auto& [code, n] : refusals) absl::StrAppend(&codes, " code", code, "=", n);
  std::printf("RESULT grpc_authz_matrix methods=%d cells=%d unauthorised_successes=%d%s\n", methods,
              cells, unauthorised, codes.c_str());
}

}  // namespace
}  // namespace livecommerce::order
