#!/usr/bin/env python3
"""CPython lab servers for brine's end-to-end tests (python3 3.8+, standard library only).

    python3 tests/servers/lab_server.py --mode MODE [--port 0] [--clients N] ...

Binds 127.0.0.1, prints ``PORT <n>`` as its first stdout line, serves ``--clients``
clients (at once, one thread each), prints what happened as lines (see README.md beside this
file), and exits: 0 when no ERROR line was printed, 1 otherwise. Every wait is bounded, so a
test that never connects still ends (``--accept-timeout``).

One idea per mode:

classic          the lab server: {'clientid': id}, read the identity, ack it, send a dict and
                 a list, close
bytewise         classic, but every byte of every pickle in its own send()
burst            the id and three messages in ONE send(), before reading the identity
close-before-id  accept and close at once
close-mid-message  id; identity; ack; the first half of a pickle; close
silent           accept and never speak (until the client closes or --silent-secs pass)
big              id; identity; a small message, a 10000-character str, a small message; close
evil             id; identity; a pickle that would call os.system; a normal message; close
py2              speaks protocol 2 as Python 2 writes it (byte strings: SHORT_BINSTRING,
                 BINSTRING), reads the identity with encoding='bytes'
str-id           the id is a str: {'clientid': 'abc-123'}; identity; ack; close

Identities are read with a framing loop (recv until a whole pickle is in) and an Unpickler
that refuses every global except the builtins CPython itself uses for data, so no test client
can make this server run code either.
"""

import argparse
import io
import pickle
import socket
import struct
import sys
import threading
import time

ACK = "Server got the data"
CLASSIC_MESSAGES = [
    {"course": "CSC 645", "lab": 2, "scores": [98, 87.5], "passed": True, "notes": None},
    ["alpha", 2, 3.5, None],
]
BURST_MESSAGES = [ACK, "second in the burst", {"n": 3}]
BIG_MESSAGES = ["small before", "x" * 10000, "small after"]
EVIL_COMMAND = "echo pwned"
EVIL_AFTER = "after the evil pickle"
PY2_MESSAGES = [ACK, {"msg": "hello from Python 2", "count": 3}, "z" * 300]
STR_ID = "abc-123"
CUT_MESSAGE = {"course": "CSC 645", "note": "this message is cut in the middle"}

_out = threading.Lock()
_errors = []


def say(kind, text=""):
    """One stdout line, flushed, never interleaved with another thread's."""
    line = kind if not text else f"{kind} {text}"
    with _out:
        print(line, flush=True)
    if kind == "ERROR":
        _errors.append(text)


class DataOnly(pickle.Unpickler):
    """Unpickles data only: the globals CPython writes for builtin data, nothing else."""

    ALLOWED = {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "bytes"),
        ("builtins", "bytearray"),
        ("__builtin__", "set"),
        ("__builtin__", "frozenset"),
        ("__builtin__", "bytearray"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}")


class Closed(Exception):
    """The client closed the connection."""


def recv_pickle(conn, buf, encoding="ASCII"):
    """Receives until ``buf`` starts with a whole pickle; returns (object, rest of buf).

    Raises Closed at the end of the stream (with the bytes of a partial pickle, if any)."""
    while True:
        if buf:
            stream = io.BytesIO(buf)
            try:
                obj = DataOnly(stream, encoding=encoding).load()
                return obj, buf[stream.tell():]
            except EOFError:
                pass  # ran out of input: the pickle is not all here yet
            except pickle.UnpicklingError as e:
                if "truncated" not in str(e):
                    raise
        chunk = conn.recv(4096)
        if not chunk:
            raise Closed(f"{len(buf)} bytes of an unfinished pickle" if buf else "")
        buf += chunk


def send(conn, obj, protocol, bytewise=False):
    """pickle.dumps(obj) in one send() (or one send per byte) and a SENT line."""
    data = pickle.dumps(obj, protocol)
    send_raw(conn, data, bytewise)
    say("SENT", repr(obj))


def send_raw(conn, data, bytewise=False):
    if not bytewise:
        conn.sendall(data)
        return
    for i in range(len(data)):
        conn.sendall(data[i:i + 1])
        time.sleep(0.001)


