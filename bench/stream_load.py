#!/usr/bin/env python3
"""Encoder to live, and the delay of the local HLS path (bench/run stream). Standard library plus
Debian's python3-websockets; ffmpeg and ffprobe on the PATH.

Every push goes through a TCP relay in this process, between ffmpeg and nginx-rtmp's RTMP port.
The relay notes, on each connection:
  t0           the first byte ffmpeg sends (the RTMP handshake starts);
  t_publish    ffmpeg's "publish" command (handshake and "connect" done);
  t_accepted   nginx's onStatus "NetStream.Publish.Start" to ffmpeg: nginx sends it once the
               gateway answered its on_publish callback with a 2xx, i.e. once the room service
               has taken the push (and, for a room that starts on publish, made it live);
  t_media      the first bytes ffmpeg sends after that (its -re clock starts once the output is
               open, so a frame at media time m leaves ffmpeg at about t_media + m - m0).

Pushes, one at a time, alternating, --pushes in all (default 20, so 10 of each):
  start_on_publish  a scheduled room that starts on publish; an ops watch socket
                    (GET /v1/rooms/{id}/ws?watch=1) is open on it; measured from t0 to the first
                    socket message {"type":"stats"} with status ROOM_STATUS_LIVE and stream.state
                    STREAM_STATE_UP;
  viewer            a room ops made live first; a viewer's socket is open on it; measured from t0
                    to the first stats message with stream.state STREAM_STATE_UP.
Each push starts at a random point of a second after the socket's first stats message (the
room service's polling and per-second stats would otherwise always meet it at the same point of
their cycle). After each, ffmpeg is killed and the room ended through the API. A push whose
message does not come within --timeout seconds is an error. Before them, one push with a wrong
key to a room that starts on publish: refused if ffmpeg fails within a few seconds, nginx never
said Publish.Start and the room is still scheduled with its stream not up; otherwise an error.

The last viewer push is held for --hls-seconds: its signed HLS address (the joined message's
play.hls) is polled every 50 ms; each segment is fetched the moment it is first listed (wall time
W, late by 0 to 50 ms because of the polling) and its first and last video frames' PTS are read
with ffprobe. The frame at media time m was pushed when its video message passed the relay (the
relay reads the RTMP chunk stream for this): nginx-rtmp's PTS is the RTMP timestamp plus a fixed
0.7 s, so m - m0 (m0 the stream's first video PTS) is the frame's timestamp counted from the first
frame's. Per segment: the delay of its last frame W - pushed(last) and of its first frame
W - pushed(first). And the delay a player starting at the live edge sees: for every poll p, hls.js
starts 3 target durations before the end of the playlist it just read (liveSyncDurationCount 3),
at media time s = end - 3 TD, and shows it at about p, so its delay is p - pushed(s), and stays so
while it plays at normal speed; polls whose playlist does not yet hold 3 target durations are
left out. Not counted: fetching the segments and decoding (tens of milliseconds on loopback).

Per-push lines go to stderr; the last stdout line is key=value figures for bench/run.

usage: stream_load.py --gateway HOST:PORT --rtmp-port PORT --brand B --ops TOKEN
"""
import argparse
import asyncio
import bisect
import http.client
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

import websockets

ROOM = {"title": "Stream benchmark", "scheduled_start": "2026-01-01T00:00:00Z",
        "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_FOLLOWERS"],
        "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}
