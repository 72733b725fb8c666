#include "gateway/routes.h"

namespace livecommerce::gateway {
namespace {

using common::Role;

constexpr char kRoom[] = "livecommerce.v1.RoomService.";
constexpr char kCatalog[] = "livecommerce.v1.CatalogService.";
constexpr char kFlash[] = "livecommerce.v1.FlashSaleService.";
constexpr char kOrder[] = "livecommerce.v1.OrderService.";
constexpr char kAttribution[] = "livecommerce.v1.AttributionService.";
constexpr char kReport[] = "livecommerce.v1.ReportService.";
constexpr char kInteraction[] = "livecommerce.v1.InteractionService.";

std::string Rpc(const char* service, const char* method) { return std::string(service) + method; }

Route Special(std::string method, std::string pattern, std::string name, RouteKind kind,
              std::vector<Role> roles, std::string summary) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.name = std::move(name);
  r.kind = kind;
  r.roles = std::move(roles);
  r.summary = std::move(summary);
  return r;
}

Route Call(std::string method, std::string pattern, std::string name, std::string rpc,
           std::vector<Role> roles, std::string summary) {
  Route r;
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.name = std::move(name);
  r.rpc = std::move(rpc);
  r.roles = std::move(roles);
  r.summary = std::move(summary);
  return r;
}

Route Brand(Route r) {
  r.brand_from_token = true;
  return r;
}

Route Cached(Route r) {
  r.cacheable = true;
  return r;
}

Route Field(Route r, std::string field) {
  r.response_field = std::move(field);
  return r;
}

}  // namespace

