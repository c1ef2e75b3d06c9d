"""A Python program that logs through SocketHandler (or DatagramHandler) to a receiver, and
prints on stdout what its own logging.Formatter makes of the same records: the lines
`brine logs` must print, byte for byte (the oracle for tests/logs.rs).

    python3 log_sender.py PORT [--udp] [--fmt FMT] [--datefmt DATEFMT] catalog
    python3 log_sender.py PORT [--fmt FMT] load --threads T --records N

catalog: every level (and custom ones), %-args, a dict arg, non-ASCII text and logger names,
exc_info, stack_info, multi-line messages, non-str messages, extra= fields of every plain
type on every record (user, count, ratio, tags, flag, nothing, big, raw), and one record with
a datetime in extra= (logger 'objects': brine decodes datetimes as data, issue 22). load: T
threads log N records each ('thread t record i').

The expected handler runs first, so its Formatter fills exc_text before SocketHandler pickles
the record, as in any program with a console handler and a socket handler.
"""

import argparse
import datetime
import logging
import logging.handlers
import sys
import threading

EXTRA = {
    "user": "ada",
    "count": 7,
    "ratio": 0.25,
    "tags": ["a", "b"],
    "flag": True,
    "nothing": None,
    "big": 2**100,
    "raw": b"\x00\xff",
}


class Defaults(logging.Filter):
    """Gives every record the extra= fields the test formats name."""

    def filter(self, record):
        for key, value in EXTRA.items():
            record.__dict__.setdefault(key, value)
        return True


def catalog(log):
    log.debug("debug %s", "message")
    log.info("%s has %d items costing %.2f", "cart", 3, 9.5)
    log.info("%(who)s logged in", {"who": "grace"})
    log.warning("héllo wörld — 日本語 🎉")
    logging.getLogger("ünïcode.名前").error("a logger with a non-ASCII name")
    log.critical("critical, %r", {"k": (1, 2.5, None)})
    log.log(5, "a custom level below DEBUG")
    log.log(25, "a custom level between INFO and WARNING")
    log.info("line one\nline two\n")
    log.info(42)
    log.info(["a", "list", 1])
    log.info("100% done, no args")
    log.info("")
    log.info("tab\there, quote ' and \" and backslash \\")
    try:
        {}["missing"]
    except KeyError:
        log.exception("lookup failed for %s", "missing")
    try:
        raise ValueError("wörse")
    except ValueError:
        log.error("with exc_info and stack_info", exc_info=True, stack_info=True)
    log.warning("where am I", stack_info=True)
    log.info("extras overridden", extra={"user": "linus", "count": -3, "ratio": 1e-7,
                                         "tags": [], "flag": False, "big": -(2**70)})
    logging.getLogger("objects").info("a datetime", extra={"when": datetime.datetime(2026, 12, 6, 14, 35)})
    log.info("after the datetime")


def load(log, threads, records):
    def run(t):
        for i in range(records):
            log.info("thread %d record %d", t, i)

    workers = [threading.Thread(target=run, args=(t,), name=f"worker-{t}") for t in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--udp", action="store_true")
    ap.add_argument("--fmt", default=logging.BASIC_FORMAT)
    ap.add_argument("--datefmt")
    sub = ap.add_subparsers(dest="mode", required=True)
    sub.add_parser("catalog")
    lp = sub.add_parser("load")
    lp.add_argument("--threads", type=int, default=1)
    lp.add_argument("--records", type=int, default=10)
    args = ap.parse_args()

    root = logging.getLogger()
    root.setLevel(1)
    expected = logging.StreamHandler(sys.stdout)
    expected.setFormatter(logging.Formatter(args.fmt, args.datefmt))
    expected.addFilter(Defaults())
    root.addHandler(expected)
    if args.udp:
        sender = logging.handlers.DatagramHandler("127.0.0.1", args.port)
    else:
        sender = logging.handlers.SocketHandler("127.0.0.1", args.port)
    root.addHandler(sender)

    log = logging.getLogger("app.db")
    if args.mode == "catalog":
        catalog(log)
    else:
        load(log, args.threads, args.records)
    sender.close()
    sys.stdout.flush()


if __name__ == "__main__":
    main()