PUBLISH_COMMAND = b"\x02\x00\x07publish"  # AMF0 string "publish", the command's name
PUBLISH_START = b"NetStream.Publish.Start"


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def percentile(values, p):
    """Nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * p // 100))
    return ordered[int(rank) - 1]


def ms(seconds):
    return round(seconds * 1000, 1)


class Api:
    def __init__(self, gateway):
        self.host, port = gateway.rsplit(":", 1)
        self.port = int(port)

    def call(self, method, path, token=None, body=None):
        """(status, parsed body); status 0 when the gateway could not be reached."""
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
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
        except (OSError, http.client.HTTPException) as e:
            return 0, {"error": str(e)}
        finally:
            conn.close()
        try:
            return response.status, json.loads(raw) if raw else {}
        except ValueError:
            return response.status, {"raw": raw[:200].decode(errors="replace")}

    async def acall(self, *args, **kwargs):
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, lambda: self.call(*args, **kwargs))


class RtmpFrames:
    """Reads the RTMP chunk stream ffmpeg sends (after the handshake) just enough to note when each
    video frame has fully passed the relay: (RTMP timestamp in ms, monotonic time), in order."""

    HANDSHAKE = 1 + 1536 + 1536  # C0, C1, C2

    def __init__(self):
        self.skip = self.HANDSHAKE
        self.buffer = bytearray()
        self.chunk_size = 128
        self.streams = {}
        self.video = []

    def feed(self, data, now):
        if self.skip:
            taken = min(self.skip, len(data))
            self.skip -= taken
            data = data[taken:]
        self.buffer += data
        position = 0
        while True:
            used = self.chunk(position, now)
            if used == 0:
                break
            position += used
        del self.buffer[:position]

    def chunk(self, at, now):
        """Bytes of one whole chunk at buffer offset at (0 if incomplete), applied."""
        b = self.buffer
        end = len(b)
        if at >= end:
            return 0
        fmt, csid, i = b[at] >> 6, b[at] & 0x3F, at + 1
        if csid == 0:
            if i + 1 > end:
                return 0
            csid, i = 64 + b[i], i + 1
        elif csid == 1:
            if i + 2 > end:
                return 0
            csid, i = 64 + b[i] + 256 * b[i + 1], i + 2
        header = (11, 7, 3, 0)[fmt]
        if i + header > end:
            return 0
        s = self.streams.setdefault(csid, {"ts": 0, "delta": 0, "length": 0, "type": 0,
                                           "remaining": 0, "ext": False, "payload": bytearray()})
        ts_field, length, kind = None, s["length"], s["type"]
        if fmt <= 2:
            ts_field = int.from_bytes(b[i:i + 3], "big")
        if fmt <= 1:
            length, kind = int.from_bytes(b[i + 3:i + 6], "big"), b[i + 6]
        i += header
        ext = ts_field == 0xFFFFFF if fmt <= 2 else s["ext"]
        if ext:
            if i + 4 > end:
                return 0
            ext_value = int.from_bytes(b[i:i + 4], "big")
            if fmt <= 2:
                ts_field = ext_value
            i += 4
        starts = fmt <= 2 or s["remaining"] == 0
        remaining = length if starts else s["remaining"]
        size = min(self.chunk_size, remaining)
        if i + size > end:
            return 0
        # The whole chunk is here: apply it.
        if fmt == 0:
            s["ts"], s["delta"] = ts_field, 0
        elif fmt <= 2:
            s["ts"], s["delta"] = s["ts"] + ts_field, ts_field
        elif starts:
            s["ts"] += s["delta"]
        s["length"], s["type"], s["ext"] = length, kind, ext
        if starts:
            s["payload"] = bytearray()
        if kind == 1 or (kind == 9 and len(s["payload"]) < 2):
            s["payload"] += b[i:i + size]
        s["remaining"] = remaining - size
        if s["remaining"] == 0:
            if kind == 1 and len(s["payload"]) >= 4:  # Set Chunk Size
                self.chunk_size = int.from_bytes(s["payload"][:4], "big") & 0x7FFFFFFF
            elif kind == 9 and not (len(s["payload"]) >= 2 and s["payload"][1] == 0):
                # A video frame (not the AVC sequence header: FLV's AVCPacketType 0).
                self.video.append((s["ts"], now))
        return i + size - at


class Probe:
    """What the relay saw on one RTMP connection."""

    def __init__(self):
        self.t0 = None
        self.t_publish = None
        self.t_accepted = None
        self.t_media = None
        self.closed = None
        self.client_buffer = b""
        self.server_buffer = b""
        self.frames = RtmpFrames()


class Relay:
    """Listens on a free loopback port and pipes each connection to nginx-rtmp; the probe of the
    push being made (set before ffmpeg starts) records the times."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.probe = None
        self.port = None
        self.server = None

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, client_reader, client_writer):
        probe = self.probe if self.probe is not None else Probe()
        upstream = asyncio.ensure_future(
            asyncio.open_connection("127.0.0.1", self.upstream_port))

        async def client_to_server(server_writer):
            first = True
            while True:
                data = await client_reader.read(65536)
                now = time.monotonic()
                if not data:
                    break
                if first:
                    first = False
                    if probe.t0 is None:
                        probe.t0 = now
                probe.frames.feed(data, now)
                if probe.t_publish is None:
                    probe.client_buffer += data
                    if PUBLISH_COMMAND in probe.client_buffer:
                        probe.t_publish = now
                        probe.client_buffer = b""
                    elif len(probe.client_buffer) > 1 << 20:
                        probe.client_buffer = probe.client_buffer[-64:]
                elif probe.t_accepted is not None and probe.t_media is None:
                    probe.t_media = now
                server_writer.write(data)
                await server_writer.drain()

        async def server_to_client():
            while True:
                data = await server_reader.read(65536)
                now = time.monotonic()
                if not data:
                    break
                if probe.t_accepted is None:
                    probe.server_buffer += data
                    if PUBLISH_START in probe.server_buffer:
                        probe.t_accepted = now
                        probe.server_buffer = b""
                    elif len(probe.server_buffer) > 1 << 20:
                        probe.server_buffer = probe.server_buffer[-64:]
                client_writer.write(data)
                await client_writer.drain()

        try:
            # The first client read must not wait for the upstream connection: t0 is when the
            # client's first bytes arrive, so they are read first and written once it is open.
            data = await client_reader.read(65536)
            if data and probe.t0 is None:
                probe.t0 = time.monotonic()
            server_reader, server_writer = await upstream
            if data:
                probe.frames.feed(data, probe.t0)
                probe.client_buffer += data
                server_writer.write(data)
            tasks = [asyncio.ensure_future(client_to_server(server_writer)),
                     asyncio.ensure_future(server_to_client())]
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in tasks:
                task.cancel()
            server_writer.close()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            probe.closed = time.monotonic()
            client_writer.close()


