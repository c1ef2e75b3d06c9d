#!/usr/bin/env python3
"""Servers of the course's later labs and chat projects, written the way students and
instructors write them (CPython 3.8+, standard library only), for brine's dialect tests.

    python3 tests/servers/dialect_servers.py --style STYLE [--port 0] [--lifetime 30]

The first stdout line is ``PORT <n>`` (for the tests); every later line is the server's own
console, flushed. The process ends by itself after ``--lifetime`` seconds (or when killed).

menu        a threaded chat-project server: sends {'clientid': id}, prints the identity dict
            that comes back, then sends its menu {'message': 'menu', 'menu': {1: ..., 4: ...}}
            and waits for {'option': n} (data['option']: KeyError kills the thread, as in
            the original). Option 1 answers {'users': [...]}, 2 {'time': '...'} (fixed text),
            3 echoes {'echo': data.get('text')}, 4 answers 'Bye' and closes; anything else
            'Invalid option'. The menu is sent again after every answer but 'Bye'.
            recv(4096) + pickle.loads, one message per recv (each pickle in one send).
envelope    the client speaks first: every message is {'type': ..., 'content': ...}, framed
            with a 4-byte big-endian length (struct.pack('!I', len(data)) + data; the reader
            loops on recv until the length and the body are in). HELLO -> {'type':
            'WELCOME', 'content': 'Hello <name>'}; MESSAGE -> {'type': 'ECHO', 'content':
            <content>}; QUIT -> {'type': 'BYE', 'content': None} and close; any other type
            -> {'type': 'ERROR', 'content': 'unknown type <t>'}; a message before HELLO ->
            {'type': 'ERROR', 'content': 'say HELLO first'}.
cookbook    Python Network Programming Cookbook, 1st ed., ch. 2, "Multiplexing a chat
            server with select.select" (chat_server_with_select.py), ported to Python 3 line
            for line: send(channel, *args) pickles the args tuple and writes
            struct.pack("L", socket.htonl(len)) before it; receive() reads
            struct.calcsize("L") bytes, ntohl, then the body (with the recipe's
            `buf = channel.recv(size - len(buf))` loop) and returns loads(buf)[0]. The
            client speaks first ('NAME: <name>'); the server answers ('CLIENT: <addr>',),
            tells the others "(Connected: New client (n) from <name>@<addr>)", relays each
            message to every other client as '\\n#[<name>@<addr>]>>' + data, and stops when a
            line (or EOF) arrives on its stdin (the recipe's select on sys.stdin: keep stdin
            open). --python2 loads like Python 2's cPickle (a pickle with PROTO > 2 fails
            with "ValueError: unsupported pickle protocol: 4", as Python 2.7 says) and writes
            protocol 0 (cPickle.dumps' default).
cookbook-client  the recipe's chat client without its prompt: connects to --connect PORT as
            --name, prints "Now connected to chat server@ port <n>", sends each --say text
            one second apart, prints every message that arrives, leaves after --lifetime.
"""

import argparse
import pickle
import select
import socket
import struct
import sys
import threading
import time


def say(line):
    print(line, flush=True)


def listen(port, backlog=5):
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", port))
    server.listen(backlog)
    say(f"PORT {server.getsockname()[1]}")
    return server


# ---- menu: the chat project's menu loop -------------------------------------------------

MENU = {1: "Get user list", 2: "Get the time", 3: "Echo a text", 4: "Disconnect"}
USERS = ["Ada", "Grace", "Linus"]


def menu_client(conn, addr, client_id):
    conn.send(pickle.dumps({"clientid": client_id}))
    identity = pickle.loads(conn.recv(4096))
    say(f"Client {client_id} connected: {identity}")
    while True:
        conn.send(pickle.dumps({"message": "menu", "menu": MENU}))
        data = pickle.loads(conn.recv(4096))
        say(f"Client {client_id} sent: {data!r}")
        option = data["option"]
        if option == 1:
            conn.send(pickle.dumps({"users": USERS}))
        elif option == 2:
            conn.send(pickle.dumps({"time": "12:00"}))
        elif option == 3:
            conn.send(pickle.dumps({"echo": data.get("text")}))
        elif option == 4:
            conn.send(pickle.dumps("Bye"))
            conn.close()
            say(f"Client {client_id} disconnected")
            return
        else:
            conn.send(pickle.dumps("Invalid option"))


def serve_menu(args):
    server = listen(args.port)
    client_id = 1000
    while True:
        conn, addr = server.accept()
        client_id += 1
        threading.Thread(target=menu_client, args=(conn, addr, client_id), daemon=True).start()


# ---- envelope: length-prefixed {'type', 'content'} messages ------------------------------


