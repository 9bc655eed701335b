#!/usr/bin/env bash
# Speed and memory of `dapkit validate` and `dapkit show --json` on a large generated trace,
# against dapkit-types decoding the same messages alone, measured in one run.
#
#   bash trace/bench/trace_tools.sh [MIB]     # default 1024 (a 1 GiB trace)
#
# Targets (issue 8): each tool streams at >= 1/2 the rate of decoding alone (message bytes
# per second), and its maximum RSS stays under 64 MiB. Needs /usr/bin/time (GNU time).
set -euo pipefail
mib=${1:-1024}
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
cargo build --quiet --release -p dapkit-cli
cargo build --quiet --release -p dapkit-trace --example trace_speed
bin=target/release/dapkit
speed=target/release/examples/trace_speed
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
trace="$work/big.jsonl"

read -r _ messages _ bytes < <("$speed" generate "$trace" "$mib")
size=$(stat -c %s "$trace")
echo "trace: $((size >> 20)) MiB, $messages messages, $((bytes >> 20)) MiB of message bytes"
read -r _ decode < <("$speed" decode "$trace" 64)
echo "baseline: dapkit-types decoding alone (64 MiB of the same messages in memory, best of 5): $decode MB/s"

fail=0
run() {
    local name=$1; shift
    local status=0
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "$name: exit $status"; cat "$work/time"; exit 1
    fi
    local wall rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    awk -v name="$name" -v bytes="$bytes" -v wall="$wall" -v rss="$rss" -v decode="$decode" 'BEGIN {
        rate = bytes / wall / 1e6; ratio = rate / decode;
        printf "%s: %.2f s, %.1f MB/s = %.2fx the decoding rate (target >= 0.50), max RSS %.1f MiB (target < 64)\n",
            name, wall, rate, ratio, rss / 1024;
        exit !(ratio >= 0.5 && rss < 64 * 1024) }' || fail=1
}
run "validate" "$bin" validate "$trace"
run "show --json" "$bin" show --json "$trace"
exit $fail