class Ffmpeg:
    """ffmpeg pushing a test pattern with a tone, as tests/e2e/stream_test.sh does."""

    def __init__(self, url, workdir, seconds=None):
        self.log_path = os.path.join(workdir, f"ffmpeg-{time.monotonic_ns()}.log")
        limit = ["-t", str(seconds)] if seconds else []
        self.log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-re",
             "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
             "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", *limit,
             "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "25",
             "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k", "-f", "flv", url],
            stdout=subprocess.DEVNULL, stderr=self.log_file)

    async def wait(self, timeout):
        """The exit code, or None if still running after timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                self.log_file.close()
                return code
            await asyncio.sleep(0.05)
        return None

    async def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        await self.wait(5)

    def output(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read()[-300:].decode(errors="replace").strip().replace("\n", " | ")
        except OSError:
            return ""


class Socket:
    """A room WebSocket whose messages are kept with their arrival times."""

    def __init__(self, url):
        self.url = url
        self.messages = []  # (monotonic time, parsed message)
        self.changed = asyncio.Event()
        self.ws = None
        self.task = None
        self.failure = None

    async def open(self):
        self.ws = await websockets.connect(self.url, open_timeout=10, max_size=1 << 22,
                                           ping_interval=None)
        self.task = asyncio.ensure_future(self.read())

    async def read(self):
        try:
            async for raw in self.ws:
                now = time.monotonic()
                try:
                    message = json.loads(raw)
                except ValueError:
                    continue
                self.messages.append((now, message))
                self.changed.set()
        except websockets.WebSocketException as e:
            self.failure = str(e)
        self.changed.set()

    async def wait_for(self, predicate, deadline, start=0):
        """(time, message) of the first message from index start that satisfies predicate, or
        None at the deadline (monotonic) or when the socket closes."""
        index = start
        while True:
            while index < len(self.messages):
                at, message = self.messages[index]
                index += 1
                if predicate(message):
                    return at, message
            if self.task.done() or time.monotonic() >= deadline:
                return None
            self.changed.clear()
            try:
                await asyncio.wait_for(self.changed.wait(), max(0.01, deadline - time.monotonic()))
            except asyncio.TimeoutError:
                pass

    async def close(self):
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 5)
            except (asyncio.TimeoutError, websockets.WebSocketException, OSError):
                pass
        if self.task is not None:
            self.task.cancel()


def stats_of(message):
    if message.get("type") != "stats":
        return None
    return message.get("stats") or {}


def live_and_up(message):
    stats = stats_of(message)
    return (stats is not None and stats.get("status") == "ROOM_STATUS_LIVE"
            and (stats.get("stream") or {}).get("state") == "STREAM_STATE_UP")


def up(message):
    stats = stats_of(message)
    return stats is not None and (stats.get("stream") or {}).get("state") == "STREAM_STATE_UP"


class HlsWatcher(threading.Thread):
    """Polls a playlist every interval seconds; fetches each segment when it is first listed."""

    def __init__(self, playlist_url, workdir, interval=0.05):
        super().__init__(daemon=True)
        self.url = urllib.parse.urlsplit(playlist_url)
        self.base = playlist_url.rsplit("/", 1)[0] + "/"
        self.workdir = workdir
        self.interval = interval
        self.stop_event = threading.Event()
        self.segments = {}  # uri -> {"seen": W, "extinf": s, "sequence": n, "file": path}
        self.polls = []  # (time, target duration, [uri, ...]) of every playlist read
        self.errors = 0

    def fetch(self, conn, path):
        conn.request("GET", path)
        response = conn.getresponse()
        body = response.read()
        return response.status, body

    def run(self):
        conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=5)
        while not self.stop_event.is_set():
            started = time.monotonic()
            try:
                status, body = self.fetch(conn, self.url.path)
                now = time.monotonic()
                if status == 200:
                    self.read_playlist(conn, body.decode(), now)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = http.client.HTTPConnection(self.url.hostname, self.url.port, timeout=5)
            self.stop_event.wait(max(0.0, self.interval - (time.monotonic() - started)))
        conn.close()

    def read_playlist(self, conn, text, now):
        target = 0
        sequence = 0
        extinf = None
        listed = []
        for line in text.splitlines():
            line = line.strip()
            if line.startswith("#EXT-X-TARGETDURATION:"):
                target = float(line.split(":", 1)[1])
            elif line.startswith("#EXT-X-MEDIA-SEQUENCE:"):
                sequence = int(line.split(":", 1)[1])
            elif line.startswith("#EXTINF:"):
                extinf = float(line.split(":", 1)[1].split(",", 1)[0])
            elif line and not line.startswith("#"):
                listed.append(line)
                if line not in self.segments:
                    self.segments[line] = {"seen": now, "extinf": extinf,
                                           "sequence": sequence + len(listed) - 1, "file": None}
                    self.download(conn, line)
                extinf = None
        self.polls.append((now, target, listed))

    def download(self, conn, uri):
        path = urllib.parse.urlsplit(urllib.parse.urljoin(self.base, uri)).path
        try:
            status, body = self.fetch(conn, path)
        except (OSError, http.client.HTTPException):
            self.errors += 1
            return
        if status == 200:
            name = os.path.join(self.workdir, os.path.basename(path))
            with open(name, "wb") as f:
                f.write(body)
            self.segments[uri]["file"] = name
        else:
            self.errors += 1


def video_frame_times(path):
    """(first, last) video PTS of a .ts in seconds, by ffprobe; None if unreadable."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
             "packet=pts_time", "-of", "csv=p=0", path],
            capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    times = []
    for line in out.split():
        try:
            times.append(float(line.strip(",")))
        except ValueError:
            pass
    if not times:
        return None
    return min(times), max(times)


