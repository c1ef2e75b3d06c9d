"""The logging cookbook's network receiver ("Sending and receiving logging events across a
network", docs.python.org/3/howto/logging-cookbook.html), as written there: a
ThreadingTCPServer whose LogRecordStreamHandler reads a 4-byte length and `pickle.loads` the
record (code execution for anyone who reaches the port: the receiver brine logs replaces),
rebuilds it with `logging.makeLogRecord` and handles it with the local logging setup.

Test additions, outside the cookbook's classes: PORT (0: any; printed first as `PORT <n>`), the
format (the cookbook's by default), records to stdout, and `--count N`: stop after N records
(the cookbook's `abort` flag), printing `RECEIVED <N> in <seconds> s` on stderr, counted from
the first record's arrival; `--whole-prefix`: the handler with its short-read flaw mended
(see WholePrefixHandler).

    python3 log_receiver.py PORT [--format FMT] [--count N] [--whole-prefix]
"""

import argparse
import logging
import logging.handlers
import pickle
import socketserver
import struct
import sys
import time


class LogRecordStreamHandler(socketserver.StreamRequestHandler):
    """Handler for a streaming logging request.

    This basically logs the record using whatever logging policy is
    configured locally.
    """

    def handle(self):
        """
        Handle multiple requests - each expected to be a 4-byte length,
        followed by the LogRecord in pickle format. Logs the record
        according to whatever policy is configured locally.
        """
        while True:
            chunk = self.connection.recv(4)
            if len(chunk) < 4:
                break
            slen = struct.unpack('>L', chunk)[0]
            chunk = self.connection.recv(slen)
            while len(chunk) < slen:
                chunk = chunk + self.connection.recv(slen - len(chunk))
            obj = self.unPickle(chunk)
            record = logging.makeLogRecord(obj)
            self.handleLogRecord(record)

    def unPickle(self, data):
        return pickle.loads(data)

    def handleLogRecord(self, record):
        # if a name is specified, we use the named logger rather than the one
        # implied by the record.
        if self.server.logname is not None:
            name = self.server.logname
        else:
            name = record.name
        logger = logging.getLogger(name)
        # N.B. EVERY record gets logged. This is because Logger.handle
        # is normally called AFTER logger-level filtering. If you want
        # to do filtering, do it at the client end to save wasting
        # cycles and network bandwidth!
        logger.handle(record)


class LogRecordSocketReceiver(socketserver.ThreadingTCPServer):
    """
    Simple TCP socket-based logging receiver suitable for testing.
    """

    allow_reuse_address = True

    def __init__(self, host='localhost',
                 port=logging.handlers.DEFAULT_TCP_LOGGING_PORT,
                 handler=LogRecordStreamHandler):
        socketserver.ThreadingTCPServer.__init__(self, (host, port), handler)
        self.abort = 0
        self.timeout = 1
        self.logname = None

    def serve_until_stopped(self):
        import select
        abort = 0
        while not abort:
            rd, wr, ex = select.select([self.socket.fileno()],
                                       [], [],
                                       self.timeout)
            if rd:
                self.handle_request()
            abort = self.abort


class WholePrefixHandler(LogRecordStreamHandler):
    """Test addition (--whole-prefix): the cookbook's handler reads the length prefix with one
    recv(4) and ends the connection, silently, when it returns fewer bytes, which TCP allows
    whenever a segment ends inside a prefix (seen here after ~7,700 and ~15,400 records of a
    fast stream). This reads the prefix as the cookbook reads the body, until it is whole."""

    def handle(self):
        while True:
            chunk = self.connection.recv(4)
            while 0 < len(chunk) < 4:
                more = self.connection.recv(4 - len(chunk))
                if not more:
                    break
                chunk = chunk + more
            if len(chunk) < 4:
                break
            slen = struct.unpack('>L', chunk)[0]
            chunk = self.connection.recv(slen)
            while len(chunk) < slen:
                chunk = chunk + self.connection.recv(slen - len(chunk))
            obj = self.unPickle(chunk)
            record = logging.makeLogRecord(obj)
            self.handleLogRecord(record)


class Counter(logging.Handler):
    """Test addition: sets the server's abort flag after `count` records."""

    def __init__(self, server, count):
        super().__init__()
        self.server, self.count, self.seen, self.first = server, count, 0, None

    def emit(self, record):
        if self.first is None:
            self.first = time.perf_counter()
        self.seen += 1
        if self.seen == self.count:
            sys.stdout.flush()
            print(f"RECEIVED {self.seen} in {time.perf_counter() - self.first:.3f} s",
                  file=sys.stderr, flush=True)
            self.server.abort = 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--format", default='%(relativeCreated)5d %(name)-15s %(levelname)-8s %(message)s')
    ap.add_argument("--count", type=int)
    ap.add_argument("--whole-prefix", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(format=args.format, stream=sys.stdout, level=1)
    handler = WholePrefixHandler if args.whole_prefix else LogRecordStreamHandler
    tcpserver = LogRecordSocketReceiver(host='127.0.0.1', port=args.port, handler=handler)
    tcpserver.timeout = 0.05
    if args.count:
        logging.getLogger().addHandler(Counter(tcpserver, args.count))
    print(f"PORT {tcpserver.server_address[1]}", flush=True)
    tcpserver.serve_until_stopped()
    sys.stdout.flush()


if __name__ == '__main__':
    main()
