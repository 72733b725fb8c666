#!/usr/bin/env python3
"""The fault harness's client side (standard library only), driven by tests/chaos/run.

  chaos.py setup FIXTURE            a brand: products, a live room, associates, share links,
                                    a commission rule, viewers (tokens) -> FIXTURE (JSON)
  chaos.py sale FIXTURE PHASE       a fresh product for the phase: a flash SKU with a flash sale of
                                    LC_CHAOS_FLASH_STOCK units (default 30) and a regular SKU of
                                    LC_CHAOS_REGULAR_STOCK units (default 20), both attached
  chaos.py load FIXTURE PHASE SECONDS ACKS
                                    N viewer threads through the gateway: cart, flash buy or
                                    regular checkout, sandbox-pay, some cancels, some unpaid, some
                                    ops refunds. Every answer the gateway acknowledged (2xx with an
                                    order) is written to ACKS (JSON). Failed calls are retried with
                                    the same idempotency key.
  chaos.py probe FIXTURE SINCE ACKS a checkout + payment every 0.25 s until one succeeds; prints the
                                    seconds from SINCE (epoch, the fault's end) to that success
  chaos.py touch FIXTURE            a viewer reads every phase's flash sale (lost stock is rebuilt
                                    on its next read)
  chaos.py settled FIXTURE          exit 0 once nothing is in flight (no checkout or unpaid order,
                                    no pending outbox message, no live reservation)
  chaos.py check FIXTURE NAME RECOVER_S ACKS...
                                    the invariants on MySQL and Redis; prints RESULT and exits 1 if
                                    one fails

Environment: LC_CHAOS_GATEWAY (host:port), LC_CHAOS_ADMIN (lc-admin), LC_CHAOS_MYSQL
(host:port:user:password:database), LC_CHAOS_REDIS (host:port), LC_CHAOS_VIEWERS (default 16).
"""
import http.client
import json
import os
import random
import subprocess
import sys
import threading
import time

GATEWAY = os.environ.get("LC_CHAOS_GATEWAY", "127.0.0.1:8080")
PAID_STATES = (2, 3, 4, 7, 8)  # PAID FULFILLED COMPLETED PARTIALLY_REFUNDED REFUNDED
RETRYABLE = {0, 408, 429, 499, 500, 502, 503, 504}


def log(*args):
    print(time.strftime("[%H:%M:%S]"), *args, file=sys.stderr, flush=True)


class Client:
    """One keep-alive connection to the gateway; reconnects after any error."""

    def __init__(self, token=None, timeout=10):
        self.token = token
        self.timeout = timeout
        self.conn = None
        self.retry_after = None

    def call(self, method, path, body=None, token=None):
        """(status, json or None). Status 0: no answer (connection refused, reset, timeout)."""
        headers = {}
        tok = token or self.token
        if tok:
            headers["Authorization"] = "Bearer " + tok
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        host, port = GATEWAY.rsplit(":", 1)
        try:
            if self.conn is None:
                self.conn = http.client.HTTPConnection(host, int(port), timeout=self.timeout)
            self.conn.request(method, path, data, headers)
            resp = self.conn.getresponse()
            raw = resp.read()
            try:
                parsed = json.loads(raw) if raw else {}
            except ValueError:
                parsed = {"raw": raw[:200].decode("utf-8", "replace")}
            self.retry_after = resp.getheader("Retry-After")
            if resp.getheader("Connection", "").lower() == "close":
                self.close()
            return resp.status, parsed
        except (OSError, http.client.HTTPException):
            self.close()
            return 0, None

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    def must(self, method, path, body=None, token=None, tries=100):
        for _ in range(tries):
            status, out = self.call(method, path, body, token)
            if 200 <= status < 300:
                return out
            if status not in RETRYABLE:
                raise SystemExit(f"setup: {method} {path} answered {status}: {out}")
            time.sleep(0.2)
        raise SystemExit(f"setup: {method} {path} kept failing ({status}: {out})")


def admin_token(role, brand, subject):
    out = subprocess.run([os.environ["LC_CHAOS_ADMIN"], "token", "issue", "--role", role,
                          "--brand", brand, "--subject", subject, "--ttl-hours", "6"],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)["token"]


def utc(offset_s=0):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset_s))


def load_fixture(path):
    with open(path) as f:
        return json.load(f)


def save_fixture(path, fx):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(fx, f, indent=1)
    os.replace(tmp, path)