def hls_figures(watcher, probe, frame_s):
    """Per-segment and live-edge delays of one push (see the module's docstring)."""
    segments = sorted(watcher.segments.items(), key=lambda kv: kv[1]["sequence"])
    if not segments or probe.t_media is None:
        return None
    for uri, seg in segments:
        times = video_frame_times(seg["file"]) if seg["file"] else None
        seg["first"], seg["last"] = times if times else (None, None)
    first_probed = next((s for _, s in segments if s["first"] is not None), None)
    if first_probed is None:
        return None
    # m0: the stream's first video PTS (the first segment, sequence 0, starts the stream).
    m0 = first_probed["first"]
    if first_probed["sequence"] != 0:
        log(f"hls: segment 0 was not read; media times counted from sequence "
            f"{first_probed['sequence']}")

    # When the frame at media time m left ffmpeg: the video frame with that RTMP timestamp as it
    # passed the relay. nginx-rtmp writes PTS = RTMP timestamp + a fixed 0.7 s, so m - m0 is the
    # timestamp counted from the first frame's. Without frames, -re's pacing from t_media.
    video = probe.frames.video
    stamps = [ts for ts, _ in video]

    def pushed(m):
        if not video:
            return probe.t_media + (m - m0)
        want = video[0][0] + round((m - m0) * 1000)
        k = bisect.bisect_left(stamps, want)
        if k == len(stamps) or (k > 0 and want - stamps[k - 1] < stamps[k] - want):
            k -= 1
        return video[k][1] + (want - stamps[k]) / 1000

    last_delays, first_delays, rows = [], [], []
    for uri, seg in segments:
        if seg["first"] is None:
            continue
        last_delay = seg["seen"] - pushed(seg["last"])
        first_delay = seg["seen"] - pushed(seg["first"])
        last_delays.append(last_delay)
        first_delays.append(first_delay)
        rows.append(f"seq={seg['sequence']} extinf={seg['extinf']} "
                    f"media={seg['first'] - m0:.3f}-{seg['last'] - m0 + frame_s:.3f} "
                    f"listed_after_t0_ms={ms(seg['seen'] - probe.t0)} "
                    f"last_frame_ms={ms(last_delay)} first_frame_ms={ms(first_delay)}")
    # A player starting at the live edge: at each poll, 3 target durations before the end of the
    # playlist just read.
    edge = []
    targets = set()
    for at, target, listed in watcher.polls:
        known = [watcher.segments[u] for u in listed
                 if watcher.segments[u].get("first") is not None]
        if not known or not target:
            continue
        targets.add(target)
        end = known[-1]["last"] + frame_s
        if end - 3 * target < known[0]["first"]:
            continue  # the playlist does not yet hold 3 target durations: not the steady state
        edge.append(at - pushed(end - 3 * target))
    first_seen = segments[0][1]["seen"]
    if video:
        # How far -re's pacing model (t_media + m) is from the frames' real departure.
        lag = [t - (probe.t_media + (ts - video[0][0]) / 1000) for ts, t in video]
        log(f"hls: {len(video)} video messages; departure minus t_media+m: first "
            f"{ms(lag[0])} ms, last {ms(lag[-1])} ms, max {ms(max(lag))} ms; "
            f"first video RTMP timestamp {video[0][0]} ms, first TS PTS {m0:.3f} s")
    return {
        "segments": len(rows),
        "rows": rows,
        "last": last_delays,
        "first": first_delays,
        "edge": edge,
        "target": max(targets) if targets else 0,
        "first_listing_s": first_seen - probe.t0,
        "media_offset_s": probe.t_media - probe.t0,
    }


