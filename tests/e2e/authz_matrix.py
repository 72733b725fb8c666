#!/usr/bin/env python3
"""The HTTP authorisation matrix (issue 9), run by tests/e2e/authz_matrix_test.sh.

Reads every route (method + path) from the running gateway's GET /v1/openapi.json and calls each as
every principal: anonymous, forged, tampered, expired and revoked tokens; viewers A, B and C
(C uninvited) and a viewer of a rival brand; associates A and B; ops and finance of the brand and of
a rival brand. The expected answer of each cell comes from the document (no token: 401; a role not
in x-roles: 403) and from the ownership table below (another viewer's order: 404, another brand's
ids: 404, an uninvited viewer on a private room: 403, ...). A route the tables cannot fill fails the
run ("route X not covered"): a new route cannot escape the matrix. Then the refused writes are
checked to have changed nothing, each route's owner (the positive control) must reach it, every
POST/PATCH/PUT route gets extra mass-assignment fields, and every response body and header is
searched for secrets (the session and internal secrets, token signatures, the APIv3 key, the
WeChat session key and app secret, invite tokens).

Python standard library only. Subcommands:
  authz_matrix.py stub PORT CERT KEY     a code2Session endpoint over TLS (the WeChat login)
  authz_matrix.py run HOST:PORT ADMIN BRAND RIVAL SECRETS_OUT
"""
import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.parse
from datetime import datetime, timedelta, timezone

# ------------------------------------------------------------------------------------------------
# The WeChat code2Session endpoint the gateway's wechat login provider calls (over TLS).


def run_stub(port, cert, key):
    import http.server

    session_key = os.environ["LC_AUTHZ_WECHAT_SESSION_KEY"]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            query = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
            code = query.get("js_code", [""])[0]
            if code.startswith("bad"):
                body = {"errcode": 40029, "errmsg": "invalid code"}
            else:
                body = {"openid": "oid-" + code, "session_key": session_key,
                        "unionid": "uid-" + code}
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()


# ------------------------------------------------------------------------------------------------
# HTTP

HOST = PORT = None
RESPONSES = []  # every (what, status line + headers + body) seen, for the secrets scan
TIMEOUT = 15


class Answer:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def __repr__(self):
        return f"{self.status} {self.body[:300]!r}"


def call(method, path, token=None, body=None, raw=None):
    """One request on a fresh connection; 429s are waited out (rate limits are not the point)."""
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = None
    if raw is not None:
        data = raw.encode()
        headers["Content-Type"] = "application/json"
    elif body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    for _ in range(20):
        conn = http.client.HTTPConnection(HOST, PORT, timeout=TIMEOUT)
        try:
            conn.request(method, path, data, headers)
            r = conn.getresponse()
            text = r.read().decode("utf-8", "replace")
            hdrs = r.getheaders()
        finally:
            conn.close()
        RESPONSES.append((f"{method} {path}",
                          "\n".join(f"{k}: {v}" for k, v in hdrs) + "\n" + text))
        if r.status != 429:
            return Answer(r.status, hdrs, text)
        time.sleep(float(dict(hdrs).get("Retry-After", "1")))
    return Answer(r.status, hdrs, text)


def upgrade(path, token=None):
    """A WebSocket upgrade request: the HTTP status of the answer (101 or the refusal)."""
    s = socket.create_connection((HOST, PORT), timeout=TIMEOUT)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: {HOST}:{PORT}", "Upgrade: websocket",
                 "Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
                 "Sec-WebSocket-Version: 13"]
        if token:
            lines.append("Authorization: Bearer " + token)
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1]) if head else 0
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        s.settimeout(2)
        while status != 101 and len(rest) < length:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        if status == 101:
            try:  # the first frames (joined, subscribed ...), for the secrets scan
                s.settimeout(0.3)
                rest += s.recv(65536)
            except OSError:
                pass
        text = rest.decode("utf-8", "replace")
        RESPONSES.append((f"WS {path}", head.decode("utf-8", "replace") + "\n" + text))
        return Answer(status, [], text)
    finally:
        s.close()


def ok2(a):
    return 200 <= a.status < 300


def need(a, what):
    if not ok2(a):
        sys.exit(f"setup: {what}: {a}")
    return a.json()


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


# ------------------------------------------------------------------------------------------------
# The run