ADDRESS = {"recipient": "Chaos", "phone": "13800000000", "province": "Shanghai",
           "city": "Shanghai", "district": "Huangpu", "street": "1 Bund", "postal_code": "200000"}


def cmd_setup(path):
    brand = os.environ.get("LC_CHAOS_BRAND") or f"chaos-{int(time.time())}-{random.randint(0, 9999)}"
    viewers = int(os.environ.get("LC_CHAOS_VIEWERS", "16"))
    ops = admin_token("ops", brand, "ops-chaos")
    fin = admin_token("finance", brand, "fin-chaos")
    c = Client(ops)
    store = c.must("POST", "/v1/stores", {"name": "Chaos store", "city": "Shanghai"})["store"]["id"]
    associates = []
    for name in ("Lin", "Chen", "Wang"):
        a = c.must("POST", "/v1/associates", {"store_id": store, "name": name})["associate"]["id"]
        associates.append(a)
    c.must("POST", "/v1/finance/rules", {
        "scope": "RULE_SCOPE_BRAND", "effective_from": utc(-86400),
        "lines": [{"recipient": "RECIPIENT_ASSOCIATE", "basis_points": 500},
                  {"recipient": "RECIPIENT_STORE", "basis_points": 200},
                  {"recipient": "RECIPIENT_ECOMMERCE_TEAM", "basis_points": 50}]}, token=fin)
    room = c.must("POST", "/v1/rooms", {
        "title": "Chaos sale", "scheduled_start": utc(), "visibility": "VISIBILITY_PUBLIC",
        "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE",
        "format": "FORMAT_SALES_DRIVEN"})["room"]["id"]
    product = c.must("POST", "/v1/products", {
        "name": "Everyday tote", "category": "Handbags",
        "list_price": {"amount_fen": "129900", "currency": "CNY"},
        "skus": [{"sku_code": "TOTE-" + brand[-12:], "on_hand": "100000"}]})["product"]
    c.must("POST", f"/v1/products/{product['id']}/activate")
    c.must("POST", f"/v1/rooms/{room}/products", {"product_id": product["id"]})
    c.must("POST", f"/v1/rooms/{room}/live")
    links = []
    for a in associates:
        tok = admin_token("associate", brand, a)
        link = c.must("POST", "/v1/share-links", {
            "target": "SHARE_TARGET_ROOM", "room_id": room,
            "share_channel": "SHARE_CHANNEL_PRIVATE_CHAT"}, token=tok)["link"]["id"]
        links.append(link)
    fx = {"brand": brand, "ops": ops, "finance": fin, "room": room, "store": store,
          "associates": associates, "big_sku": product["skus"][0]["id"],
          "big_on_hand": 100000, "viewers": [], "phases": {}}
    for i in range(viewers + 1):  # the last one is the probe
        code = f"v{i}" if i < viewers else "probe"
        v = c.must("POST", "/v1/login", {"code": code, "brand_id": brand}, token="")
        token = v["token"]
        joined = c.must("POST", f"/v1/rooms/{room}/join", {"device_id": "phone-" + code},
                        token=token)
        attribution = None
        if i % 4 != 3:  # three in four come through an associate's share link
            opened = c.must("POST", f"/v1/share-links/{links[i % 3]}/open", {}, token=token)
            attribution = opened.get("attribution")
        fx["viewers"].append({"code": code, "subject": v["subject"], "token": token,
                              "session": joined["session_id"], "attribution": attribution})
    save_fixture(path, fx)
    log(f"setup: brand {brand}, room {room}, {viewers} viewers, {len(associates)} associates")


