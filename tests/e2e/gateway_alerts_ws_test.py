"""The associates' alerts WebSocket through the real gateway and attribution service: refusals
before the upgrade (viewer, ops, no token, bad after_id); an associate's socket gets the alert of
their client's cart addition within seconds, and another associate's socket gets nothing; the
backlog without after_id; the per-user socket limit shared with room sockets; the attribution
service restarting (the socket says "reconnecting", the stream is reopened, resumes after the last
alert and loses none); a revoked token closing its socket; and every upstream stream ended once the
sockets are closed (metrics).

usage: gateway_alerts_ws_test.py HOST:PORT ADMIN SYNC_DIR LIN_ID LIN_TOKEN MEI_TOKEN CAROL_TOKEN
         CAROL_ID VIEWER_TOKEN OPS_TOKEN SKU_ID ROOM_ID

SYNC_DIR: the script writes SYNC_DIR/stop-attribution and waits for SYNC_DIR/attribution-started,
which the calling shell writes once it has restarted the attribution service.
"""
import asyncio
import json
import os
import re
import subprocess
import sys
import time
import urllib.request

import websockets

(HOST, ADMIN, SYNC, LIN, LIN_TOKEN, MEI_TOKEN, CAROL_TOKEN, CAROL, VIEWER_TOKEN, OPS_TOKEN, SKU,
 ROOM) = sys.argv[1:13]
URL = f"ws://{HOST}/v1/alerts/ws"


def http(method, path, token, body=None):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"http://{HOST}{path}", data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def metric(name):
    with urllib.request.urlopen(f"http://{HOST}/metrics", timeout=10) as response:
        text = response.read().decode()
    match = re.search("^" + re.escape(name) + r" (-?\d+)$", text, re.MULTILINE)
    assert match, f"no {name} in /metrics"
    return int(match.group(1))


