"""Attacks on the real gateway for tests/e2e/gateway_abuse_test.sh (standard library, plus the
websockets package the other WebSocket tests use). Each attack comes from its own loopback address
(Linux answers on all of 127.0.0.0/8), so the per-address limits see the attacker and the real
viewer (127.0.0.1) apart. Each subcommand exits non-zero with the reason when a limit did not hold.

usage:
  gateway_abuse.py ws-oversize HOST:PORT ROOM TOKEN
  gateway_abuse.py slowloris HOST:PORT ROOM TOKEN [--sockets N] [--deadline S] [--per-ip-limit N]
  gateway_abuse.py fleet HOST:PORT ROOM SKU SALE BOT_TOKENS_FILE VIEWER_TOKEN OPS_TOKEN [--seconds S]
"""
import argparse
import asyncio
import http.client
import json
import select
import socket
import sys
import threading
import time

ADDRESS = {"recipient": "Alice", "phone": "13800000000", "province": "Shanghai",
           "city": "Shanghai", "district": "Huangpu", "street": "1 Bund", "postal_code": "200000"}


def fail(message):
    print(f"FAIL: {message}")
    sys.exit(1)


def split(target):
    host, port = target.rsplit(":", 1)
    return host, int(port)


class Client:
    """A keep-alive HTTP/1.1 client bound to one source address."""

    def __init__(self, target, source="127.0.0.1", timeout=10):
        host, port = split(target)
        self.conn = http.client.HTTPConnection(host, port, timeout=timeout,
                                               source_address=(source, 0))

    def call(self, method, path, token=None, body=None):
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        started = time.monotonic()
        try:
            self.conn.request(method, path, body=data, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            return 0, {"error": str(e)}, time.monotonic() - started
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = {"raw": raw[:200].decode(errors="replace")}
        return response.status, answer, time.monotonic() - started


# ---- An oversized WebSocket message ------------------------------------------------------------
async def ws_oversize(target, room, token):
    import websockets
    url = f"ws://{target}/v1/rooms/{room}/ws?access_token={token}"
    async with websockets.connect(url, max_size=1 << 20) as ws:
        joined = json.loads(await ws.recv())
        assert joined["type"] == "joined", joined
        await ws.send("x" * 4000)  # under the 4096-byte limit: ignored, the socket stays
        await ws.send("ping")
        while json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] != "pong":
            pass
        await ws.send("x" * 65536)
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 5)
        except websockets.exceptions.ConnectionClosed as e:
            code = e.rcvd.code if e.rcvd is not None else None
            if code != 1009:
                fail(f"oversized WebSocket message: closed with {code}, expected 1009")
            print("ws-oversize: a 64 KiB message closed the socket with 1009 (message too big)")
            return
        except asyncio.TimeoutError:
            fail("oversized WebSocket message: the socket stayed open")


# ---- Slowloris -----------------------------------------------------------------------------
class Viewer(threading.Thread):
    """Reads a room every `every` seconds until stopped; keeps every status and latency."""

    def __init__(self, target, path, token, every=0.1, source="127.0.0.1"):
        super().__init__(daemon=True)
        self.client = Client(target, source)
        self.path, self.token, self.every = path, token, every
        self.results = []
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            status, _, seconds = self.client.call("GET", self.path, self.token)
            self.results.append((status, seconds))
            self.stop.wait(self.every)

    def summary(self):
        latencies = sorted(s for _, s in self.results)
        bad = [status for status, _ in self.results if status != 200]
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else 0
        return len(self.results), bad, p99


