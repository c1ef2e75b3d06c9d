#!/usr/bin/env python3
"""Checks every mode of lab_server.py with a careful CPython client (stdlib only).

    python3 tests/servers/selftest.py        # exits 0 when every mode behaves as documented

The client frames the stream with pickletools.genops (which walks opcodes without running
anything) and loads each pickle with the server's data-only Unpickler, so the evil pickle is
reported as refused, never run.
"""

import concurrent.futures
import io
import os
import pickle
import pickletools
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import lab_server as L  # noqa: E402

IDENTITY = {"name": "Ada Lovelace", "email": "ada@example.org", "student_id": 917654321}
REFUSED = "<refused>"


def split_pickles(buf):
    """(complete pickles, rest) of a byte stream, found without loading anything."""
    pickles = []
    while buf:
        stream = io.BytesIO(buf)
        try:
            for opcode, _arg, _pos in pickletools.genops(stream):
                if opcode.name == "STOP":
                    break
            else:
                break
        except ValueError:  # truncated in the middle of an opcode or argument
            break
        end = stream.tell()
        pickles.append(buf[:end])
        buf = buf[end:]
    return pickles, buf


def load(data):
    try:
        return L.DataOnly(io.BytesIO(data), encoding="ASCII").load()
    except pickle.UnpicklingError:
        return REFUSED


def client(port, send_identity=True, recv_timeout=10.0):
    """The lab client: returns every object received, in order, until the server closes."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(recv_timeout)
    received, buf, sent = [], b"", False
    try:
        while True:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                received.append("<timeout>")
                break
            if not chunk:
                if buf:
                    received.append(f"<cut after {len(buf)} bytes>")
                break
            pickles, buf = split_pickles(buf + chunk)
            received.extend(load(p) for p in pickles)
            if received and send_identity and not sent:
                sock.sendall(pickle.dumps(IDENTITY))
                sent = True
    finally:
        sock.close()
    return received


def run(mode, *extra, **client_args):
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "lab_server.py"),
                               "--mode", mode, "--port", "0", *extra],
                              stdout=subprocess.PIPE, text=True)
    first = server.stdout.readline()
    assert first.startswith("PORT "), first
    started = time.monotonic()
    received = client(int(first.split()[1]), **client_args)
    lines = server.stdout.read().splitlines()
    code = server.wait(timeout=30)
    return received, lines, code, time.monotonic() - started


def expect(mode, got, want):
    if got != want:
        raise AssertionError(f"{mode}: got {got!r}, want {want!r}")


def main():
    cid = {"clientid": 54321}
    ident = f"IDENTITY {IDENTITY!r}"

    received, lines, code, _ = run("classic")
    expect("classic", received, [cid, L.ACK] + L.CLASSIC_MESSAGES)
    expect("classic", lines, [f"SENT {cid!r}", ident]
           + [f"SENT {m!r}" for m in [L.ACK] + L.CLASSIC_MESSAGES] + ["CLOSED"])
    expect("classic", code, 0)

    received, lines, code, _ = run("bytewise")
    expect("bytewise", received, [cid, L.ACK] + L.CLASSIC_MESSAGES)
    expect("bytewise", code, 0)

    received, lines, code, _ = run("burst")
    expect("burst", received, [cid] + L.BURST_MESSAGES)
    expect("burst", lines[-2:], [ident, "CLOSED"])
    expect("burst", code, 0)

    received, lines, code, _ = run("close-before-id")
    expect("close-before-id", (received, lines, code), ([], ["CLOSED"], 0))

    received, lines, code, _ = run("close-mid-message")
    half = len(pickle.dumps(L.CUT_MESSAGE)) // 2
    expect("close-mid-message", received, [cid, L.ACK, f"<cut after {half} bytes>"])
    expect("close-mid-message", lines[-1:], ["CLOSED"])
    expect("close-mid-message", code, 0)

    received, lines, code, took = run("silent", "--silent-secs", "5",
                                      send_identity=False, recv_timeout=0.5)
    expect("silent", (received, lines, code), (["<timeout>"], ["CLOSED"], 0))
    assert took < 4, f"silent: the server did not notice the client leave ({took:.1f} s)"

    received, lines, code, _ = run("big")
    expect("big", received, [cid] + L.BIG_MESSAGES)
    assert len(pickle.dumps(L.BIG_MESSAGES[1])) > 4096
    expect("big", code, 0)

    received, lines, code, _ = run("evil")
    expect("evil", received, [cid, REFUSED, L.EVIL_AFTER])
    expect("evil", code, 0)

    received, lines, code, _ = run("py2")
    expect("py2", received, [cid] + L.PY2_MESSAGES)
    expect("py2", lines[1], ident)  # a Python 3 client's str identity stays str
    expect("py2", code, 0)

    received, lines, code, _ = run("str-id")
    expect("str-id", received, [{"clientid": L.STR_ID}, L.ACK])
    expect("str-id", code, 0)

    # Protocol 0 and several clients at once.
    received, lines, code, _ = run("classic", "--protocol", "0")
    expect("classic --protocol 0", received, [cid, L.ACK] + L.CLASSIC_MESSAGES)

    # Several clients at once: ids from --client-id up, one IDENTITY line each.
    server = subprocess.Popen([sys.executable, os.path.join(HERE, "lab_server.py"), "--port",
                               "0", "--clients", "3", "--client-id", "7"],
                              stdout=subprocess.PIPE, text=True)
    port = int(server.stdout.readline().split()[1])
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: client(port), range(3)))
    lines = server.stdout.read().splitlines()
    expect("--clients 3", sorted(r[0]["clientid"] for r in results), [7, 8, 9])
    expect("--clients 3", (lines.count(ident), lines.count("CLOSED"), server.wait()), (3, 3, 0))

    # A client that never sends its identity: ERROR line and exit status 1.
    received, lines, code, _ = run("classic", "--timeout", "0.5", send_identity=False,
                                   recv_timeout=2)
    expect("classic, no identity", (lines[-1:], code),
           (["ERROR timed out after 0.5 s waiting for the client"], 1))

    course_styles()
    print("9 modes and 7 course styles passed, 0 failed")


def course(style):
    """Starts course_servers.py --style STYLE; returns (process, port)."""
    server = subprocess.Popen([sys.executable, "-u", os.path.join(HERE, "course_servers.py"),
                               "--style", style, "--port", "0", "--lifetime", "20"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = server.stdout.readline()
    assert first.startswith("PORT "), first
    return server, int(first.split()[1])


def template_client(port, identity_bytes, wait=1.0):
    """The lab's template client: recv(4096) + pickle.loads of the id, send the identity,
    then every object received until the server closes or `wait` seconds of silence."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(wait)
    try:
        first = sock.recv(4096)
        received = [first, pickle.loads(first)]
        sock.sendall(identity_bytes)
        buf = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except socket.timeout:
                received.append("<silent>")
                break
            if not chunk:
                break
            pickles, buf = split_pickles(buf + chunk)
            received.extend(pickle.loads(p) for p in pickles)
        return received
    finally:
        sock.close()


