# Prints the bytes a CPython Listener (deliver, then answer) and Client (answer, then
# deliver) write during the authkey handshake, with os.urandom fixed to bytes(range(n)).
import os, socket, sys, threading
from multiprocessing import connection as c
os.urandom = lambda n: bytes(range(n))
sent = {}
orig = c.Connection._send
def rec(self, buf, write=c._write if hasattr(c, '_write') else os.write):
    sent.setdefault(self._tag, bytearray()).extend(buf)
    return orig(self, buf)
c.Connection._send = rec
a, b = socket.socketpair()
la, cb = c.Connection(a.detach()), c.Connection(b.detach())
la._tag, cb._tag = 'listener', 'client'
def listener():
    c.deliver_challenge(la, b'secret'); c.answer_challenge(la, b'secret')
t = threading.Thread(target=listener); t.start()
c.answer_challenge(cb, b'secret'); c.deliver_challenge(cb, b'secret')
t.join()
print(sys.version.split()[0])
for k in ('listener', 'client'):
    print(k, bytes(sent[k]).hex())
