#!/usr/bin/env python3
"""Calls one synchronous RPC of a service every 20 ms for a few seconds from another process and
fails if more than one call waited 60 ms or more. gRPC 1.51 polls a process's sockets from the
two threads that run callbacks; after a second without a callback both sleep 100 ms, and a
synchronous server then reads nothing for that long (docs/RELIABILITY.md, "Polling stalls").
The answer does not matter (an unauthenticated call is refused by the handler frame): only how
long the round trip took.

usage: poller_stall_probe.py HOST:PORT /package.Service/Method [SECONDS]
"""
import sys
import time

import grpc


def main():
    target, method = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 8.0
    channel = grpc.insecure_channel(target)
    call = channel.unary_unary(method, request_serializer=lambda x: x,
                               response_deserializer=lambda x: x)
    try:
        call(b"", timeout=5)  # connects
    except grpc.RpcError:
        pass
    time.sleep(1.5)  # idle: the callback threads' one-second wait runs out
    slow = []
    count = 0
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        start = time.monotonic()
        try:
            call(b"", timeout=5)
        except grpc.RpcError as error:
            if error.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise
        took_ms = (time.monotonic() - start) * 1000
        count += 1
        if took_ms >= 60:
            slow.append(round(took_ms, 1))
        time.sleep(0.02)
    print(f"calls={count} slow={len(slow)} slow_ms={slow}")
    if len(slow) > 1:
        print(f"FAIL: {len(slow)} of {count} calls to {method} waited 60 ms or more")
        sys.exit(1)


if __name__ == "__main__":
    main()