def read_identity(conn, buf=b"", encoding="ASCII"):
    """The client's identity, printed; returns the rest of the buffer (None if it closed)."""
    try:
        identity, rest = recv_pickle(conn, buf, encoding)
    except Closed as e:
        say("ERROR", "client closed the connection before sending its identity"
            + (f" ({e})" if str(e) else ""))
        return None
    say("IDENTITY", repr(identity))
    return rest


def finish(conn, buf=b"", encoding="ASCII"):
    """Closes our side, prints whatever the client still sends, waits for it to close."""
    try:
        conn.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    try:
        while True:
            obj, buf = recv_pickle(conn, buf, encoding)
            say("RECEIVED", repr(obj))
    except Closed as e:
        if str(e):
            say("ERROR", f"client closed the connection in the middle of a pickle ({e})")
    except socket.timeout:
        pass  # everything was sent; a client that keeps its end open is not our failure
    say("CLOSED")


# ---- Python 2's pickle, protocol 2, for str, int, bool, None, list and dict ---------------

def py2_dumps(obj):
    """What Python 2.7's pickle.dumps(obj, 2) writes (str as byte strings, memoized)."""
    out = bytearray(b"\x80\x02")
    memo = [0]

    def put():
        out.extend(b"q" + bytes([memo[0]]))  # BINPUT
        memo[0] += 1

    def save(x):
        if x is None:
            out.extend(b"N")
        elif x is True or x is False:
            out.extend(b"\x88" if x else b"\x89")
        elif isinstance(x, int):
            if 0 <= x < 256:
                out.extend(b"K" + bytes([x]))
            elif 0 <= x < 65536:
                out.extend(b"M" + struct.pack("<H", x))
            else:
                out.extend(b"J" + struct.pack("<i", x))
        elif isinstance(x, str):
            raw = x.encode("ascii")
            if len(raw) < 256:
                out.extend(b"U" + bytes([len(raw)]) + raw)  # SHORT_BINSTRING
            else:
                out.extend(b"T" + struct.pack("<i", len(raw)) + raw)  # BINSTRING
            put()
        elif isinstance(x, list):
            out.extend(b"]")
            put()
            if len(x) == 1:
                save(x[0])
                out.extend(b"a")
            elif x:
                out.extend(b"(")
                for item in x:
                    save(item)
                out.extend(b"e")
        elif isinstance(x, dict):
            out.extend(b"}")
            put()
            if len(x) == 1:
                ((k, v),) = x.items()
                save(k)
                save(v)
                out.extend(b"s")
            elif x:
                out.extend(b"(")
                for k, v in x.items():
                    save(k)
                    save(v)
                out.extend(b"u")
        else:
            raise TypeError(f"py2_dumps cannot write {type(x).__name__}")

    save(obj)
    out.extend(b".")
    return bytes(out)


def evil_pickle(command=EVIL_COMMAND):
    """os.system(command) as a protocol-2 pickle, built by hand (never loaded here)."""
    command = command.encode()
    return (b"\x80\x02" + b"cos\nsystem\n" + b"X" + struct.pack("<I", len(command)) + command
            + b"\x85" + b"R" + b".")


# ---- the modes ----------------------------------------------------------------------------

def mode_classic(conn, cid, args, bytewise=False):
    send(conn, {"clientid": cid}, args.protocol, bytewise)
    rest = read_identity(conn)
    if rest is None:
        return
    for message in [ACK] + CLASSIC_MESSAGES:
        send(conn, message, args.protocol, bytewise)
    finish(conn, rest)


def mode_bytewise(conn, cid, args):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    mode_classic(conn, cid, args, bytewise=True)


def mode_burst(conn, cid, args):
    objects = [{"clientid": cid}] + BURST_MESSAGES
    conn.sendall(b"".join(pickle.dumps(o, args.protocol) for o in objects))
    for o in objects:
        say("SENT", repr(o))
    rest = read_identity(conn)
    if rest is not None:
        finish(conn, rest)


def mode_close_before_id(conn, cid, args):
    conn.close()
    say("CLOSED")


def mode_close_mid_message(conn, cid, args):
    send(conn, {"clientid": cid}, args.protocol)
    rest = read_identity(conn)
    if rest is None:
        return
    send(conn, ACK, args.protocol)
    data = pickle.dumps(CUT_MESSAGE, args.protocol)
    half = len(data) // 2
    conn.sendall(data[:half])
    say("SENT", f"<the first {half} of {len(data)} bytes of {CUT_MESSAGE!r}>")
    finish(conn, rest)