def cmd_sale(path, phase):
    fx = load_fixture(path)
    flash_stock = int(os.environ.get("LC_CHAOS_FLASH_STOCK", "30"))
    regular_stock = int(os.environ.get("LC_CHAOS_REGULAR_STOCK", "20"))
    c = Client(fx["ops"])
    tag = f"{phase}-{int(time.time()) % 100000}"
    product = c.must("POST", "/v1/products", {
        "name": f"Piece {phase}", "category": "Fine jewellery",
        "list_price": {"amount_fen": "480000", "currency": "CNY"},
        "skus": [{"sku_code": f"F-{tag}", "on_hand": "100000"},
                 {"sku_code": f"R-{tag}", "on_hand": str(regular_stock), "price": {
                     "amount_fen": "99900", "currency": "CNY"}}]})["product"]
    c.must("POST", f"/v1/products/{product['id']}/activate")
    c.must("POST", f"/v1/rooms/{fx['room']}/products", {"product_id": product["id"]})
    flash_sku, regular_sku = product["skus"][0]["id"], product["skus"][1]["id"]
    sale = c.must("POST", f"/v1/rooms/{fx['room']}/flash-sales", {
        "sku_id": flash_sku, "sale_price": {"amount_fen": "199900", "currency": "CNY"},
        "total_stock": str(flash_stock), "per_buyer_limit": 3, "starts_at": utc(),
        "ends_at": utc(3 * 3600)})["sale"]["id"]
    fx = load_fixture(path)
    fx["phases"][phase] = {"sale": sale, "flash_sku": flash_sku, "flash_stock": flash_stock,
                           "regular_sku": regular_sku, "regular_on_hand": regular_stock}
    save_fixture(path, fx)
    log(f"sale: phase {phase}: flash sale {sale} of {flash_stock} units on SKU {flash_sku}, "
        f"regular SKU {regular_sku} of {regular_stock}")


class Acks:
    def __init__(self):
        self.lock = threading.Lock()
        self.orders = []     # {"order_id", "key", "buyer", "lines"}
        self.payments = []   # order ids answered PAID
        self.cancels = []
        self.refunds = []    # {"order_id", "refund_id"}
        self.counts = {}
        self.samples = {}

    def count(self, what):
        with self.lock:
            self.counts[what] = self.counts.get(what, 0) + 1

    def sample(self, what, message):
        with self.lock:
            seen = self.samples.setdefault(what, {})
            if message in seen or len(seen) < 5:
                seen[message] = seen.get(message, 0) + 1

    def add(self, kind, item):
        with self.lock:
            getattr(self, kind).append(item)

    def dump(self, path):
        with self.lock:
            data = {"orders": self.orders, "payments": self.payments, "cancels": self.cancels,
                    "refunds": self.refunds, "counts": self.counts,
                    "samples": self.samples}
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)


def retry_until(stop_at):
    """How long one call is retried: 25 s past the later of now and the load's end."""
    return max(stop_at, time.time()) + 25


def retrying(client, acks, what, method, path, body, deadline, token=None):
    """Calls until a definitive answer (2xx or a 4xx that is not a retryable one); the same body
    (so the same idempotency key) every time. Returns (status, out)."""
    attempt = 0
    while True:
        status, out = client.call(method, path, body, token)
        code = (out or {}).get("code", "") if isinstance(out, dict) else ""
        # A 429 without Retry-After is the per-buyer limit of a flash sale: an answer.
        limited = status == 429 and client.retry_after is not None
        if (status not in RETRYABLE or (status == 429 and not limited)) and not (
                status == 409 and code == "ABORTED"):
            return status, out
        acks.count(f"{what}.retry.{status}")
        acks.sample(f"{what}.{status}", (out or {}).get("message", "") if isinstance(out, dict)
                    else "no answer")
        attempt += 1
        if time.time() > deadline:
            acks.count(f"{what}.gave_up.{status}")
            return status, out
        time.sleep(min(0.1 * attempt, 1.0))


def checkout_body(viewer, key, lines, room):
    body = {"idempotency_key": key, "lines": lines, "address": ADDRESS,
            "room": {"room_id": room, "session_id": viewer["session"]}}
    if viewer.get("attribution"):
        body["attribution"] = viewer["attribution"]
    return body


