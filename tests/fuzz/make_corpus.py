#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets to tests/fuzz/corpus/<target>/ (committed; run again
after changing the seeds here). Needs python3-cryptography (scripts/deps) for the sealed resources.

  json_binding_fuzz   "METHOD TARGET\\n" + body, for requests of the gateway's real routes
  wechat_notify_fuzz  mode byte + "Name: value" header lines + empty line + body
  websocket_fuzz      read-size byte + the raw frames a client sends after the upgrade
"""
import base64
import json
import os
import pathlib
import shutil
import struct

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = HERE / "corpus"

# As in tests/unit/order/payment/test_config.h and the fuzz target.
MCHID = "1900009191"
APPID = "wxd678efh567hg6787"
PLATFORM_SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
APIV3_KEY = b"a7cde1ZJB1kG2e7VfTs3jQzaWizur8Gb"  # test only
NOW = 1714550400


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# ---- json_binding_fuzz: calls the e2e tests make (tests/e2e/gateway_http_test.sh) ----
ROOM = "room-7f3a"
SKU = "sku-19"
CALLS = {
    "create_room": ("POST /v1/rooms", {"title": "Spring preview", "scheduled_start": "2026-01-01T00:00:00Z", "visibility": "VISIBILITY_PUBLIC", "audiences": ["AUDIENCE_CLIENTS"], "objective": "OBJECTIVE_PURCHASE", "format": "FORMAT_SALES_DRIVEN"}),
    "create_product": ("POST /v1/products", {"name": "Quilted bag", "list_price": {"amount_fen": "2590000", "currency": "CNY"}, "skus": [{"sku_code": "BAG-BLK", "on_hand": "20"}]}),
    "add_room_product": (f"POST /v1/rooms/{ROOM}/products", {"product_id": "p-1"}),
    "pin": (f"POST /v1/rooms/{ROOM}/pin", {"product_id": "p-1", "sku_id": SKU}),
    "flash_sale": (f"POST /v1/rooms/{ROOM}/flash-sales", {"sku_id": SKU, "sale_price": {"amount_fen": "1990000", "currency": "CNY"}, "total_stock": "5", "per_buyer_limit": 1, "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2026-01-01T00:30:00Z"}),
    "patch_room": (f"PATCH /v1/rooms/{ROOM}", {"title": "Renamed"}),
    "patch_room_other_id": (f"PATCH /v1/rooms/{ROOM}", {"room_id": "another", "title": "Hijacked"}),
    "join": (f"POST /v1/rooms/{ROOM}/join", {"device_id": "phone-1", "invite_token": "inv.abc"}),
    "cart_item": ("POST /v1/cart/items", {"item": {"sku_id": SKU, "quantity": "1", "room": {"room_id": ROOM}}}),
    "cart_unknown_field": ("POST /v1/cart/items", {"item": {"sku_id": SKU, "colour": "red"}}),
    "cart_bad_quantity": ("POST /v1/cart/items", {"item": {"sku_id": SKU, "quantity": "lots"}}),
    "checkout": ("POST /v1/checkout", {"idempotency_key": "alice-1", "lines": [{"sku_id": SKU, "sale_id": "s-1", "quantity": "1"}], "room": {"room_id": ROOM}, "address": {"recipient": "Alice", "phone": "13800000000", "province": "Shanghai", "city": "Shanghai", "district": "Huangpu", "street": "1 Bund", "postal_code": "200000"}}),
    "invites": (f"POST /v1/rooms/{ROOM}/invites", {"cohort": "VIP", "count": 1}),
    "refund": ("POST /v1/orders/42/refund", {"amount": {"amount_fen": "100", "currency": "CNY"}, "reason": "damaged"}),
    "finance_rules": ("POST /v1/finance/rules", {"rules": [{"percent": 1.5, "recipient": "ASSOCIATE"}]}),
    "report": ("POST /v1/reports/sessions", {"session_ids": ["a", "b"], "period_start": "2026-01-01T00:00:00Z", "period_end": "2026-01-02T00:00:00Z"}),
}
RAW_CALLS = {
    "list_rooms_query": ("GET /v1/rooms?brand_id=e2e&page_size=20&page_token=abc%20d", ""),
    "list_orders_enum": ("GET /v1/orders?status=ORDER_STATUS_PAID&page_size=5", ""),
    "get_room": (f"GET /v1/rooms/{ROOM}", ""),
    "sku_patch_numbers": ("PATCH /v1/skus/sku-1", '{"on_hand": 1e3, "price": {"amount_fen": -0}}'),
    "truncated_body": ("POST /v1/cart/items", '{"item": {"sku_id": '),
    "deep_nesting": ("POST /v1/checkout", '{"room": ' * 40 + "{}" + "}" * 40),
    "bad_escape_query": ("GET /v1/rooms?x=%zz", ""),
    "repeated_query": ("GET /v1/orders?page_size=1&page_size=2", ""),
    "any_route_body": ("X", '{"title": "\\u00e9\\ud83d\\ude00", "labels": {"k": "v"}, "n": null}'),
}
# The gateway's routes, from gateway/routes.cc: every one with a sample path and an empty body.
ROUTES_CC = (HERE.parent.parent / "gateway" / "routes.cc").read_text()


def json_binding():
    for name, (line, body) in CALLS.items():
        write("json_binding_fuzz", name, f"{line}\n{compact(body)}")
    for name, (line, body) in RAW_CALLS.items():
        write("json_binding_fuzz", name, f"{line}\n{body}")
    import re
    for i, (method, pattern) in enumerate(
            re.findall(r'Call\("([A-Z]+)", "([^"]+)"', ROUTES_CC)):
        path = re.sub(r"\{([a-z_]+)\}", lambda m: m.group(1).replace("_id", "") + "-1", pattern)
        write("json_binding_fuzz", f"route_{i:02d}", f"{method} {path}\n")


# ---- wechat_notify_fuzz: genuine notifications, as tests/unit/order/payment builds them ----
TRANSACTION = {
    "appid": APPID, "mchid": MCHID, "out_trade_no": "LC20240501000001",
    "transaction_id": "4200000985202405010000000001", "trade_type": "JSAPI",
    "trade_state": "SUCCESS", "trade_state_desc": "ok", "bank_type": "CMC",
    "success_time": "2024-05-01T16:00:05+08:00", "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
    "amount": {"total": 129900, "payer_total": 128900, "currency": "CNY", "payer_currency": "CNY"},
    "attach": "room=r1",
}
REFUND = {
    "mchid": MCHID, "out_trade_no": "LC20240501000001", "transaction_id": "4200000985202405010000000001",
    "out_refund_no": "RF20240502000001", "refund_id": "50000000382019052709732678859",
    "refund_status": "SUCCESS", "success_time": "2024-05-02T10:00:00+08:00",
    "user_received_account": "CMB debit 1234",
    "amount": {"total": 129900, "refund": 50000, "payer_total": 129900, "payer_refund": 50000},
}


def envelope(event_type, plaintext, associated_data, original_type, nonce="fdasflkja484"):
    sealed = AESGCM(APIV3_KEY).encrypt(nonce.encode(), plaintext.encode(), associated_data.encode())
    return compact({
        "id": "EV-2018022511223320873", "create_time": "2024-05-01T16:00:06+08:00",
        "resource_type": "encrypt-resource", "event_type": event_type, "summary": "payment succeeded",
        "resource": {"algorithm": "AEAD_AES_256_GCM", "ciphertext": base64.b64encode(sealed).decode(),
                     "nonce": nonce, "associated_data": associated_data, "original_type": original_type},
    })


def head(mode, signature="c2lnbmF0dXJl", extra=(), timestamp=NOW, serial=PLATFORM_SERIAL):
    lines = [f"Wechatpay-Timestamp: {timestamp}", "Wechatpay-Nonce: fdasflkja484w",
             f"Wechatpay-Serial: {serial}", f"Wechatpay-Signature: {signature}", *extra]
    return bytes([mode]) + ("\n".join(lines) + "\n\n").encode()


def wechat_notify():
    t = compact(TRANSACTION)
    r = compact(REFUND)
    paid = envelope("TRANSACTION.SUCCESS", t, "transaction", "transaction")
    refunded = envelope("REFUND.SUCCESS", r, "refund", "refund")
    # mode 1: the target signs; these are accepted in full.
    write("wechat_notify_fuzz", "signed_paid", head(1) + paid.encode())
    write("wechat_notify_fuzz", "signed_refund", head(1) + refunded.encode())
    write("wechat_notify_fuzz", "signed_other_event",
          head(1) + envelope("TRANSACTION.FAIL", t, "transaction", "transaction").encode())
    write("wechat_notify_fuzz", "signed_wrong_ad", head(1) + paid.replace('"associated_data":"transaction"', '"associated_data":"refund"').encode())
    write("wechat_notify_fuzz", "signed_lowercase_headers",
          head(1).replace(b"Wechatpay-", b"wechatpay-") + paid.encode())
    write("wechat_notify_fuzz", "signed_skewed_301s", head(1, timestamp=NOW - 301) + paid.encode())
    # mode 0: as posted, with signatures the target cannot verify.
    sig = base64.b64encode(bytes(range(256))).decode()
    write("wechat_notify_fuzz", "posted_paid", head(0, sig) + paid.encode())
    write("wechat_notify_fuzz", "posted_signtest", head(0, "WECHATPAY/SIGNTEST/" + sig) + paid.encode())
    write("wechat_notify_fuzz", "posted_unknown_serial", head(0, sig, serial="0000") + paid.encode())
    write("wechat_notify_fuzz", "posted_no_headers", b"\x00\n" + paid.encode())
    # mode 2: the body is the plaintext; the target seals, wraps and signs it.
    write("wechat_notify_fuzz", "sealed_transaction", head(2) + t.encode())
    write("wechat_notify_fuzz", "sealed_refund",
          head(2, extra=("Event-Type: REFUND.SUCCESS", "Associated-Data: refund")) + r.encode())
    write("wechat_notify_fuzz", "sealed_refund_closed",
          head(2, extra=("Event-Type: REFUND.CLOSED",)) + r.replace("SUCCESS", "CLOSED").encode())
    write("wechat_notify_fuzz", "sealed_big_amounts", head(2) + t.replace("129900", "9223372036854775807").encode())
    write("wechat_notify_fuzz", "sealed_not_object", head(2) + b"[1, 2.5e400, \"\\ud800\"]")


# ---- websocket_fuzz: masked client frames (RFC 6455) ----
def frame(opcode, payload, fin=True, mask=b"\x01\x02\x03\x04", length=None, rsv=0):
    n = len(payload) if length is None else length
    b0 = (0x80 if fin else 0) | rsv | opcode
    if n < 126:
        hdr = bytes([b0, (0x80 if mask else 0) | n])
    elif n < 65536:
        hdr = bytes([b0, (0x80 if mask else 0) | 126]) + struct.pack(">H", n)
    else:
        hdr = bytes([b0, (0x80 if mask else 0) | 127]) + struct.pack(">Q", n)
    if not mask:
        return hdr + payload
    return hdr + mask + bytes(c ^ mask[i % 4] for i, c in enumerate(payload))


def websocket():
    all_at_once, byte_by_byte, seven = b"\xff", b"\x00", b"\x06"
    ping = frame(0x1, b"ping")
    write("websocket_fuzz", "ping", all_at_once + ping)
    write("websocket_fuzz", "ping_split", byte_by_byte + ping + ping)
    write("websocket_fuzz", "fragmented_ping", seven + frame(0x1, b"pi", fin=False) + frame(0x9, b"ctl") + frame(0x0, b"ng"))
    write("websocket_fuzz", "text_then_close", all_at_once + frame(0x1, b'{"type":"hello"}') + frame(0x8, struct.pack(">H", 1000) + b"bye"))
    write("websocket_fuzz", "binary", all_at_once + frame(0x2, bytes(range(200))))
    write("websocket_fuzz", "control_ping_pong", all_at_once + frame(0x9, b"x" * 125) + frame(0xA, b""))
    write("websocket_fuzz", "at_limit", seven + frame(0x1, b"a" * 4096) + ping)
    write("websocket_fuzz", "over_limit", all_at_once + frame(0x1, b"a" * 4097))
    write("websocket_fuzz", "over_limit_fragments", all_at_once + frame(0x1, b"a" * 3000, fin=False) + frame(0x0, b"a" * 3000))
    write("websocket_fuzz", "huge_length", all_at_once + frame(0x1, b"abc", length=2**63 - 1))
    write("websocket_fuzz", "bad_utf8", all_at_once + frame(0x1, b"\xc3\x28ping"))
    write("websocket_fuzz", "unmasked", all_at_once + frame(0x1, b"ping", mask=b""))
    write("websocket_fuzz", "rsv_bits", all_at_once + frame(0x1, b"ping", rsv=0x40))
    write("websocket_fuzz", "close_bad_code", all_at_once + frame(0x8, struct.pack(">H", 1005)))
    write("websocket_fuzz", "fragmented_control", all_at_once + frame(0x9, b"p", fin=False))
    write("websocket_fuzz", "continuation_first", all_at_once + frame(0x0, b"ping"))


def main():
    for target in ("json_binding_fuzz", "wechat_notify_fuzz", "websocket_fuzz"):
        shutil.rmtree(CORPUS / target, ignore_errors=True)
    json_binding()
    wechat_notify()
    websocket()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {len(list(d.iterdir()))} seeds")


if __name__ == "__main__":
    main()
