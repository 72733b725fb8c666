#!/usr/bin/env bash
# The local streaming server's configuration (scripts/nginx-rtmp.conf.template, started by
# scripts/lib.sh's lc_start_nginx_rtmp) against real ffmpeg pushes. A few lines of Python stand in
# for the gateway's callback endpoint here only: they accept on_publish with key=good, refuse
# any other key with 403, and append every callback's fields to a file. Checked:
# - a push with the right key goes live: on_publish carries app, name and key on the secret
#   callback path, and the HLS playlist appears and lists segments;
# - the signed play URL answers the playlist and, through the same signed path, a segment that
#   ffprobe reads as H.264 and AAC in MPEG-TS, with CORS and cache headers; a wrong signature, a
#   signature for another stream or another expiry is 403, an expired one 410; RTMP play is
#   refused;
# - a second push to a name that is live is refused and the first keeps going; its callbacks
#   carry its own clientid;
# - a push with a wrong key is refused: ffmpeg fails, no playlist;
# - stopping the push gives on_publish_done and on_record_done with a non-empty .flv;
# - the control URL cuts a running push (ffmpeg ends, on_publish_done);
# - a frozen encoder (SIGSTOP) is dropped after about 10 s (on_publish_done);
# - no log holds the push key, the play secret, the callback secret or a signature.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib.sh
source "$root/scripts/lib.sh"
py=/usr/bin/python3
for tool in nginx ffmpeg ffprobe curl jq openssl; do
  command -v "$tool" >/dev/null || { echo "FAIL: no $tool (scripts/deps installs it)"; exit 1; }
done

work="$(mktemp -d /tmp/lc-stream-test.XXXXXX)"
srv="$work/nginx"
callbacks="$work/callbacks.jsonl"
ffmpeg_pids=()
receiver_pid=""
cleanup() {
  local pid
  for pid in "${ffmpeg_pids[@]}"; do
    { kill -9 "$pid" && wait "$pid"; } 2>/dev/null || true
  done
  lc_stop_nginx_rtmp "$srv" || true
  if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; fi
  rm -rf "$work" "/tmp/lc-ports-$$"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*"
  echo "--- callbacks received:"
  cat "$callbacks" 2>/dev/null || true
  echo "--- nginx error.log:"
  tail -n 20 "$srv/error.log" 2>/dev/null || true
  exit 1
}

# ---- The callback receiver (port 0: it writes the port it got) -------------------------------
cat >"$work/receiver.py" <<'PY'
import json, os, sys, threading, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

out, port_file = sys.argv[1], sys.argv[2]
lock = threading.Lock()

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        fields = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
        fields["http_path"] = self.path
        refused = fields.get("call") == "publish" and fields.get("key") != "good"
        with lock, open(out, "a") as f:
            f.write(json.dumps(fields) + "\n")
        self.send_response(403 if refused else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_port))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
PY
: >"$callbacks"
$py "$work/receiver.py" "$callbacks" "$work/receiver.port" &
receiver_pid=$!
lc_wait_for "callback receiver" 10 test -s "$work/receiver.port" ||
  fail "callback receiver never up"
callback_secret="$(openssl rand -hex 16)"
callback_path="/v1/stream/local/$callback_secret"
callback_base="http://127.0.0.1:$(cat "$work/receiver.port")$callback_path"
play_secret="$(openssl rand -hex 16)"

rtmp_port="$(lc_free_port)"
http_port="$(lc_free_port)"
lc_start_nginx_rtmp "$srv" "$rtmp_port" "$http_port" "$callback_base" "$play_secret" ||
  fail "lc_start_nginx_rtmp failed"
[ "$(stat -c %a "$srv/nginx.conf")" = 600 ] ||
  fail "nginx.conf holds the secrets but is mode $(stat -c %a "$srv/nginx.conf")"
play="http://127.0.0.1:$http_port/play"

# ---- Helpers -------------------------------------------------------------------------------------
# push NAME KEY: a test pattern with a 440 Hz tone, in the background; sets $push_pid.
push() {
  ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440 -c:v libx264 -preset veryfast -tune zerolatency -g 25 \
    -c:a aac -f flv "rtmp://127.0.0.1:$rtmp_port/live/$1?key=$2" >"$work/ffmpeg-$1.log" 2>&1 &
  push_pid=$!
  ffmpeg_pids+=("$push_pid")
}