def slowloris(target, room, token, sockets, deadline, per_ip_limit):
    host, port = split(target)
    request = (f"GET /v1/rooms/{room} HTTP/1.1\r\nHost: {host}\r\n"
               f"Authorization: Bearer {token}\r\n").encode() + b"X-Slow: 1\r\n" * 1000
    viewer = Viewer(target, f"/v1/rooms/{room}", token)
    viewer.start()
    conns = {}
    for _ in range(sockets):
        s = socket.socket()
        s.bind(("127.0.0.2", 0))
        s.connect((host, port))
        s.setblocking(False)
        conns[s] = 0
    first_byte = {}
    cut_after = {}
    started = time.monotonic()
    # One byte a second to every socket still open, until all are cut or well past the deadline.
    while conns and time.monotonic() - started < deadline + 8:
        now = time.monotonic()
        for s in list(conns):
            try:
                s.send(request[conns[s]:conns[s] + 1])
                first_byte.setdefault(s, now)
                conns[s] += 1
            except OSError:
                cut_after[s] = now - first_byte.get(s, now)
                del conns[s]
        tick_end = now + 1.0
        while conns and time.monotonic() < tick_end:
            readable, _, _ = select.select(list(conns), [], [], max(0, tick_end - time.monotonic()))
            for s in readable:
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data:
                    fail(f"slowloris: a trickling socket got an answer: {data[:80]!r}")
                cut_after[s] = time.monotonic() - first_byte[s]
                del conns[s]
    viewer.stop.set()
    viewer.join()
    for s in list(conns) + list(cut_after):
        s.close()
    if conns:
        fail(f"slowloris: {len(conns)} of {sockets} trickling sockets still open after "
             f"{deadline + 8}s")
    cuts = sorted(cut_after.values())
    print(f"slowloris: {sockets} sockets cut {cuts[0]:.1f}-{cuts[-1]:.1f}s after their first "
          f"byte (deadline {deadline}s)")
    if cuts[0] < deadline - 0.5 or cuts[-1] > deadline + 2.5:
        fail(f"slowloris: cut {cuts[0]:.1f}-{cuts[-1]:.1f}s after the first byte, expected "
             f"about {deadline}s")
    n, bad, p99 = viewer.summary()
    print(f"slowloris: the viewer read the room {n} times meanwhile, {len(bad)} failed, "
          f"p99 {p99 * 1000:.1f} ms")
    if bad or n < deadline * 5:
        fail(f"slowloris: the viewer's reads failed ({bad[:5]}) or were too few ({n})")
    if p99 > 1.0:
        fail(f"slowloris: the viewer's p99 was {p99 * 1000:.0f} ms")

    # Past the per-address limit, connections are closed at accept; the ones within stay.
    extra = 20
    held = []
    for _ in range(per_ip_limit + extra):
        s = socket.socket()
        s.bind(("127.0.0.9", 0))
        s.connect((host, port))
        held.append(s)
    time.sleep(1.0)
    closed = 0
    for s in held:
        readable, _, _ = select.select([s], [], [], 0)
        if readable:
            try:
                data = s.recv(1)
            except OSError:
                data = b""
            if not data:
                closed += 1
    for s in held:
        s.close()
    print(f"per-address limit: {per_ip_limit + extra} connections from one address, "
          f"{closed} closed at accept")
    if closed != extra:
        fail(f"per-address limit {per_ip_limit}: {closed} of {per_ip_limit + extra} closed, "
             f"expected {extra}")


# ---- A bot fleet on flash buy ---------------------------------------------------------------
def checkout_body(key, room, sku, sale):
    return {"idempotency_key": key, "room": {"room_id": room}, "address": ADDRESS,
            "lines": [{"sku_id": sku, "sale_id": sale, "quantity": "1"}]}


