#!/usr/bin/env bash
# Runs the codec benchmarks (criterion: brine and serde-pickle) and the CPython timings on the
# same bytes, then prints one table of figures and the ratios the codec's goals are stated in.
#
#   bash bench/codec_report.sh            # full criterion run (a few minutes)
#   QUICK=1 bash bench/codec_report.sh    # criterion --quick (rougher, ~1 minute)
#   SKIP_RUST=1 bash bench/codec_report.sh  # report from the last criterion run
set -euo pipefail

cd "$(dirname "$0")/.."
command -v python3 >/dev/null || { echo "error: python3 is required" >&2; exit 1; }

if [[ -z "${SKIP_RUST:-}" ]]; then
    args=()
    [[ -n "${QUICK:-}" ]] && args+=(--quick)
    echo "== cargo bench -p brine-core --bench codec -- ${args[*]:-}" >&2
    cargo bench -p brine-core --bench codec -- "${args[@]}" >&2
fi

echo "== python3 bench/cpython_codec.py --json" >&2
cpython_json=$(python3 bench/cpython_codec.py --json)
target_dir=$(cargo metadata --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

CPYTHON_JSON="$cpython_json" CRITERION_DIR="$target_dir/criterion" python3 - <<'PY'
import json, os, platform, subprocess

cpython = json.loads(os.environ["CPYTHON_JSON"])
root = os.environ["CRITERION_DIR"]

def rust(group, function):
    """Criterion's median estimate in ns, or None if that benchmark has not been run."""
    path = os.path.join(root, group, function, "new", "estimates.json")
    try:
        with open(path) as f:
            return json.load(f)["median"]["point_estimate"]
    except FileNotFoundError:
        return None

groups = {
    "a_decode_clientid": ["brine_value", "brine_struct", "serde_pickle_value", "serde_pickle_struct"],
    "b_decode_identity": ["brine_struct_borrowed", "brine_value", "serde_pickle_struct", "serde_pickle_value"],
    "c_decode_message": ["brine_value", "serde_pickle_value"],
    "d_encode_identity": ["brine_to_slice_v4", "serde_pickle_to_vec_v3", "serde_pickle_to_writer_v3"],
    "e_encode_clientid": ["brine_to_slice_v4", "serde_pickle_to_vec_v3"],
}

def fmt(ns):
    return "n/a" if ns is None else f"{ns:,.1f}"

def ratio(slow, fast):
    return None if slow is None or fast is None else slow / fast

cpu = "unknown"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
except OSError:
    pass
rustc = subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.strip()
print(f"machine: {cpu}, {os.cpu_count()} cores; {rustc}; CPython {platform.python_version()}")
print("figures: ns per operation (criterion median; CPython best of timeit repeats)\n")
print(f"{'benchmark':<20} {'implementation':<28} {'ns/op':>12} {'CPython / this':>15}")
for group, functions in groups.items():
    py = cpython.get(group)
    print(f"{group:<20} {'cpython_pickle':<28} {fmt(py):>12} {'1.00':>15}")
    for function in functions:
        ns = rust(group, function)
        r = ratio(py, ns)
        print(f"{'':<20} {function:<28} {fmt(ns):>12} {('n/a' if r is None else f'{r:.2f}'):>15}")

goals = [
    ("decode (a) >= 10x faster than CPython pickle.loads",
     ratio(cpython.get("a_decode_clientid"), rust("a_decode_clientid", "brine_value")), 10),
    ("decode (a) >= 10x faster than serde-pickle (value)",
     ratio(rust("a_decode_clientid", "serde_pickle_value"), rust("a_decode_clientid", "brine_value")), 10),
    ("decode (a) struct >= 10x faster than serde-pickle struct",
     ratio(rust("a_decode_clientid", "serde_pickle_struct"), rust("a_decode_clientid", "brine_struct")), 10),
    ("decode (b) into &str struct >= 8x faster than CPython",
     ratio(cpython.get("b_decode_identity"), rust("b_decode_identity", "brine_struct_borrowed")), 8),
    ("encode (b) >= 10x faster than CPython pickle.dumps",
     ratio(cpython.get("d_encode_identity"), rust("d_encode_identity", "brine_to_slice_v4")), 10),
    ("encode (b) no slower than serde-pickle to_vec",
     ratio(rust("d_encode_identity", "serde_pickle_to_vec_v3"), rust("d_encode_identity", "brine_to_slice_v4")), 1),
    ("encode (b) no slower than serde-pickle to_writer (reused Vec)",
     ratio(rust("d_encode_identity", "serde_pickle_to_writer_v3"), rust("d_encode_identity", "brine_to_slice_v4")), 1),
]
print("\ngoals (speed-up = other's time / brine's time):")
for what, r, need in goals:
    verdict = "not measured" if r is None else ("met" if r >= need else "NOT MET")
    shown = "n/a" if r is None else f"{r:.1f}x"
    print(f"  {what:<62} {shown:>8}  {verdict}")
PY
