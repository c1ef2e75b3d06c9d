#!/usr/bin/env python3
"""multiprocessing.connection peers as Python programs use them for IPC (CPython 3.8+,
standard library only), for brine's tests.

    python3 tests/servers/mp_peer.py listen  [--authkey-env VAR] [--recv-first] [--lifetime 30]
    python3 tests/servers/mp_peer.py connect PORT [--authkey-env VAR] [--first JSON] [--send JSON]...

The key comes from the environment variable named by --authkey-env (UTF-8 bytes), or there
is none (authkey=None). Every stdout line is flushed.

listen   Listener(('127.0.0.1', 0), authkey=key); prints "PORT <n>", accepts one client
         (an authentication failure prints "ERROR <exception type>: <message>" and exits 1),
         sends {'hello': 'from python', 'version': [major, minor]} (with --recv-first: only
         after the client's first object, as a request/reply server does), then answers every
         object received, printing "RECEIVED <repr>" first:
           {'blob': n}  -> b'x' * n (bytes)
           {'text': n}  -> 'y' * n (str)
           'bye'        -> 'bye', then closes and exits 0
           anything else -> {'echo': obj}
         EOF from the client prints "CLOSED" and exits 0.
connect  Client(('127.0.0.1', PORT), authkey=key); prints "CONNECTED"; with --first, sends
         that JSON value at once and prints "SENT <repr>"; then for each --send
         (a JSON value, loaded with json.loads): receives one object and prints
         "RECEIVED <repr>", sends the value and prints "SENT <repr>". Then receives until
         EOF, printing each object, and prints "CLOSED"; with --replies N it receives N
         objects instead, then closes its end without printing "CLOSED".
"""

import argparse
import json
import os
import sys
import threading
from multiprocessing.connection import Client, Listener


def say(line):
    print(line, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["listen", "connect"])
    parser.add_argument("port", nargs="?", type=int)
    parser.add_argument("--authkey-env")
    parser.add_argument("--send", action="append", default=[])
    parser.add_argument("--first")
    parser.add_argument("--recv-first", action="store_true")
    parser.add_argument("--replies", type=int)
    parser.add_argument("--lifetime", type=float, default=30)
    args = parser.parse_args()
    key = os.environ[args.authkey_env].encode() if args.authkey_env else None
    timer = threading.Timer(args.lifetime, lambda: os._exit(2))
    timer.daemon = True
    timer.start()
    try:
        if args.mode == "listen":
            listen(key, args.recv_first)
        else:
            connect(args.port, key, args.first, args.send, args.replies)
    except Exception as e:
        say(f"ERROR {type(e).__name__}: {e}")
        sys.exit(1)


def listen(key, recv_first):
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        say(f"PORT {listener.address[1]}")
        with listener.accept() as conn:
            hello = {"hello": "from python", "version": list(sys.version_info[:2])}
            if not recv_first:
                conn.send(hello)
            while True:
                try:
                    obj = conn.recv()
                except EOFError:
                    say("CLOSED")
                    return
                say(f"RECEIVED {obj!r}")
                if recv_first:
                    recv_first = False
                    conn.send(hello)
                elif isinstance(obj, dict) and "blob" in obj:
                    conn.send(b"x" * obj["blob"])
                elif isinstance(obj, dict) and "text" in obj:
                    conn.send("y" * obj["text"])
                elif obj == "bye":
                    conn.send("bye")
                    say("CLOSED")
                    return
                else:
                    conn.send({"echo": obj})


def connect(port, key, first, sends, replies):
    with Client(("127.0.0.1", port), authkey=key) as conn:
        say("CONNECTED")
        if first is not None:
            value = json.loads(first)
            conn.send(value)
            say(f"SENT {value!r}")
        for text in sends:
            say(f"RECEIVED {conn.recv()!r}")
            value = json.loads(text)
            conn.send(value)
            say(f"SENT {value!r}")
        if replies is not None:
            for _ in range(replies):
                say(f"RECEIVED {conn.recv()!r}")
            return
        while True:
            try:
                say(f"RECEIVED {conn.recv()!r}")
            except EOFError:
                say("CLOSED")
                return


if __name__ == "__main__":
    main()
