#!/usr/bin/env bash
# Instructions per codec operation, counted by valgrind (callgrind): brine, serde-pickle and
# CPython's C pickle on the same fixtures. Counts are deterministic, so unlike wall time they
# do not depend on what else the machine runs. Each figure is (count at 2N - count at N) / N,
# which removes start-up.
#
#   bash bench/icount.sh        # needs valgrind (Debian package valgrind)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "error: valgrind is required (apt-get install -y valgrind)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "error: python3 is required" >&2; exit 1; }

cargo build -q --release -p brine-core --example codec_ops
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
ops_bin="$target_dir/release/examples/codec_ops"
# The interpreter itself (python3 may be a shim script, which valgrind would count instead).
python=$(python3 -c 'import sys; print(sys.executable)')
N=20000

count() { # command... -> total instructions
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | awk '/Collected/ {print $4}'
}

per_op() { # label, command with N as last arg placeholder
    local label=$1; shift
    local a b
    a=$(count "$@" "$N")
    b=$(count "$@" "$((2 * N))")
    printf '%-40s %10d\n' "$label" $(((b - a) / N))
}

py_ops() { # stmt -> python3 command that runs stmt N times (N appended)
    echo "import pickle, sys, os
f = lambda n: open(os.path.join('core/benches/fixtures', n), 'rb').read()
clientid, identity, message = f('clientid.pickle'), f('identity.pickle'), f('message.pickle')
identity_obj = {'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321, 'github_username': 'jortiz'}
loads, dumps = pickle.loads, pickle.dumps
for _ in range(int(sys.argv[1])):
    $1"
}

printf '%-40s %10s\n' "operation" "instr/op"
for op in decode_clientid_value decode_clientid_struct decode_identity_struct decode_message_value encode_identity; do
    case $op in
        decode_clientid_*) stmt="loads(clientid)" ;;
        decode_identity_*) stmt="loads(identity)" ;;
        decode_message_*) stmt="loads(message)" ;;
        encode_identity) stmt="dumps(identity_obj, 4)" ;;
    esac
    per_op "cpython $stmt" "$python" -c "$(py_ops "$stmt")"
    per_op "brine $op" "$ops_bin" "brine_$op"
    if [[ $op == decode_identity_struct ]]; then
        per_op "brine ${op}_reused" "$ops_bin" "brine_${op}_reused"
    fi
    per_op "serde_pickle $op" "$ops_bin" "serde_pickle_$op"
done
