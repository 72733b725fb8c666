#!/usr/bin/env python3
"""Legitimate viewers' latency through the gateway with and without abuse, back to back (bench/run
abuse). Standard library only.

Two phases of --seconds each, first without then with the attacks:
  - legit load (both phases): --readers viewers, each from its own loopback address, read the room
    (GET /v1/rooms/{id}) --read-rate times a second; --buyers viewers per phase, each from its own
    address, grab one flash piece (POST /v1/checkout with the sale) at times spread over the phase.
    Latency counts from the scheduled send time (a stalled gateway is not hidden by fewer sends).
  - attacks (second phase), each in its own process and from its own addresses:
    slowloris: --slow-sockets connections trickling headers a byte a second, reconnecting when cut;
    body flood: --flood-conns connections sending bodies over the limit (declared 10 MiB, and
      chunked bodies that run past it);
    bot fleet: --bots viewer tokens from one address hammering flash buy on --bot-conns connections.
Prints one line of key=value figures: p50/p99 of reads and buys per phase, errors, the gateway's
peak RSS (VmHWM) after each phase, and what the attacks saw (cut sockets, 413s, 429s), and checks
the sale was not oversold.

usage: abuse_load.py --gateway HOST:PORT --pid PID --room ID --sku ID --sale ID --brand B --ops TOKEN
"""
import argparse
import http.client
import json
import multiprocessing
import os
import select
import socket
import threading
import time

ADDRESS = {"recipient": "Ann", "phone": "13800000000", "province": "Shanghai", "city": "Shanghai",
           "district": "Huangpu", "street": "1 Bund", "postal_code": "200000"}


def split(target):
    host, port = target.rsplit(":", 1)
    return host, int(port)