# push_refused NAME KEY: pushes in the foreground; true when ffmpeg ended by itself with an error
# within 10 s (refused), false when it exited 0 or was still pushing (accepted).
push_refused() {
  local status=0
  timeout 10 ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi \
    -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440 -c:v libx264 \
    -preset veryfast -tune zerolatency -g 25 -c:a aac -f flv \
    "rtmp://127.0.0.1:$rtmp_port/live/$1?key=$2" >"$work/ffmpeg-refused-$1.log" 2>&1 || status=$?
  [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
}

# callback CALL NAME [CLIENTID]: the fields (JSON) of the first such callback, empty if none yet.
# A line still being written is skipped (fromjson?), not an error.
callback() {
  jq -cR --arg call "$1" --arg name "$2" --arg id "${3:-}" \
    'fromjson? | select(.call == $call and .name == $name and ($id == "" or .clientid == $id))' \
    "$callbacks" | head -n 1 || true
}
has_callback() { [ -n "$(callback "$@")" ]; }
field() { jq -r --arg f "$2" '.[$f] // ""' <<<"$1"; }

# sign EXPIRES NAME: the play URL signature, base64url without padding of MD5("E/NAME SECRET").
sign() {
  printf '%s' "$1/$2 $play_secret" | openssl md5 -binary | openssl base64 | tr '+/' '-_' |
    tr -d '='
}

# get URL: the body goes to $work/body, the headers to $work/headers, the status to $code.
get() { code="$(curl -s -o "$work/body" -D "$work/headers" -w '%{http_code}' "$1")"; }
header() { grep -i "^$1:" "$work/headers" | head -n 1 | cut -d: -f2- | tr -d '\r' | sed 's/^ //'; }

# segments FILE: the segment URIs a playlist lists.
segments() { grep -v '^#' "$1" | tr -d '\r' | grep '\.ts$' || true; }
playlist_segments() {
  [ -f "$srv/hls/$1/index.m3u8" ] && [ "$(segments "$srv/hls/$1/index.m3u8" | wc -l)" -ge 2 ]
}
media_sequence() {
  grep '^#EXT-X-MEDIA-SEQUENCE:' "$srv/hls/$1/index.m3u8" | cut -d: -f2 | tr -d '\r' || true
}
sequence_above() { [ "$(media_sequence "$1")" -gt "$2" ]; }

# ---- A push with the right key goes live ---------------------------------------------------------
push main good
main_pid=$push_pid
lc_wait_for "on_publish for main" 10 has_callback publish main ||
  fail "no on_publish for main; ffmpeg: $(cat "$work/ffmpeg-main.log")"
published="$(callback publish main)"
main_client="$(field "$published" clientid)"
[ "$(field "$published" key)" = good ] || fail "on_publish did not carry key=good: $published"
[ "$(field "$published" app)" = live ] || fail "on_publish did not carry app=live: $published"
[ "$(field "$published" http_path)" = "$callback_path/on_publish" ] ||
  fail "on_publish went to $(field "$published" http_path), not CALLBACK_BASE/on_publish"
[ -n "$main_client" ] || fail "on_publish carried no clientid: $published"
lc_wait_for "main's playlist" 10 playlist_segments main ||
  fail "no playlist with 2 segments at hls/main/index.m3u8 within 10 s: $(ls -R "$srv/hls")"

# ---- Signed playback -----------------------------------------------------------------------------
expires=$(($(date +%s) + 300))
sig="$(sign "$expires" main)"
get "$play/$expires/$sig/main/index.m3u8"
[ "$code" = 200 ] || fail "signed playlist answered $code"
[ "$(header Content-Type)" = application/vnd.apple.mpegurl ] ||
  fail "playlist Content-Type is $(header Content-Type)"
[ "$(header Access-Control-Allow-Origin)" = '*' ] || fail "playlist without CORS header"
[ "$(header Cache-Control)" = no-cache ] || fail "playlist Cache-Control is $(header Cache-Control)"
grep -q '^#EXTM3U' "$work/body" || fail "playlist is not an M3U8: $(head -c 200 "$work/body")"
grep -q '^#EXT-X-TARGETDURATION:1' "$work/body" ||
  fail "target duration is not 1 s: $(cat "$work/body")"
segment="$(segments "$work/body" | tail -n 1)"
[[ "$segment" =~ ^[0-9]+\.ts$ ]] ||
  fail "playlist lists no relative <n>.ts segment: $(cat "$work/body")"
get "$play/$expires/$sig/main/$segment"
[ "$code" = 200 ] || fail "signed segment $segment answered $code"
[ "$(header Content-Type)" = video/mp2t ] || fail "segment Content-Type is $(header Content-Type)"
[ "$(header Access-Control-Allow-Origin)" = '*' ] || fail "segment without CORS header"
[[ "$(header Cache-Control)" == *max-age=* ]] ||
  fail "segment Cache-Control is '$(header Cache-Control)', not cacheable"
size=$(stat -c %s "$work/body")
first_byte="$(od -An -tx1 -N1 "$work/body" | tr -d ' ')"
if [ "$size" -eq 0 ] || [ $((size % 188)) -ne 0 ] || [ "$first_byte" != 47 ]; then
  fail "segment is not MPEG-TS ($size bytes, first byte $first_byte)"
fi
codecs="$(ffprobe -v error -show_entries stream=codec_name -of csv=p=0 "$work/body" | grep . |
  sort -u | paste -sd' ' || true)"
