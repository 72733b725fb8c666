"""Live chat through two real gateway instances (see chat_test.sh for the stack).

usage: chat_test.py GW1 GW2 PUBLIC_ROOM PRIVATE_ROOM INVITE OPS RIVAL_OPS ALICE BOB CAROL DAVE ERIN FRANK
                    LIN (the associate whose invite ERIN used)
"""
import asyncio
import json
import sys
import time
import urllib.error
import urllib.request

import websockets

GW1, GW2, ROOM, PRIVATE, INVITE, OPS, RIVAL = sys.argv[1:8]
ALICE, BOB, CAROL, DAVE, ERIN, FRANK, LIN = sys.argv[8:15]


def http(method, path, token, body=None, host=GW1):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://{host}{path}", data=data, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


class Socket:
    """A room WebSocket that keeps every message it received, by type."""

    def __init__(self, ws):
        self.ws = ws
        self.messages = []
        self.task = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, host, room, token, extra=""):
        ws = await websockets.connect(f"ws://{host}/v1/rooms/{room}/ws?access_token={token}{extra}")
        return cls(ws)

    async def _read(self):
        try:
            async for raw in self.ws:
                self.messages.append(json.loads(raw))
        except websockets.exceptions.ConnectionClosed:
            pass

    async def send(self, message):
        await self.ws.send(json.dumps(message))

    async def wait(self, predicate, what, timeout=10.0, since=0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for m in self.messages[since:]:
                if predicate(m):
                    return m
            await asyncio.sleep(0.02)
        types = [m.get("type") for m in self.messages[-15:]]
        raise AssertionError(f"{what}: not within {timeout}s; last messages {types}")

    def items(self, kind="comment"):
        out = []
        for m in self.messages:
            if m.get("type") == "chat":
                out.extend(i for i in m["items"] if i["type"] == kind)
        return out

    def comment_ids(self):
        return [i["comment_id"] for i in self.items()]

    def folded(self):
        return sum(m["folded"] for m in self.messages if m.get("type") == "chat")

    async def close(self):
        await self.ws.close()
        await self.task


def of_type(kind, **fields):
    return lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())


def likes_total(total):
    """The like total pushed: a "likes" frame, or a chat frame carrying it (when one goes anyway)."""
    return lambda m: (m.get("type") == "likes" and m.get("total") == total) or (
        m.get("type") == "chat" and m.get("likes") == total)


def has_item(kind, **fields):
    return lambda m: m.get("type") == "chat" and any(
        i["type"] == kind and all(i.get(k) == v for k, v in fields.items()) for i in m["items"])


async def comment(sock, client_id, text, reply_to=""):
    since = len(sock.messages)
    await sock.send({"type": "comment", "client_id": client_id, "text": text, "reply_to": reply_to})
    return await sock.wait(lambda m: m.get("type") in ("comment_ack", "comment_refused") and
                           m.get("client_id") == client_id, f"answer to {client_id}", since=since)