def call(conn, method, path, token=None, body=None):
    headers = {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    except (OSError, http.client.HTTPException):
        conn.close()
        return 0, {}
    try:
        return response.status, json.loads(raw) if raw else {}
    except ValueError:
        return response.status, {}


def connect(target, source, timeout=10):
    host, port = split(target)
    return http.client.HTTPConnection(host, port, timeout=timeout, source_address=(source, 0))


def login(target, brand, code, source):
    status, answer = call(connect(target, source), "POST", "/v1/login", None,
                          {"code": code, "brand_id": brand})
    if status != 200:
        raise SystemExit(f"login {code} from {source}: {status}")
    return answer["token"]


def address(block, i):
    """A distinct loopback address per legit user: 127.<block>.<i / 250>.<1 + i % 250>."""
    return f"127.{block}.{i // 250}.{1 + i % 250}"


def checkout(room, sku, sale, key):
    return {"idempotency_key": key, "room": {"room_id": room}, "address": ADDRESS,
            "lines": [{"sku_id": sku, "sale_id": sale, "quantity": "1"}]}


def percentile(values, p):
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


def vm(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0  # MiB
    return 0.0


def cpu_seconds(pid):
    """User plus system CPU time of the process so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def metric(target, name):
    conn = connect(target, "127.0.0.1")
    conn.request("GET", "/metrics")
    text = conn.getresponse().read().decode()
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name):
            total += float(line.rsplit(" ", 1)[1])
    return total


# ---- Legit load -------------------------------------------------------------------------------
def legit_phase(args, readers, buyers, tag):
    """Runs the readers and buyers for args.seconds; returns read and buy latencies and errors."""
    stop_at = time.monotonic() + args.seconds
    reads, buys = [], []
    errors = {"read": 0, "buy": 0}
    lock = threading.Lock()

    def reader(token, source):
        conn = connect(args.gateway, source)
        interval = 1.0 / args.read_rate
        due = time.monotonic() + interval * (hash(source) % 100) / 100.0
        while due < stop_at:
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            status, _ = call(conn, "GET", f"/v1/rooms/{args.room}", token)
            took = time.monotonic() - due
            with lock:
                reads.append(took)
                if status != 200:
                    errors["read"] += 1
            if status == 0:
                conn = connect(args.gateway, source)
            due += interval

    schedule = [(time.monotonic() + args.seconds * (i + 0.5) / len(buyers), token, source)
                for i, (token, source) in enumerate(buyers)]
    next_buy = [0]

    def buyer():
        while True:
            with lock:
                if next_buy[0] >= len(schedule):
                    return
                due, token, source = schedule[next_buy[0]]
                next_buy[0] += 1
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            status, _ = call(connect(args.gateway, source), "POST", "/v1/checkout", token,
                             checkout(args.room, args.sku, args.sale, f"{tag}-{source}"))
            took = time.monotonic() - due
            with lock:
                buys.append(took)
                if status != 200:
                    errors["buy"] += 1

    threads = [threading.Thread(target=reader, args=rs, daemon=True) for rs in readers]
    threads += [threading.Thread(target=buyer, daemon=True) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return reads, buys, errors


# ---- Attacks (each in its own process) ----------------------------------------------------
def slowloris(target, sockets, sources, stop_at, out):
    host, port = split(target)
    request = b"GET /v1/rooms/1 HTTP/1.1\r\nHost: gw\r\n" + b"X-Slow: 1\r\n" * 2000
    conns = {}  # fd -> (socket, index, bytes sent)
    poller = select.poll()
    cut = refused = 0

    def open_one(i):
        s = socket.socket()
        s.bind((sources[i % len(sources)], 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        try:
            s.connect((host, port))
        except OSError:
            s.close()
            return
        s.setblocking(False)
        conns[s.fileno()] = (s, i, 0)
        poller.register(s.fileno(), select.POLLIN)

    for i in range(sockets):
        open_one(i)
    while time.monotonic() < stop_at:
        tick_end = time.monotonic() + 1.0
        for fd, (s, i, sent) in list(conns.items()):
            try:
                s.send(request[sent:sent + 1])
                conns[fd] = (s, i, sent + 1)
            except OSError:
                pass
        while time.monotonic() < tick_end:
            for fd, _ in poller.poll(max(0, tick_end - time.monotonic()) * 1000):
                if fd not in conns:
                    continue
                s, i, sent = conns.pop(fd)
                poller.unregister(fd)
                s.close()
                if sent <= 1:
                    refused += 1  # closed before it had said anything: refused at accept
                else:
                    cut += 1
                open_one(i)  # the attacker comes straight back
    for s, _, _ in conns.values():
        s.close()
    out.put(("slowloris", {"slow_cut": cut, "slow_refused": refused}))


def body_flood(target, conns, source, stop_at, out):
    host, port = split(target)
    counts = {"flood_sent": 0, "flood_413": 0, "flood_other": 0}
    lock = threading.Lock()
    chunk = b"[" * 16384

    def one():
        n = 0
        while time.monotonic() < stop_at:
            n += 1
            s = socket.socket()
            s.bind((source, 0))
            s.settimeout(10)
            try:
                s.connect((host, port))
                head = (b"POST /v1/checkout HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
                        b"Authorization: Bearer x\r\n")
                if n % 2:
                    s.sendall(head + b"Content-Length: 10485760\r\n\r\n" + chunk)
                else:
                    s.sendall(head + b"Transfer-Encoding: chunked\r\n\r\n")
                    for _ in range(5):  # 80 KiB, past the 64 KiB limit
                        s.sendall(b"4000\r\n" + chunk + b"\r\n")
                answer = s.recv(4096)
            except OSError:
                answer = b""
            finally:
                s.close()
            with lock:
                counts["flood_sent"] += 1
                counts["flood_413" if b" 413 " in answer[:20] else "flood_other"] += 1

    threads = [threading.Thread(target=one, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(("flood", counts))


def bot_fleet(target, room, sku, sale, tokens, conns, source, stop_at, out):
    statuses = {}
    accepted = [0]
    lock = threading.Lock()
    counter = [0]

    def one():
        conn = connect(target, source)
        while time.monotonic() < stop_at:
            with lock:
                n = counter[0]
                counter[0] += 1
            status, _ = call(conn, "POST", "/v1/checkout", tokens[n % len(tokens)],
                             checkout(room, sku, sale, f"bot-{n}"))
            if status == 0:
                conn = connect(target, source)
            with lock:
                statuses[status] = statuses.get(status, 0) + 1
                if status == 200:
                    accepted[0] += 1

    threads = [threading.Thread(target=one, daemon=True) for _ in range(conns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(("fleet", {"bot_requests": sum(statuses.values()), "bot_429": statuses.get(429, 0),
                       "bot_accepted": accepted[0],
                       "bot_5xx": sum(c for s, c in statuses.items() if s >= 500 or s == 0)}))


def main():
    p = argparse.ArgumentParser()
    for name in ("--gateway", "--room", "--sku", "--sale", "--brand", "--ops"):
        p.add_argument(name, required=True)
    p.add_argument("--pid", type=int, required=True)
    p.add_argument("--seconds", type=float, default=20)
    p.add_argument("--readers", type=int, default=32)
    p.add_argument("--read-rate", type=float, default=10)
    p.add_argument("--buyers", type=int, default=200)
    p.add_argument("--slow-sockets", type=int, default=1000)
    p.add_argument("--flood-conns", type=int, default=4)
    p.add_argument("--bots", type=int, default=100)
    p.add_argument("--bot-conns", type=int, default=16)
    p.add_argument("--attacks", default="slowloris,flood,fleet",
                   help="which attacks run in the second phase (comma-separated)")
    args = p.parse_args()

    t = time.monotonic()
    readers = [(login(args.gateway, args.brand, f"reader-{i}", address(1, i)), address(1, i))
               for i in range(args.readers)]
    buyers = {phase: [(login(args.gateway, args.brand, f"buyer-{phase}-{i}", address(block, i)),
                       address(block, i)) for i in range(args.buyers)]
              for phase, block in (("base", 2), ("attack", 3))}
    bots = [login(args.gateway, args.brand, f"bot-{i}", "127.0.0.7") for i in range(args.bots)]
    setup_s = time.monotonic() - t
    hwm_idle = vm(args.pid, "VmHWM")

    figures = {}
    cpu, t = cpu_seconds(args.pid), time.monotonic()
    reads, buys, errors = legit_phase(args, readers, buyers["base"], "base")
    figures["base_gateway_cpu_pct"] = 100 * (cpu_seconds(args.pid) - cpu) / (time.monotonic() - t)
    figures.update(base_reads=len(reads), base_read_p50_ms=percentile(reads, 0.5) * 1000,
                   base_read_p99_ms=percentile(reads, 0.99) * 1000,
                   base_buy_p50_ms=percentile(buys, 0.5) * 1000,
                   base_buy_p99_ms=percentile(buys, 0.99) * 1000,
                   base_read_errors=errors["read"], base_buy_errors=errors["buy"],
                   base_hwm_mib=vm(args.pid, "VmHWM"))

    out = multiprocessing.Queue()
    stop_at = time.monotonic() + args.seconds + 3  # attacks start first and end after the phase
    slow_sources = [f"127.0.0.{2 + i}" for i in range(4)]  # 250 each, within the per-IP limit
    chosen = set(args.attacks.split(","))
    attacks = []
    if "slowloris" in chosen:
        attacks.append(multiprocessing.Process(
            target=slowloris, args=(args.gateway, args.slow_sockets, slow_sources, stop_at, out)))
    if "flood" in chosen:
        attacks.append(multiprocessing.Process(
            target=body_flood, args=(args.gateway, args.flood_conns, "127.0.0.6", stop_at, out)))
    if "fleet" in chosen:
        attacks.append(multiprocessing.Process(
            target=bot_fleet, args=(args.gateway, args.room, args.sku, args.sale, bots,
                                    args.bot_conns, "127.0.0.7", stop_at, out)))
    figures["attacks"] = ",".join(sorted(chosen))
    for name in ("slow_cut", "slow_refused", "flood_sent", "flood_413", "flood_other",
                 "bot_requests", "bot_429", "bot_accepted", "bot_5xx"):
        figures[name] = 0
    timeouts_before = metric(args.gateway, "lc_gateway_read_timeouts_total")
    for a in attacks:
        a.start()
    time.sleep(2)  # the slowloris sockets are all open and trickling
    open_under_attack = metric(args.gateway, "lc_gateway_connections_open")
    cpu, t = cpu_seconds(args.pid), time.monotonic()
    reads, buys, errors = legit_phase(args, readers, buyers["attack"], "attack")
    figures["attack_gateway_cpu_pct"] = 100 * (cpu_seconds(args.pid) - cpu) / (time.monotonic() - t)
    figures.update(attack_reads=len(reads), attack_read_rate=len(reads) / args.seconds,
                   attack_read_p50_ms=percentile(reads, 0.5) * 1000,
                   attack_read_p99_ms=percentile(reads, 0.99) * 1000,
                   attack_buy_p50_ms=percentile(buys, 0.5) * 1000,
                   attack_buy_p99_ms=percentile(buys, 0.99) * 1000,
                   attack_read_errors=errors["read"], attack_buy_errors=errors["buy"])
    for _ in attacks:
        figures.update(out.get()[1])
    for a in attacks:
        a.join()
    figures["attack_hwm_mib"] = vm(args.pid, "VmHWM")
    figures["rss_after_mib"] = vm(args.pid, "VmRSS")
    figures["idle_hwm_mib"] = hwm_idle
    figures["connections_open_under_attack"] = open_under_attack
    figures["read_timeouts"] = metric(args.gateway, "lc_gateway_read_timeouts_total") - \
        timeouts_before
    conn = connect(args.gateway, "127.0.0.1")
    status, answer = call(conn, "GET", f"/v1/flash-sales/{args.sale}", args.ops)
    sale = answer.get("sale", {})
    reserved = int(sale.get("total_stock", 0)) - int(sale.get("remaining", 0))
    accepted = 2 * args.buyers - figures["base_buy_errors"] - figures["attack_buy_errors"] + \
        figures["bot_accepted"]
    # Every unit reserved is an accepted checkout's, and no more were accepted than reserved.
    figures["reserved"] = reserved
    figures["accepted"] = accepted
    figures["oversold"] = max(0, accepted - reserved)
    figures["leaked"] = max(0, reserved - accepted)
    figures["setup_s"] = setup_s
    print(" ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}"
                   for k, v in figures.items()))


if __name__ == "__main__":
    main()
