#!/usr/bin/env bash
# The live stream end to end with the real pieces: the room, catalog, order, attribution and
# report binaries behind the real gateway, the local streaming server (nginx-rtmp) calling the
# gateway back, ffmpeg pushing a test pattern with sound, and headless Chromium playing it.
# - ops read the push address; ffmpeg pushes with the session's key; the room, scheduled to start
#   on publish, goes live from the callback;
# - a viewer joins and gets a signed play address; the console's H5 page plays it in Chromium (the
#   video advances several seconds, no console errors), and the ops room page shows the stream up
#   with a preview (tests/e2e/stream_play.mjs; screenshots in var/console-screenshots/stream-*);
#   an uninvited viewer of a private room gets no play address;
# - a push with a wrong key, or with the key from before a rotation, is refused by the server
#   (ffmpeg fails); rotating the key cuts the running push;
# - stopping the push marks the stream interrupted for viewers (the H5 page, from its socket, says
#   the host will be right back within 3 s); resuming within the grace keeps
#   the same session; stopping for longer than the grace ends it;
# - the recording is registered on the session; an expired play address is refused (410);
# - the session's replay is the recording's MP4 copy, served under its signed address (range
#   requests answered, a forged signature refused).
set -euo pipefail
build_dir="$1"
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/../../scripts/lib.sh"
root="$(cd "$(dirname "$0")/../.." && pwd)"
admin="$build_dir/gateway/lc-admin"
chromium="${LC_CHROMIUM:-/usr/bin/chromium}"
py=/usr/bin/python3
[ -x "$chromium" ] || fail "no chromium at $chromium (scripts/deps installs it)"
[ -f "$root/console/dist/index.html" ] || fail "console/dist is not built (scripts/test runs lc_build_console)"
[ -d "$root/console/node_modules/playwright-core" ] || fail "console/node_modules is missing (npm ci in console/)"
command -v ffmpeg >/dev/null || fail "no ffmpeg (scripts/deps installs it)"

e2e_stack_ports
rtmp_port="$(e2e_port)"
play_port="$(e2e_port)"
work="$(mktemp -d /tmp/lc-stream-e2e.XXXXXX)"
callback_secret="e2e-callback-secret-$RANDOM$RANDOM"
export LC_STREAM_PROVIDER=local
export LC_STREAM_RTMP_URL="rtmp://127.0.0.1:$rtmp_port/live"
export LC_STREAM_PLAY_BASE="http://127.0.0.1:$play_port"
export LC_STREAM_CONTROL_URL="http://127.0.0.1:$play_port/control"
export LC_STREAM_PLAY_SECRET="e2e-play-secret-0123456789"
export LC_STREAM_CALLBACK_SECRET="$callback_secret"
export LC_STREAM_GRACE_MS=6000 LC_STREAM_PLAY_TTL_MS=10000
export LC_SESSION_SECRET="e2e-stream-secret-0123456789abcdef"
export LC_GATEWAY_CONSOLE_DIR="$root/console/dist"
base="http://127.0.0.1:$gateway_port"

ffmpeg_pids=()
cleanup() {
  for pid in "${ffmpeg_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  lc_stop_nginx_rtmp "$work/nginx"
  rm -rf "$work"
  e2e_cleanup
}
trap cleanup EXIT

e2e_start "$build_dir/services/room/room" "$room_port"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
e2e_start "$build_dir/services/order/order" "$order_port"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
e2e_start "$build_dir/services/report/report" "$report_port"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
e2e_start "$build_dir/gateway/gateway" "$gateway_port"
lc_start_nginx_rtmp "$work/nginx" "$rtmp_port" "$play_port" \
  "$base/v1/stream/local/$callback_secret" "$LC_STREAM_PLAY_SECRET" >>"$e2e_log" 2>&1 ||
  fail "nginx-rtmp did not start"
for _ in $(seq 1 100); do curl -sf "$base/readyz" >/dev/null && break; sleep 0.1; done