async def create_room(api, ops, start_on_publish):
    body = dict(ROOM, start_on_publish=start_on_publish)
    status, answer = await api.acall("POST", "/v1/rooms", ops, body)
    if status != 200:
        raise RuntimeError(f"create room: {status} {answer}")
    return answer["room"]["id"]


async def push_url_of(api, ops, room, relay_port):
    status, answer = await api.acall("GET", f"/v1/rooms/{room}/push-address", ops)
    if status != 200:
        raise RuntimeError(f"push address: {status} {answer}")
    url = urllib.parse.urlsplit(answer["push"]["url"])
    return urllib.parse.urlunsplit(url._replace(netloc=f"127.0.0.1:{relay_port}"))


async def room_state(api, ops, room):
    status, answer = await api.acall("GET", f"/v1/rooms/{room}/stats", ops)
    stats = answer.get("stats", {}) if status == 200 else {}
    return stats.get("status", ""), (stats.get("stream") or {}).get("state", "")


async def wrong_key_push(args, api, relay, workdir):
    """True if the push with a wrong key was refused."""
    room = await create_room(api, args.ops, True)
    url = urllib.parse.urlsplit(await push_url_of(api, args.ops, room, relay.port))
    bad = urllib.parse.urlunsplit(url._replace(query="key=wrong"))
    relay.probe = probe = Probe()
    ffmpeg = Ffmpeg(bad, workdir, seconds=5)
    code = await ffmpeg.wait(10)
    if code is None:
        await ffmpeg.stop()
    status, state = await room_state(api, args.ops, room)
    refused = (code not in (None, 0) and probe.t_accepted is None
               and status == "ROOM_STATUS_SCHEDULED" and state != "STREAM_STATE_UP")
    log(f"wrong key: ffmpeg exit={code} after_ms="
        f"{ms((probe.closed or time.monotonic()) - probe.t0) if probe.t0 else '-'} "
        f"publish_start_seen={probe.t_accepted is not None} room={status} stream={state or '-'} "
        f"-> {'refused' if refused else 'ACCEPTED (error)'} ({ffmpeg.output()[:120]})")
    await api.acall("POST", f"/v1/rooms/{room}/end", args.ops)
    return refused