[ "$codecs" = "aac h264" ] || fail "segment streams are '$codecs', not aac and h264"

bad_sig="$(sign "$expires" main-other)"
get "$play/$expires/$bad_sig/main/index.m3u8"
[ "$code" = 403 ] || fail "a signature for another stream name answered $code, not 403"
[ "$(header Access-Control-Allow-Origin)" = '*' ] || fail "403 without CORS header"
get "$play/$((expires + 3600))/$sig/main/index.m3u8"
[ "$code" = 403 ] || fail "a signature with its expiry moved answered $code, not 403"
get "$play/$expires/${sig:0:10}AAAAAAAAAAAA/main/$segment"
[ "$code" = 403 ] || fail "a wrong signature on a segment answered $code, not 403"
expired=$(($(date +%s) - 5))
get "$play/$expired/$(sign "$expired" main)/main/index.m3u8"
[ "$code" = 410 ] || fail "an expired play URL answered $code, not 410"
[ "$(header Access-Control-Allow-Origin)" = '*' ] || fail "410 without CORS header"

# Nor can anyone play the live stream over RTMP, unsigned.
rtmp_play=0
timeout 10 ffprobe -v error "rtmp://127.0.0.1:$rtmp_port/live/main" >/dev/null 2>&1 || rtmp_play=$?
if [ "$rtmp_play" -eq 0 ] || [ "$rtmp_play" -eq 124 ]; then
  fail "RTMP play of a live stream was not refused (ffprobe status $rtmp_play)"
fi

# ---- A second push to a live name is refused; the first keeps going ------------------------------
sequence_before="$(media_sequence main)"
push_refused main good || fail "a second push to the live name main was not refused"
dup_client="$(jq -rR --arg id "$main_client" \
  'fromjson? | select(.call == "publish" and .name == "main" and .clientid != $id) | .clientid' \
  "$callbacks" | head -n 1)"
[ -n "$dup_client" ] || fail "the second push sent no on_publish"
# nginx-rtmp refuses it only after on_publish, so it also sends publish_done (and a record_done
# of an empty file) for it: what tells them from the live push's is the clientid.
lc_wait_for "the refused push's on_publish_done" 10 has_callback publish_done main "$dup_client" ||
  fail "no on_publish_done with the refused push's own clientid"
has_callback publish_done main "$main_client" && fail "the refused second push ended the first"
lc_wait_for "main's playlist to advance" 5 sequence_above main "$sequence_before" ||
  fail "main's playlist stopped advancing after the refused second push"

# ---- A push with a wrong key is refused ----------------------------------------------------------
push_refused intruder bad || fail "a push with key=bad was not refused (ffmpeg did not fail)"
[ "$(field "$(callback publish intruder)" key)" = bad ] ||
  fail "the refused push's on_publish did not reach the receiver with key=bad"
[ ! -e "$srv/hls/intruder/index.m3u8" ] || fail "the refused push has a playlist"
get "$play/$expires/$(sign "$expires" intruder)/intruder/index.m3u8"
[ "$code" = 404 ] || fail "the refused push's signed playlist answered $code, not 404"