def main_run(target, admin, brand, rival, secrets_out):
    global HOST, PORT
    HOST, port = target.rsplit(":", 1)
    PORT = int(port)
    started = time.monotonic()
    secret = os.environ["LC_SESSION_SECRET"]
    now = datetime.now(timezone.utc)

    def issue(role, brand_id, subject, ttl_hours=2):
        out = subprocess.run([admin, "token", "issue", "--role", role, "--brand", brand_id,
                              "--subject", subject, "--ttl-hours", str(ttl_hours)],
                             check=True, capture_output=True, text=True).stdout
        return json.loads(out)["token"]

    def login(code):
        a = call("POST", "/v1/login", body={"code": code, "brand_id": brand})
        return need(a, f"login {code}")["token"]

    # ---- Principals ------------------------------------------------------------------------------
    ops = issue("ops", brand, "ops-anna")
    fin = issue("finance", brand, "fin-fay")
    T = {"anon": None, "oA": ops, "fA": fin,
         "oR": issue("ops", rival, "ops-rex"), "fR": issue("finance", rival, "fin-rita"),
         "vR": issue("viewer", rival, "oid-rival-viewer")}
    run_id = brand.rsplit("-", 1)[-1]
    for name, code in (("vA", f"va{run_id}"), ("vB", f"vb{run_id}"), ("vC", f"vc{run_id}")):
        T[name] = login(code)
    openid = {"vA": f"oid-va{run_id}", "vB": f"oid-vb{run_id}", "vC": f"oid-vc{run_id}"}

    def signed(claims):
        payload = b64url("|".join(claims).encode())
        sig = b64url(hmac.new(secret.encode(), f"lc1.{payload}".encode(), hashlib.sha256).digest())
        return f"lc1.{payload}.{sig}"

    past = int(time.time()) - 7200
    # Expired: an ops token of the brand, correctly signed, an hour past its expiry.
    T["expired"] = signed(["authz-expired-1", "ops", brand, "ops-anna", str(past), str(past + 3600)])
    # Forged: ops claims under a signature made with another secret.
    payload = b64url("|".join(["authz-forged-1", "ops", brand, "ops-anna", str(int(time.time())),
                               str(int(time.time()) + 3600)]).encode())
    T["forged"] = f"lc1.{payload}." + b64url(
        hmac.new(b"not-the-secret-0123456789", f"lc1.{payload}".encode(), hashlib.sha256).digest())
    # Tampered: viewer A's genuine token with its role rewritten to ops, the signature kept.
    _, vpayload, vsig = T["vA"].split(".")
    fields = base64.urlsafe_b64decode(vpayload + "=" * (-len(vpayload) % 4)).decode().split("|")
    fields[1] = "ops"
    T["tampered"] = f"lc1.{b64url('|'.join(fields).encode())}.{vsig}"
    # Revoked: an ops token of the brand, revoked with lc-admin; wait until the gateway refuses it.
    T["revoked"] = issue("ops", brand, "ops-olga")
    if not ok2(call("GET", "/v1/stores", T["revoked"])):
        sys.exit("setup: the token to revoke does not work before revocation")
    subprocess.run([admin, "token", "revoke", T["revoked"]], check=True, capture_output=True)
    for _ in range(100):
        if call("GET", "/v1/stores", T["revoked"]).status == 401:
            break
        time.sleep(0.1)
    else:
        sys.exit("setup: the revoked token is still accepted")

    ROLE = {"vA": "viewer", "vB": "viewer", "vC": "viewer", "vR": "viewer", "aA": "associate",
            "aB": "associate", "oA": "ops", "fA": "finance", "oR": "ops", "fR": "finance"}
    BRAND = {p: (rival if p in ("vR", "oR", "fR") else brand) for p in ROLE}
    # Confusable identities (issue 16): principals whose brand differs from the brand's only in
    # letter case (same subjects as the real ones), and a viewer whose openid differs from viewer
    # A's only in case. Tokens carry [A-Za-z0-9_.:-] only, so spaces and full-width forms are
    # tried on the identifiers a request names instead (below). Each is held to what its look-alike
    # twin would get: the case-variant brand to the rival brand's refusals, the case-variant
    # viewer to the uninvited viewer C's.
    upper = brand.upper()
    assert upper != brand
    CONFUSABLE = {"oU": ("ops", "oR"), "fU": ("finance", "fR"), "vU": ("viewer", "vR"),
                  "aU": ("associate", "aR"), "vAc": ("viewer", "vC")}
    for p, (role, _) in CONFUSABLE.items():
        ROLE[p] = role
        BRAND[p] = brand if p == "vAc" else upper
    ALIAS = {p: twin for p, (_, twin) in CONFUSABLE.items()}
    UNAUTH = ["anon", "forged", "tampered", "expired", "revoked"]

    # ---- Fixtures ---------------------------------------------------------------------------------
    F = {}
    store = need(call("POST", "/v1/stores", ops, {"name": "Authz IFC"}), "store")["store"]["id"]
    F["store"] = store
    for who in ("aA", "aB", "aX"):
        F[who] = need(call("POST", "/v1/associates", ops, {"store_id": store, "name": f"Assoc {who}"}),
                      "associate")["associate"]["id"]
        if who != "aX":
            T[who] = issue("associate", brand, F[who])
    need(call("POST", "/v1/finance/rules", fin, {
        "scope": "RULE_SCOPE_BRAND", "effective_from": "2020-01-01T00:00:00Z",
        "lines": [{"recipient": "RECIPIENT_ASSOCIATE", "basis_points": 500},
                  {"recipient": "RECIPIENT_STORE", "basis_points": 200}]}), "rule")

    def product(name):
        p = need(call("POST", "/v1/products", ops, {
            "name": name, "category": "bags",
            "list_price": {"amount_fen": "100000", "currency": "CNY"},
            "skus": [{"sku_code": f"{name}-1", "on_hand": "500"},
                     {"sku_code": f"{name}-2", "on_hand": "500"},
                     {"sku_code": f"{name}-3", "on_hand": "500"}]}), "product")["product"]
        need(call("POST", f"/v1/products/{p['id']}/activate", ops), "activate")
        return p["id"], [s["id"] for s in p["skus"]]

    F["product"], (F["sku"], F["sku2"], F["sku3"]) = product("AuthzBag")
    F["product_spare"], _ = product("AuthzSpare")

    def room(title, visibility):
        r = need(call("POST", "/v1/rooms", ops, {
            "title": title, "scheduled_start": "2026-01-01T00:00:00Z", "visibility": visibility,
            "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE",
            "format": "FORMAT_SALES_DRIVEN"}), "room")["room"]["id"]
        need(call("POST", f"/v1/rooms/{r}/products", ops, {"product_id": F["product"]}), "attach")
        live = need(call("POST", f"/v1/rooms/{r}/live", ops), "live")
        return r, live["session"]["id"]

    F["room_public"], F["session_public"] = room(f"Authz public {run_id}", "VISIBILITY_PUBLIC")
    F["room"], F["session"] = room(f"Authz private {run_id}", "VISIBILITY_PRIVATE")
    F["room_spare"], _ = room(f"Authz spare {run_id}", "VISIBILITY_PUBLIC")
    need(call("POST", f"/v1/rooms/{F['room']}/pin", ops,
              {"product_id": F["product"], "sku_id": F["sku"]}), "pin")
    start, end = iso(now - timedelta(minutes=1)), iso(now + timedelta(hours=1))

    def sale(room_id, sku):
        return need(call("POST", f"/v1/rooms/{room_id}/flash-sales", ops, {
            "sku_id": sku, "sale_price": {"amount_fen": "50000", "currency": "CNY"},
            "total_stock": "100", "per_buyer_limit": 5, "starts_at": start, "ends_at": end}),
            "flash sale")["sale"]["id"]

    F["sale"] = sale(F["room"], F["sku"])
    F["sale_spare"] = sale(F["room_spare"], F["sku"])
    F["sale_spare2"] = sale(F["room_spare"], F["sku2"])
    inv = {}
    for who in ("aA", "aB"):
        got = need(call("POST", f"/v1/rooms/{F['room']}/invites", ops,
                        {"cohort": f"cohort {who}", "associate_id": F[who], "count": 1}), "invites")
        inv[who] = got["invites"][0]
    F["invite"] = inv["aA"]["id"]
    F["invite_spare"] = need(call("POST", f"/v1/rooms/{F['room']}/invites", ops, {"count": 1}),
                             "invite")["invites"][0]["id"]
    need(call("POST", f"/v1/rooms/{F['room']}/join", T["vA"],
              {"device_id": "va-1", "invite_token": inv["aA"]["token"]}), "vA joins")
    need(call("POST", f"/v1/rooms/{F['room']}/join", T["vB"],
              {"device_id": "vb-1", "invite_token": inv["aB"]["token"]}), "vB joins")
    # A scheduled private room (not live yet) for reservations: viewers A and B reserve it with
    # the invites of associates A and B (which binds them); viewer C holds none.
    F["room_soon"] = need(call("POST", "/v1/rooms", ops, {
        "title": f"Authz soon {run_id}", "scheduled_start": iso(now + timedelta(days=2)),
        "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"],
        "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}), "soon room")["room"]["id"]
    consent = {"template_id": "authz-reminder", "accepted": True}
    for assoc, viewer in (("aA", "vA"), ("aB", "vB")):
        soon = need(call("POST", f"/v1/rooms/{F['room_soon']}/invites", ops,
                         {"cohort": f"soon {assoc}", "associate_id": F[assoc], "count": 1}),
                    "soon invite")["invites"][0]
        need(call("POST", f"/v1/rooms/{F['room_soon']}/reservation", T[viewer],
                  {"subscribe": consent, "invite_token": soon["token"]}), f"{viewer} reserves")
    # A private room whose session ended, with a product moment and a replay: viewers A and B
    # joined the live with the invites of associates A and B; viewer C holds none.
    F["room_replay"], F["session_replay"] = room(f"Authz replay {run_id}", "VISIBILITY_PRIVATE")
    need(call("POST", f"/v1/rooms/{F['room_replay']}/pin", ops,
              {"product_id": F["product"], "sku_id": F["sku"]}), "replay pin")
    for assoc, viewer in (("aA", "vA"), ("aB", "vB")):
        rinvite = need(call("POST", f"/v1/rooms/{F['room_replay']}/invites", ops,
                            {"cohort": f"replay {assoc}", "associate_id": F[assoc], "count": 1}),
                       "replay invite")["invites"][0]
        need(call("POST", f"/v1/rooms/{F['room_replay']}/join", T[viewer],
                  {"device_id": f"{viewer}-r", "invite_token": rinvite["token"]}), f"{viewer} joins")
    need(call("POST", f"/v1/rooms/{F['room_replay']}/end", ops), "replay end")
    need(call("PUT", f"/v1/rooms/{F['room_replay']}/sessions/{F['session_replay']}/replay", ops,
              {"location": "authz/replay.flv", "duration_seconds": "60"}), "replay set")
    # Comments in the private room: one to approve (delivered: the owner is told 409), one to delete.
    F["comment"] = need(call("POST", f"/v1/rooms/{F['room']}/comments", T["vA"],
                             {"client_id": "authz-setup-1", "text": "a question"}),
                        "comment")["comment"]["id"]
    F["comment_spare"] = need(call("POST", f"/v1/rooms/{F['room']}/comments", T["vB"],
                                   {"client_id": "authz-setup-2", "text": "another"}),
                              "comment")["comment"]["id"]
    for who in ("aA", "aB"):
        F[f"link_{who}"] = need(call("POST", "/v1/share-links", T[who], {
            "target": "SHARE_TARGET_ROOM", "room_id": F["room_public"],
            "share_channel": "SHARE_CHANNEL_PRIVATE_CHAT"}), "share link")["link"]["id"]
    F["link"] = F["link_aA"]
    F["hold"] = need(call("POST", f"/v1/flash-sales/{F['sale']}/holds", T["aA"], {
        "client_id": openid["vA"], "quantity": "1", "ttl_seconds": 600}), "hold")["hold"]["id"]
    F["hold_spare"] = need(call("POST", f"/v1/flash-sales/{F['sale_spare']}/holds", T["aA"], {
        "client_id": openid["vA"], "quantity": "1", "ttl_seconds": 600}), "hold")["hold"]["id"]
    address = {"recipient": "Test", "phone": "13800000000", "province": "Shanghai",
               "city": "Shanghai", "street": "1 Bund"}
    need(call("POST", "/v1/cart/items", T["vA"], {"item": {"sku_id": F["sku"], "quantity": "1"}}),
         "cart A")
    need(call("POST", "/v1/cart/items", T["vB"], {"item": {"sku_id": F["sku2"], "quantity": "1"}}),
         "cart B")

    def checkout(who, key, pay):
        o = need(call("POST", "/v1/checkout", T[who], {
            "idempotency_key": key, "lines": [{"sku_id": F["sku3"], "quantity": "1"}],
            "address": address, "room": {"room_id": F["room"], "session_id": F["session"]}}),
            "checkout")["order"]["id"]
        if pay:
            need(call("POST", f"/v1/orders/{o}/sandbox-pay", T[who]), "pay")
        return o

    F["order"] = checkout("vA", "a-paid", True)
    F["order_unpaid"] = checkout("vA", "a-unpaid", False)
    F["order_spare"] = checkout("vA", "a-spare", False)
    F["order_spare2"] = checkout("vA", "a-spare2", False)
    F["order_b"] = checkout("vB", "b-paid", True)
    for o in (F["order"], F["order_b"]):
        for _ in range(100):
            if ok2(call("GET", f"/v1/attributed-orders/{o}", fin)):
                break
            time.sleep(0.1)
        else:
            sys.exit(f"setup: order {o} never attributed")
    F["viewer"] = openid["vA"]
    # The confusable principals' tokens: the real subjects under the brand's upper-case twin, and
    # viewer A's openid upper-cased in the real brand.
    T["oU"] = issue("ops", upper, "ops-anna")
    T["fU"] = issue("finance", upper, "fin-fay")
    T["vU"] = issue("viewer", upper, openid["vA"])
    T["aU"] = issue("associate", upper, F["aA"])
    T["vAc"] = issue("viewer", brand, openid["vA"].upper())

    # ---- The rival brand's real objects, for the foreign-reference cells --------------------------
    oRt = T["oR"]
    R = {}
    R["store"] = need(call("POST", "/v1/stores", oRt, {"name": "Rival IFC"}), "rival store")["store"]["id"]
    R["associate"] = need(call("POST", "/v1/associates", oRt, {"store_id": R["store"], "name": "Rival SA"}),
                          "rival associate")["associate"]["id"]
    rp = need(call("POST", "/v1/products", oRt, {
        "name": "RivalBag", "category": "bags", "list_price": {"amount_fen": "100000", "currency": "CNY"},
        "skus": [{"sku_code": "RivalBag-1", "on_hand": "500"}]}), "rival product")["product"]
    need(call("POST", f"/v1/products/{rp['id']}/activate", oRt), "rival activate")
    R["product"], R["sku"] = rp["id"], rp["skus"][0]["id"]
    R["room"] = need(call("POST", "/v1/rooms", oRt, {
        "title": f"Rival private {run_id}", "scheduled_start": "2026-01-01T00:00:00Z",
        "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"],
        "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}), "rival room")["room"]["id"]
    need(call("POST", f"/v1/rooms/{R['room']}/products", oRt, {"product_id": R["product"]}), "rival attach")
    R["session"] = need(call("POST", f"/v1/rooms/{R['room']}/live", oRt), "rival live")["session"]["id"]
    R["sale"] = need(call("POST", f"/v1/rooms/{R['room']}/flash-sales", oRt, {
        "sku_id": R["sku"], "sale_price": {"amount_fen": "50000", "currency": "CNY"},
        "total_stock": "10", "per_buyer_limit": 5, "starts_at": start, "ends_at": end}),
        "rival sale")["sale"]["id"]
    rinv = need(call("POST", f"/v1/rooms/{R['room']}/invites", oRt, {"count": 1}), "rival invite")["invites"][0]
    R["invite"], R["invite_token"] = rinv["id"], rinv["token"]
    T["aR"] = issue("associate", rival, R["associate"])
    R["link"] = need(call("POST", "/v1/share-links", T["aR"], {
        "target": "SHARE_TARGET_PRODUCT", "product_id": R["product"],
        "share_channel": "SHARE_CHANNEL_PRIVATE_CHAT"}), "rival link")["link"]["id"]

    # ---- Which fixture each path parameter takes, and the ownership rules -------------------------
    PARAM = {"room_id": "room", "session_id": "session", "order_id": "order",
             "product_id": "product", "sku_id": "sku", "sale_id": "sale", "hold_id": "hold",
             "invite_id": "invite", "associate_id": "aA", "share_link_id": "link",
             "viewer_id": "viewer", "secret": "bogus_secret", "callback": "callback_route",
             "comment_id": "comment"}
    # The local streaming server's callback path holds its secret: any other is refused.
    F["bogus_secret"], F["callback_route"] = f"not-the-callback-secret-{run_id}", "on_publish"

    def route(owner, **kw):
        kw["owner"] = owner
        return kw

    cart_item = lambda p: {"item": {"sku_id": F["sku"], "quantity": "1"}}
    period = {"period_start": iso(now - timedelta(days=1)), "period_end": iso(now + timedelta(days=2))}
    # Per route: the owner (positive control); `use` replaces the fixture of a parameter for every
    # caller, `spare` for the owner only (destructive controls act on spare objects); `body` and
    # `query` are the owner's request, given to every caller; `deny` maps callers with an allowed
    # role to the refusal they must get (403 or 404); `owner_ok` the non-auth errors the owner may
    # get instead of 2xx (a lifecycle step that does not apply: 409); `attacks` extra cells.
    PRIV = {"vC": 403}  # an uninvited viewer on the private room
    SPEC = {
        "GET /healthz": route("anon"), "GET /readyz": route("anon"), "GET /metrics": route("anon"),
        "GET /v1/openapi.json": route("anon"),
        "POST /v1/login": route("anon", body={"code": f"vd{run_id}", "brand_id": brand}),
        # A notification that is not WeChat Pay's: refused by the order service whoever sends it.
        "POST /v1/payments/wechat/notify": route("anon", body={"id": "x"}, public_status=401),
        "GET /v1/rooms": route("oA", attacks=[("oR", f"?brand_id={brand}", None, 403),
                                             ("vR", f"?brand_id={brand}", None, 403)]),
        "POST /v1/rooms": route("oA", body={"title": "Authz new", "scheduled_start": "2026-01-01T00:00:00Z",
                                            "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_FOLLOWERS"],
                                            "objective": "OBJECTIVE_AWARENESS", "format": "FORMAT_INSPIRATIONAL"},
                                attacks=[("oR", "", {"title": "x", "brand_id": brand,
                                                     "scheduled_start": "2026-01-01T00:00:00Z"}, 403)]),
        "GET /v1/rooms/{room_id}": route("vA", deny=PRIV),
        "PATCH /v1/rooms/{room_id}": route("oA", body={"description": "changed"}),
        "POST /v1/rooms/{room_id}/live": route("oA", owner_ok={409}),
        "POST /v1/rooms/{room_id}/end": route("oA", spare={"room_id": "room_spare"}),
        "GET /v1/rooms/{room_id}/stats": route("vA", deny=PRIV),
        "GET /v1/rooms/{room_id}/sessions": route("oA"),
        "GET /v1/sessions/{session_id}": route("fA"),
        # The stream: ops and the room's host associate (aA hosts none) run it.
        "GET /v1/rooms/{room_id}/push-address": route("oA", deny={"aA": 403, "aB": 403}),
        "POST /v1/rooms/{room_id}/push-key/rotate": route("oA", deny={"aA": 403, "aB": 403}),
        "GET /v1/rooms/{room_id}/recordings": route("fA"),
        # Callbacks that are not the streaming server's: refused by the room service whoever
        # sends them (a wrong path secret; a provider this deployment does not use).
        "POST /v1/stream/local/{secret}/{callback}": route("anon", body={"call": "publish"},
                                                           public_status=401),
        "POST /v1/stream/tencent": route("anon", body={"event_type": 1}, public_status=400),
        # Associates issue their own invites only to rooms ops opened to them: not this one (403).
        "POST /v1/rooms/{room_id}/invites": route("oA", body={"count": 1}, deny={"aA": 403, "aB": 403}),
        "GET /v1/rooms/{room_id}/invites": route("oA"),
        "POST /v1/invites/{invite_id}/revoke": route("oA", spare={"invite_id": "invite_spare"}),
        # Reservations of the scheduled private room: each viewer their own (C has no invite; a
        # cancel of none is 404); associates list only their own clients' reservations.
        "POST /v1/rooms/{room_id}/reservation": route("vA", use={"room_id": "room_soon"},
                                                      body={"subscribe": consent}, deny=PRIV),
        "DELETE /v1/rooms/{room_id}/reservation": route("vA", use={"room_id": "room_soon"},
                                                        deny={"vC": 404}),
        "GET /v1/rooms/{room_id}/reservation": route("vA", use={"room_id": "room_soon"}, deny=PRIV),
        "GET /v1/rooms/{room_id}/reservations": route("oA", use={"room_id": "room_soon"}),
        "GET /v1/rooms/{room_id}/reminders": route("oA", use={"room_id": "room_soon"}),
        # Replays: the live's audience (C has no invite); ops register an ended session's.
        "GET /v1/rooms/{room_id}/replay": route("vA", use={"room_id": "room_replay"}, deny=PRIV),
        "POST /v1/rooms/{room_id}/replay/views": route("vA", use={"room_id": "room_replay"},
                                                       body={"session_id": F["session_replay"]},
                                                       deny=PRIV),
        "PUT /v1/rooms/{room_id}/sessions/{session_id}/replay": route(
            "oA", use={"room_id": "room_replay", "session_id": "session_replay"},
            body={"location": "authz/replay-cut.flv", "duration_seconds": "60"}),
        "POST /v1/rooms/{room_id}/join": route("vA", body={"device_id": "d1"}, deny=PRIV,
                                               attacks=[("vC", "", {"device_id": "c1", "invite_token": inv["aB"]["token"]}, 403)]),
        # Heartbeat keeps up the presence of a viewer who joined: anyone else is told to join (409).
        "POST /v1/rooms/{room_id}/heartbeat": route("vA", body={"device_id": "d1"}, deny={"vC": 409}),
        # Leaving a room one is not in is a no-op (200, nothing changes: the snapshot checks it).
        "POST /v1/rooms/{room_id}/leave": route("vA", body={"device_id": "d1"}, deny={"vC": "noop"}),
        "GET /v1/rooms/{room_id}/ws": route("vA", deny=PRIV, ws=True),
        "GET /v1/rooms/{room_id}/pinned": route("vA", deny=PRIV),
        "POST /v1/rooms/{room_id}/pin": route("oA", body={"product_id": F["product"], "sku_id": F["sku"]}),
        "DELETE /v1/rooms/{room_id}/pin": route("oA"),
        "GET /v1/rooms/{room_id}/products": route("vA", deny=PRIV),
        "POST /v1/rooms/{room_id}/products": route("oA", use={"room_id": "room_public"},
                                                   body={"product_id": F["product_spare"]}),
        "POST /v1/rooms/{room_id}/products/reorder": route("oA", body={"product_ids": [F["product"]]}),
        "DELETE /v1/rooms/{room_id}/products/{product_id}": route("oA", use={"room_id": "room_public"}),
        "GET /v1/products": route("vA", attacks=[("oR", f"?brand_id={brand}", None, 403)]),
        "POST /v1/products": route("oA", body={"name": "Authz more", "list_price": {"amount_fen": "100", "currency": "CNY"},
                                               "skus": [{"sku_code": "M-1", "on_hand": "1"}]},
                                   attacks=[("oR", "", {"name": "x", "brand_id": brand, "list_price": {"amount_fen": "100", "currency": "CNY"},
                                                        "skus": [{"sku_code": "X-1", "on_hand": "1"}]}, 403)]),
        "GET /v1/products/{product_id}": route("vA"),
        "PATCH /v1/products/{product_id}": route("oA", body={"description": "changed"}),
        "POST /v1/products/{product_id}/activate": route("oA", owner_ok={409}),
        "POST /v1/products/{product_id}/archive": route("oA", spare={"product_id": "product_spare"}),
        "POST /v1/products/{product_id}/skus": route("oA", body={"sku": {"sku_code": "ADD-1", "on_hand": "1"}}),
        "GET /v1/skus/{sku_id}": route("vA"),
        "PATCH /v1/skus/{sku_id}": route("oA", body={"attributes": {"values": {"colour": "black"}}}),
        "PUT /v1/skus/{sku_id}/inventory": route("oA", body={"on_hand": "500"}),
        "GET /v1/rooms/{room_id}/flash-sales": route("vA", deny=PRIV),
        "POST /v1/rooms/{room_id}/flash-sales": route("oA", body={
            "sku_id": F["sku2"], "sale_price": {"amount_fen": "100", "currency": "CNY"}, "total_stock": "1",
            "per_buyer_limit": 1, "starts_at": iso(now + timedelta(hours=2)), "ends_at": iso(now + timedelta(hours=3))}),
        "GET /v1/flash-sales/{sale_id}": route("vA", deny=PRIV),
        "POST /v1/flash-sales/{sale_id}/start": route("oA", owner_ok={409}),
        "POST /v1/flash-sales/{sale_id}/end": route("oA", spare={"sale_id": "sale_spare"}),
        "POST /v1/flash-sales/{sale_id}/cancel": route("oA", spare={"sale_id": "sale_spare2"}),
        "POST /v1/flash-sales/{sale_id}/rebuild": route("oA", owner_ok={409}),
        "POST /v1/flash-sales/{sale_id}/holds": route("aA", body={"client_id": openid["vA"], "quantity": "1", "ttl_seconds": 600},
                                                        others_ok={409}, owner_ok={409}),
        "POST /v1/holds/{hold_id}/release": route("aA", deny={"aB": 403}, use_for={"oA": {"hold_id": "hold_spare"}}),
        "GET /v1/cart": route("vA"),
        "DELETE /v1/cart": route("vA"),
        # Another brand's SKU is unknown to the cart (so never in the rival's cart either).
        "POST /v1/cart/items": route("vA", body=cart_item(None), deny={"vR": 404}, foreign_as="vB"),
        "PATCH /v1/cart/items": route("vA", body={"sku_id": F["sku"], "quantity": "2"}, deny={"vR": 404}),
        "DELETE /v1/cart/items/{sku_id}": route("vA", deny={"vR": 404}),
        "POST /v1/checkout": route("vA", body="checkout", deny={"vR": 404}),
        "GET /v1/orders": route("vA", attacks=[("vB", f"?buyer_id={openid['vA']}", None, "filtered"),
                                               ("fR", f"?brand_id={brand}", None, 403)]),
        "GET /v1/orders/{order_id}": route("vA", deny={"vB": 404, "vC": 404}),
        "GET /v1/orders/{order_id}/payment": route("vA", use={"order_id": "order_unpaid"}, deny={"vB": 404, "vC": 404}),
        "POST /v1/orders/{order_id}/cancel": route("vA", use={"order_id": "order_unpaid"}, spare={"order_id": "order_spare"},
                                                     use_for={"oA": {"order_id": "order_spare2"}},
                                                     deny={"vB": 404, "vC": 404}),
        "POST /v1/orders/{order_id}/sandbox-pay": route("vA", use={"order_id": "order_unpaid"}, deny={"vB": 404, "vC": 404}),
        "POST /v1/orders/{order_id}/fulfil": route("oA"),
        "POST /v1/orders/{order_id}/complete": route("oA"),
        "POST /v1/orders/{order_id}/refund": route("oA", body={"refund_id": "authz-r1", "reason": "test"}),
        "GET /v1/stores": route("oA"),
        "POST /v1/stores": route("oA", body={"name": "Authz second"}),
        "GET /v1/associates": route("fA"),
        "POST /v1/associates": route("oA", body="associate", deny={"oR": 404}),
        "GET /v1/associates/{associate_id}": route("aA", deny={"aB": 403}),
        "PATCH /v1/associates/{associate_id}": route("oA", body={"name": "Assoc renamed"}),
        "GET /v1/share-links": route("aA", attacks=[("aA", f"?associate_id={F['aB']}", None, 403)]),
        "POST /v1/share-links": route("aA", body={"target": "SHARE_TARGET_ROOM", "room_id": F["room_public"],
                                                  "share_channel": "SHARE_CHANNEL_MOMENTS"},
                                      deny={"aR": 404},  # a link to another brand's room: unknown room
                                      attacks=[("aA", "", {"associate_id": F["aB"], "target": "SHARE_TARGET_ROOM",
                                                           "room_id": F["room_public"]}, 403)]),
        # Another associate's link looks like an unknown one.
        "GET /v1/share-links/{share_link_id}/code": route("aA", deny={"aB": 404}),
        "POST /v1/share-links/{share_link_id}/open": route("vA"),
        # The filter names this brand's associate: unknown to another brand (404).
        # (aU asks about itself under its own brand: it has no clients.)
        "GET /v1/clients": route("aA", query=f"?associate_id={F['aA']}", deny={"aB": 403, "aR": "filtered"}, rival=404, attacks=[("aA", f"?associate_id={F['aB']}", None, 403)]),
        # Associates read only the bindings of their own clients.
        "GET /v1/clients/{viewer_id}/binding": route("fA", rival="filtered", deny={"aB": 404, "aR": 404}),  # viewer ids are not a brand's
        "POST /v1/clients/{viewer_id}/reassign": route("oA", body={"associate_id": F["aX"], "note": "authz"}),
        "GET /v1/rooms/{room_id}/watching-clients": route("aA"),
        "GET /v1/alerts": route("aA"),
        "GET /v1/alerts/ws": route("aA", ws=True),
        "GET /v1/attributed-orders": route("aA", attacks=[("aA", f"?associate_id={F['aB']}", None, 403)]),
        "GET /v1/attributed-orders/{order_id}": route("aA", deny={"aB": 404}),
        "GET /v1/commissions": route("aA", attacks=[("aA", f"?order_id={F['order_b']}", None, "filtered")]),
        "GET /v1/finance/rules": route("fA"),
        "POST /v1/finance/rules": route("fA", body={"scope": "RULE_SCOPE_CATEGORY", "scope_id": "bags",
                                                    "effective_from": "2020-01-01T00:00:00Z",
                                                    "lines": [{"recipient": "RECIPIENT_ASSOCIATE", "basis_points": 600}]}),
        "POST /v1/finance/statements": route("fA", body=dict(period, grouping="STATEMENT_GROUPING_ASSOCIATE"),
                                             attacks=[("aA", "", dict(period, filter={"associate_id": F["aB"]}), 403)]),
        "POST /v1/finance/statements/csv": route("fA", body=dict(period, grouping="STATEMENT_GROUPING_ASSOCIATE")),
        "POST /v1/sessions/{session_id}/product-views": route("vA", body={"product_id": F["product"]}, deny=PRIV),
        "GET /v1/sessions/{session_id}/report": route("oA"),
        "POST /v1/reports/sessions": route("oA", body={"from": iso(now - timedelta(days=1)), "to": iso(now + timedelta(days=1))},
                                           attacks=[("oR", "", {"brand_id": brand, "from": iso(now - timedelta(days=1)),
                                                                "to": iso(now + timedelta(days=1))}, 403)]),
        "POST /v1/reports/sessions/csv": route("oA", body={"from": iso(now - timedelta(days=1)), "to": iso(now + timedelta(days=1))}),
        # Live interaction: the private room's audience and its brand's staff only.
        "POST /v1/rooms/{room_id}/comments": route("vA", body={"client_id": "authz-c", "text": "authz"}, deny=PRIV),
        "GET /v1/rooms/{room_id}/comments": route("vA", deny=PRIV),
        "POST /v1/comments/{comment_id}/delete": route("oA", body={"reason": "authz"},
                                                       spare={"comment_id": "comment_spare"}),
        "POST /v1/comments/{comment_id}/approve": route("oA", owner_ok={409}),
        "GET /v1/rooms/{room_id}/held-comments": route("oA"),
        "POST /v1/rooms/{room_id}/mutes": route("oA", body={"viewer_id": "authz-muted", "duration_seconds": 60,
                                                            "reason": "authz"}),
        # A ban names a viewer of the caller's own brand: another brand's ops ban in theirs.
        "POST /v1/bans": route("oA", body={"viewer_id": "authz-banned", "reason": "authz"}),
        "PUT /v1/rooms/{room_id}/announcement": route("oA", body={"text": "authz"}),
        "GET /v1/moderation/blocked-words": route("oA"),
        "PUT /v1/moderation/blocked-words": route("oA", body={"words": ["authzword"]}),
        "PUT /v1/moderation/settings": route("oA", body={"hold_when_check_unavailable": True}),
        "POST /v1/rooms/{room_id}/likes": route("vA", body={"batch_id": "authz-b", "count": 1}, deny=PRIV),
        "GET /v1/rooms/{room_id}/likes": route("vA", deny=PRIV),
    }
    counter = [0]

    def body_for(spec, principal):
        b = spec.get("body")
        counter[0] += 1
        if b == "checkout":
            return {"idempotency_key": f"m-{principal}-{counter[0]}", "address": address,
                    "lines": [{"sku_id": F["sku3"], "quantity": "1"}]}
        if b == "associate":
            return {"store_id": F["store"], "name": f"New {counter[0]}"}
        return b

    # Private markers: what each caller must never see in a 2xx answer.
    markers = {
        "vA": [openid["vB"]], "vB": [openid["vA"]], "vC": [openid["vA"], openid["vB"]],
        "aA": [openid["vB"]], "aB": [openid["vA"]],
        "vR": [brand, openid["vA"], openid["vB"]], "oR": [brand, openid["vA"], openid["vB"]],
        "fR": [brand, openid["vA"], openid["vB"]],
        # The look-alikes see nothing of the brand or viewer they resemble.
        "oU": [brand, openid["vA"], openid["vB"]], "fU": [brand, openid["vA"], openid["vB"]],
        # vU's own subject is viewer A's openid (under the upper-case brand): A's data shows as the
        # brand's (lower-case) id.
        "vU": [brand, openid["vB"]], "aU": [brand, openid["vA"], openid["vB"]],
        "vAc": [openid["vA"], openid["vB"]],
    }

    # ---- The route list, from the document ------------------------------------------------------
    doc = call("GET", "/v1/openapi.json").json()
    schemas = doc["components"]["schemas"]
    routes = []
    failures = []
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            key = f"{method.upper()} {path}"
            roles = op.get("x-roles", []) if op.get("security") else []
            params = [p["name"] for p in op.get("parameters", []) if p["in"] == "path"]
            spec = SPEC.get(key)
            unknown = [p for p in params if p not in PARAM]
            if spec is None or unknown:
                failures.append(f"route {key} not covered" + (f" (parameters {unknown})" if unknown else ""))
                continue
            if roles and ROLE.get(spec["owner"]) not in roles:
                failures.append(f"route {key}: owner {spec['owner']} is not among its roles {roles}")
                continue
            ref = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
                   .get("schema", {}).get("$ref", ""))
            fields = set(schemas.get(ref.rsplit("/", 1)[-1], {}).get("properties", {}))
            routes.append((key, method.upper(), path, roles, params, spec, fields))
    missing = set(SPEC) - {r[0] for r in routes}
    for key in sorted(missing):
        if not any(f.startswith(f"route {key}") for f in failures):
            failures.append(f"route {key} is in the test's table but not in the document")

    def target(path, params, spec, principal, owner_side, values=None):
        out = path
        for p in params:
            fixture = spec.get("use", {}).get(p, PARAM[p])
            fixture = spec.get("use_for", {}).get(principal, {}).get(p, fixture)
            if owner_side:
                fixture = spec.get("spare", {}).get(p, fixture)
            value = (values or {}).get(p, F[fixture])
            out = out.replace("{" + p + "}", urllib.parse.quote(value, safe=""))
        return out

    cells = []  # (key, principal, variant, expected, got, ok)

    def record(key, principal, variant, expected, a, ok, why="", refusal=False):
        # A refusal expected and a 2xx (or a 101 upgrade) got: an unauthorised success.
        breach = refusal and (200 <= a.status < 300 or a.status == 101)
        cells.append((key, principal, variant, expected, a.status, ok, breach))
        if not ok:
            failures.append(f"cell {key} as {principal}{' ' + variant if variant else ''}: "
                            f"expected {expected}, got {a.status}{' (' + why + ')' if why else ''}: "
                            f"{a.body[:200]}")

    def leak(principal, a):
        for m in markers.get(principal, []):
            if m in a.body:
                return f"answer shows {m!r}"
        return ""

    def judge(key, principal, variant, expected, a, owner_ok=()):
        if expected == "ok":
            good = ok2(a) or a.status == 101 or a.status in owner_ok
            why = leak(principal, a) if ok2(a) else ""
            record(key, principal, variant, "2xx", a, good and not why, why)
        elif expected == "filtered":
            why = leak(principal, a)
            record(key, principal, variant, "2xx without others' data", a,
                   (ok2(a) or a.status == 101) and not why, why, refusal=bool(why))
        elif expected == "noop":
            why = leak(principal, a)
            record(key, principal, variant, "2xx no-op", a, ok2(a) and not why, why)
        else:
            record(key, principal, variant, str(expected), a, a.status == expected, refusal=True)

    def send(method, path, spec, principal, query="", body=None, owner=False):
        token = T.get(principal)
        if spec.get("ws"):
            return upgrade(path + query, token)
        if body is None and method in ("POST", "PATCH", "PUT"):
            body = body_for(spec, principal)
        return call(method, path + query, token, body)

    def expectation(roles, spec, principal, params):
        if principal in UNAUTH:
            return 401
        if ROLE[principal] not in roles:
            return 403
        if principal in spec.get("deny", {}):
            return spec["deny"][principal]
        if ALIAS.get(principal) in spec.get("deny", {}):
            return spec["deny"][ALIAS[principal]]
        if BRAND[principal] != brand:
            return spec.get("rival", 404 if params else "filtered")
        return "ok"

    # ---- Snapshot of what refused writes must not change -----------------------------------------
    volatile = {"stats", "as_of", "available", "reserved", "in_stock", "expires_at",
                "last_joined_at", "remaining", "sold"}

    def strip(v):
        if isinstance(v, dict):
            return {k: strip(x) for k, x in v.items() if k not in volatile}
        if isinstance(v, list):
            return [strip(x) for x in v]
        return v

    def snapshot():
        reads = [("oA", f"/v1/rooms/{F['room']}"), ("oA", f"/v1/rooms/{F['room_public']}"),
                 ("oA", f"/v1/rooms/{F['room']}/pinned"), ("oA", f"/v1/rooms/{F['room']}/products"),
                 ("oA", f"/v1/rooms/{F['room_public']}/products"),
                 ("oA", f"/v1/products/{F['product']}"), ("oA", f"/v1/skus/{F['sku']}"),
                 ("oA", f"/v1/rooms/{F['room']}/invites"), ("vA", "/v1/cart"),
                 ("vA", f"/v1/orders/{F['order']}"), ("vA", f"/v1/orders/{F['order_unpaid']}"),
                 ("fA", f"/v1/associates/{F['aA']}"), ("fA", f"/v1/clients/{F['viewer']}/binding"),
                 ("fA", f"/v1/attributed-orders/{F['order']}"), ("fA", "/v1/finance/rules"),
                 ("oA", "/v1/stores"), ("fA", "/v1/associates")]
        out = {}
        for who, path in reads:
            a = call("GET", path, T[who])
            # Live numbers and stock others reserved for themselves move; nothing else may.
            out[path] = (a.status, json.dumps(strip(a.json() or {}), sort_keys=True))
        flash = need(call("GET", f"/v1/flash-sales/{F['sale']}", ops), "sale")["sale"]
        out["sale"] = json.dumps(strip(flash), sort_keys=True)
        return out

    before = snapshot()

    # ---- The refusals (and the other callers' own cells) ------------------------------------------
    everyone = UNAUTH + list(ROLE)
    for key, method, path, roles, params, spec, fields in routes:
        if not roles:  # public: every caller gets the public answer
            for principal in everyone:
                a = send(method, path, spec, principal)
                want = spec.get("public_status", 200)
                record(key, principal, "", str(want), a, a.status == want)
            continue
        for principal in everyone:
            if principal == spec["owner"]:
                continue
            expected = expectation(roles, spec, principal, params)
            a = send(method, target(path, params, spec, principal, False), spec, principal,
                     spec.get("query", ""))
            judge(key, principal, "", expected, a, spec.get("others_ok", ()))
        for principal, query, body, expected in spec.get("attacks", []):
            a = send(method, target(path, params, spec, principal, False), spec, principal,
                     query, body)
            judge(key, principal, (query + " " + json.dumps(body) if body else query).strip(),
                  expected, a)

    # ---- Confusable identifiers in what a request names (issue 16) -------------------------------
    # Every read route with an identifier in its path, called by its owner with the identifier
    # changed only by surrounding space (refused at the edge, 400), or to its full-width or
    # upper-case form (another identifier: 404, or 400 where it cannot be an id at all). None may
    # answer with the original's data.
    FULL = str.maketrans({c: chr(ord(c) + 0xFEE0) for c in
                          "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-"})
    confusable_cells = 0
    for key, method, path, roles, params, spec, fields in routes:
        if method != "GET" or not params or not roles or spec.get("ws"):
            continue
        owner = spec["owner"]
        for p in params:
            real = F[spec.get("use", {}).get(p, PARAM[p])]
            variants = [("trailing space", real + " ", {400}), ("leading space", " " + real, {400}),
                        ("ideographic space", real + "\u3000", {400}),
                        ("full-width", real.translate(FULL), {400, 403, 404})]
            # Another identifier: unknown (404), not a valid one (400), or not the caller's (403).
            if real.upper() != real:
                variants.append(("upper case", real.upper(), {400, 403, 404}))
            if real.lower() != real:
                variants.append(("lower case", real.lower(), {400, 403, 404}))
            for what, value, allowed in variants:
                out = target(path, params, spec, owner, False, {p: value})
                a = call("GET", out + spec.get("query", ""), T[owner])
                confusable_cells += 1
                # A route that answers an unknown identifier with an empty 200 (a viewer's
                # binding) may do so, without the original's data.
                empty_ok = spec.get("rival") == "filtered" and ok2(a) and real not in a.body
                record(key, owner, f"{p} {what}", "/".join(str(x) for x in sorted(allowed)), a,
                       a.status in allowed or empty_ok, refusal=not empty_ok)

    # List routes filtered by an identity (buyer, associate, brand) given in a look-alike form.
    for who, path, allowed, hidden in [
            ("oA", f"/v1/orders?buyer_id={openid['vA'].upper()}", {200}, openid["vA"]),
            ("oA", f"/v1/orders?buyer_id={urllib.parse.quote(openid['vA'] + ' ')}", {400}, openid["vA"]),
            ("oA", f"/v1/orders?brand_id={upper}", {403}, openid["vA"]),
            ("oA", f"/v1/rooms?brand_id={urllib.parse.quote(brand + ' ')}", {400}, F["room"]),
            ("oA", f"/v1/rooms?brand_id={urllib.parse.quote(brand.translate(FULL))}", {400, 403}, F["room"]),
            # The upper-case twin is a viewer of its own (it may have a binding of its own); the
            # answer never shows viewer A's.
            ("fA", f"/v1/clients/{openid['vA'].upper()}/binding", {200, 404}, openid["vA"]),
            ("fA", f"/v1/commissions?associate_id={urllib.parse.quote(F['aA'] + ' ')}", {400}, F["order"])]:
        a = call("GET", path, T[who])
        confusable_cells += 1
        shown = ok2(a) and hidden in a.body
        # An answer that shows the original's data is a breach whatever its status.
        record("GET " + path.split("?")[0], who, path, "/".join(str(x) for x in sorted(allowed)), a,
               a.status in allowed and not shown, "shows the original's data" if shown else "",
               refusal=shown or 200 not in allowed)

    # ---- Foreign references (issue 16) ------------------------------------------------------------
    # Every write route's body field that holds a reference, given another brand's real id of the
    # same kind by the route's owner: answered as if the id did not exist (404), nothing written.
    KIND = {"room_id": "room", "session_id": "session", "associate_id": "associate",
            "host_associate_id": "associate", "store_id": "store", "product_id": "product",
            "product_ids": "product", "sku_id": "sku", "sale_id": "sale", "share_link_id": "link",
            "invite_token": "invite_token"}

    UNKNOWN = {k: "987654321" for k in R}
    UNKNOWN["invite_token"] = "no-such-invite-token-0000000000"
    # An invite token given by a viewer already admitted is not needed, and not looked at; a
    # product view records that the viewer opened a product, not which (the id is not kept).
    IGNORED_WHEN_UNKNOWN = {"invite_token", "product_id@POST /v1/sessions/{session_id}/product-views"}
    READ_POSTS = {"POST /v1/finance/statements", "POST /v1/finance/statements/csv",
                  "POST /v1/reports/sessions", "POST /v1/reports/sessions/csv"}

    def id_paths(schema_name, depth=0, seen=()):
        """(path, field) of every reference field of a request schema, nested messages included."""
        out = []
        if depth > 3 or schema_name in seen:
            return out
        for name, prop in schemas.get(schema_name, {}).get("properties", {}).items():
            ref = prop.get("$ref") or prop.get("items", {}).get("$ref", "")
            if ref:
                sub = ref.rsplit("/", 1)[-1]
                array = prop.get("type") == "array"
                for path, field in id_paths(sub, depth + 1, seen + (schema_name,)):
                    out.append(([(name, array)] + path, field))
            elif name in KIND:
                out.append(([(name, prop.get("type") == "array")], name))
        return out

    def with_value(body, path, value):
        body = json.loads(json.dumps(body or {}))
        node = body
        for i, (name, array) in enumerate(path):
            last = i == len(path) - 1
            if last:
                node[name] = [value] if array else value
            elif array:
                items = node.get(name) or [{}]
                node[name] = items
                node = items[0]
            else:
                node = node.setdefault(name, {})
        return body

    foreign_cells = 0
    for key, method, path, roles, params, spec, fields in routes:
        if method not in ("POST", "PATCH", "PUT", "DELETE") or not roles or spec.get("ws"):
            continue
        op = doc["paths"][path][method.lower()]
        ref = (op.get("requestBody", {}).get("content", {}).get("application/json", {})
               .get("schema", {}).get("$ref", ""))
        if not ref:
            continue
        # The owner, or a caller of the same standing whose state the snapshot does not hold (a
        # cart add accepted with an ignored link changes that cart).
        owner = spec.get("foreign_as", spec["owner"])
        for field_path, field in id_paths(ref.rsplit("/", 1)[-1]):
            if len(field_path) == 1 and field in params:
                continue  # the path names it: a body naming another is refused as such
            dotted = ".".join(n for n, _ in field_path)
            # "As if it did not exist": the same request naming an id that exists nowhere.
            unknown = call(method, target(path, params, spec, owner, False), T[owner],
                           with_value(body_for(spec, owner), field_path, UNKNOWN[KIND[field]]))
            body = with_value(body_for(spec, owner), field_path, R[KIND[field]])
            a = call(method, target(path, params, spec, owner, False), T[owner], body)
            foreign_cells += 1
            want = {unknown.status}
            # Accepted as unknown (ignored) only where an unknown id is documented as ignored;
            # every other foreign id is refused. A read that takes the id as a filter answers
            # as for an unknown id, with none of the other brand's objects.
            ignored = ok2(a) and (dotted in IGNORED_WHEN_UNKNOWN or f"{dotted}@{key}" in
                                  IGNORED_WHEN_UNKNOWN or key in READ_POSTS) and \
                f'"{R[KIND[field]]}"' not in a.body
            good = a.status == unknown.status and (not ok2(a) or ignored)
            record(key, owner, f"{dotted}=rival", f"{unknown.status} (as an unknown id)", a, good,
                   refusal=not ignored)
    # Commission rules scoped to another brand's room or product.
    for scope, rid in (("RULE_SCOPE_ROOM", R["room"]),):
        a = call("POST", "/v1/finance/rules", fin, {
            "scope": scope, "scope_id": rid, "effective_from": "2020-01-01T00:00:00Z",
            "lines": [{"recipient": "RECIPIENT_ASSOCIATE", "basis_points": 100}]})
        foreign_cells += 1
        record("POST /v1/finance/rules", "fA", f"scope_id={scope}(rival)", "404", a, a.status == 404,
               refusal=True)

    # ---- A private room's pieces (issue 16) -------------------------------------------------------
    # Viewer C was never invited to the private room: every path that touches it is refused, by
    # the room's id, its session's, its sale's or a product read in its context.
    private_cells = 0
    sale_line = {"sku_id": F["sku"], "sale_id": F["sale"], "quantity": "1"}
    for who in ("vC", "vAc"):
        for route_key, method, path, body in [
                ("POST /v1/checkout", "POST", "/v1/checkout",
                 {"idempotency_key": f"p-{who}-1", "address": address, "lines": [sale_line]}),
                ("POST /v1/checkout", "POST", "/v1/checkout",
                 {"idempotency_key": f"p-{who}-2", "address": address, "lines": [{"sku_id": F["sku3"], "quantity": "1"}],
                  "room": {"room_id": F["room"], "session_id": F["session"]}}),
                ("POST /v1/checkout", "POST", "/v1/checkout",
                 {"idempotency_key": f"p-{who}-3", "address": address, "lines": [{"sku_id": F["sku3"], "quantity": "1"}],
                  "room": {"session_id": F["session"]}}),
                ("POST /v1/cart/items", "POST", "/v1/cart/items", {"item": sale_line}),
                ("POST /v1/cart/items", "POST", "/v1/cart/items",
                 {"item": {"sku_id": F["sku"], "quantity": "1", "room": {"room_id": F["room"]}}}),
                ("GET /v1/flash-sales/{sale_id}", "GET", f"/v1/flash-sales/{F['sale']}", None),
                ("GET /v1/products/{product_id}", "GET", f"/v1/products/{F['product']}?room_id={F['room']}", None),
                ("GET /v1/skus/{sku_id}", "GET", f"/v1/skus/{F['sku']}?room_id={F['room']}", None),
                ("POST /v1/sessions/{session_id}/product-views", "POST",
                 f"/v1/sessions/{F['session']}/product-views", {"product_id": F["product"]})]:
            a = call(method, path, T[who], body)
            private_cells += 1
            record(route_key, who, "private room " + json.dumps(body or path)[:80], "403", a,
                   a.status == 403, refusal=True)
    # Associates invite their own clients to a room ops opened to them, within the quota.
    opened = need(call("POST", "/v1/rooms", ops, {
        "title": f"Authz associates {run_id}", "scheduled_start": "2026-01-01T00:00:00Z",
        "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"],
        "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN",
        "associate_invites": {"enabled": True, "quota_per_associate": 2}}), "opened room")["room"]["id"]
    for who, body, want in [("aA", {"count": 2, "cohort": "aA clients"}, 200),
                            ("aA", {"count": 1}, 429),  # the quota is spent
                            ("aB", {"count": 1, "associate_id": F["aA"]}, 403),  # not on A's behalf
                            ("aB", {"count": 1, "associate_id": R["associate"]}, 403),
                            ("aR", {"count": 1}, 404)]:  # another brand's associate: unknown room
        a = call("POST", f"/v1/rooms/{opened}/invites", T[who], body)
        private_cells += 1
        record("POST /v1/rooms/{room_id}/invites", who, "associate invites " + json.dumps(body), str(want),
               a, a.status == want and (want != 429 or '"LIMIT_REACHED"' in a.body), refusal=want != 200)
    listed = call("GET", f"/v1/rooms/{opened}/invites", T["aB"])
    private_cells += 1
    sees_a = '"associate_id":"' + F["aA"] + '"' in listed.body.replace(" ", "")
    record("GET /v1/rooms/{room_id}/invites", "aB", "associate sees only their own", "2xx, none of A's",
           listed, ok2(listed) and not sees_a, "shows A's invites" if sees_a else "", refusal=sees_a)
    # A hold for a client who is not invited to the sale's private room.
    a = call("POST", f"/v1/flash-sales/{F['sale']}/holds", T["aA"],
             {"client_id": openid["vC"], "quantity": "1", "ttl_seconds": 600})
    private_cells += 1
    record("POST /v1/flash-sales/{sale_id}/holds", "aA", "client not invited", "403", a,
           a.status == 403, refusal=True)

    after = snapshot()
    for k in before:
        if before[k] != after[k]:
            failures.append(f"a refused request changed {k}:\n  before {before[k]}\n  after  {after[k]}")

    # ---- The positive controls: reads first, then writes in document order -----------------------
    ordered = [r for r in routes if r[1] == "GET"] + [r for r in routes if r[1] != "GET"]
    for key, method, path, roles, params, spec, fields in ordered:
        if not roles:
            continue
        owner = spec["owner"]
        a = send(method, target(path, params, spec, owner, True), spec, owner,
                 spec.get("query", ""))
        judge(key, owner, "owner", "ok", a, spec.get("owner_ok", set()))

    # ---- Mass assignment ------------------------------------------------------------------------
    extras = {"price_fen": "1", "unit_price_fen": "1", "status": "ORDER_STATUS_PAID",
              "associate_id": F["aB"], "commission_rate_bp": 10000, "rate": 10000,
              "buyer_id": openid["vB"], "viewer_id": openid["vB"], "openid": openid["vB"],
              "brand_id": rival, "role": "ops", "subject": "ops-anna"}
    # Legitimate fields with a caller-chosen value: each has its own check below.
    legit = {("POST /v1/rooms", "brand_id"), ("POST /v1/products", "brand_id"),
             ("POST /v1/reports/sessions", "brand_id"), ("POST /v1/reports/sessions/csv", "brand_id"),
             ("POST /v1/login", "brand_id"), ("POST /v1/rooms/{room_id}/invites", "associate_id"),
             ("POST /v1/share-links", "associate_id"), ("POST /v1/clients/{viewer_id}/reassign", "associate_id"),
             ("PATCH /v1/associates/{associate_id}", "status"),
             ("POST /v1/rooms/{room_id}/mutes", "viewer_id"), ("POST /v1/bans", "viewer_id")}
    RAW_CALLBACKS = {"POST /v1/payments/wechat/notify", "POST /v1/stream/local/{secret}/{callback}",
                     "POST /v1/stream/tencent"}
    mass = 0
    for key, method, path, roles, params, spec, fields in routes:
        # The raw callbacks (WeChat Pay, the streaming server) bind no JSON: their bodies go to a
        # verifier, which refuses what is not theirs (their own cells above).
        if method not in ("POST", "PATCH", "PUT") or spec.get("ws") or key in RAW_CALLBACKS:
            continue
        owner = spec["owner"]
        for field, value in extras.items():
            if field in fields and field not in params:
                if (key, field) not in legit:
                    failures.append(f"mass assignment: {key} takes {field}; no check covers it")
                continue
            body = dict(body_for(spec, owner) or {})
            body[field] = value
            a = call(method, target(path, params, spec, owner, True), T.get(owner), body)
            mass += 1
            good = a.status == 400 and field in a.body
            record(key, owner, f"+{field}", "400 naming the field", a, good)
    # The legitimate ones: a brand other than the token's is refused (403).
    for key, who, path, body in [
            ("POST /v1/rooms", "oA", "/v1/rooms", {"title": "x", "brand_id": rival, "scheduled_start": "2026-01-01T00:00:00Z"}),
            ("POST /v1/products", "oA", "/v1/products", {"name": "x", "brand_id": rival, "list_price": {"amount_fen": "1", "currency": "CNY"}, "skus": [{"sku_code": "Z", "on_hand": "1"}]}),
            ("POST /v1/reports/sessions", "oA", "/v1/reports/sessions", {"brand_id": rival, "from": iso(now - timedelta(days=1)), "to": iso(now)}),
            ("POST /v1/reports/sessions/csv", "fA", "/v1/reports/sessions/csv", {"brand_id": rival, "from": iso(now - timedelta(days=1)), "to": iso(now)})]:
        a = call("POST", path, T[who], body)
        mass += 1
        record(key, who, "+brand_id(rival)", "403", a, a.status == 403)
    # Muting and banning name a viewer, and act within the caller's brand only: another brand's
    # ops banning viewer A (and muting them in a room of that brand's) leaves A free to comment here.
    a = call("POST", "/v1/bans", T["oR"], {"viewer_id": openid["vA"], "reason": "rival"})
    mass += 1
    record("POST /v1/bans", "oR", "+viewer_id(another brand's viewer)", "2xx", a, ok2(a))
    a = call("POST", f"/v1/rooms/{F['room']}/mutes", T["oR"],
             {"viewer_id": openid["vA"], "duration_seconds": 600, "reason": "rival"})
    mass += 1
    record("POST /v1/rooms/{room_id}/mutes", "oR", "+viewer_id(another brand's room)", "404", a,
           a.status == 404)
    a = call("POST", f"/v1/rooms/{F['room']}/comments", T["vA"],
             {"client_id": "after-rival-ban", "text": "still here"})
    mass += 1
    record("POST /v1/bans", "vA", "comment after another brand's ban", "2xx", a, ok2(a))
    # Login for another brand than the mini-program's: refused, no token.
    a = call("POST", "/v1/login", body={"code": f"ve{run_id}", "brand_id": rival})
    mass += 1
    record("POST /v1/login", "anon", "+brand_id(rival)", "400", a, a.status == 400 and "token" not in a.body)
    # Reassigning a client to an associate that is not the brand's: refused.
    a = call("POST", f"/v1/clients/{F['viewer']}/reassign", ops, {"associate_id": "999999999"})
    mass += 1
    record("POST /v1/clients/{viewer_id}/reassign", "oA", "+associate_id(unknown)", "404", a, a.status in (400, 404))
    # Associates: status is ops' to set; an associate cannot set it (role) -- covered by the matrix.
    # Checkout: the price comes from the catalog, the buyer from the token, and a bound client's
    # order stays with the bound associate whatever associate the body claims.
    sku_price = need(call("GET", f"/v1/skus/{F['sku3']}", T["vA"]), "sku")["sku"]
    o = need(call("POST", "/v1/checkout", T["vC"], {
        "idempotency_key": "mass-c1", "lines": [{"sku_id": F["sku3"], "quantity": "1"}],
        "address": address, "attribution": {"channel": "CHANNEL_SHARE_LINK", "associate_id": F["aB"]}}),
        "checkout")["order"]
    mass += 1
    want_fen = (sku_price.get("price") or {}).get("amount_fen") or "100000"
    if o["total"]["amount_fen"] != want_fen or o.get("buyer_id") != openid["vC"]:
        failures.append(f"mass assignment: checkout total {o['total']} buyer {o.get('buyer_id')}")
    cells.append(("POST /v1/checkout", "vC", "price/buyer", "catalog price, token buyer", 200, True, False))
    bound = need(call("POST", "/v1/checkout", T["vA"], {
        "idempotency_key": "mass-a1", "lines": [{"sku_id": F["sku3"], "quantity": "1"}],
        "address": address, "room": {"room_id": F["room"], "session_id": F["session"]},
        "attribution": {"channel": "CHANNEL_SHARE_LINK", "associate_id": F["aB"]}}), "checkout")["order"]["id"]
    need(call("POST", f"/v1/orders/{bound}/sandbox-pay", T["vA"]), "pay")
    credited = None
    for _ in range(100):
        a = call("GET", f"/v1/attributed-orders/{bound}", fin)
        if ok2(a):
            credited = a.json()["order"].get("associate_id")
            break
        time.sleep(0.1)
    mass += 1
    binding = need(call("GET", f"/v1/clients/{F['viewer']}/binding", fin), "binding")
    bound_to = (binding.get("binding") or {}).get("associate_id")
    ok = credited == bound_to and credited != F["aB"]
    cells.append(("POST /v1/checkout", "vA", "+attribution.associate_id(B)", "bound associate", 200, ok, not ok))
    if not ok:
        failures.append(f"mass assignment: a bound client's order claiming associate B was credited to "
                        f"{credited} (bound to {bound_to})")

    # ---- Secrets ---------------------------------------------------------------------------------
    secrets = {"LC_SESSION_SECRET": secret, "LC_INTERNAL_SECRET": os.environ["LC_INTERNAL_SECRET"],
               "WeChat session key": os.environ["LC_AUTHZ_WECHAT_SESSION_KEY"],
               "WeChat app secret": os.environ["LC_AUTHZ_WECHAT_APP_SECRET"],
               "APIv3 key": os.environ["LC_AUTHZ_APIV3_KEY"]}
    for name, token in T.items():
        if token and token.count(".") == 2:
            secrets[f"signature of {name}'s token"] = token.rsplit(".", 1)[1]
    for who in ("aA", "aB"):
        secrets[f"invite token of {who}"] = inv[who]["token"]
    leaked = 0
    for what, text in RESPONSES:
        for name, value in secrets.items():
            # A token's signature appears legitimately in the login answer that hands it out.
            if name.startswith("signature") or name.startswith("invite"):
                continue
            if value and value in text:
                leaked += 1
                failures.append(f"secret {name} in the answer to {what}")
    with open(secrets_out, "w") as f:
        for value in secrets.values():
            f.write(value + "\n")

    routes_n = len({r[0] for r in routes})
    unauthorised = sum(1 for c in cells if c[6])
    print(f"principals={len(everyone)} mass_assignment_cells={mass} "
          f"owner_2xx={sum(1 for c in cells if c[2] == 'owner' and 200 <= c[4] < 300 or c[2] == 'owner' and c[4] == 101)} "
          f"owner_non_auth_error={sum(1 for c in cells if c[2] == 'owner' and not (200 <= c[4] < 300 or c[4] == 101))} "
          f"seconds={time.monotonic() - started:.1f}")
    for f in failures:
        print("FAIL:", f)
    if os.environ.get("LC_AUTHZ_DUMP"):
        for c in cells:
            print("CELL", *c)
    print(f"dimensions confusable_cells={confusable_cells} foreign_reference_cells={foreign_cells} "
          f"private_room_cells={private_cells}")
    print(f"RESULT cells={len(cells)} routes={routes_n} unauthorised_successes={unauthorised} "
          f"secrets_leaked={leaked}")
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "stub":
        run_stub(*sys.argv[2:5])
    else:
        sys.exit(main_run(*sys.argv[2:7]))
