#!/usr/bin/env python3
"""Hostile lab servers for brine's hostile-peer tests (python3 3.8+, standard library only).

    python3 tests/servers/hostile_server.py --mode MODE [--port 0] ...

Binds 127.0.0.1, prints ``PORT <n>`` first, serves ONE client, and exits 0 (1 if the client
never came or the server itself failed). Each mode does the lab handshake ({'clientid': id},
then reads the identity), sends ``BEFORE`` (a message that must be delivered, whatever comes
next), then misbehaves. Lines printed: ``SENT <repr>``, ``HOSTILE <what>``, ``IDENTITY <repr>``,
``CLIENT-CLOSED`` (the client closed its end: it did not hang on), ``ERROR <why>``, ``DONE``.

One idea per mode:

slowloris        BEFORE; then 'slow' (7 bytes) one byte per --interval seconds; AFTER; close
slowloris-stall  BEFORE; then half a message, then silence for --stall seconds; close
slowloris-endless BEFORE; then a message that never ends, one byte per --interval seconds,
                 for --stall seconds; close
huge-length      BEFORE; a pickle whose FRAME claims 2**62 bytes (refused); AFTER; then a
                 BINBYTES8 claiming 2**62 bytes, followed by --junk-kib KiB of junk; close
deep-nesting     BEFORE; 100,000 MARKs; 100,000 nested EMPTY_LIST+APPEND; the same kinds that
                 fit the 4096-byte buffer (2,000 MARKs; 2,000 nested lists); AFTER; close
memo-bombs       BEFORE; GET/BINGET/LONG_BINGET of indexes never PUT (up to 2**32-1);
                 LONG_BINPUT at 2**31; a 'billion laughs' of shared lists; AFTER; close
self-reference   BEFORE; CPython's pickle of l = []; l.append(l), of d = {}; d['d'] = d and of
                 a two-list cycle (brine prints them as repr does); AFTER; close
reset            BEFORE; half a message; a TCP reset (SO_LINGER 0 close)
half-close       BEFORE; AFTER; shutdown(SHUT_WR) (a FIN: no more data from us); keep reading
                 until the client closes its end
half-close-mid   BEFORE; half a message; shutdown(SHUT_WR); keep reading until the client
                 closes its end
bombs            BEFORE; issue 12's expansion bombs: a 1,142-byte pickle whose memo doubles a
                 1000-byte bytes object through 19 levels of lists (2**19 copies), and a
                 1,927-byte one doubling a 4299-digit int (both beyond the decoder's
                 expansion limit, so refused); then the same with 13 and 11 levels (8 MiB of
                 bytes, 8.8 MB of digits: within that limit, decoded, and far beyond brine's
                 1 MiB output limit); AFTER; close
id-reset         no handshake: {'clientid': id} and BEFORE in one write, then a TCP reset
                 (SO_LINGER 0) at once, without reading anything

--client-id-text TEXT sends a str client id instead of the int --client-id.
"""

import argparse
import os
import pickle
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lab_server import Closed, read_identity, say  # noqa: E402  (same directory)

BEFORE = "message before the fault"
AFTER = "message after the fault"
SLOW = b"\x8c\x04slow."  # SHORT_BINUNICODE 'slow', STOP: 7 bytes, no PROTO needed
HALF = pickle.dumps("this message is never finished", 4)[:20]


def send(conn, obj):
    conn.sendall(pickle.dumps(obj, 4))
    say("SENT", repr(obj))


def hostile(conn, what, data):
    conn.sendall(data)
    say("HOSTILE", what)


def wait_client_close(conn, secs):
    """Reads (and ignores) until the client closes its end, at most `secs` seconds."""
    conn.settimeout(secs)
    try:
        while conn.recv(4096):
            pass
        say("CLIENT-CLOSED")
    except socket.timeout:
        say("ERROR", f"the client kept its end open for {secs} s")
    except OSError as e:
        say("CLIENT-CLOSED", f"({e})")


def close(conn, args):
    conn.shutdown(socket.SHUT_WR)
    wait_client_close(conn, args.timeout)