def viewer_loop(fx, phase, viewer, index, stop_at, acks, rng):
    c = Client(viewer["token"])
    ops = Client(fx["ops"])
    p = fx["phases"][phase]
    n = 0
    while time.time() < stop_at:
        n += 1
        roll = rng.random()
        if roll < 0.45:
            lines = [{"sku_id": p["flash_sku"], "sale_id": p["sale"], "quantity": "1"}]
            kind = "flash"
        elif roll < 0.8:
            lines = [{"sku_id": p["regular_sku"], "quantity": str(rng.choice((1, 1, 2)))}]
            kind = "regular"
        else:
            lines = [{"sku_id": fx["big_sku"], "quantity": "1"}]
            kind = "big"
        item = dict(lines[0])
        item["room"] = {"room_id": fx["room"], "session_id": viewer["session"]}
        status, _ = c.call("POST", "/v1/cart/items", {"item": item})
        acks.count(f"cart.{status}")
        key = f"{phase}-{viewer['code']}-{n}"
        # Retries of one checkout go on for up to 60 s past the load's end (a fault may be on).
        status, out = retrying(c, acks, "checkout", "POST", "/v1/checkout",
                               checkout_body(viewer, key, lines, fx["room"]), retry_until(stop_at))
        acks.count(f"checkout.{kind}.{status}")
        if not (200 <= status < 300) or not out.get("order", {}).get("id"):
            time.sleep(rng.uniform(0.05, 0.2))
            continue
        order = out["order"]
        acks.add("orders", {"order_id": order["id"], "key": key, "buyer": viewer["subject"],
                            "kind": kind, "lines": lines, "total": order["total"]["amount_fen"],
                            "t": round(time.time(), 3)})
        roll = rng.random()
        if roll < 0.1:
            status, _ = retrying(c, acks, "cancel", "POST", f"/v1/orders/{order['id']}/cancel",
                                 {}, retry_until(stop_at))
            acks.count(f"cancel.{status}")
            if 200 <= status < 300:
                acks.add("cancels", order["id"])
            continue
        if roll < 0.2:
            continue  # left unpaid: the order expires after the payment window
        status, out = retrying(c, acks, "pay", "POST", f"/v1/orders/{order['id']}/sandbox-pay",
                               {}, retry_until(stop_at))
        acks.count(f"pay.{status}")
        if 200 <= status < 300 and out.get("order", {}).get("status") == "ORDER_STATUS_PAID":
            acks.add("payments", order["id"])
            if rng.random() < 0.12:
                refund_id = f"r-{order['id']}"
                body = {"refund_id": refund_id, "reason": "chaos"}
                if len(lines) == 1 and int(lines[0]["quantity"]) > 1:
                    body["lines"] = [{"line_id": "1", "quantity": "1"}]  # a partial refund
                status, _ = retrying(ops, acks, "refund", "POST",
                                     f"/v1/orders/{order['id']}/refund", body, retry_until(stop_at))
                acks.count(f"refund.{status}")
                if 200 <= status < 300:
                    acks.add("refunds", {"order_id": order["id"], "refund_id": refund_id})
        time.sleep(rng.uniform(0.02, 0.1))


def cmd_load(path, phase, seconds, out_path):
    fx = load_fixture(path)
    acks = Acks()
    stop_at = time.time() + float(seconds)
    threads = []
    for i, v in enumerate(fx["viewers"][:-1]):
        rng = random.Random(f"{phase}-{i}")
        t = threading.Thread(target=viewer_loop, args=(fx, phase, v, i, stop_at, acks, rng),
                             daemon=True)
        t.start()
        threads.append(t)
    while any(t.is_alive() for t in threads):
        acks.dump(out_path)  # written as it goes: a killed driver still leaves its acks
        time.sleep(0.5)
    acks.dump(out_path)
    c = acks.counts
    log(f"load {phase}: {len(acks.orders)} orders, {len(acks.payments)} paid, "
        f"{len(acks.cancels)} cancelled, {len(acks.refunds)} refunds acknowledged; "
        f"retries {sum(v for k, v in c.items() if '.retry.' in k)}, gave up "
        f"{sum(v for k, v in c.items() if '.gave_up.' in k)}")


def cmd_probe(path, since, out_path):
    fx = load_fixture(path)
    viewer = fx["viewers"][-1]
    c = Client(viewer["token"], timeout=3)
    acks = Acks()
    since = float(since)
    deadline = time.time() + 180
    n = 0
    while time.time() < deadline:
        n += 1
        key = f"probe-{int(since)}-{n}"
        lines = [{"sku_id": fx["big_sku"], "quantity": "1"}]
        item = {"sku_id": fx["big_sku"], "quantity": "1", "room": {"room_id": fx["room"]}}
        status, out = c.call("POST", "/v1/cart/items", {"item": item})  # Redis
        if not 200 <= status < 300:
            time.sleep(0.25)
            continue
        status, out = c.call("POST", "/v1/checkout", checkout_body(viewer, key, lines, fx["room"]))
        if 200 <= status < 300:
            order = out["order"]
            acks.add("orders", {"order_id": order["id"], "key": key, "buyer": viewer["subject"],
                                "kind": "probe", "lines": lines,
                                "total": order["total"]["amount_fen"]})
            status, out = c.call("POST", f"/v1/orders/{order['id']}/sandbox-pay", {})
            if 200 <= status < 300 and out["order"]["status"] == "ORDER_STATUS_PAID":
                acks.add("payments", order["id"])
                acks.dump(out_path)
                print(f"{max(0.0, time.time() - since):.1f}")
                return
        acks.dump(out_path)
        time.sleep(0.25)
    acks.dump(out_path)
    print("-1")