wait_for() {  # wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s
  local seconds="$1" what="$2"
  shift 2
  for _ in $(seq 1 $((seconds * 5))); do "$@" && return 0; sleep 0.2; done
  fail "$what"
}
# push URL [SECONDS]: ffmpeg pushes a test pattern with a tone (for SECONDS, default until
# killed); its pid is the last of ffmpeg_pids, its output in $work/ffmpeg-<pid>.log.
push() {
  local limit=()
  [ -n "${2:-}" ] && limit=(-t "$2")
  ffmpeg -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=44100 "${limit[@]}" -c:v libx264 \
    -preset veryfast -tune zerolatency -g 25 -pix_fmt yuv420p -c:a aac -b:a 64k -f flv "$1" \
    >"$work/ffmpeg.log" 2>&1 &
  ffmpeg_pids+=($!)
}
room_status() { http GET "/v1/rooms/$room" "$ops"; [ "$(j 'd["room"]["status"]')" = "$1" ]; }
stream_state() {
  http GET "/v1/rooms/$room/stats" "$ops"
  [ "$(j 'd["stats"].get("stream", {}).get("state", "")')" = "$1" ]
}

brand="stream$$$RANDOM"
ops="$("$admin" token issue --role ops --brand "$brand" --subject ops-anna | $py -c 'import json,sys; print(json.load(sys.stdin)["token"])')"
login() {
  http POST /v1/login "" "{\"code\": \"$1\", \"brand_id\": \"$brand\"}"
  expect 200 "login $1"
  j 'd["token"]'
}
viewer="$(login viewer-wen)"
stranger="$(login viewer-sun)"

# ---- A room that starts on publish, its push address -------------------------------------------
http POST /v1/rooms "$ops" '{"title": "Spring trunk show", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_FOLLOWERS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN", "start_on_publish": true}'
expect 200 "create room"
room="$(j 'd["room"]["id"]')"
http GET "/v1/rooms/$room/push-address" "$viewer"
expect 403 "a viewer reads the push address"
http GET "/v1/rooms/$room/push-address" "$ops"
expect 200 "push address"
push_url="$(j 'd["push"]["url"]')"
stream_name="$(j 'd["push"]["stream_key"].split("?")[0]')"
[[ "$push_url" == "rtmp://127.0.0.1:$rtmp_port/live/$stream_name?key="* ]] || fail "push url $push_url"
[[ "$stream_name" =~ ^[a-z0-9]{24}$ ]] || fail "stream name $stream_name is not 24 random characters"

# ---- A wrong key is refused by the server ---------------------------------------------------------
push "rtmp://127.0.0.1:$rtmp_port/live/$stream_name?key=not-the-key" 5
bad_pid="${ffmpeg_pids[-1]}"
if wait "$bad_pid"; then fail "ffmpeg pushed with a wrong key"; fi
room_status ROOM_STATUS_SCHEDULED || fail "a refused push changed the room"

# ---- The push makes the room live; a viewer plays it -------------------------------------------
push "$push_url"
wait_for 15 "the room never went live from the push" room_status ROOM_STATUS_LIVE
session="$(j 'd["room"]["current_session_id"]')"
stream_state STREAM_STATE_UP || fail "stream not up: $out"
http POST "/v1/rooms/$room/join" "$viewer" '{"device_id": "phone-1"}'
expect 200 "join"
play="$(j 'd["play"]["hls"]')"
[[ "$play" == "http://127.0.0.1:$play_port/play/"*"/$stream_name/index.m3u8" ]] || fail "play address $play"
wait_for 15 "the playlist never listed a segment" bash -c "curl -sf '$play' | grep -q '\.ts'"

# The console's real pages play it, and the viewer's page says "right back" when the push stops
# (stream_play.mjs stops this push itself, to time what the viewer sees).
shots="$root/var/console-screenshots"
mkdir -p "$shots"
live_pid="${ffmpeg_pids[-1]}"
LC_CONSOLE_DIR="$root/console" LC_CHROMIUM="$chromium" LC_CONSOLE_URL="$base/console/" \
  LC_ROOM_ID="$room" LC_BRAND="$brand" LC_VIEWER_TOKEN="$viewer" LC_OPS_TOKEN="$ops" \
  LC_FFMPEG_PID="$live_pid" LC_SCREENSHOTS="$shots" node "$(dirname "$0")/stream_play.mjs" ||
  fail "the console's pages did not play the stream, or did not say the host would be right back"