def mode_slowloris(conn, args):
    for i in range(len(SLOW)):
        conn.sendall(SLOW[i:i + 1])
        time.sleep(args.interval)
    say("SENT", repr("slow"))
    send(conn, AFTER)
    close(conn, args)


def mode_slowloris_stall(conn, args):
    hostile(conn, "half a message, then silence", HALF)
    time.sleep(args.stall)
    close(conn, args)


def mode_slowloris_endless(conn, args):
    # BINUNICODE8 claiming 2**40 bytes: the message cannot end before the connection does.
    hostile(conn, "a message that never ends, one byte at a time",
            b"\x80\x04\x8d" + struct.pack("<Q", 2**40))
    end = time.monotonic() + args.stall
    try:
        while time.monotonic() < end:
            conn.sendall(b"x")
            time.sleep(args.interval)
    except OSError:
        pass  # the client gave up: what the test wants
    wait_client_close(conn, args.timeout)


def mode_huge_length(conn, args):
    hostile(conn, "FRAME claiming 2**62 bytes",
            b"\x80\x04\x95" + struct.pack("<Q", 2**62) + b"N.")
    send(conn, AFTER)
    junk = b"\x00" * 1024
    data = b"\x80\x04\x8e" + struct.pack("<Q", 2**62)
    hostile(conn, "BINBYTES8 claiming 2**62 bytes", data)
    for _ in range(args.junk_kib):
        conn.sendall(junk)
    close(conn, args)


def mode_deep_nesting(conn, args):
    hostile(conn, "100000 MARKs", b"(" * 100000 + b"N.")
    hostile(conn, "100000 nested lists", b"]" * 100000 + b"a" * 99999 + b".")
    hostile(conn, "2000 MARKs", b"(" * 2000 + b"N.")
    hostile(conn, "2000 nested lists", b"]" * 2000 + b"a" * 1999 + b".")
    hostile(conn, "2000 nested tuples", b"N" + b"\x85" * 2000 + b".")
    send(conn, AFTER)
    close(conn, args)


def mode_memo_bombs(conn, args):
    hostile(conn, "GET 5 never PUT", b"g5\n.")
    hostile(conn, "BINGET 7 never PUT", b"h\x07.")
    hostile(conn, "LONG_BINGET 2**32-1", b"j\xff\xff\xff\xff.")
    hostile(conn, "GET 2**70", b"g" + str(2**70).encode() + b"\n.")
    hostile(conn, "LONG_BINPUT 2**31", b"N" + b"r" + struct.pack("<I", 2**31) + b".")
    # Each level: a list holding the previous level twice (2**40 values when expanded).
    bomb = bytearray(b"]\x94")
    for level in range(40):
        bomb += b"(h" + bytes([level]) + b"h" + bytes([level]) + b"l\x94"
    bomb += b"."
    hostile(conn, "billion laughs", bytes(bomb))
    send(conn, AFTER)
    close(conn, args)


def mode_self_reference(conn, args):
    lst = []
    lst.append(lst)
    hostile(conn, "l = []; l.append(l)", pickle.dumps(lst, 4))
    d = {}
    d["d"] = d
    hostile(conn, "d = {}; d['d'] = d", pickle.dumps(d, 2))
    a, b = [], []
    a.append(b)
    b.append(a)
    hostile(conn, "a = [b]; b = [a]", pickle.dumps(a, 0))
    send(conn, AFTER)
    close(conn, args)


def mode_reset(conn, args):
    time.sleep(0.5)  # let the client read BEFORE: a reset may discard unread data
    hostile(conn, "half a message, then a reset", HALF)
    time.sleep(0.3)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    say("HOSTILE", "reset")


def mode_half_close(conn, args):
    send(conn, AFTER)
    conn.shutdown(socket.SHUT_WR)
    say("HOSTILE", "half-closed")
    wait_client_close(conn, args.timeout)


def mode_half_close_mid(conn, args):
    hostile(conn, "half a message", HALF)
    conn.shutdown(socket.SHUT_WR)
    say("HOSTILE", "half-closed")
    wait_client_close(conn, args.timeout)