def fleet(target, room, sku, sale, bot_tokens, viewer_token, ops_token, seconds, threads=16):
    statuses = {}
    accepted = {}  # bot index -> order ids
    lock = threading.Lock()
    stop = threading.Event()
    counter = [0]

    def bot_loop():
        client = Client(target, "127.0.0.3")
        while not stop.is_set():
            with lock:
                n = counter[0]
                counter[0] += 1
            bot = n % len(bot_tokens)
            status, answer, _ = client.call("POST", "/v1/checkout", bot_tokens[bot],
                                            checkout_body(f"bot-{bot}-{n}", room, sku, sale))
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    accepted.setdefault(bot, []).append(answer["order"]["id"])

    workers = [threading.Thread(target=bot_loop, daemon=True) for _ in range(threads)]
    for w in workers:
        w.start()
    time.sleep(1.5)
    # The real viewer, from their own address, buys a piece during the attack and pays for it.
    viewer = Client(target)
    status, answer, took = viewer.call("POST", "/v1/checkout", viewer_token,
                                       checkout_body("alice-flash", room, sku, sale))
    if status != 200:
        fail(f"fleet: the viewer's checkout answered {status}: {answer}")
    order = answer["order"]["id"]
    status, answer, took_pay = viewer.call("POST", f"/v1/orders/{order}/sandbox-pay",
                                           viewer_token)
    if status != 200 or answer["order"]["status"] != "ORDER_STATUS_PAID":
        fail(f"fleet: the viewer's payment answered {status}: {answer}")
    print(f"fleet: the viewer bought and paid during the attack ({took * 1000:.0f} ms and "
          f"{took_pay * 1000:.0f} ms)")
    time.sleep(max(0, seconds - 1.5))
    stop.set()
    for w in workers:
        w.join()
    total = sum(statuses.values())
    bots_accepted = sum(len(v) for v in accepted.values())
    print(f"fleet: {total} checkouts from {len(bot_tokens)} bots on one address: "
          f"{json.dumps(statuses, sort_keys=True)}; {bots_accepted} accepted")
    if statuses.get(429, 0) == 0:
        fail("fleet: no 429 from the per-address limit")
    twice = {b: ids for b, ids in accepted.items() if len(ids) > 1}
    if twice:
        fail(f"fleet: bots over the per-buyer limit of 1: {twice}")
    errors = {s: c for s, c in statuses.items() if s == 0 or s >= 500}
    if errors:
        fail(f"fleet: transport errors or 5xx: {errors}")
    status, answer, _ = Client(target).call("GET", f"/v1/flash-sales/{sale}", ops_token)
    if status != 200:
        fail(f"fleet: reading the sale answered {status}: {answer}")
    sale_now = answer["sale"]
    total_stock, remaining = int(sale_now["total_stock"]), int(sale_now["remaining"])
    reserved = total_stock - remaining
    print(f"fleet: sale of {total_stock}: {remaining} remaining, {reserved} reserved, "
          f"{bots_accepted + 1} checkouts accepted (bots and the viewer)")
    if remaining < 0 or reserved != bots_accepted + 1:
        fail(f"fleet: {reserved} units reserved but {bots_accepted + 1} checkouts accepted")


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    w = sub.add_parser("ws-oversize")
    w.add_argument("target"), w.add_argument("room"), w.add_argument("token")
    s = sub.add_parser("slowloris")
    s.add_argument("target"), s.add_argument("room"), s.add_argument("token")
    s.add_argument("--sockets", type=int, default=200)
    s.add_argument("--deadline", type=float, default=3)
    s.add_argument("--per-ip-limit", type=int, default=300)
    f = sub.add_parser("fleet")
    for name in ("target", "room", "sku", "sale", "bots", "viewer", "ops"):
        f.add_argument(name)
    f.add_argument("--seconds", type=float, default=6)
    args = parser.parse_args()
    if args.command == "ws-oversize":
        asyncio.run(ws_oversize(args.target, args.room, args.token))
    elif args.command == "slowloris":
        slowloris(args.target, args.room, args.token, args.sockets, args.deadline,
                  args.per_ip_limit)
    else:
        with open(args.bots) as tokens:
            bots = [line.strip() for line in tokens if line.strip()]
        fleet(args.target, args.room, args.sku, args.sale, bots, args.viewer, args.ops,
              args.seconds)


if __name__ == "__main__":
    main()