async def measured_push(args, api, relay, workdir, index, kind, hls_seconds=0):
    """One measured push; a dict of its figures, or a dict with "error"."""
    ws_base = f"ws://{args.gateway}/v1/rooms"
    ffmpeg = None
    socket = None
    room = None
    watcher = None
    result = {"kind": kind}
    try:
        room = await create_room(api, args.ops, kind == "start_on_publish")
        push_url = await push_url_of(api, args.ops, room, relay.port)
        deadline = time.monotonic() + 10
        if kind == "start_on_publish":
            socket = Socket(f"{ws_base}/{room}/ws?watch=1&access_token={args.ops}")
            await socket.open()
            ready = await socket.wait_for(lambda m: m.get("type") == "watching", deadline)
            predicate = live_and_up
        else:
            status, answer = await api.acall("POST", f"/v1/rooms/{room}/live", args.ops)
            if status != 200:
                raise RuntimeError(f"go live: {status} {answer}")
            login = {"code": f"stream-viewer-{index}", "brand_id": args.brand}
            status, answer = await api.acall("POST", "/v1/login", None, login)
            if status != 200:
                raise RuntimeError(f"login: {status} {answer}")
            socket = Socket(f"{ws_base}/{room}/ws?device_id=bench-{index}"
                            f"&access_token={answer['token']}")
            await socket.open()
            ready = await socket.wait_for(lambda m: m.get("type") == "joined", deadline)
            if ready:
                result["play"] = ((ready[1].get("joined") or {}).get("play") or {}).get("hls", "")
            predicate = up
        if ready is None:
            raise RuntimeError(f"the socket's first message never came ({socket.failure})")
        # The socket in its steady state: a first stats message (the stream not up yet) before
        # the push starts.
        first_stats = await socket.wait_for(lambda m: m.get("type") == "stats",
                                            time.monotonic() + 3)
        if first_stats and predicate(first_stats[1]):
            raise RuntimeError("the stream is up before the push")
        # Not in step with the server: the room service polls a room's state on a fixed period
        # and sends stats each second, so a push started right after a stats message would
        # always land at the same point of that cycle. Start it at a random point of a second.
        await asyncio.sleep(args.random.uniform(0, 1))
        if hls_seconds:
            if not result.get("play"):
                raise RuntimeError("the joined message has no play.hls")
            watcher = HlsWatcher(result["play"], workdir)
            watcher.start()
        relay.probe = probe = Probe()
        start_index = len(socket.messages)
        ffmpeg = Ffmpeg(push_url, workdir)
        got = await socket.wait_for(predicate, time.monotonic() + args.timeout, start_index)
        if got is None or probe.t0 is None:
            code = ffmpeg.process.poll()
            raise RuntimeError(f"no {'live' if kind == 'start_on_publish' else 'up'} message "
                               f"within {args.timeout}s (ffmpeg exit={code} "
                               f"{ffmpeg.output()[:160]}; "
                               f"publish_start_seen={probe.t_accepted is not None})")
        at, message = got
        result["ms"] = ms(at - probe.t0)
        result["floor_ms"] = ms(probe.t_accepted - probe.t0) if probe.t_accepted else None
        result["handshake_ms"] = ms(probe.t_publish - probe.t0) if probe.t_publish else None
        result["callback_ms"] = (ms(probe.t_accepted - probe.t_publish)
                                 if probe.t_accepted and probe.t_publish else None)
        result["to_socket_ms"] = ms(at - probe.t_accepted) if probe.t_accepted else None
        result["publish_to_live_ms"] = ((message.get("stats") or {}).get("stream") or {}).get(
            "publish_to_live_ms", "")
        result["as_of"] = (message.get("stats") or {}).get("as_of", "")
        log(f"push {index:2d} {kind:16s} room={room} live_ms={result['ms']} "
            f"rtmp_handshake_connect_ms={result['handshake_ms']} "
            f"on_publish_answered_ms={result['callback_ms']} "
            f"publish_start_to_socket_ms={result['to_socket_ms']} "
            f"room_publish_to_live_ms={result['publish_to_live_ms']} stats_as_of={result['as_of']}")
        if watcher is not None:
            log(f"hls: holding the push {hls_seconds}s, polling {result['play'].split('/play/')[0]}"
                "/play/.../index.m3u8 every 50 ms")
            end = time.monotonic() + hls_seconds
            while time.monotonic() < end and ffmpeg.process.poll() is None:
                await asyncio.sleep(0.2)
            watcher.stop_event.set()
            watcher.join(5)
            if ffmpeg.process.poll() is not None:
                log(f"hls: ffmpeg ended early: {ffmpeg.output()[:200]}")
            loop = asyncio.get_running_loop()
            result["hls"] = await loop.run_in_executor(None, hls_figures, watcher, probe, 1 / 25)
            result["hls_errors"] = watcher.errors
    except (RuntimeError, OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
        result["error"] = str(e)
        log(f"push {index:2d} {kind:16s} room={room} ERROR {e}")
    finally:
        if watcher is not None:
            watcher.stop_event.set()
        if ffmpeg is not None:
            await ffmpeg.stop()
        if socket is not None:
            await socket.close()
        if room is not None:
            await api.acall("POST", f"/v1/rooms/{room}/end", args.ops)
    return result


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--gateway", required=True, help="HOST:PORT")
    parser.add_argument("--rtmp-port", type=int, required=True)
    parser.add_argument("--brand", required=True)
    parser.add_argument("--ops", required=True, help="an ops token of the brand")
    parser.add_argument("--pushes", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=10)
    parser.add_argument("--hls-seconds", type=float, default=30)
    parser.add_argument("--pause", type=float, default=1.0, help="seconds between pushes")
    parser.add_argument("--seed", type=int, default=18, help="of the pushes' random start")
    args = parser.parse_args()
    args.random = random.Random(args.seed)
    api = Api(args.gateway)
    workdir = tempfile.mkdtemp(prefix="lc-stream-load.")
    relay = Relay(args.rtmp_port)
    await relay.start()
    try:
        try:
            refused = await wrong_key_push(args, api, relay, workdir)
        except (RuntimeError, OSError) as e:
            log(f"wrong key: ERROR {e}")
            refused = False
        await asyncio.sleep(args.pause)
        results = []
        for i in range(args.pushes):
            kind = "start_on_publish" if i % 2 == 0 else "viewer"
            hold = args.hls_seconds if i == args.pushes - 1 and kind == "viewer" else 0
            results.append(await measured_push(args, api, relay, workdir, i + 1, kind, hold))
            await asyncio.sleep(args.pause)
    finally:
        relay.server.close()
        shutil.rmtree(workdir, ignore_errors=True)

    ok = [r for r in results if "error" not in r]
    errors = len(results) - len(ok) + (0 if refused else 1)

    def pick(kind, key):
        return [r[key] for r in ok
                if (kind is None or r["kind"] == kind) and r.get(key) is not None]

    figures = {
        "pushes": len(results),
        "p50_ms": percentile(pick(None, "ms"), 50),
        "p99_ms": percentile(pick(None, "ms"), 99),
        "max_ms": max(pick(None, "ms"), default=0),
        "errors": errors,
        "refused_bad_key": 1 if refused else 0,
        "start_on_publish_p50_ms": percentile(pick("start_on_publish", "ms"), 50),
        "start_on_publish_p99_ms": percentile(pick("start_on_publish", "ms"), 99),
        "viewer_p50_ms": percentile(pick("viewer", "ms"), 50),
        "viewer_p99_ms": percentile(pick("viewer", "ms"), 99),
        "floor_ms": percentile(pick(None, "floor_ms"), 50),
        "floor_p99_ms": percentile(pick(None, "floor_ms"), 99),
        "floor_kind": "first-byte-to-rtmp-publish-start",
        "handshake_p50_ms": percentile(pick(None, "handshake_ms"), 50),
        "on_publish_p50_ms": percentile(pick(None, "callback_ms"), 50),
        "on_publish_p99_ms": percentile(pick(None, "callback_ms"), 99),
        "to_socket_p50_ms": percentile(pick(None, "to_socket_ms"), 50),
        "to_socket_p99_ms": percentile(pick(None, "to_socket_ms"), 99),
    }
    hls = next((r["hls"] for r in ok if r.get("hls")), None)
    if hls:
        for row in hls["rows"]:
            log(f"hls segment {row}")
        figures.update({
            "hls_segments": hls["segments"],
            "hls_target_s": hls["target"],
            "hls_segment_delay_p50_ms": ms(percentile(hls["last"], 50)),
            "hls_segment_delay_p99_ms": ms(percentile(hls["last"], 99)),
            "hls_first_frame_delay_p50_ms": ms(percentile(hls["first"], 50)),
            "hls_first_frame_delay_p99_ms": ms(percentile(hls["first"], 99)),
            "hls_live_edge_delay_p50_ms": ms(percentile(hls["edge"], 50)),
            "hls_live_edge_delay_p99_ms": ms(percentile(hls["edge"], 99)),
            "hls_first_listing_ms": ms(hls["first_listing_s"]),
            "hls_media_start_ms": ms(hls["media_offset_s"]),
        })
    else:
        figures.update({"hls_segments": 0, "hls_segment_delay_p50_ms": 0,
                        "hls_first_frame_delay_p99_ms": 0})
        log("hls: no figures (the HLS push failed)")
    print(" ".join(f"{k}={v}" for k, v in figures.items()), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