def recv_exact(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def send_msg(conn, obj):
    data = pickle.dumps(obj)
    conn.sendall(struct.pack("!I", len(data)) + data)


def recv_msg(conn):
    header = recv_exact(conn, 4)
    if header is None:
        return None
    (length,) = struct.unpack("!I", header)
    body = recv_exact(conn, length)
    return None if body is None else pickle.loads(body)


def envelope_client(conn, addr):
    name = None
    while True:
        msg = recv_msg(conn)
        if msg is None:
            say(f"{addr[1]} left")
            conn.close()
            return
        say(f"Received: {msg!r}")
        kind, content = msg["type"], msg.get("content")
        if kind == "HELLO":
            name = content
            send_msg(conn, {"type": "WELCOME", "content": f"Hello {name}"})
        elif name is None:
            send_msg(conn, {"type": "ERROR", "content": "say HELLO first"})
        elif kind == "MESSAGE":
            send_msg(conn, {"type": "ECHO", "content": content})
        elif kind == "QUIT":
            send_msg(conn, {"type": "BYE", "content": None})
            conn.close()
            say(f"{name} quit")
            return
        else:
            send_msg(conn, {"type": "ERROR", "content": f"unknown type {kind}"})


def serve_envelope(args):
    server = listen(args.port)
    while True:
        conn, addr = server.accept()
        threading.Thread(target=envelope_client, args=(conn, addr), daemon=True).start()


# ---- cookbook: ch. 2's chat server with select, ported to Python 3 -----------------------

PYTHON2 = False


def loads(buf):
    if PYTHON2 and buf[:1] == b"\x80" and buf[1] > 2:
        # Python 2.7's cPickle: "ValueError: unsupported pickle protocol: 4"
        raise ValueError("unsupported pickle protocol: %d" % buf[1])
    return pickle.loads(buf)


def send(channel, *args):
    buffer = pickle.dumps(args, 0 if PYTHON2 else pickle.DEFAULT_PROTOCOL)
    value = socket.htonl(len(buffer))
    size = struct.pack("L", value)
    channel.send(size)
    channel.send(buffer)


def receive(channel):
    size = struct.calcsize("L")
    size = channel.recv(size)
    try:
        size = socket.ntohl(struct.unpack("L", size)[0])
    except struct.error as e:
        return ""
    buf = b""
    while len(buf) < size:
        buf = channel.recv(size - len(buf))
    return loads(buf)[0]


class ChatServer(object):
    """An example chat server using select"""

    def __init__(self, port, backlog=5):
        self.clients = 0
        self.clientmap = {}
        self.outputs = []  # list output sockets
        self.server = listen(port, backlog)
        say("Server listening to port: %s ..." % port)

    def get_client_name(self, client):
        """Return the name of the client"""
        info = self.clientmap[client]
        host, name = info[0][0], info[1]
        return "@".join((name, host))

    def run(self):
        inputs = [self.server, sys.stdin]
        self.outputs = []
        running = True
        while running:
            try:
                readable, writeable, exceptional = select.select(inputs, self.outputs, [])
            except select.error as e:
                break
            for sock in readable:
                if sock == self.server:
                    # handle the server socket
                    client, address = self.server.accept()
                    say("Chat server: got connection %d from %s" % (client.fileno(), address))
                    # Read the login name
                    cname = receive(client).split("NAME: ")[1]
                    # Compute client name and send back
                    self.clients += 1
                    send(client, "CLIENT: " + str(address[0]))
                    inputs.append(client)
                    self.clientmap[client] = (address, cname)
                    # Send joining information to other clients
                    msg = "\n(Connected: New client (%d) from %s)" % (
                        self.clients,
                        self.get_client_name(client),
                    )
                    for output in self.outputs:
                        send(output, msg)
                    self.outputs.append(client)
                elif sock == sys.stdin:
                    # handle standard input
                    junk = sys.stdin.readline()
                    running = False
                else:
                    # handle all other sockets
                    try:
                        data = receive(sock)
                        if data:
                            # Send as new client's message...
                            msg = "\n#[" + self.get_client_name(sock) + "]>>" + data
                            # Send data to all except ourself
                            for output in self.outputs:
                                if output != sock:
                                    send(output, msg)
                        else:
                            say("Chat server: %d hung up" % sock.fileno())
                            self.clients -= 1
                            sock.close()
                            inputs.remove(sock)
                            self.outputs.remove(sock)
                            # Sending client leaving information to others
                            msg = "\n(Now hung up: Client from %s)" % self.get_client_name(sock)
                            for output in self.outputs:
                                send(output, msg)
                    except socket.error as e:
                        # Remove
                        inputs.remove(sock)
                        self.outputs.remove(sock)
        self.server.close()


def cookbook_client(args):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.connect(("127.0.0.1", args.connect))
    say("Now connected to chat server@ port %d" % args.connect)
    send(sock, "NAME: " + args.name)
    data = receive(sock)
    addr = data.split("CLIENT: ")[1]
    say("[" + "@".join((args.name, addr)) + "]> ")
    sock.settimeout(0.2)
    pending = list(args.say)
    next_say = time.monotonic() + 1
    while True:
        if pending and time.monotonic() >= next_say:
            send(sock, pending.pop(0))
            next_say = time.monotonic() + 1
        try:
            data = receive(sock)
        except socket.timeout:
            continue
        if not data:
            say("Client shutting down.")
            return
        say(data)


def main():
    global PYTHON2
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--style", required=True,
                        choices=["menu", "envelope", "cookbook", "cookbook-client"])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--lifetime", type=float, default=30)
    parser.add_argument("--python2", action="store_true")
    parser.add_argument("--connect", type=int, help="cookbook-client: the server's port")
    parser.add_argument("--name", default="Grace", help="cookbook-client: the login name")
    parser.add_argument("--say", action="append", default=[], help="cookbook-client: a text")
    args = parser.parse_args()
    PYTHON2 = args.python2
    timer = threading.Timer(args.lifetime, lambda: __import__("os")._exit(0))
    timer.daemon = True
    timer.start()
    if args.style == "menu":
        serve_menu(args)
    elif args.style == "envelope":
        serve_envelope(args)
    elif args.style == "cookbook":
        ChatServer(args.port).run()
    else:
        cookbook_client(args)


if __name__ == "__main__":
    main()
