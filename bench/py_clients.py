#!/usr/bin/env python3
"""Python clients for bench/run (driven by the brine-bench binary; prints plain numbers).

  py_clients.py lab HOST PORT        listen as students write it: recv(4096) + pickle.loads
  py_clients.py framed HOST PORT     listen correctly: buffered socket file + pickle.Unpickler
  py_clients.py handshake HOST PORT N   N sequential lab handshakes; latencies in ns
"""
import pickle
import socket
import sys
import time

IDENTITY = {"name": "bench", "email": "bench@example.invalid"}


def connect(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.connect((host, port))
    return s


def lab(host, port):
    s = connect(host, port)
    data = s.recv(4096)
    clientid = pickle.loads(data)["clientid"]
    s.sendall(pickle.dumps(IDENTITY))
    messages = errors = received = 0
    t0 = time.perf_counter()
    while True:
        data = s.recv(4096)
        if not data:
            break
        received += len(data)
        try:
            pickle.loads(data)  # the first pickle of the chunk; the rest is lost
            messages += 1
        except Exception:
            errors += 1  # the chunk started inside a pickle
    seconds = time.perf_counter() - t0
    s.close()
    return {"clientid": clientid, "messages": messages, "errors": errors,
            "bytes": received, "seconds": seconds}


def framed(host, port):
    s = connect(host, port)
    f = s.makefile("rb", buffering=65536)
    clientid = pickle.Unpickler(f).load()["clientid"]
    s.sendall(pickle.dumps(IDENTITY))
    messages = 0
    unpickler = pickle.Unpickler(f)
    load = unpickler.load
    t0 = time.perf_counter()
    while True:
        try:
            load()
        except EOFError:
            break
        messages += 1
    seconds = time.perf_counter() - t0
    f.close()
    s.close()
    return {"clientid": clientid, "messages": messages, "errors": 0, "seconds": seconds}


def handshake(host, port, n):
    identity = pickle.dumps(IDENTITY)
    ns = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        s = connect(host, port)
        pickle.loads(s.recv(4096))["clientid"]
        s.sendall(identity)
        pickle.loads(s.recv(4096))  # 'Server got the data'
        ns.append(time.perf_counter_ns() - t0)
        s.close()
    return {"ns": ns}


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if mode == "lab":
        out = lab(host, port)
    elif mode == "framed":
        out = framed(host, port)
    elif mode == "handshake":
        out = handshake(host, port, int(sys.argv[4]))
    else:
        sys.exit(f"unknown mode {mode}")
    if "ns" in out:
        print("\n".join(map(str, out["ns"])))
    else:
        print(out["messages"], out["errors"], out["seconds"])


if __name__ == "__main__":
    main()