def console(server):
    """The server's console lines after PORT, and its stderr, once it is stopped."""
    server.kill()
    out, err = server.communicate(timeout=10)
    return out.splitlines(), err


def course_styles():
    lab = {"student_name": "Ada", "email": "a@b.c", "sid": 917654321, "github_username": "ada"}
    handout_id = {"name": "Ada", "email": "a@b.c"}
    cid = {"clientid": 1001}

    server, port = course("instructor")
    got = template_client(port, pickle.dumps(lab))
    expect("instructor", got[1:], [cid, 1, "<silent>"])
    got = template_client(port, pickle.dumps(handout_id))
    expect("instructor, handout keys", got[1:], [{"clientid": 1002}, "<silent>"])
    lines, err = console(server)
    expect("instructor", lines, ["Connected: Student: Ada, Github Username: ada, sid: 917654321"])
    assert "KeyError: 'student_name'" in err, err

    for style, first in [("handout", cid), ("nested-id", {"clientid": cid}), ("int-id", 1001),
                         ("wrong-key", {"client_id": 1001})]:
        server, port = course(style)
        got = template_client(port, pickle.dumps(handout_id))
        expect(style, got[1:], [first, L.ACK])
        lines, _ = console(server)
        expect(style, lines, [f"Client 1001 sent: {handout_id!r}"])

    # Python 2.7 emulated: its bytes, its refusals, its repr.
    server, port = course("py2")
    # What Python 2.7's client sends: pickle.dumps({'student_name': 'Ada', 'sid': 7,
    # 'github_username': 'ada'}, 2), keys and values as SHORT_BINSTRING.
    py2_identity = (b"\x80\x02}q\x00(U\x0cstudent_nameq\x01U\x03Adaq\x02U\x03sidq\x03K\x07"
                    b"U\x0fgithub_usernameq\x04U\x03adaq\x05u.")
    got = template_client(port, py2_identity)
    expect("py2 id bytes", got[0], b"(dp0\nS'clientid'\np1\nI1001\ns.")
    expect("py2", got[1:], [cid, L.ACK])
    got = template_client(port, pickle.dumps(lab, 4))
    expect("py2, protocol 4", got[1:], [{"clientid": 1002}])
    got = template_client(port, pickle.dumps(lab, 2))
    expect("py2, unicode keys", got[1:], [{"clientid": 1003}])
    lines, _ = console(server)
    expect("py2", lines, [
        "Received: {'student_name': 'Ada', 'sid': 7, 'github_username': 'ada'}",
        "Connected: Student: Ada, Github Username: ada, sid: 7",
        "ValueError: unsupported pickle protocol: 4",
        "Could not connect to client",
        "Received: {u'student_name': u'Ada', u'email': u'a@b.c', u'sid': 917654321, "
        "u'github_username': u'ada'}",
        "KeyError: b'student_name'",
        "Could not connect to client",
    ])

    server, port = course("one-client")
    got = template_client(port, pickle.dumps(handout_id))
    expect("one-client, first", got[1:], [{"clientid": 1}, L.ACK, "<silent>"])
    sock = socket.create_connection(("127.0.0.1", port))  # accepted by the backlog only
    sock.settimeout(0.5)
    try:
        sock.recv(4096)
        raise AssertionError("one-client answered a second client")
    except socket.timeout:
        pass
    finally:
        sock.close()
    lines, _ = console(server)
    expect("one-client", lines, [f"Client 1 sent: {handout_id!r}"])


if __name__ == "__main__":
    main()
