#!/usr/bin/env bash
# The HTTP authorisation matrix (issue 9): the real room, catalog, order, attribution and report
# binaries behind the real gateway, with the Redis and MariaDB that scripts/test started. The
# gateway logs viewers in through WeChat's code2Session (a local TLS endpoint standing in for
# api.weixin.qq.com, so a real session key passes through it) and the order service has WeChat Pay
# configured (a real APIv3 key loaded), each secret distinctive so it can be searched for.
# tests/e2e/authz_matrix.py calls every route of GET /v1/openapi.json as every principal, checks
# the refusals, the positive controls, mass assignment and the answers for secrets; then this
# script stops everything and searches every process's log for the same secrets.
set -euo pipefail
build_dir="$1"
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/lib.sh"
admin="$build_dir/gateway/lc-admin"
py=/usr/bin/python3
work="$(mktemp -d /tmp/lc-authz.XXXXXX)"
trap 'e2e_cleanup; rm -rf "$work"' EXIT

e2e_stack_ports
stub_port="$(e2e_port)"
export LC_OUTBOX_INTERVAL_MS=50 LC_REPORT_INTERVAL_MS=100 LC_LOG_LEVEL=debug
# Rate limits are not what this test is about: high enough never to answer 429.
export LC_GATEWAY_IP_RATE=100000 LC_GATEWAY_IP_BURST=100000
export LC_GATEWAY_PRINCIPAL_RATE=100000 LC_GATEWAY_PRINCIPAL_BURST=100000
export LC_GATEWAY_MAX_SOCKETS_PER_PRINCIPAL=1000 LC_GATEWAY_CACHE_TTL_MS=0

# Distinctive secrets, each searched for in every answer and log line.
rand() { head -c 64 /dev/urandom | base64 -w0 | tr -dc 'A-Za-z0-9' | head -c "$1"; }
export LC_SESSION_SECRET="authz-session-secret-$(rand 24)"
export LC_INTERNAL_SECRET="authz-internal-secret-$(rand 24)"
export LC_AUTHZ_WECHAT_SESSION_KEY="$(rand 22)=="
export LC_AUTHZ_WECHAT_APP_SECRET="authzappsecret$(rand 18)"
export LC_AUTHZ_APIV3_KEY="$(rand 32)"

# WeChat login: code2Session over TLS from a local endpoint with its own CA.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/stub.key" -out "$work/stub.pem" 2>/dev/null
printf '%s\n' "$LC_AUTHZ_WECHAT_APP_SECRET" >"$work/app_secret"
export LC_LOGIN_PROVIDER=wechat LC_WECHAT_APPID=wxauthz LC_WECHAT_APP_SECRET_FILE="$work/app_secret"
export LC_WECHAT_API_BASE_URL="https://127.0.0.1:$stub_port"
brand="authz-$(date +%s)"
rival="rival-$(date +%s)"
export LC_WECHAT_BRAND="$brand"
# WeChat Pay configured beside the sandbox: the APIv3 key and merchant key are loaded.
openssl genrsa -out "$work/merchant.key" 2048 2>/dev/null
mkdir "$work/platform"
openssl rsa -in "$work/merchant.key" -pubout -out "$work/platform/AUTHZPLATFORM1.pem" 2>/dev/null
printf '%s' "$LC_AUTHZ_APIV3_KEY" >"$work/apiv3"
export LC_WECHATPAY_MCHID=1900000001 LC_WECHATPAY_APPID=wxauthz LC_WECHATPAY_SERIAL_NO=AUTHZMERCHANT1
export LC_WECHATPAY_NOTIFY_URL=https://example.invalid/v1/payments/wechat/notify
export LC_WECHATPAY_PRIVATE_KEY_FILE="$work/merchant.key" LC_WECHATPAY_APIV3_KEY_FILE="$work/apiv3"
export LC_WECHATPAY_PLATFORM_CERTS_DIR="$work/platform"

redis-cli -h "$LC_REDIS_HOST" -p "$LC_REDIS_PORT" del lc:gateway:revoked >/dev/null
$py "$here/authz_matrix.py" stub "$stub_port" "$work/stub.pem" "$work/stub.key" >>"$e2e_log" 2>&1 &
stub_pid=$!
disown "$stub_pid"
trap 'kill "$stub_pid" 2>/dev/null || true; e2e_cleanup; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$stub_port") 2>/dev/null && break; sleep 0.1; done

e2e_start "$build_dir/services/room/room" "$room_port"
room_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/catalog/catalog" "$catalog_port"
catalog_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/order/order" "$order_port"
order_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/attribution/attribution" "$attribution_port"
attribution_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/report/report" "$report_port"
report_pid="${e2e_pids[-1]}"
e2e_start "$build_dir/services/interaction/interaction" "$interaction_port"
# The gateway trusts the stub's certificate through OpenSSL's SSL_CERT_FILE.
SSL_CERT_FILE="$work/stub.pem" e2e_start "$build_dir/gateway/gateway" "$gateway_port"
gateway_pid="${e2e_pids[-1]}"
for _ in $(seq 1 100); do
  curl -sf "http://127.0.0.1:$gateway_port/readyz" >/dev/null && break
  sleep 0.1
done
grep -q 'WeChat Pay configured' "$e2e_log" || fail "the order service did not configure WeChat Pay"

rc=0
$py "$here/authz_matrix.py" run "127.0.0.1:$gateway_port" "$admin" "$brand" "$rival" \
  "$work/secrets" | tee "$work/result" || rc=$?

e2e_stop "$gateway_pid" gateway
e2e_stop "$report_pid" report
e2e_stop "$attribution_pid" attribution
e2e_stop "$order_pid" order
e2e_stop "$catalog_pid" catalog
e2e_stop "$room_pid" room

# Every process's log: no secret, no token signature, no invite token.
[ -s "$work/secrets" ] || fail "the matrix wrote no secrets to search for"
if grep -F -f "$work/secrets" "$e2e_log" >"$work/leaks"; then
  echo "FAIL: secrets in the logs ($(wc -l <"$work/leaks") lines):"
  sed 's/^\(.\{160\}\).*/\1.../' "$work/leaks" | head -20
  rc=1
fi
echo "log lines searched: $(wc -l <"$e2e_log")"
[ "$rc" -eq 0 ] || { echo "FAIL: authorisation matrix"; exit 1; }
echo "1 passed, 0 failed"
