#!/usr/bin/env python3
"""multiprocessing.connection peers as Python programs use them for IPC (CPython 3.8+,
standard library only), for brine's tests.

    python3 tests/servers/mp_peer.py listen  [--authkey-env VAR] [--lifetime 30]
    python3 tests/servers/mp_peer.py connect PORT [--authkey-env VAR] [--send JSON]...

The key comes from the environment variable named by --authkey-env (UTF-8 bytes), or there
is none (authkey=None). Every stdout line is flushed.

listen   Listener(('127.0.0.1', 0), authkey=key); prints "PORT <n>", accepts one client
         (an authentication failure prints "ERROR <exception type>: <message>" and exits 1),
         sends {'hello': 'from python', 'version': [major, minor]}, then answers every
         object received, printing "RECEIVED <repr>" first:
           {'blob': n}  -> b'x' * n (bytes)
           {'text': n}  -> 'y' * n (str)
           'bye'        -> 'bye', then closes and exits 0
           anything else -> {'echo': obj}
         EOF from the client prints "CLOSED" and exits 0.
connect  Client(('127.0.0.1', PORT), authkey=key); prints "CONNECTED", then for each --send
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
    parser.add_argument("--replies", type=int)
    parser.add_argument("--lifetime", type=float, default=30)
    args = parser.parse_args()
    key = os.environ[args.authkey_env].encode() if args.authkey_env else None
    timer = threading.Timer(args.lifetime, lambda: os._exit(2))
    timer.daemon = True
    timer.start()
    try:
        if args.mode == "listen":
            listen(key)
        else:
            connect(args.port, key, args.send, args.replies)
    except Exception as e:
        say(f"ERROR {type(e).__name__}: {e}")
        sys.exit(1)


def listen(key):
    with Listener(("127.0.0.1", 0), authkey=key) as listener:
        say(f"PORT {listener.address[1]}")
        with listener.accept() as conn:
            conn.send({"hello": "from python", "version": list(sys.version_info[:2])})
            while True:
                try:
                    obj = conn.recv()
                except EOFError:
                    say("CLOSED")
                    return
                say(f"RECEIVED {obj!r}")
                if isinstance(obj, dict) and "blob" in obj:
                    conn.send(b"x" * obj["blob"])
                elif isinstance(obj, dict) and "text" in obj:
                    conn.send("y" * obj["text"])
                elif obj == "bye":
                    conn.send("bye")
                    say("CLOSED")
                    return
                else:
                    conn.send({"echo": obj})


def connect(port, key, sends, replies):
    with Client(("127.0.0.1", port), authkey=key) as conn:
        say("CONNECTED")
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
