#!/usr/bin/env python3
"""Open N projector pages' event streams (GET /events) on brine-server --web, as browsers do.

    python3 bench/web_pages.py HOST:PORT --pages 100 --mode read   # read every event
    python3 bench/web_pages.py HOST:PORT --pages 100 --mode stall  # never read (stalled tabs)

Prints "ready" once every stream is open (in read mode: once each got its first snapshot).
On SIGTERM or after --seconds, stall mode first reads what each stalled stream holds for
--drain seconds, then it prints one JSON line: bytes, snapshot and update events received, and
how many streams ended early. Standard library only; loopback only.
"""
import argparse
import json
import selectors
import signal
import socket
import sys
import time


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("addr")
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--mode", choices=["read", "stall"], default="read")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--drain", type=float, default=2.0)
    args = parser.parse_args()
    host, port = args.addr.rsplit(":", 1)
    if host not in ("127.0.0.1", "localhost", "::1"):
        sys.exit("loopback addresses only")

    stop = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stop.update(now=True))

    sel = selectors.DefaultSelector()
    pages = []
    for _ in range(args.pages):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(f"GET /events HTTP/1.1\r\nHost: {args.addr}\r\nAccept: text/event-stream\r\n\r\n".encode())
        s.setblocking(False)
        page = {"sock": s, "bytes": 0, "text": b"", "snapshots": 0, "updates": 0, "ended": False}
        pages.append(page)
        if args.mode == "read":
            sel.register(s, selectors.EVENT_READ, page)

    def read(page):
        try:
            data = page["sock"].recv(1 << 16)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            page["ended"] = True
            try:
                sel.unregister(page["sock"])
            except (KeyError, ValueError):
                pass
            return
        page["bytes"] += len(data)
        text = page["text"] + data
        page["snapshots"] += text.count(b"event: snapshot\n")
        page["updates"] += text.count(b"event: update\n")
        page["text"] = text[-32:]  # an event name split across reads is counted once

    ready = args.mode == "stall"
    if ready:
        print("ready", flush=True)
    deadline = time.monotonic() + args.seconds
    while not stop["now"] and time.monotonic() < deadline:
        if args.mode == "read":
            for key, _ in sel.select(timeout=0.1):
                read(key.data)
            if not ready and all(p["snapshots"] for p in pages):
                ready = True
                print("ready", flush=True)
        else:
            time.sleep(0.1)

    if args.mode == "stall":
        for page in pages:
            sel.register(page["sock"], selectors.EVENT_READ, page)
        end = time.monotonic() + args.drain
        while time.monotonic() < end:
            for key, _ in sel.select(timeout=0.1):
                read(key.data)
    print(json.dumps({
        "pages": len(pages),
        "mode": args.mode,
        "bytes": sum(p["bytes"] for p in pages),
        "snapshots": sum(p["snapshots"] for p in pages),
        "updates": sum(p["updates"] for p in pages),
        "ended_early": sum(p["ended"] for p in pages),
    }), flush=True)


if __name__ == "__main__":
    main()
