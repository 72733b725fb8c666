"""The room WebSocket through the real gateway: the viewer count moves as viewers connect and
leave, pushes arrive about every second, the per-user socket limit, a private room and a missing
token refused at the handshake; ops watching the room (watch=1) see the same counts without being
counted, and nobody else may watch so.

usage: gateway_ws_test.py HOST:PORT ROOM_ID TOKEN_A TOKEN_B PRIVATE_ROOM_ID OPS_TOKEN RIVAL_OPS_TOKEN
"""
import asyncio
import json
import sys
import time

import websockets

HOST, ROOM, TOKEN_A, TOKEN_B, PRIVATE, OPS, RIVAL = sys.argv[1:8]


def url(room, token=None):
    base = f"ws://{HOST}/v1/rooms/{room}/ws"
    return f"{base}?access_token={token}" if token else base


async def wait_for(ws, kind, predicate=lambda m: True, timeout=10.0):
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        try:
            raw = await asyncio.wait_for(ws.recv(), deadline - time.monotonic())
        except asyncio.TimeoutError:
            break
        message = json.loads(raw)
        seen.append(message.get("type"))
        if message.get("type") == kind and predicate(message):
            return message
    raise AssertionError(f"no {kind} message as expected within {timeout}s; saw {seen[-10:]}")


def concurrent(n):
    return lambda m: m["stats"]["concurrent_viewers"] == str(n)


async def refused(target, status, **kwargs):
    try:
        ws = await websockets.connect(target, **kwargs)
    except websockets.exceptions.InvalidStatusCode as e:
        assert e.status_code == status, f"{target}: expected {status}, got {e.status_code}"
        return
    await ws.close()
    raise AssertionError(f"{target}: expected {status}, the socket opened")


async def main():
    # Ops watch first: the room's messages, and nobody counted for it.
    ops = await websockets.connect(url(ROOM, OPS) + "&watch=1")
    watching = json.loads(await ops.recv())
    assert watching["type"] == "watching", watching
    assert watching["watching"]["room"]["id"] == ROOM, watching
    await wait_for(ops, "stats", concurrent(0))
    await refused(url(ROOM, TOKEN_A) + "&watch=1", 403)  # viewers join; they do not watch
    await refused(url(ROOM, RIVAL) + "&watch=1", 404)    # another brand's room

    a = await websockets.connect(url(ROOM, TOKEN_A))
    joined = json.loads(await a.recv())
    assert joined["type"] == "joined", joined
    assert joined["joined"]["stats"]["room_id"] == ROOM, joined
    await wait_for(a, "stats", concurrent(1))

    # A second viewer, with the token in the header: both count.
    b = await websockets.connect(url(ROOM), extra_headers={"Authorization": f"Bearer {TOKEN_B}"})
    assert json.loads(await b.recv())["type"] == "joined"
    await wait_for(a, "stats", concurrent(2))
    await wait_for(b, "stats", concurrent(2))
    await wait_for(ops, "stats", concurrent(2))

    # Pushes come about every second.
    first = await wait_for(a, "stats")
    second = await wait_for(a, "stats")
    gap = (time.mktime(time.strptime(second["stats"]["as_of"][:19], "%Y-%m-%dT%H:%M:%S")) -
           time.mktime(time.strptime(first["stats"]["as_of"][:19], "%Y-%m-%dT%H:%M:%S")))
    assert 0 <= gap <= 3, (first, second)

    # The second viewer leaves by closing: the count goes back down.
    await b.close()
    await wait_for(a, "stats", concurrent(1))
    # The watcher goes: still one viewer, and no leave was counted for it.
    await ops.close()
    await asyncio.sleep(1.5)
    stats = await wait_for(a, "stats", concurrent(1))
    assert stats["stats"]["reach"] == "2" and stats["stats"]["total_joins"] == "2", stats

    await a.send("ping")
    await wait_for(a, "pong")

    # At most two sockets per user here (LC_GATEWAY_MAX_SOCKETS_PER_PRINCIPAL=2).
    a2 = await websockets.connect(url(ROOM, TOKEN_A) + "&device_id=tablet-1")
    await refused(url(ROOM, TOKEN_A) + "&device_id=tablet-2", 429)
    await a2.close()

    # A private room without an invite, and no token at all.
    await refused(url(PRIVATE, TOKEN_B), 403)
    await refused(url(ROOM), 401)
    await refused(url(ROOM, TOKEN_A + "x"), 401)

    await a.close()
    print("websocket: counts moved 1 -> 2 -> 1 (ops watching, not counted), limits and refusals hold")


asyncio.run(main())