def doubling(leaf, levels=19):
    """A pickle whose memo entry 0 is `leaf` (opcodes, then MEMOIZE) and whose `levels` levels
    of lists each hold the level below twice: 2**levels references to the leaf (issue 12)."""
    body = b"".join(bytes([0x28, 0x68, i, 0x68, i, 0x6C, 0x94]) for i in range(levels))
    return b"\x80\x04" + leaf + b"\x94" + body + b"."


STR_LEAF = b"B\xe8\x03\x00\x00" + b"\x00" * 1000
INT_LEAF = (b"\x8b" + struct.pack("<i", 1785)
            + (2**14279 - 1).to_bytes(1785, "little", signed=True))
# Issue 12's bytes, verbatim.
STR_BOMB = doubling(STR_LEAF)
INT_BOMB = doubling(INT_LEAF)
# Within the decoder's expansion limit (16 MiB of leaves), far beyond any output limit.
STR_BOMB_DECODED = doubling(STR_LEAF, 13)
INT_BOMB_DECODED = doubling(INT_LEAF, 11)


def mode_bombs(conn, args):
    hostile(conn, f"str expansion bomb ({len(STR_BOMB)} bytes)", STR_BOMB)
    hostile(conn, f"int expansion bomb ({len(INT_BOMB)} bytes)", INT_BOMB)
    hostile(conn, f"str bomb, 13 levels ({len(STR_BOMB_DECODED)} bytes)", STR_BOMB_DECODED)
    hostile(conn, f"int bomb, 11 levels ({len(INT_BOMB_DECODED)} bytes)", INT_BOMB_DECODED)
    send(conn, AFTER)
    close(conn, args)


def mode_id_reset(conn, args):
    hello = pickle.dumps({"clientid": client_id(args)}, 4)
    conn.sendall(hello + pickle.dumps(BEFORE, 4))
    say("SENT", repr(BEFORE))
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()
    say("HOSTILE", "reset")


def client_id(args):
    return args.client_id if args.client_id_text is None else args.client_id_text


# Modes that do their own handshake (or none).
RAW_MODES = {"id-reset": mode_id_reset}

MODES = {
    "slowloris": mode_slowloris,
    "slowloris-stall": mode_slowloris_stall,
    "slowloris-endless": mode_slowloris_endless,
    "huge-length": mode_huge_length,
    "deep-nesting": mode_deep_nesting,
    "memo-bombs": mode_memo_bombs,
    "self-reference": mode_self_reference,
    "reset": mode_reset,
    "half-close": mode_half_close,
    "half-close-mid": mode_half_close_mid,
    "bombs": mode_bombs,
    **RAW_MODES,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("One idea per mode:")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(MODES), required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--client-id", type=int, default=54321)
    parser.add_argument("--client-id-text", default=None,
                        help="send this str as the client id instead of --client-id")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the client at any step (default 10)")
    parser.add_argument("--accept-timeout", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=1.0,
                        help="slowloris: seconds between bytes (default 1)")
    parser.add_argument("--stall", type=float, default=8.0,
                        help="slowloris-stall/-endless: how long to keep the client waiting")
    parser.add_argument("--junk-kib", type=int, default=1024,
                        help="huge-length: KiB sent after the 2**62-byte claim (default 1024)")
    args = parser.parse_args()

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", args.port))
        server.listen(1)
        server.settimeout(args.accept_timeout)
        say("PORT", str(server.getsockname()[1]))
        try:
            conn, _ = server.accept()
        except socket.timeout:
            say("ERROR", "no client connected")
            return 1
        with conn:
            conn.settimeout(args.timeout)
            try:
                if args.mode in RAW_MODES:
                    RAW_MODES[args.mode](conn, args)
                    say("DONE")
                    return 0
                send(conn, {"clientid": client_id(args)})
                if read_identity(conn) is None:
                    return 1
                send(conn, BEFORE)
                MODES[args.mode](conn, args)
            except (Closed, OSError) as e:
                say("ERROR", f"connection error: {e}")
    say("DONE")
    return 0


if __name__ == "__main__":
    sys.exit(main())
