# -*- coding: utf-8 -*-
"""The Python Network Programming Cookbook's chat server (1st ed., ch. 2,
chat_server_with_select.py) as published, for Python 2.7: run it with a real python2.7.

    python2.7 tests/servers/cookbook_py2.py [--port 0] [--lifetime 30]

Unchanged from the recipe but for: it binds 127.0.0.1 on --port (0 picks one), listens, then prints
"PORT <n>" first; it exits after --lifetime seconds; no SIGINT handler. Every message is
cPickle.dumps(args) (protocol 0) after struct.pack("L", socket.htonl(len)); receive() reads
that, then cPickle.loads. The client speaks first ('NAME: <name>',). A client pickle that
Python 2 cannot load (protocol 3 or later: "ValueError: unsupported pickle protocol: 4")
raises out of the accept branch, which has no try: the server dies, with every connection.
A line (or EOF) on stdin stops it, as in the recipe.
"""

import argparse
import cPickle
import os
import select
import socket
import struct
import sys
import threading

SERVER_HOST = '127.0.0.1'


def say(line):
    print line
    sys.stdout.flush()


def send(channel, *args):
    buffer = cPickle.dumps(args)
    value = socket.htonl(len(buffer))
    size = struct.pack("L", value)
    channel.send(size)
    channel.send(buffer)


def receive(channel):
    size = struct.calcsize("L")
    size = channel.recv(size)
    try:
        size = socket.ntohl(struct.unpack("L", size)[0])
    except struct.error, e:
        return ''
    buf = ""
    while len(buf) < size:
        buf = channel.recv(size - len(buf))
    return cPickle.loads(buf)[0]


class ChatServer(object):
    """ An example chat server using select """

    def __init__(self, port, backlog=5):
        self.clients = 0
        self.clientmap = {}
        self.outputs = []  # list output sockets
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind((SERVER_HOST, port))
        self.server.listen(backlog)
        # First, for the tests, once connections are accepted (after listen, not bind).
        say('PORT %d' % self.server.getsockname()[1])
        say('Server listening to port: %s ...' % port)

    def get_client_name(self, client):
        """ Return the name of the client """
        info = self.clientmap[client]
        host, name = info[0][0], info[1]
        return '@'.join((name, host))

    def run(self):
        inputs = [self.server, sys.stdin]
        self.outputs = []
        running = True
        while running:
            try:
                readable, writeable, exceptional = select.select(inputs, self.outputs, [])
            except select.error, e:
                break
            for sock in readable:
                if sock == self.server:
                    # handle the server socket
                    client, address = self.server.accept()
                    say("Chat server: got connection %d from %s" % (client.fileno(), address))
                    # Read the login name
                    cname = receive(client).split('NAME: ')[1]
                    # Compute client name and send back
                    self.clients += 1
                    send(client, 'CLIENT: ' + str(address[0]))
                    inputs.append(client)
                    self.clientmap[client] = (address, cname)
                    # Send joining information to other clients
                    msg = "\n(Connected: New client (%d) from %s)" % (self.clients, self.get_client_name(client))
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
                            msg = '\n#[' + self.get_client_name(sock) + ']>>' + data
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
                    except socket.error, e:
                        # Remove
                        inputs.remove(sock)
                        self.outputs.remove(sock)
        self.server.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description='Socket Server Example with Select')
    parser.add_argument('--port', action="store", dest="port", type=int, default=0)
    parser.add_argument('--lifetime', action="store", dest="lifetime", type=float, default=30)
    given_args = parser.parse_args()
    timer = threading.Timer(given_args.lifetime, lambda: os._exit(0))
    timer.daemon = True
    timer.start()
    server = ChatServer(given_args.port)
    server.run()
