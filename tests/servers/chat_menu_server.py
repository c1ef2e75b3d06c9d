"""The chat project's menu server, as students write it (issue 22): its menu is an object of
its own class, `menu.Menu` (a `menu.py` beside the server), with state {'client': None}.

    python3 chat_menu_server.py [--port 0]

Prints `PORT <n>`, serves one client: sends {'clientid': id}, reads the identity dict (one
recv, as the lab's servers do) and prints it, sends {'message': 'menu', 'menu': Menu()}
and then {'when': datetime, 'price': Decimal, 'tags': OrderedDict} (standard types a
server may send), and closes. Nothing here is special to brine: a Python client without a
`menu` module fails on the first message (`No module named 'menu'`).
"""

import argparse
import collections
import datetime
import decimal
import pickle
import socket
import sys
import types

# The project's `menu.py`, as a module of its own (so the pickle names `menu.Menu`).
menu = types.ModuleType("menu")
sys.modules["menu"] = menu


class Menu:
    def __init__(self):
        self.client = None

    def show(self):
        return "1: list users, 2: send a message, 3: exit"


Menu.__module__ = "menu"
menu.Menu = Menu


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", args.port))
    srv.listen()
    print("PORT", srv.getsockname()[1], flush=True)
    srv.settimeout(60)
    conn, _ = srv.accept()
    with conn:
        conn.sendall(pickle.dumps({"clientid": 7}))
        identity = pickle.loads(conn.recv(4096))
        print("IDENTITY", repr(identity), flush=True)
        conn.sendall(pickle.dumps({"message": "menu", "menu": Menu()}))
        when = datetime.datetime(2026, 12, 6, 14, 0, tzinfo=datetime.timezone.utc)
        tags = collections.OrderedDict(a=1)
        conn.sendall(pickle.dumps({"when": when, "price": decimal.Decimal("9.99"), "tags": tags}))
    srv.close()


if __name__ == "__main__":
    main()