# ---- Reading MySQL and Redis ---------------------------------------------------------------------

def sql(query):
    host, port, user, password, db = os.environ["LC_CHAOS_MYSQL"].split(":")
    for attempt in range(30):
        r = subprocess.run(["mariadb", "-h", host, "-P", port, f"-u{user}", f"-p{password}", db,
                            "-N", "-B", "-e", query], capture_output=True, text=True)
        if r.returncode == 0:
            return [line.split("\t") for line in r.stdout.splitlines()]
        time.sleep(1)
    raise SystemExit(f"mariadb: {r.stderr.strip()}")


def redis(*args):
    host, port = os.environ["LC_CHAOS_REDIS"].split(":")
    r = subprocess.run(["redis-cli", "-h", host, "-p", port, "--no-raw", *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout


def redis_lines(*args):
    host, port = os.environ["LC_CHAOS_REDIS"].split(":")
    r = subprocess.run(["redis-cli", "-h", host, "-p", port, *args],
                       capture_output=True, text=True, timeout=30)
    return r.stdout.splitlines()


def q(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "''") + "'"


def in_flight(brand):
    b = q(brand)
    return {
        "checkouts and unpaid orders": sql(
            f"SELECT COUNT(*) FROM orders WHERE brand_id = {b} AND status IN (0, 1)")[0][0],
        "pending outbox messages": sql(
            f"SELECT COUNT(*) FROM order_outbox WHERE brand_id = {b} AND status = 0")[0][0],
        "live flash reservations": sql(
            f"SELECT COUNT(*) FROM flash_reservations WHERE brand_id = {b} AND status = 1")[0][0],
        "live SKU reservations": sql(
            f"SELECT COUNT(*) FROM sku_reservations WHERE brand_id = {b} AND state = 1")[0][0],
    }


def cmd_settled(path):
    fx = load_fixture(path)
    left = {k: v for k, v in in_flight(fx["brand"]).items() if v != "0"}
    if left:
        print(", ".join(f"{k}: {v}" for k, v in left.items()))
        sys.exit(1)


def cmd_touch(path):
    """Every phase's sale read once by a viewer (what a viewer's screen does): a sale whose live
    stock Redis lost is rebuilt from MySQL on its next read or reserve (the catalog's self-healing)."""
    fx = load_fixture(path)
    c = Client(fx["viewers"][-1]["token"])
    for p in fx["phases"].values():
        c.call("GET", f"/v1/flash-sales/{p['sale']}")


def flash_redis(sale_id, buckets):
    """Sum of avail and sold over the sale's buckets, whether every bucket is loaded, and the
    reservation entries: id -> (state, quantity, expires_ms)."""
    avail = sold = 0
    loaded = 0
    entries = {}
    for b in range(buckets):
        prefix = f"lc:{{fs:{sale_id}:{b}}}:"
        a = redis_lines("GET", prefix + "avail")
        if a and a[0] != "":
            loaded += 1
            avail += int(a[0])
        s = redis_lines("GET", prefix + "sold")
        if s and s[0] != "":
            sold += int(s[0])
        res = redis_lines("HGETALL", prefix + "res")
        exp = redis_lines("ZRANGE", prefix + "exp", "0", "-1", "WITHSCORES")
        expiry = {exp[i]: float(exp[i + 1]) for i in range(0, len(exp) - 1, 2)}
        for i in range(0, len(res) - 1, 2):
            fields = res[i + 1].split(":")
            entries[res[i]] = (fields[0], int(fields[1]), expiry.get(res[i]))
    return avail, sold, loaded == buckets, loaded, entries


def cmd_check(path, name, recover_s, ack_paths):
    fx = load_fixture(path)
    brand = q(fx["brand"])
    problems = []
    # Every acknowledgement so far is checked again; "lost" counts this fault's own (the files
    # acks-NAME.json and probe-NAME.json), or all of them for a name with no files of its own.
    acked_orders, acked_paid, acked_refunds = {}, set(), []
    own = {f"acks-{name}.json", f"probe-{name}.json"}
    if not any(os.path.basename(p) in own for p in ack_paths):
        own = {os.path.basename(p) for p in ack_paths}
    mine = set()  # ("order" | "paid" | "refund", id) acknowledged during this fault
    flash_times = []
    for p in ack_paths:
        if not os.path.exists(p):
            continue
        with open(p) as f:
            a = json.load(f)
        is_own = os.path.basename(p) in own
        for o in a["orders"]:
            acked_orders[o["order_id"]] = o
            if is_own:
                mine.add(("order", o["order_id"]))
                if o.get("kind") == "flash" and "t" in o:
                    flash_times.append(o["t"])
        acked_paid.update(a["payments"])
        acked_refunds += a["refunds"]
        if is_own:
            mine.update(("paid", x) for x in a["payments"])
            mine.update(("refund", r["order_id"]) for r in a["refunds"])
    earlier = 0

    orders = {}
    for oid, status, total, refunded in sql(
            f"SELECT id, status, total_fen, refunded_fen FROM orders WHERE brand_id = {brand}"):
        orders[oid] = (int(status), int(total), int(refunded))
    # 1. Acknowledged but lost: an order the gateway answered with that is not in MySQL, a payment
    # acknowledged whose order is not paid (or has no payment row), a refund with no refund row.
    lost = 0

    def lose(kind, key, text):
        nonlocal lost, earlier
        if (kind, key) in mine:
            lost += 1
            problems.append(text)
        else:
            earlier += 1
            problems.append(text + " (acknowledged during an earlier fault)")

    for oid in acked_orders:
        if oid not in orders:
            lose("order", oid, f"order {oid} was acknowledged but is not in MySQL")
    payment_rows = {r[0]: int(r[1]) for r in sql(
        f"SELECT order_id, COUNT(*) FROM payments WHERE brand_id = {brand} GROUP BY order_id")}
    for oid in acked_paid:
        if oid in orders and (orders[oid][0] not in PAID_STATES or payment_rows.get(oid) != 1):
            lose("paid", oid, f"order {oid}: payment acknowledged, but status {orders[oid][0]}, "
                 f"{payment_rows.get(oid, 0)} payment rows")
    refund_rows = {(r[0], r[1]) for r in sql(
        f"SELECT order_id, refund_key FROM refunds WHERE brand_id = {brand} AND status = 2")}
    for r in acked_refunds:
        if (r["order_id"], r["refund_id"]) not in refund_rows:
            lose("refund", r["order_id"], f"refund {r['refund_id']} of order {r['order_id']} "
                 "acknowledged, not recorded as succeeded")

    # 2. Oversold: paid units per flash sale and per regular SKU against the stock.
    oversold = 0
    leaked = 0
    parked = 0
    parked_until = 0.0
    paid_in = ",".join(str(s) for s in PAID_STATES)
    flash_paid = {r[0]: int(r[1]) for r in sql(
        f"SELECT l.sale_id, SUM(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id "
        f"WHERE o.brand_id = {brand} AND o.status IN ({paid_in}) AND l.sale_id IS NOT NULL "
        f"GROUP BY l.sale_id")}
    sku_paid = {r[0]: int(r[1]) for r in sql(
        f"SELECT l.sku_id, SUM(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id "
        f"WHERE o.brand_id = {brand} AND o.status IN ({paid_in}) AND l.sale_id IS NULL "
        f"GROUP BY l.sku_id")}
    now_ms = time.time() * 1000
    for phase, p in fx["phases"].items():
        sale = p["sale"]
        paid = flash_paid.get(sale, 0)
        total, buckets = (int(x) for x in sql(
            f"SELECT total_stock, buckets FROM flash_sales WHERE id = {int(sale)}")[0])
        if paid > total:
            oversold += paid - total
            problems.append(f"flash sale {sale} ({phase}): {paid} units paid of {total}")
        confirmed, live = (int(x) for x in sql(
            f"SELECT COALESCE(SUM(IF(status = 2, quantity, 0)), 0), "
            f"COALESCE(SUM(IF(status = 1, quantity, 0)), 0) FROM flash_reservations "
            f"WHERE sale_id = {int(sale)}")[0])
        held = int(sql(f"SELECT COALESCE(SUM(quantity), 0) FROM flash_holds "
                       f"WHERE sale_id = {int(sale)} AND status = 1")[0][0])
        if confirmed != paid:
            problems.append(f"flash sale {sale} ({phase}): {confirmed} units confirmed in the "
                            f"record, {paid} paid")
            if confirmed > paid:
                leaked += confirmed - paid
        avail, sold, loaded, nloaded, entries = flash_redis(sale, buckets)
        if not loaded:
            # Not in Redis (lost, not yet rebuilt): reserves are refused until it is rebuilt
            # from the record, so nothing can leak or oversell meanwhile; the record was checked.
            if nloaded:
                problems.append(f"flash sale {sale} ({phase}): {nloaded} of {buckets} buckets "
                                "loaded in Redis")
                leaked += 1
            print(f"note: flash sale {sale} ({phase}) is not loaded in Redis", file=sys.stderr)
            continue
        # Live stock: available = total - confirmed - live reservations - live holds, except
        # units of Redis reservations the record does not know (a reserve cut off between its
        # Redis and MySQL steps): they come back when the entry expires (the sweeper).
        known = {r[0]: int(r[1]) for r in sql(
            f"SELECT reservation_id, status FROM flash_reservations WHERE sale_id = {int(sale)}")}
        unrecorded = 0
        for rid, (state, qty, exp_ms) in entries.items():
            if state == "R" and known.get(rid) != 1:
                unrecorded += qty
                if exp_ms:
                    parked_until = max(parked_until, exp_ms / 1000)
        expected = total - confirmed - live - held
        missing = expected - avail
        if missing < 0:
            oversold += -missing
            problems.append(f"flash sale {sale} ({phase}): Redis has {avail} available, the "
                            f"record allows {expected}")
        elif missing > unrecorded:
            leaked += missing - unrecorded
            problems.append(f"flash sale {sale} ({phase}): Redis has {avail} available, expected "
                            f"{expected} ({unrecorded} units parked in unrecorded reservations)")
        else:
            parked += missing
        if sold != confirmed:
            problems.append(f"flash sale {sale} ({phase}): Redis sold {sold}, confirmed "
                            f"{confirmed}")
    skus = {fx["big_sku"]: fx["big_on_hand"]}
    for p in fx["phases"].values():
        skus[p["regular_sku"]] = p["regular_on_hand"]
    for sku, initial in skus.items():
        on_hand, reserved = (int(x) for x in sql(
            f"SELECT on_hand, reserved FROM skus WHERE id = {int(sku)}")[0])
        confirmed, live = (int(x) for x in sql(
            f"SELECT COALESCE(SUM(IF(state = 2, quantity, 0)), 0), "
            f"COALESCE(SUM(IF(state = 1, quantity, 0)), 0) FROM sku_reservations "
            f"WHERE sku_id = {int(sku)}")[0])
        paid = sku_paid.get(sku, 0)
        if paid > initial:
            oversold += paid - initial
            problems.append(f"SKU {sku}: {paid} units paid of {initial}")
        if on_hand != initial - confirmed or confirmed != paid:
            problems.append(f"SKU {sku}: on hand {on_hand}, {confirmed} confirmed, {paid} paid, "
                            f"initially {initial}")
            leaked += abs(initial - paid - on_hand)
        if reserved != live or live != 0:
            problems.append(f"SKU {sku}: {reserved} reserved, {live} in live reservations "
                            "after the sweepers")
            leaked += max(reserved, live)

    # 3. Every paid order has one OrderPaid event (for the report), one attribution and its
    # commission entries; the ledger balances.
    conversions = {r[0]: int(r[1]) for r in sql(
        f"SELECT event_key, COUNT(*) FROM order_event_outbox WHERE brand_id = {brand} AND "
        f"subscriber = 'report' AND type = 'livecommerce.events.v1.OrderPaid' GROUP BY event_key")}
    attributed = {r[0]: int(r[1]) for r in sql(
        f"SELECT order_id, amount_fen FROM attributed_orders WHERE brand_id = {brand}")}
    attr_refunds = {}
    for oid, amount in sql(f"SELECT order_id, SUM(amount_fen) FROM attributed_refunds "
                           f"WHERE brand_id = {brand} GROUP BY order_id"):
        attr_refunds[oid] = int(amount)
    entries = {}
    for eid, oid, kind, rev, bp, base, amount in sql(
            f"SELECT id, order_id, kind, COALESCE(reverses_entry_id, 0), basis_points, base_fen, "
            f"amount_fen FROM commission_entries WHERE brand_id = {brand}"):
        entries.setdefault(oid, []).append((eid, int(kind), rev, int(bp), int(base), int(amount)))
    ledger = 0
    for oid, (status, total, refunded) in orders.items():
        paid = status in PAID_STATES
        if paid != (conversions.get(oid, 0) == 1) or conversions.get(oid, 0) > 1:
            ledger += 1
            problems.append(f"order {oid} (status {status}): {conversions.get(oid, 0)} OrderPaid events")
        if not paid:
            if oid in attributed or oid in entries:
                ledger += 1
                problems.append(f"order {oid} (status {status}) is attributed or has entries")
            continue
        if attributed.get(oid) != total:
            ledger += 1
            problems.append(f"order {oid}: attributed {attributed.get(oid)}, paid {total}")
            continue
        es = entries.get(oid, [])
        sales = [e for e in es if e[1] == 1]
        if not sales:
            ledger += 1
            problems.append(f"order {oid}: no commission entries")
            continue
        pool = sum(e[5] for e in sales)
        bp = sum(e[3] for e in sales)
        if any(e[4] != total for e in sales) or pool != total * bp // 10000:
            ledger += 1
            problems.append(f"order {oid}: sale entries sum to {pool}, the split of {total} at "
                            f"{bp} bp is {total * bp // 10000}")
        if attr_refunds.get(oid, 0) != refunded:
            ledger += 1
            problems.append(f"order {oid}: refunded {refunded}, attribution has "
                            f"{attr_refunds.get(oid, 0)}")
        for s in sales:
            reversed_ = -sum(e[5] for e in es if e[1] in (2, 3) and e[2] == s[0])
            want = s[5] * attr_refunds.get(oid, 0) // total
            if reversed_ != want:
                ledger += 1
                problems.append(f"order {oid}: entry {s[0]} reversed {reversed_}, expected {want}")
    stuck = {k: v for k, v in in_flight(fx["brand"]).items() if v != "0"}
    for k, v in stuck.items():
        problems.append(f"after the sweepers: {k}: {v}")
    for p in problems[:40]:
        print("  " + p)
    if len(problems) > 40:
        print(f"  ... {len(problems) - 40} more")
    gave_up = 0
    phase_acks = os.path.join(os.path.dirname(path), f"acks-{name}.json")
    if os.path.exists(phase_acks):
        with open(phase_acks) as f:
            counts = json.load(f)["counts"]
        gave_up = sum(v for k, v in counts.items() if ".gave_up." in k)
    ok = lost == 0 and oversold == 0 and leaked == 0 and ledger == 0 and not stuck
    paid_count = sum(1 for s in orders.values() if s[0] in PAID_STATES)
    extra = f" parked={parked}"
    fault_end = float(os.environ.get("LC_CHAOS_FAULT_END") or 0)
    after = [t for t in flash_times if fault_end and t >= fault_end]
    if after:
        extra += f" flash_recover_s={min(after) - fault_end:.1f}"
    if earlier:
        extra += f" earlier_lost={earlier}"
    if parked:
        extra += f" parked_until=+{max(0.0, parked_until - time.time()):.0f}s"
    print(f"RESULT fault={name} lost={lost} oversold={oversold} leaked={leaked} "
          f"recover_s={recover_s} ledger_errors={ledger}{extra} retries_gave_up={gave_up} "
          f"acked_orders={len(acked_orders)} "
          f"acked_payments={len(acked_paid)} paid_orders={paid_count} "
          f"{'ok' if ok else 'FAILED'}", flush=True)
    # The latest expiry of parked units seen by any check (the final check waits for it).
    mark = os.path.join(os.path.dirname(path), "parked_until")
    before = float(open(mark).read()) if os.path.exists(mark) else 0.0
    with open(mark, "w") as f:
        f.write(f"{max(before, parked_until if parked else 0)}\n")
    sys.exit(0 if ok else 1)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "setup":
        cmd_setup(*args)
    elif cmd == "sale":
        cmd_sale(*args)
    elif cmd == "load":
        cmd_load(*args)
    elif cmd == "probe":
        cmd_probe(*args)
    elif cmd == "touch":
        cmd_touch(*args)
    elif cmd == "settled":
        cmd_settled(*args)
    elif cmd == "check":
        cmd_check(args[0], args[1], args[2], args[3:])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
