#include "services/order/clients/attribution_client.h"

#include "absl/strings/str_cat.h"
#include "services/common/proto_util.h"
#include "services/common/service_client.h"

namespace livecommerce::order {
namespace {

v1::Money MoneyOf(int64_t fen, const std::string& currency) {
  v1::Money m;
  m.set_amount_fen(fen);
  m.set_currency(currency);
  return m;
}

}  // namespace

GrpcAttributionClient::GrpcAttributionClient(std::shared_ptr<grpc::ChannelInterface> channel,
                                             const common::PrincipalCodec& codec,
                                             const common::Clock& clock, absl::Duration timeout)
    : stub_(v1::AttributionService::NewStub(channel)),
      codec_(codec),
      clock_(clock),
      timeout_(timeout) {}

absl::Status GrpcAttributionClient::RecordPaidOrder(const OrderRecord& order) {
  v1::PaidOrderEvent event;
  event.set_order_id(common::FormatId(order.id));
  event.set_buyer_id(order.buyer_id);
  if (order.room_id != 0) event.set_room_id(common::FormatId(order.room_id));
  if (order.session_id != 0) event.set_session_id(common::FormatId(order.session_id));
  *event.mutable_amount() = MoneyOf(order.total_fen, order.currency);
  if (order.paid_at.has_value()) common::ToTimestamp(*order.paid_at, event.mutable_paid_at());
  *event.mutable_attribution() = order.attribution;
  for (const OrderLineRecord& line : order.lines) {
    v1::PaidOrderLine* out = event.add_lines();
    out->set_sku_id(common::FormatId(line.sku_id));
    out->set_product_id(common::FormatId(line.product_id));
    out->set_quantity(line.quantity);
    out->set_amount_fen(line.line_total_fen);
  }
  v1::RecordPaidOrderResponse response;
  auto context =
      common::ServiceCallContext(codec_, order.brand_id, "order", timeout_, clock_.Now());
  return common::FromGrpcStatus(stub_->RecordPaidOrder(context.get(), event, &response),
                                "attribution service");
}

absl::Status GrpcAttributionClient::RecordRefund(const OrderRecord& order,
                                                 const RefundRecord& refund) {
  v1::RefundEvent event;
  event.set_order_id(common::FormatId(order.id));
  event.set_refund_id(refund.refund_key);
  *event.mutable_amount() = MoneyOf(refund.amount_fen, order.currency);
  common::ToTimestamp(refund.created_at, event.mutable_refunded_at());
  v1::RecordRefundResponse response;
  auto context =
      common::ServiceCallContext(codec_, order.brand_id, "order", timeout_, clock_.Now());
  return common::FromGrpcStatus(stub_->RecordRefund(context.get(), event, &response),
                                "attribution service");
}

void GrpcAttributionClient::ReportActivity(const std::string& brand_id,
                                           const v1::RecordClientActivityRequest& activity) {
  activities_.Call<v1::RecordClientActivityRequest, v1::RecordClientActivityResponse>(
      common::ServiceCallContext(codec_, brand_id, "order", timeout_, clock_.Now()), activity,
      [this](grpc::ClientContext* context, const v1::RecordClientActivityRequest* request,
             v1::RecordClientActivityResponse* response, std::function<void(grpc::Status)> done) {
        stub_->async()->RecordClientActivity(context, request, response, std::move(done));
      });
}

}  // namespace livecommerce::order