async def poll(what, check, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not within {timeout}s")


async def next_message(ws, timeout):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def wait_for(ws, kind, predicate=lambda m: True, timeout=10.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            message = await next_message(ws, deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        seen.append(message)
        if message.get("type") == kind and predicate(message):
            return message, seen
    raise AssertionError(f"no {kind} message as expected within {timeout}s; saw {seen[-10:]}")


async def nothing_for(ws, seconds):
    try:
        message = await next_message(ws, seconds)
    except asyncio.TimeoutError:
        return
    raise AssertionError(f"expected nothing, got {message}")


async def refused(target, status, **kwargs):
    try:
        ws = await websockets.connect(target, **kwargs)
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == status, f"{target}: expected {status}, got {e.status_code}"
        return
    await ws.close()
    raise AssertionError(f"{target}: expected {status}, the socket opened")


def bearer(token):
    return {"extra_headers": {"Authorization": f"Bearer {token}"}}


def cart_alert(sku):
    return lambda m: (m["alert"]["kind"] == "ALERT_KIND_ADDED_TO_CART" and
                      m["alert"]["viewer_id"] == CAROL and m["alert"]["sku_id"] == sku)


def add_to_cart():
    http("POST", "/v1/cart/items", CAROL_TOKEN, {"item": {"sku_id": SKU, "quantity": "1"}})


async def main():
    # Refused before the upgrade: other roles, no or a bad token, a malformed after_id.
    await refused(URL, 403, **bearer(VIEWER_TOKEN))
    await refused(f"{URL}?access_token={OPS_TOKEN}", 403)
    await refused(URL, 401)
    await refused(f"{URL}?access_token={LIN_TOKEN}x", 401)
    await refused(f"{URL}?after_id=abc", 400, **bearer(LIN_TOKEN))
    await refused(f"{URL}?device_id=phone", 400, **bearer(LIN_TOKEN))

    # Lin's alerts so far (Carol joined with Lin's invite and paid): start after the last one.
    known = http("GET", "/v1/alerts?page_size=500", LIN_TOKEN)["alerts"]
    assert known, "Lin has no alerts yet"
    last = known[-1]["id"]

    lin = await websockets.connect(f"{URL}?after_id={last}", **bearer(LIN_TOKEN))
    subscribed = await next_message(lin, 10)
    assert subscribed == {"type": "subscribed",
                          "subscribed": {"associate_id": LIN, "after_id": last}}, subscribed
    mei = await websockets.connect(f"{URL}?access_token={MEI_TOKEN}")
    assert (await next_message(mei, 10))["type"] == "subscribed"

    # Carol, Lin's client, adds to her cart: Lin hears of it within seconds, Mei does not.
    started = time.monotonic()
    add_to_cart()
    alert, seen = await wait_for(lin, "alert", cart_alert(SKU), timeout=5)
    assert alert["alert"]["associate_id"] == LIN, alert
    assert [m["type"] for m in seen] == ["alert"], f"Lin got more than the alert: {seen}"
    print(f"alerts: the cart alert reached Lin in {time.monotonic() - started:.2f}s")
    await nothing_for(mei, 1.5)

    # Without after_id, a socket starts with the backlog, oldest first, then the cart alert.
    backlog = await websockets.connect(f"{URL}?access_token={LIN_TOKEN}")
    first = await next_message(backlog, 10)
    assert first["subscribed"]["after_id"] == "", first
    _, seen = await wait_for(backlog, "alert", lambda m: m["alert"]["id"] == alert["alert"]["id"])
    ids = [m["alert"]["id"] for m in seen]
    assert ids == [a["id"] for a in known] + [alert["alert"]["id"]], (ids, known)

    # Two sockets per user here, room and alerts sockets together: Lin's third is refused.
    await refused(f"{URL}?access_token={LIN_TOKEN}", 429)
    await refused(f"ws://{HOST}/v1/rooms/{ROOM}/ws?access_token={LIN_TOKEN}", 429)
    await backlog.close()

    await poll("two alert sockets and streams", lambda: (
        metric('lc_gateway_websockets_open{kind="alerts"}') == 2 and
        metric("lc_gateway_alert_streams_open") == 2))

    await lin.send("ping")
    await wait_for(lin, "pong")

    # The attribution service restarts: the socket stays open, says so, and resumes.
    open(os.path.join(SYNC, "stop-attribution"), "w").close()
    reconnecting, _ = await wait_for(lin, "reconnecting", timeout=20)
    assert reconnecting["reconnecting"]["retry_in_ms"] > 0, reconnecting
    await poll("the attribution service restarted",
               lambda: os.path.exists(os.path.join(SYNC, "attribution-started")), timeout=30)
    resumed, _ = await wait_for(lin, "subscribed", timeout=40)
    assert resumed["subscribed"]["after_id"] == alert["alert"]["id"], resumed
    add_to_cart()
    again, seen = await wait_for(lin, "alert", cart_alert(SKU), timeout=5)
    assert int(again["alert"]["id"]) > int(alert["alert"]["id"]), again
    # Resumed after the last one sent: nothing twice.
    assert [m["type"] for m in seen] == ["alert"], seen
    assert metric("lc_gateway_alert_stream_retries_total") >= 1

    # A revoked token closes its socket with a reason.
    await mei.close()
    token = json.loads(subprocess.run(
        [ADMIN, "token", "issue", "--role", "associate", "--brand", "e2e", "--subject", LIN],
        check=True, capture_output=True, text=True).stdout)["token"]
    doomed = await websockets.connect(URL, **bearer(token))
    assert (await next_message(doomed, 10))["type"] == "subscribed"
    subprocess.run([ADMIN, "token", "revoke", token], check=True, capture_output=True)
    try:
        while True:
            await asyncio.wait_for(doomed.recv(), 10)
    except websockets.exceptions.ConnectionClosed as closed:
        assert closed.code == 1008 and closed.reason == "token: revoked", (closed.code,
                                                                          closed.reason)

    # Closed sockets leave no stream behind.
    await lin.close()
    await poll("every alert socket and stream closed", lambda: (
        metric('lc_gateway_websockets_open{kind="alerts"}') == 0 and
        metric("lc_gateway_alert_streams_open") == 0))
    print("alerts websocket: refusals, delivery to the right associate only, backlog, shared limit,"
          " reconnection without loss, revocation, no stream left open")


asyncio.run(main())