def mode_silent(conn, cid, args):
    conn.settimeout(args.silent_secs)
    try:
        finish_silently(conn)
    except socket.timeout:
        say("CLOSED")


def finish_silently(conn):
    buf = b""
    try:
        while True:
            obj, buf = recv_pickle(conn, buf)
            say("RECEIVED", repr(obj))
    except Closed:
        pass
    say("CLOSED")


def mode_big(conn, cid, args):
    send(conn, {"clientid": cid}, args.protocol)
    rest = read_identity(conn)
    if rest is None:
        return
    for message in BIG_MESSAGES:
        send(conn, message, args.protocol)
    finish(conn, rest)


def mode_evil(conn, cid, args):
    send(conn, {"clientid": cid}, args.protocol)
    rest = read_identity(conn)
    if rest is None:
        return
    conn.sendall(evil_pickle(args.evil_command))
    say("SENT", f"<code-running pickle: os.system({args.evil_command!r})>")
    send(conn, EVIL_AFTER, args.protocol)
    finish(conn, rest)


def mode_py2(conn, cid, args):
    conn.sendall(py2_dumps({"clientid": cid}))
    say("SENT", repr({"clientid": cid}))
    rest = read_identity(conn, encoding="bytes")
    if rest is None:
        return
    for message in PY2_MESSAGES:
        conn.sendall(py2_dumps(message))
        say("SENT", repr(message))
    finish(conn, rest, encoding="bytes")


def mode_str_id(conn, cid, args):
    send(conn, {"clientid": STR_ID}, args.protocol)
    rest = read_identity(conn)
    if rest is None:
        return
    send(conn, ACK, args.protocol)
    finish(conn, rest)


MODES = {
    "classic": mode_classic,
    "bytewise": mode_bytewise,
    "burst": mode_burst,
    "close-before-id": mode_close_before_id,
    "close-mid-message": mode_close_mid_message,
    "silent": mode_silent,
    "big": mode_big,
    "evil": mode_evil,
    "py2": mode_py2,
    "str-id": mode_str_id,
}


def serve(conn, cid, args):
    with conn:
        conn.settimeout(args.timeout)
        try:
            MODES[args.mode](conn, cid, args)
        except socket.timeout:
            say("ERROR", f"timed out after {args.timeout} s waiting for the client")
        except (pickle.UnpicklingError, ValueError, EOFError) as e:
            say("ERROR", f"cannot unpickle what the client sent: {e}")
        except OSError as e:
            say("ERROR", f"connection error: {e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("One idea per mode:")[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=sorted(MODES), default="classic")
    parser.add_argument("--port", type=int, default=0, help="0 (default): any free port")
    parser.add_argument("--clients", type=int, default=1, help="clients to serve, at once")
    parser.add_argument("--client-id", type=int, default=54321,
                        help="the first client id (default 54321); then +1 per client")
    parser.add_argument("--protocol", type=int, default=pickle.DEFAULT_PROTOCOL,
                        help="pickle protocol of what is sent (not py2/evil's hand-made bytes)")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="seconds to wait for the client at any step (default 10)")
    parser.add_argument("--silent-secs", type=float, default=60.0,
                        help="how long 'silent' stays silent before closing (default 60)")
    parser.add_argument("--evil-command", default=EVIL_COMMAND,
                        help="the shell command evil's pickle would run (default: echo pwned);"
                             " a test passes one that leaves a marker file")
    parser.add_argument("--accept-timeout", type=float, default=30.0,
                        help="give up when no client connects within this (default 30)")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(max(args.clients, 16))
    say("PORT", str(listener.getsockname()[1]))
    listener.settimeout(args.accept_timeout)

    threads = []
    for n in range(args.clients):
        try:
            conn, _peer = listener.accept()
        except socket.timeout:
            say("ERROR", f"no client connected within {args.accept_timeout} s")
            break
        thread = threading.Thread(target=serve, args=(conn, args.client_id + n, args))
        thread.start()
        threads.append(thread)
    listener.close()
    for thread in threads:
        thread.join()
    return 1 if _errors else 0


if __name__ == "__main__":
    sys.exit(main())