# An uninvited viewer of a private room is not admitted, so gets no play address.
http POST /v1/rooms "$ops" '{"title": "Private preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PRIVATE", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}'
private_room="$(j 'd["room"]["id"]')"
http POST "/v1/rooms/$private_room/live" "$ops"
expect 200 "private room live"
http POST "/v1/rooms/$private_room/join" "$stranger" '{"device_id": "phone-2"}'
expect 403 "an uninvited viewer joins the private room"
[[ "$out" != *'"play"'* ]] || fail "an uninvited viewer got a play address: $out"

# ---- Interrupted, resumed within the grace: the same session ----------------------------------
wait_for 10 "the stream was never marked interrupted" stream_state STREAM_STATE_INTERRUPTED
push "$push_url"
wait_for 10 "the resumed push never brought the stream up" stream_state STREAM_STATE_UP
room_status ROOM_STATUS_LIVE || fail "the room is not live after the resume"
[ "$(j 'd["room"]["current_session_id"]')" = "$session" ] || fail "the resume opened another session"

# ---- The play address expires -------------------------------------------------------------------
# It was signed for 10 s; by now, or shortly, the server refuses it.
wait_for 15 "an expired play address was still served" \
  bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' '$play')\" = 410 ]"

# ---- Rotating the key cuts the push; the old key no longer opens one ---------------------------
live_pid="${ffmpeg_pids[-1]}"
http POST "/v1/rooms/$room/push-key/rotate" "$ops" '{}'
expect 200 "rotate the push key"
new_url="$(j 'd["push"]["url"]')"
[ "$new_url" != "$push_url" ] || fail "the rotated address is the old one"
wait_for 10 "the rotation did not cut the running push" bash -c "! kill -0 $live_pid 2>/dev/null"
push "$push_url" 5
if wait "${ffmpeg_pids[-1]}"; then fail "ffmpeg pushed with the key from before the rotation"; fi
push "$new_url"
wait_for 10 "the new key does not push" stream_state STREAM_STATE_UP

# ---- Gone for longer than the grace: the session ends ------------------------------------------
kill -INT "${ffmpeg_pids[-1]}"
wait_for 20 "the session did not end after the grace" room_status ROOM_STATUS_ENDED
stream_state STREAM_STATE_ENDED || fail "stream not ended: $out"

# ---- The recordings are registered on the session ----------------------------------------------
recorded() {
  http GET "/v1/rooms/$room/recordings" "$ops"
  [ "$(j "len([r for r in d['recordings'] if r['session_id'] == '$session'])")" -ge 1 ]
}
wait_for 10 "no recording registered on session $session: $out" recorded
location="$(j "[r['location'] for r in d['recordings'] if r['session_id'] == '$session'][0]")"
[ -s "$location" ] || fail "the recording $location is not a non-empty file"

# ---- The session's replay plays from the streaming server --------------------------------------
# The server copies each finished recording into an MP4 (scripts/remux-recording) and serves it
# under /replay/ behind the signed address the room service gives the session's audience.
http GET "/v1/rooms/$room/replay" "$viewer"
expect 200 "replay"
replay="$(j 'd["replay"]["play"]["hls"]')"
[[ "$replay" == "http://127.0.0.1:$play_port/replay/"*".mp4" ]] || fail "replay address $replay"
replay_served() { [ "$(curl -s -o "$work/replay.mp4" -w '%{http_code}' "$replay")" = 200 ]; }
wait_for 15 "the replay was never served: $(tail -n 3 "$work/nginx/recordings/remux.log" 2>/dev/null)" \
  replay_served
probe="$(ffprobe -v error -show_entries format=duration:stream=codec_type -of csv=p=0 "$work/replay.mp4")"
grep -q video <<<"$probe" && grep -q audio <<<"$probe" || fail "the replay lacks video or audio: $probe"
# Seeking: a byte range is answered as such.
[ "$(curl -s -o /dev/null -w '%{http_code}' -r 1000-1999 "$replay")" = 206 ] ||
  fail "the replay does not answer a range request"
# Another signature is refused, as is a file outside the recordings' MP4s.
tampered="${replay%/*}"
tampered="${tampered%/*}/AAAAAAAAAAAAAAAAAAAAAA/${replay##*/}"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$tampered")" = 403 ] || fail "a forged replay address was served"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${replay%.mp4}.flv")" = 404 ] || fail "the FLV was served"
echo "stream e2e: ok"