async def main():
    ops = await Socket.open(GW1, ROOM, OPS, "&watch=1")
    await ops.wait(of_type("chat_history"), "ops history")
    alice = await Socket.open(GW1, ROOM, ALICE)
    bob = await Socket.open(GW2, ROOM, BOB)
    for s, who in ((alice, "alice"), (bob, "bob")):
        await s.wait(of_type("joined"), f"{who} joined")
        h = await s.wait(of_type("chat_history"), f"{who} history")
        assert h["comments"] == [] and h["announcement"] == "", h

    # A comment: acknowledged with its id, delivered on both gateways; other viewers see an
    # alias, never the author's openid; the author sees it as their own; ops see the author.
    ack = await comment(alice, "c-1", "请问25厘米黑色还有吗？")
    assert ack["type"] == "comment_ack" and not ack["duplicate"] and not ack["held"], ack
    first = ack["comment_id"]
    seen = (await bob.wait(has_item("comment", comment_id=first), "bob gets alice's comment"))
    item = next(i for i in seen["items"] if i["comment_id"] == first)
    assert item["badge"] == "viewer" and "author_id" not in item and not item["own"], item
    assert len(item["author_alias"]) == 4 and item["text"] == "请问25厘米黑色还有吗？", item
    own = await alice.wait(has_item("comment", comment_id=first), "alice gets her own comment")
    mine = next(i for i in own["items"] if i["comment_id"] == first)
    assert mine["own"] and mine["author_id"], mine
    alice_id = mine["author_id"]
    full = await ops.wait(has_item("comment", comment_id=first), "ops get it")
    assert next(i for i in full["items"] if i["comment_id"] == first)["author_id"] == alice_id

    # A resend (same client id) is the same comment, posted once.
    again = await comment(alice, "c-1", "请问25厘米黑色还有吗？")
    assert again["type"] == "comment_ack" and again["duplicate"] and again["comment_id"] == first

    # The host answers over HTTP, as a reply: a host badge for everyone.
    code, body = http("POST", f"/v1/rooms/{ROOM}/comments", OPS,
                      {"client_id": "host-1", "text": "有的，黑色还有三只", "reply_to": first})
    assert code == 200, (code, body)
    host_id = body["comment"]["id"]
    reply = await bob.wait(has_item("comment", comment_id=host_id), "bob gets the host's reply")
    r = next(i for i in reply["items"] if i["comment_id"] == host_id)
    assert r["badge"] == "host" and r["reply_to"] == first, r

    # One order per room, whichever gateway: five quick comments from two viewers.
    for n in range(5):
        await (alice if n % 2 else bob).send(
            {"type": "comment", "client_id": f"o-{n}", "text": f"第{n}条", "reply_to": ""})
    await bob.wait(lambda m: len(bob.comment_ids()) >= 7, "bob: seven comments")
    await alice.wait(lambda m: len(alice.comment_ids()) >= 7, "alice: seven comments")
    await ops.wait(lambda m: len(ops.comment_ids()) >= 7, "ops: seven comments")
    assert bob.comment_ids() == alice.comment_ids() == ops.comment_ids(), \
        (bob.comment_ids(), alice.comment_ids(), ops.comment_ids())
    assert bob.comment_ids().count(first) == 1

    # Blocked words, evasions included: refused, and nobody else ever sees it.
    code, body = http("PUT", "/v1/moderation/blocked-words", OPS, {"words": ["假货", "微信号"]})
    assert code == 200, (code, body)
    for n, text in enumerate(["这是假货吧", "这是假 货", "这是ＡＢ假*货", "加我微-信-号"]):
        refused = await comment(bob, f"bw-{n}", text)
        assert refused["type"] == "comment_refused" and refused["reason"] == "blocked_word", \
            (text, refused)

    # Delete: gone from every screen.
    code, body = http("POST", f"/v1/comments/{first}/delete", OPS, {"reason": "duplicate question"})
    assert code == 200, (code, body)
    for s, who in ((alice, "alice"), (bob, "bob"), (ops, "ops")):
        await s.wait(has_item("comment_deleted", comment_id=first), f"{who} told of the delete")

    # Announcement: pinned for everyone.
    code, body = http("PUT", f"/v1/rooms/{ROOM}/announcement", OPS, {"text": "今晚8点限量发售"})
    assert code == 200, (code, body)
    await bob.wait(has_item("announcement", text="今晚8点限量发售"), "bob sees the announcement")

    # Mute: only alice is told; her comments are refused with the reason, over HTTP too.
    code, body = http("POST", f"/v1/rooms/{ROOM}/mutes", OPS,
                      {"viewer_id": alice_id, "duration_seconds": 600, "reason": "spam"})
    assert code == 200, (code, body)
    await alice.wait(has_item("viewer_muted"), "alice told she is muted")
    refused = await comment(alice, "m-1", "为什么")
    assert refused["type"] == "comment_refused" and refused["reason"] == "muted", refused
    code, body = http("POST", f"/v1/rooms/{ROOM}/comments", ALICE, {"client_id": "m-2", "text": "?"})
    assert code == 403 and body.get("reason") == "MUTED", (code, body)
    await asyncio.sleep(0.5)
    assert not bob.items("viewer_muted"), "bob was told of alice's mute"

    # Likes: exact, a resent batch counted once, the total pushed to every socket.
    for batch, count in (("b-1", 5), ("b-2", 3), ("b-1", 5)):
        await bob.send({"type": "like", "batch_id": batch, "count": count})
    acks = []
    for _ in range(3):
        m = await bob.wait(lambda m: m.get("type") == "like_ack" and m not in acks, "like ack")
        acks.append(m)
    assert [a["counted"] for a in acks].count(False) == 1, acks
    await alice.wait(likes_total(8), "alice sees 8 likes")
    code, body = http("GET", f"/v1/rooms/{ROOM}/likes", CAROL)
    assert code == 200 and body["total"] == "8", (code, body)
    await bob.send({"type": "like", "batch_id": "b-3", "count": 500})
    bad = await bob.wait(of_type("like_refused", batch_id="b-3"), "a batch of 500 refused")
    assert bad["reason"] == "invalid", bad

    # A socket that opens late gets the recent comments (without the deleted one) and the
    # announcement.
    frank = await Socket.open(GW2, ROOM, FRANK)
    h = await frank.wait(of_type("chat_history"), "frank's history")
    ids = [c["comment_id"] for c in h["comments"]]
    assert first not in ids and host_id in ids and len(ids) == 6, h
    assert h["announcement"] == "今晚8点限量发售", h
    assert all("author_id" not in c for c in h["comments"]), h

    # Thinning: 40 viewers' comments in about a second against a readable rate of 10 a second.
    # Viewers on a gateway get a sample and a folded count; a staff message inside the burst and
    # a viewer's own comments always arrive; ops get everything.
    carol = await Socket.open(GW2, ROOM, CAROL)
    await carol.wait(of_type("chat_history"), "carol's history")
    before_ops = len(ops.comment_ids())
    before_frank = len(frank.comment_ids())
    carol_ids = []
    # A like batch just before the burst: its total reaches the sockets while chat frames are
    # going, so it rides in them rather than in a "likes" frame of its own.
    await bob.send({"type": "like", "batch_id": "b-4", "count": 2})
    for n in range(40):
        if n == 20:
            code, body = http("POST", f"/v1/rooms/{ROOM}/comments", OPS,
                              {"client_id": "host-burst", "text": "还有最后一只"})
            assert code == 200, (code, body)
            host_burst = body["comment"]["id"]
        sender = carol if n % 2 else frank
        a = await comment(sender, f"t-{n}", f"好看{n}")
        assert a["type"] == "comment_ack", a
        if sender is carol:
            carol_ids.append(a["comment_id"])
        await asyncio.sleep(0.02)
    await ops.wait(lambda m: len(ops.comment_ids()) >= before_ops + 41, "ops get all 41")
    await asyncio.sleep(1.0)
    got = set(bob.comment_ids())
    assert host_burst in got, "the host's message was thinned away"
    assert set(carol_ids) <= set(carol.comment_ids()), "carol lost her own comments"
    assert bob.folded() > 0, "nothing was folded at 40 comments a second"
    burst_seen = len(got & set(ops.comment_ids()[before_ops:]))
    assert burst_seen + bob.folded() >= 41 - 1, (burst_seen, bob.folded())
    assert len(frank.comment_ids()) > before_frank
    for s, who in ((alice, "alice"), (bob, "bob"), (carol, "carol"), (frank, "frank"), (ops, "ops")):
        await s.wait(likes_total(10), f"{who} sees 10 likes")
    carried = [s for s in (alice, bob, carol, frank, ops)
               if any(m.get("type") == "chat" and m.get("likes") == 10 for m in s.messages)]
    assert carried, "no chat frame carried the like total during the burst"
    # The room's stats (about every second) too.
    assert any(m.get("type") == "chat" and m.get("stats", {}).get("room_id") == ROOM
               for s in (alice, bob, carol, frank, ops) for m in s.messages), \
        "no chat frame carried the stats during the burst"

    # A private room: nobody without an invite reads or writes its chat; an invited viewer does,
    # and nothing of it reaches the public room.
    code, body = http("GET", f"/v1/rooms/{PRIVATE}/comments", DAVE)
    assert code in (403, 404), (code, body)
    code, body = http("POST", f"/v1/rooms/{PRIVATE}/comments", DAVE, {"client_id": "p-0", "text": "hi"})
    assert code in (403, 404), (code, body)
    code, body = http("POST", f"/v1/rooms/{PRIVATE}/join", ERIN,
                      {"device_id": "phone-e", "invite_token": INVITE})
    assert code == 200, (code, body)
    erin = await Socket.open(GW1, PRIVATE, ERIN)
    await erin.wait(of_type("chat_history"), "erin's history")
    a = await comment(erin, "p-1", "私享会的包包在哪里看？")
    assert a["type"] == "comment_ack", a
    await erin.wait(has_item("comment", comment_id=a["comment_id"]), "erin sees her comment")
    await asyncio.sleep(0.5)
    assert a["comment_id"] not in ops.comment_ids() + bob.comment_ids()
    code, body = http("GET", f"/v1/rooms/{PRIVATE}/comments", RIVAL)
    assert code == 404, (code, body)
    # Erin came through Lin's invite: her question is Lin's alert, with its text.
    question = None
    for _ in range(100):
        code, body = http("GET", "/v1/alerts", LIN)
        assert code == 200, (code, body)
        question = next((x for x in body.get("alerts", []) if x.get("kind") == "ALERT_KIND_QUESTION"
                         and x.get("comment_id") == a["comment_id"]), None)
        if question:
            break
        await asyncio.sleep(0.1)
    assert question and question["text"] == "私享会的包包在哪里看？" and question["room_id"] == PRIVATE, body

    # Ban: brand-wide; bob's next comment is refused.
    code, body = http("POST", f"/v1/rooms/{ROOM}/comments", BOB, {"client_id": "pre-ban", "text": "ok"})
    assert code == 200, (code, body)
    bob_id = body["comment"]["author_id"]
    code, body = http("POST", "/v1/bans", OPS, {"viewer_id": bob_id, "reason": "abuse"})
    assert code == 200, (code, body)
    refused = await comment(bob, "after-ban", "为什么")
    assert refused["reason"] == "banned", refused

    # Garbage on the socket: told, nothing posted.
    await bob.ws.send("not json")
    await bob.wait(of_type("error"), "an error for a non-JSON message")

    for s in (ops, alice, bob, frank, carol, erin):
        await s.close()
    print("chat: ok")


asyncio.run(main())
