#!/usr/bin/env python3
"""Times CPython's C pickle (`pickle.loads` / `pickle.dumps`) on the benchmark fixtures that
core/benches/codec.rs times brine and serde-pickle on.

    python3 bench/cpython_codec.py           # table, ns per operation (best of the repeats)
    python3 bench/cpython_codec.py --json    # {"a_decode_clientid": ns, ...} for codec_report.sh

Each figure is the best of REPEATS timeit runs (each long enough for ~0.2 s, timeit's
autorange), divided by the number of loops: per-call time including the Python call overhead
a real program pays. The empty statement's loop overhead is shown for reference, not subtracted.
"""

import json
import os
import pickle
import platform
import sys
import timeit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "core", "benches", "fixtures")
REPEATS = 7


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


def best_ns(stmt, env):
    timer = timeit.Timer(stmt, globals=env)
    loops, _ = timer.autorange()
    loops = max(loops, 1) * 2  # ~0.4 s per repeat at least
    return min(timer.repeat(repeat=REPEATS, number=loops)) / loops * 1e9


def main():
    clientid, identity, message = (fixture(n) for n in ("clientid.pickle", "identity.pickle", "message.pickle"))
    # The objects to encode are literals, as a client writes them (equal strings are one object).
    identity_obj = {"name": "Jose Ortiz", "email": "jose@sfsu.edu", "student_id": 917654321,
                    "github_username": "jortiz"}
    clientid_obj = {"clientid": 54321}
    assert pickle.dumps(identity_obj, 4) == identity
    assert pickle.dumps(clientid_obj, 4) == clientid

    env = {"loads": pickle.loads, "dumps": pickle.dumps, "clientid": clientid,
           "identity": identity, "message": message, "identity_obj": identity_obj,
           "clientid_obj": clientid_obj}
    rows = [
        ("a_decode_clientid", "pickle.loads  {'clientid': 54321}", "loads(clientid)"),
        ("b_decode_identity", "pickle.loads  identity dict", "loads(identity)"),
        ("c_decode_message", f"pickle.loads  {len(message)}-byte message", "loads(message)"),
        ("d_encode_identity", "pickle.dumps  identity dict, protocol 4", "dumps(identity_obj, 4)"),
        ("e_encode_clientid", "pickle.dumps  {'clientid': 54321}, protocol 4", "dumps(clientid_obj, 4)"),
    ]
    results = {key: best_ns(stmt, env) for key, _, stmt in rows}
    overhead = best_ns("pass", env)

    if "--json" in sys.argv:
        json.dump(results, sys.stdout, indent=1, sort_keys=True)
        print()
        return
    print(f"CPython {platform.python_version()} ({platform.python_implementation()}, "
          f"pickle C accelerator: {pickle.loads.__module__ == '_pickle'}) on {platform.machine()}")
    print(f"{'benchmark':<20} {'what':<48} {'ns/op':>10}")
    for key, what, _ in rows:
        print(f"{key:<20} {what:<48} {results[key]:>10.1f}")
    print(f"{'(loop overhead)':<20} {'timeit empty statement':<48} {overhead:>10.1f}")


if __name__ == "__main__":
    main()