std::vector<Route> ApiRoutes() {
  const std::vector<Role> any = AnyUser();
  const std::vector<Role> viewer = Roles({Role::kViewer});
  const std::vector<Role> ops = Roles({Role::kOps});
  const std::vector<Role> staff = Roles({Role::kOps, Role::kFinance});
  const std::vector<Role> joiners = Roles({Role::kViewer, Role::kAssociate, Role::kOps});
  return {
      // The gateway itself.
      Special("GET", "/healthz", "healthz", RouteKind::kHealth, {}, "Liveness: the process runs"),
      Special("GET", "/readyz", "readyz", RouteKind::kReady, {},
              "Readiness: the services it needs answer their gRPC health checks"),
      Special("GET", "/metrics", "metrics", RouteKind::kMetrics, {}, "Prometheus metrics"),
      Special("GET", "/v1/openapi.json", "openapi", RouteKind::kOpenApi, {},
              "This API as an OpenAPI 3 document"),
      Special("POST", "/v1/login", "login", RouteKind::kLogin, {},
              "Exchange a mini-program login code for a viewer session token"),
      Special("POST", "/v1/payments/wechat/notify", "payments.wechat_notify",
              RouteKind::kPaymentNotify, {},
              "WeChat Pay notification, passed untouched to the order service"),
      Special("POST", "/v1/stream/local/{secret}/{callback}", "stream.local_callback",
              RouteKind::kStreamCallback, {},
              "A callback of the local streaming server (nginx-rtmp: on_publish, "
              "on_publish_done, on_record_done), verified by the room service"),
      Special("POST", "/v1/stream/tencent", "stream.tencent_callback", RouteKind::kStreamCallback,
              {},
              "A Tencent Cloud Live callback (push started or stopped, recording), verified by "
              "the room service"),

      // Rooms: everyone of the brand reads; ops manage.
      Brand(Call("GET", "/v1/rooms", "rooms.list", Rpc(kRoom, "ListRooms"), any,
                 "Rooms of the caller's brand (viewers: the public ones)")),
      Brand(Call("POST", "/v1/rooms", "rooms.create", Rpc(kRoom, "CreateRoom"), ops,
                 "Create a room")),
      Cached(Call("GET", "/v1/rooms/{room_id}", "rooms.get", Rpc(kRoom, "GetRoom"), any, "A room")),
      Call("PATCH", "/v1/rooms/{room_id}", "rooms.update", Rpc(kRoom, "UpdateRoom"), ops,
           "Change a room's settings"),
      Call("POST", "/v1/rooms/{room_id}/live", "rooms.go_live", Rpc(kRoom, "GoLive"), ops,
           "Go live: open a new session"),
      Call("POST", "/v1/rooms/{room_id}/end", "rooms.end", Rpc(kRoom, "EndSession"), ops,
           "End the live session"),
      Call("GET", "/v1/rooms/{room_id}/stats", "rooms.stats", Rpc(kRoom, "GetRoomStats"), any,
           "Live numbers: concurrent viewers, peak, reach, joins"),
      Call("GET", "/v1/rooms/{room_id}/sessions", "rooms.sessions", Rpc(kRoom, "ListSessions"),
           staff, "Sessions of a room"),
      Call("GET", "/v1/sessions/{session_id}", "sessions.get", Rpc(kRoom, "GetSession"), staff,
           "A session with its final stats"),
      // The stream: ops and the room's host associate run it; ops and finance list recordings.
      Call("GET", "/v1/rooms/{room_id}/push-address", "rooms.push_address",
           Rpc(kRoom, "GetPushAddress"), Roles({Role::kOps, Role::kAssociate}),
           "Where the encoder pushes, the stream's state and a preview"),
      Call("POST", "/v1/rooms/{room_id}/push-key/rotate", "rooms.rotate_push_key",
           Rpc(kRoom, "RotatePushKey"), Roles({Role::kOps, Role::kAssociate}),
           "A new push key; the running push is cut"),
      Call("GET", "/v1/rooms/{room_id}/recordings", "rooms.recordings",
           Rpc(kRoom, "ListRecordings"), staff, "The room's recordings, newest first"),
      // Associates issue their own invites (rooms ops opened to them, within their quota) and
      // list their own.
      Call("POST", "/v1/rooms/{room_id}/invites", "invites.issue", Rpc(kRoom, "IssueInvites"),
           Roles({Role::kAssociate, Role::kOps}),
           "Issue invites to a private room (associates: their own, within their quota)"),
      Call("GET", "/v1/rooms/{room_id}/invites", "invites.list", Rpc(kRoom, "ListInvites"),
           Roles({Role::kAssociate, Role::kOps}),
           "A room's invites (associates: their own, with their quota)"),
      Call("POST", "/v1/invites/{invite_id}/revoke", "invites.revoke", Rpc(kRoom, "RevokeInvite"),
           ops, "Revoke an invite"),
      // Reservations ("remind me") before the live, and the reminders sent when it starts.
      Call("POST", "/v1/rooms/{room_id}/reservation", "reservations.reserve",
           Rpc(kRoom, "ReserveRoom"), viewer,
           "Reserve a scheduled room, with the reminder consent (a private room needs an invite)"),
      Call("DELETE", "/v1/rooms/{room_id}/reservation", "reservations.cancel",
           Rpc(kRoom, "CancelReservation"), viewer, "Cancel one's reservation before the start"),
      Call("GET", "/v1/rooms/{room_id}/reservation", "reservations.get",
           Rpc(kRoom, "GetReservation"), viewer, "One's own reservation of the room, if any"),
      Call("GET", "/v1/rooms/{room_id}/reservations", "reservations.list",
           Rpc(kRoom, "ListReservations"), Roles({Role::kOps, Role::kAssociate}),
           "Who reserved the room (associates: the viewers of their invites)"),
      Call("GET", "/v1/rooms/{room_id}/reminders", "reservations.reminders",
           Rpc(kRoom, "ListReminders"), ops, "The room's reminders and what became of each"),
      // Replays of ended sessions, with the products presented (the live's audience; viewers'
      // views count as replay reach); ops register a session's replay.
      Call("GET", "/v1/rooms/{room_id}/replay", "rooms.replay", Rpc(kRoom, "GetReplay"), joiners,
           "A session's replay: signed play address, product moments and products presented"),
      Call("POST", "/v1/rooms/{room_id}/replay/views", "rooms.replay_view",
           Rpc(kRoom, "JoinReplay"), viewer,
           "Start watching a replay: counted once per viewer as replay reach"),
      Call("PUT", "/v1/rooms/{room_id}/sessions/{session_id}/replay", "rooms.set_replay",
           Rpc(kRoom, "SetReplay"), ops, "Register an ended session's replay"),
      Call("POST", "/v1/rooms/{room_id}/join", "rooms.join", Rpc(kRoom, "JoinRoom"), joiners,
           "Join the live session (a private room needs an invite)"),
      Call("POST", "/v1/rooms/{room_id}/heartbeat", "rooms.heartbeat", Rpc(kRoom, "Heartbeat"),
           joiners, "Stay present (without a WebSocket)"),
      Call("POST", "/v1/rooms/{room_id}/leave", "rooms.leave", Rpc(kRoom, "LeaveRoom"), joiners,
           "Leave the live session"),
      Special("GET", "/v1/rooms/{room_id}/ws", "rooms.socket", RouteKind::kRoomSocket, joiners,
              "WebSocket: presence while open, live pushes (see docs/API.md)"),
      Cached(Call("GET", "/v1/rooms/{room_id}/pinned", "rooms.pinned",
                  Rpc(kRoom, "GetPinnedProduct"), any, "The product being presented")),
      Call("POST", "/v1/rooms/{room_id}/pin", "rooms.pin", Rpc(kRoom, "PinProduct"), ops,
           "Pin a product"),
      Call("DELETE", "/v1/rooms/{room_id}/pin", "rooms.unpin", Rpc(kRoom, "UnpinProduct"), ops,
           "Unpin"),

      // Room product lists.
      Cached(Call("GET", "/v1/rooms/{room_id}/products", "rooms.products",
                  Rpc(kCatalog, "ListRoomProducts"), any,
                  "The room's product list, at the caller's prices")),
      Call("POST", "/v1/rooms/{room_id}/products", "rooms.products.attach",
           Rpc(kCatalog, "AttachRoomProduct"), ops, "Attach a product to the room"),
      Call("POST", "/v1/rooms/{room_id}/products/reorder", "rooms.products.reorder",
           Rpc(kCatalog, "ReorderRoomProducts"), ops, "Reorder the room's products"),
      Call("DELETE", "/v1/rooms/{room_id}/products/{product_id}", "rooms.products.detach",
           Rpc(kCatalog, "DetachRoomProduct"), ops, "Detach a product from the room"),

      // Catalog.
      Brand(Call("GET", "/v1/products", "products.list", Rpc(kCatalog, "ListProducts"), any,
                 "The brand's products")),
      Brand(Call("POST", "/v1/products", "products.create", Rpc(kCatalog, "CreateProduct"), ops,
                 "Create a product with its SKUs")),
      Call("GET", "/v1/products/{product_id}", "products.get", Rpc(kCatalog, "GetProduct"), any,
           "A product"),
      Call("PATCH", "/v1/products/{product_id}", "products.update", Rpc(kCatalog, "UpdateProduct"),
           ops, "Change a product"),
      Call("POST", "/v1/products/{product_id}/activate", "products.activate",
           Rpc(kCatalog, "ActivateProduct"), ops, "Put a product on sale"),
      Call("POST", "/v1/products/{product_id}/archive", "products.archive",
           Rpc(kCatalog, "ArchiveProduct"), ops, "Withdraw a product"),
      Call("POST", "/v1/products/{product_id}/skus", "products.skus.add", Rpc(kCatalog, "AddSku"),
           ops, "Add a SKU"),
      Call("GET", "/v1/skus/{sku_id}", "skus.get", Rpc(kCatalog, "GetSku"), any, "A SKU"),
      Call("PATCH", "/v1/skus/{sku_id}", "skus.update", Rpc(kCatalog, "UpdateSku"), ops,
           "Change a SKU's price or attributes"),
      Call("PUT", "/v1/skus/{sku_id}/inventory", "skus.inventory", Rpc(kCatalog, "SetSkuInventory"),
           ops, "Set the units on hand"),

      // Flash sales.
      Cached(Call("GET", "/v1/rooms/{room_id}/flash-sales", "rooms.flash_sales",
                  Rpc(kFlash, "ListRoomFlashSales"), any, "The room's flash sales")),
      Call("POST", "/v1/rooms/{room_id}/flash-sales", "flash_sales.create",
           Rpc(kFlash, "CreateFlashSale"), ops, "Create a flash sale"),
      Call("GET", "/v1/flash-sales/{sale_id}", "flash_sales.get", Rpc(kFlash, "GetFlashSale"), any,
           "A flash sale with its live stock"),
      Call("POST", "/v1/flash-sales/{sale_id}/start", "flash_sales.start",
           Rpc(kFlash, "StartFlashSale"), ops, "Start a flash sale now"),
      Call("POST", "/v1/flash-sales/{sale_id}/end", "flash_sales.end", Rpc(kFlash, "EndFlashSale"),
           ops, "End a flash sale"),
      Call("POST", "/v1/flash-sales/{sale_id}/cancel", "flash_sales.cancel",
           Rpc(kFlash, "CancelFlashSale"), ops, "Cancel a flash sale"),
      Call("POST", "/v1/flash-sales/{sale_id}/rebuild", "flash_sales.rebuild",
           Rpc(kFlash, "RebuildFlashStock"), ops, "Rebuild lost live stock from MySQL"),
      Call("POST", "/v1/flash-sales/{sale_id}/holds", "holds.create", Rpc(kFlash, "CreateHold"),
           Roles({Role::kOps, Role::kAssociate}), "Hold units for a named client"),
      Call("POST", "/v1/holds/{hold_id}/release", "holds.release", Rpc(kFlash, "ReleaseHold"),
           Roles({Role::kOps, Role::kAssociate}), "Release a hold"),

      // Cart, checkout, orders.
      Call("GET", "/v1/cart", "cart.get", Rpc(kOrder, "GetCart"), viewer, "The caller's cart"),
      Call("DELETE", "/v1/cart", "cart.clear", Rpc(kOrder, "ClearCart"), viewer, "Empty the cart"),
      Call("POST", "/v1/cart/items", "cart.add", Rpc(kOrder, "AddCartItem"), viewer,
           "Add an item (a SKU, or a flash-sale piece) to the cart"),
      Call("PATCH", "/v1/cart/items", "cart.update", Rpc(kOrder, "UpdateCartItem"), viewer,
           "Change an item's quantity (0 removes it)"),
      Call("DELETE", "/v1/cart/items/{sku_id}", "cart.remove", Rpc(kOrder, "RemoveCartItem"),
           viewer, "Remove an item (query sale_id for a flash-sale piece)"),
      Call("POST", "/v1/checkout", "checkout", Rpc(kOrder, "Checkout"), viewer,
           "Check out the cart or the given lines; reserves flash and regular stock"),
      Brand(Call("GET", "/v1/orders", "orders.list", Rpc(kOrder, "ListOrders"),
                 Roles({Role::kViewer, Role::kOps, Role::kFinance}),
                 "Orders: a viewer's own, or the brand's for ops and finance")),
      Call("GET", "/v1/orders/{order_id}", "orders.get", Rpc(kOrder, "GetOrder"),
           Roles({Role::kViewer, Role::kOps, Role::kFinance}), "An order"),
      Field(Call("GET", "/v1/orders/{order_id}/payment", "orders.payment", Rpc(kOrder, "GetOrder"),
                 viewer, "Parameters for wx.requestPayment while the order awaits payment"),
            "order.payment"),
      Call("POST", "/v1/orders/{order_id}/cancel", "orders.cancel", Rpc(kOrder, "CancelOrder"),
           Roles({Role::kViewer, Role::kOps}), "Cancel an unpaid order"),
      Call("POST", "/v1/orders/{order_id}/sandbox-pay", "orders.sandbox_pay",
           Rpc(kOrder, "ConfirmSandboxPayment"), viewer,
           "Pay a sandbox order (local runs and tests)"),
      Call("POST", "/v1/orders/{order_id}/fulfil", "orders.fulfil", Rpc(kOrder, "FulfillOrder"),
           ops, "Mark a paid order fulfilled"),
      Call("POST", "/v1/orders/{order_id}/complete", "orders.complete",
           Rpc(kOrder, "CompleteOrder"), ops, "Mark a fulfilled order completed"),
      Call("POST", "/v1/orders/{order_id}/refund", "orders.refund", Rpc(kOrder, "RefundOrder"), ops,
           "Refund an order, whole or per line"),

      // Stores, associates and their clients (attribution service).
      Call("GET", "/v1/stores", "stores.list", Rpc(kAttribution, "ListStores"), staff,
           "The brand's stores"),
      Call("POST", "/v1/stores", "stores.create", Rpc(kAttribution, "CreateStore"), ops,
           "Create a store"),
      Call("GET", "/v1/associates", "associates.list", Rpc(kAttribution, "ListAssociates"), staff,
           "The brand's associates"),
      Call("POST", "/v1/associates", "associates.create", Rpc(kAttribution, "CreateAssociate"), ops,
           "Create an associate in a store"),
      Call("GET", "/v1/associates/{associate_id}", "associates.get",
           Rpc(kAttribution, "GetAssociate"), Roles({Role::kOps, Role::kFinance, Role::kAssociate}),
           "An associate (associates: themselves)"),
      Call("PATCH", "/v1/associates/{associate_id}", "associates.update",
           Rpc(kAttribution, "UpdateAssociate"), ops, "Change an associate (or mark them left)"),
      Call("GET", "/v1/share-links", "share_links.list", Rpc(kAttribution, "ListShareLinks"),
           Roles({Role::kAssociate, Role::kOps, Role::kFinance}),
           "Share links (associates: their own)"),
      Call("POST", "/v1/share-links", "share_links.create", Rpc(kAttribution, "CreateShareLink"),
           Roles({Role::kAssociate}), "A new share link to a room or a product"),
      Call("GET", "/v1/share-links/{share_link_id}/code", "share_links.code",
           Rpc(kAttribution, "GetShareLinkCode"), Roles({Role::kAssociate, Role::kOps}),
           "The link as a mini-program code image (base64 `image`), made once and kept"),
      Call("POST", "/v1/share-links/{share_link_id}/open", "share_links.open",
           Rpc(kAttribution, "OpenShareLink"), viewer,
           "A viewer arrives through a link: the touch is recorded, the target returned"),
      Call("GET", "/v1/clients", "clients.list", Rpc(kAttribution, "ListClients"),
           Roles({Role::kAssociate, Role::kOps, Role::kFinance}),
           "Clients and their associates (associates: their own)"),
      Call("GET", "/v1/clients/{viewer_id}/binding", "clients.binding",
           Rpc(kAttribution, "GetClientBinding"),
           Roles({Role::kOps, Role::kFinance, Role::kAssociate}),
           "A client's binding and its history (associates: their own clients)"),
      Call("POST", "/v1/clients/{viewer_id}/reassign", "clients.reassign",
           Rpc(kAttribution, "ReassignClient"), ops, "Move a client to another associate"),
      Call("GET", "/v1/rooms/{room_id}/watching-clients", "rooms.watching_clients",
           Rpc(kAttribution, "ListWatchingClients"), Roles({Role::kAssociate}),
           "Which of the associate's clients are watching now"),
      Call("GET", "/v1/alerts", "alerts.list", Rpc(kAttribution, "ListAlerts"),
           Roles({Role::kAssociate}), "The associate's alerts: clients joining, carting, paying"),
      Special("GET", "/v1/alerts/ws", "alerts.socket", RouteKind::kAlertSocket,
              Roles({Role::kAssociate}),
              "WebSocket: the associate's alerts pushed as they are raised (see docs/API.md)"),
      Call("GET", "/v1/attributed-orders", "attributed_orders.list",
           Rpc(kAttribution, "ListAttributedOrders"),
           Roles({Role::kAssociate, Role::kOps, Role::kFinance}),
           "Paid orders with who was credited (associates: their own)"),
      Call("GET", "/v1/attributed-orders/{order_id}", "attributed_orders.get",
           Rpc(kAttribution, "GetOrderAttribution"),
           Roles({Role::kAssociate, Role::kOps, Role::kFinance}),
           "Who was credited for an order, why, and its ledger entries"),
      Call("GET", "/v1/commissions", "commissions.list", Rpc(kAttribution, "ListCommissionEntries"),
           Roles({Role::kAssociate, Role::kFinance}),
           "Ledger entries (associates: their own; query order_id)"),

      // Finance.
      Call("GET", "/v1/finance/rules", "finance.rules.list",
           Rpc(kAttribution, "ListCommissionRules"), staff, "Commission rules"),
      Call("POST", "/v1/finance/rules", "finance.rules.create",
           Rpc(kAttribution, "CreateCommissionRule"), Roles({Role::kFinance}),
           "A new commission rule (or a new version of one)"),
      Call("POST", "/v1/finance/statements", "finance.statements",
           Rpc(kAttribution, "GetStatement"), Roles({Role::kFinance, Role::kAssociate}),
           "A statement for a period (body: period, grouping, filter); associates: their own"),
      Field(Call("POST", "/v1/finance/statements/csv", "finance.statements.csv",
                 Rpc(kAttribution, "ExportStatementCsv"), Roles({Role::kFinance}),
                 "The same statement as CSV (the `csv` field), page by page"),
            "csv"),

      // Live interaction: comments, likes, moderation (also on the room WebSocket; docs/API.md).
      Call("POST", "/v1/rooms/{room_id}/comments", "comments.post",
           Rpc(kInteraction, "PostComment"), joiners,
           "A comment in the room's live session (idempotent on client_id; refusals carry a "
           "reason)"),
      Call("GET", "/v1/rooms/{room_id}/comments", "comments.list",
           Rpc(kInteraction, "ListComments"), joiners,
           "Viewers: the recent comments of the live session; staff: a session's history, paged"),
      Call("POST", "/v1/comments/{comment_id}/delete", "comments.delete",
           Rpc(kInteraction, "DeleteComment"), ops,
           "Remove a comment from every screen (audited, with a reason)"),
      Call("POST", "/v1/comments/{comment_id}/approve", "comments.approve",
           Rpc(kInteraction, "ApproveComment"), ops, "Deliver a held comment"),
      Call("GET", "/v1/rooms/{room_id}/held-comments", "comments.held",
           Rpc(kInteraction, "ListHeldComments"), ops,
           "Comments waiting for ops (WeChat's check said review, or could not be asked)"),
      Call("POST", "/v1/rooms/{room_id}/mutes", "rooms.mute", Rpc(kInteraction, "MuteViewer"), ops,
           "Mute a viewer in the room for a period (audited)"),
      (Call("POST", "/v1/bans", "viewers.ban", Rpc(kInteraction, "BanViewer"), ops,
            "Ban a viewer from the brand's rooms (audited)")),
      Call("PUT", "/v1/rooms/{room_id}/announcement", "rooms.announcement",
           Rpc(kInteraction, "SetAnnouncement"), ops,
           "Pin (or, with an empty text, remove) the room's announcement"),
      (Call("GET", "/v1/moderation/blocked-words", "moderation.blocked_words",
            Rpc(kInteraction, "ListBlockedWords"), ops,
            "The brand's blocked words and moderation settings")),
      (Call("PUT", "/v1/moderation/blocked-words", "moderation.blocked_words.set",
            Rpc(kInteraction, "SetBlockedWords"), ops, "Replace the brand's blocked-word list")),
      (Call("PUT", "/v1/moderation/settings", "moderation.settings",
            Rpc(kInteraction, "SetModerationSettings"), ops,
            "Whether comments are held while WeChat's content check is unreachable")),
      Call("POST", "/v1/rooms/{room_id}/likes", "rooms.likes.add", Rpc(kInteraction, "AddLikes"),
           viewer, "A batch of taps on the heart (idempotent on batch_id)"),
      Call("GET", "/v1/rooms/{room_id}/likes", "rooms.likes", Rpc(kInteraction, "GetLikes"),
           joiners, "The live session's like total"),

      // Reports.
      Call("POST", "/v1/sessions/{session_id}/product-views", "sessions.product_view",
           Rpc(kReport, "RecordProductView"), viewer,
           "The viewer opened a product during the session (the report's funnel)"),
      Call("GET", "/v1/sessions/{session_id}/report", "reports.session",
           Rpc(kReport, "GetSessionReport"), staff,
           "A session's reach, sales, funnel and breakdowns"),
      Brand(Call("POST", "/v1/reports/sessions", "reports.sessions",
                 Rpc(kReport, "ListSessionReports"), staff,
                 "Reach versus conversion across sessions (body: from, to, filters, sort)")),
      Field(Brand(Call("POST", "/v1/reports/sessions/csv", "reports.sessions.csv",
                       Rpc(kReport, "ExportSessionReportsCsv"), staff,
                       "The same sessions as CSV (the `csv` field)")),
            "csv"),
  };
}

}  // namespace livecommerce::gateway
