#!/usr/bin/env python3
"""Lab servers written the way the course's instructor and students write them (CPython 3.8+,
standard library only), for brine's end-to-end tests.

    python3 tests/servers/course_servers.py --style STYLE [--port 0] [--lifetime 30]

Unlike lab_server.py (which frames, checks and reports every byte), these are plain course
code: ``conn.recv(4096)`` + ``pickle.loads``, a thread per client where the original has one,
``print`` of what arrived, and no error handling beyond the original's. The first stdout line
is ``PORT <n>`` (for the tests); every later line is the server's own console, flushed. The
process ends by itself after ``--lifetime`` seconds (or when killed).

instructor  threaded; keeps every client socket in a dict (to broadcast later), so a client
            whose thread died stays connected; sends {'clientid': id}, reads the identity
            with data['student_name'], data['github_username'], data['sid'] (KeyError
            otherwise: the thread dies with a traceback on stderr, the socket stays open),
            prints "Connected: Student: <name>, Github Username: <user>, sid: <sid>" and acks
            with pickle.dumps(1)
handout     iterative, from the handout's example: sends {'clientid': id}, prints whatever
            dict arrives ("Client <id> sent: <dict>"), acks 'Server got the data', closes
nested-id   as handout, with the id sent as {'clientid': {'clientid': id}}
int-id      as handout, with the id sent as pickle.dumps(id) (a bare int)
wrong-key   as handout, with the id sent as {'client_id': id} (no 'clientid')
py2         Python 2.7 emulated: sends protocol-0 pickles as Python 2 writes them (str keys as
            STRING), loads like Python 2 (a pickle with PROTO > 2 fails: "ValueError:
            unsupported pickle protocol: 4", then "Could not connect to client"; a Python 2
            str is a byte string, so the lookups data['student_name'] ... find only byte
            string keys: unicode keys raise KeyError), prints the dict as Python 2 does
            ("Received: {'student_name': 'Ada', ...}", u'...' for unicode) and the instructor's
            line, acks 'Server got the data' (protocol 0) and closes
one-client  serves its first client only (id, identity printed, ack 'Server got the data')
            and never closes it; later clients are accepted by the kernel's backlog and never
            answered
"""

import argparse
import os
import pickle
import socket
import sys
import threading
import time

ACK = "Server got the data"


def say(line):
    print(line, flush=True)


def listen(port):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(100)
    say(f"PORT {server.getsockname()[1]}")
    return server


# ---- instructor: threaded, strict keys, int ack -------------------------------------------

def instructor(server):
    clients = {}  # clientid -> socket: kept for broadcasts, even when the handler died
    clientid = 1000

    def handle(conn, clientid):
        conn.send(pickle.dumps({"clientid": clientid}))
        data = pickle.loads(conn.recv(4096))
        student_name = data["student_name"]
        github_username = data["github_username"]
        sid = data["sid"]
        say(f"Connected: Student: {student_name}, Github Username: {github_username}, sid: {sid}")
        conn.send(pickle.dumps(1))

    while True:
        conn, _addr = server.accept()
        clientid += 1
        clients[clientid] = conn
        threading.Thread(target=handle, args=(conn, clientid), daemon=True).start()


# ---- handout: iterative, prints any dict --------------------------------------------------

def handout(server, first_message):
    clientid = 1000
    while True:
        conn, _addr = server.accept()
        clientid += 1
        conn.send(pickle.dumps(first_message(clientid)))
        data = pickle.loads(conn.recv(4096))
        say(f"Client {clientid} sent: {data}")
        conn.send(pickle.dumps(ACK))
        conn.close()


# ---- py2: Python 2.7's pickle, emulated ---------------------------------------------------

def py2_repr(obj):
    """repr() as Python 2 prints it: byte strings '...', unicode u'...'."""
    if isinstance(obj, bytes):
        return repr(obj)[1:]
    if isinstance(obj, str):
        return "u" + ascii(obj)
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{py2_repr(k)}: {py2_repr(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, list):
        return "[" + ", ".join(py2_repr(v) for v in obj) + "]"
    return repr(obj)


def py2_str(obj):
    """str() as Python 2's print shows it (ASCII only here)."""
    if isinstance(obj, bytes):
        return obj.decode("latin-1")
    return str(obj)


def py2_dumps(obj):
    """pickle.dumps(obj) as Python 2.7 writes it (protocol 0): str as STRING, memo PUTs."""
    out, memo = [], [0]

    def put():
        out.append(b"p%d\n" % memo[0])
        memo[0] += 1

    def dump(o):
        if isinstance(o, bool):
            out.append(b"I01\n" if o else b"I00\n")
        elif isinstance(o, int):
            out.append(b"I%d\n" % o)
        elif isinstance(o, str):  # a Python 2 str literal: ASCII bytes
            out.append(b"S" + repr(o).encode("ascii") + b"\n")
            put()
        elif isinstance(o, dict):
            out.append(b"(d")
            put()
            for k, v in o.items():
                dump(k)
                dump(v)
                out.append(b"s")
        elif o is None:
            out.append(b"N")
        else:
            raise TypeError(type(o))

    dump(obj)
    return b"".join(out) + b"."


def py2_loads(data):
    """pickle.loads as Python 2.7 does it: protocols 0-2 only; str stays bytes."""
    if data[:1] == b"\x80" and len(data) > 1 and data[1] > 2:
        raise ValueError(f"unsupported pickle protocol: {data[1]}")
    return pickle.loads(data, encoding="bytes")


def py2(server):
    clientid = 1000
    while True:
        conn, _addr = server.accept()
        clientid += 1
        try:
            conn.send(py2_dumps({"clientid": clientid}))
            data = py2_loads(conn.recv(4096))
            say(f"Received: {py2_repr(data)}")
            student_name = data[b"student_name"]
            github_username = data[b"github_username"]
            sid = data[b"sid"]
            say(f"Connected: Student: {py2_str(student_name)}, Github Username: "
                f"{py2_str(github_username)}, sid: {py2_str(sid)}")
            conn.send(py2_dumps(ACK))
        except Exception as e:  # the Python 2 server's own catch-all
            say(f"{type(e).__name__}: {e}")
            say("Could not connect to client")
        conn.close()


# ---- one-client: serves one client, forever -----------------------------------------------

def one_client(server):
    conn, _addr = server.accept()
    conn.send(pickle.dumps({"clientid": 1}))
    data = pickle.loads(conn.recv(4096))
    say(f"Client 1 sent: {data}")
    conn.send(pickle.dumps(ACK))
    while True:  # serving this client; nobody else is accepted
        time.sleep(3600)


STYLES = {
    "instructor": instructor,
    "handout": lambda s: handout(s, lambda cid: {"clientid": cid}),
    "nested-id": lambda s: handout(s, lambda cid: {"clientid": {"clientid": cid}}),
    "int-id": lambda s: handout(s, lambda cid: cid),
    "wrong-key": lambda s: handout(s, lambda cid: {"client_id": cid}),
    "py2": py2,
    "one-client": one_client,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--style", choices=sorted(STYLES), required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=30.0,
                        help="exit after this many seconds (default 30)")
    args = parser.parse_args()
    server = listen(args.port)
    threading.Thread(target=STYLES[args.style], args=(server,), daemon=True).start()
    time.sleep(args.lifetime)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