# ---- Stopping the push: publish_done, then the recording -----------------------------------------
kill -TERM "$main_pid"
lc_wait_for "main's ffmpeg to stop" 10 bash -c "! kill -0 $main_pid" ||
  fail "ffmpeg ignored SIGTERM"
lc_wait_for "on_publish_done for main" 10 has_callback publish_done main "$main_client" ||
  fail "no on_publish_done for main after the push stopped"
done_fields="$(callback publish_done main "$main_client")"
[ "$(field "$done_fields" http_path)" = "$callback_path/on_publish_done" ] ||
  fail "on_publish_done went to $(field "$done_fields" http_path)"
lc_wait_for "on_record_done for main" 10 has_callback record_done main "$main_client" ||
  fail "no on_record_done for main"
recorded="$(callback record_done main "$main_client")"
recording="$(field "$recorded" path)"
[ "$(field "$recorded" http_path)" = "$callback_path/on_record_done" ] ||
  fail "on_record_done went to $(field "$recorded" http_path)"
[[ "$recording" == "$srv/recordings/"*.flv ]] ||
  fail "recording path '$recording' is not a .flv in recordings/"
[ -s "$recording" ] || fail "recording $recording is missing or empty"
video="$(ffprobe -v error -select_streams v -show_entries stream=codec_name -of csv=p=0 \
  "$recording" || true)"
[ "$video" = h264 ] ||
  fail "recording $recording holds no H.264 video"

# ---- The control URL cuts a running push ---------------------------------------------------------
push cut good
cut_pid=$push_pid
lc_wait_for "on_publish for cut" 10 has_callback publish cut || fail "no on_publish for cut"
cut_client="$(field "$(callback publish cut)" clientid)"
lc_wait_for "cut's playlist" 10 playlist_segments cut || fail "no playlist for cut"
get "http://127.0.0.1:$http_port/control/drop/publisher?app=live&name=cut"
[ "$code $(cat "$work/body")" = "200 1" ] ||
  fail "control drop answered $code '$(cat "$work/body")', not 200 '1'"
lc_wait_for "cut's ffmpeg to end" 10 bash -c "! kill -0 $cut_pid" ||
  fail "ffmpeg still runs after the drop"
wait "$cut_pid" && fail "ffmpeg exited 0 after its push was cut"
lc_wait_for "on_publish_done for cut" 10 has_callback publish_done cut "$cut_client" ||
  fail "no on_publish_done after the control drop"
get "http://127.0.0.1:$http_port/control/drop/publisher?app=live&name=nobody"
[ "$code $(cat "$work/body")" = "200 0" ] ||
  fail "dropping a name nobody pushes answered $code '$(cat "$work/body")', not 200 '0'"

# ---- A frozen encoder is dropped -----------------------------------------------------------------
push frozen good
frozen_pid=$push_pid
lc_wait_for "frozen's playlist" 10 playlist_segments frozen || fail "no playlist for frozen"
kill -STOP "$frozen_pid"
frozen_at=$(date +%s)
lc_wait_for "on_publish_done for frozen" 20 has_callback publish_done frozen ||
  fail "a publisher silent for 20 s was not dropped"
idle=$(($(date +%s) - frozen_at))
[ "$idle" -ge 8 ] ||
  fail "the frozen publisher was dropped after ${idle} s, before the 10 s idle limit"
{ kill -9 "$frozen_pid" && wait "$frozen_pid"; } 2>/dev/null || true

# ---- Nothing secret in the logs ------------------------------------------------------------------
ls "$srv/rtmp-access.log" "$srv/access.log" >/dev/null || fail "the access logs are not under DIR"
signed_path='/play/[0-9]+/[A-Za-z0-9_-]{2,}/'
if grep -qE "$signed_path" "$srv"/*.log; then
  fail "a log holds a play URL's signature: $(grep -hE "$signed_path" "$srv"/*.log | head -n 3)"
fi
for secret in "$play_secret" "$callback_secret" "key=" "$sig"; do
  if grep -qF -- "$secret" "$srv"/*.log; then
    fail "the logs hold a secret: $(grep -lF -- "$secret" "$srv"/*.log)"
  fi
done
echo "PASS: stream server (callbacks, signed HLS, refusals, recording, control drop, idle drop)"
