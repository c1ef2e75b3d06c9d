#!/usr/bin/env python3
"""One attacking client and honest lab clients against a lab server (python3 3.8+, stdlib).

    python3 tests/servers/attack.py HOST PORT [--seconds 10] [--honest 4] [--attackers 1]

Each attacker does the handshake, then sends expansion bombs as fast as the server takes them,
reading and discarding whatever the server sends back: in turn issue 12's 1,142-byte str bomb
and 1,927-byte int bomb (2**19 references to 1000 bytes or a 4299-digit int) and the 13- and
11-level ones that fit the decoder's expansion limit (decoded, with gigantic reprs). Meanwhile --honest threads each loop over lab
handshakes: connect, read {'clientid': id} (recv(4096) + pickle.loads, as students write it),
send an identity dict, read the acknowledgement. The time from connect to the acknowledgement
is one handshake's latency. Prints one JSON line: handshakes, failures, latency percentiles
(ms), bombs sent, bytes of bombs sent.
"""

import argparse
import json
import os
import pickle
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_server import (  # noqa: E402  (same directory)
    INT_BOMB, INT_BOMB_DECODED, STR_BOMB, STR_BOMB_DECODED)

IDENTITY = pickle.dumps({"name": "Honest Student", "email": "h@example.edu"}, 4)


def recv_pickle(sock, timeout):
    """Reads until the bytes so far unpickle (the lab way), at most `timeout` seconds."""
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
        try:
            return pickle.loads(data)
        except Exception:
            continue


def honest(host, port, stop, latencies, failures, lock):
    while not stop.is_set():
        start = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=5) as sock:
                hello = recv_pickle(sock, 5)
                assert "clientid" in hello, hello
                sock.sendall(IDENTITY)
                ack = recv_pickle(sock, 5)
                assert ack == "Server got the data", ack
            with lock:
                latencies.append(time.perf_counter() - start)
        except Exception as e:  # noqa: BLE001 (any failure counts)
            with lock:
                failures.append(repr(e))


def attacker(host, port, stop, sent):
    with socket.create_connection((host, port), timeout=5) as sock:
        recv_pickle(sock, 5)
        sock.sendall(IDENTITY)
        sock.settimeout(None)

        def drain():
            try:
                while sock.recv(1 << 16):
                    pass
            except OSError:
                pass

        threading.Thread(target=drain, daemon=True).start()
        bombs = [STR_BOMB, INT_BOMB, STR_BOMB_DECODED, INT_BOMB_DECODED]
        i = 0
        while not stop.is_set():
            bomb = bombs[i % len(bombs)]
            try:
                sock.sendall(bomb)
            except OSError:
                break
            sent[0] += 1
            sent[1] += len(bomb)
            i += 1


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, int(round(p / 100 * (len(sorted_values) - 1))))
    return round(sorted_values[k] * 1000, 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("host")
    parser.add_argument("port", type=int)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--honest", type=int, default=4)
    parser.add_argument("--attackers", type=int, default=1)
    args = parser.parse_args()

    stop = threading.Event()
    latencies, failures, lock = [], [], threading.Lock()
    sent = [0, 0]
    attackers = [threading.Thread(target=attacker, args=(args.host, args.port, stop, sent),
                                  daemon=True) for _ in range(args.attackers)]
    for t in attackers:
        t.start()
    time.sleep(0.5)  # the attack is under way before the first honest handshake
    honests = [threading.Thread(target=honest,
                                args=(args.host, args.port, stop, latencies, failures, lock))
               for _ in range(args.honest)]
    for t in honests:
        t.start()
    time.sleep(args.seconds)
    stop.set()
    for t in honests:
        t.join(10)
    values = sorted(latencies)
    print(json.dumps({
        "handshakes": len(values),
        "failures": len(failures),
        "first_failure": failures[0] if failures else None,
        "p50_ms": percentile(values, 50),
        "p99_ms": percentile(values, 99),
        "max_ms": round(values[-1] * 1000, 2) if values else None,
        "bombs_sent": sent[0],
        "bomb_bytes_sent": sent[1],
    }), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
