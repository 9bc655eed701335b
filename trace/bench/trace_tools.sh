#!/usr/bin/env bash
# Speed and memory of `dapkit validate` and `dapkit show --json` on a large generated trace,
# against dapkit-types decoding the same messages alone, measured in one run.
#
#   bash trace/bench/trace_tools.sh [MIB]     # default 1024 (a 1 GiB trace)
#
# Targets (issue 8): each tool streams at >= 1/2 the rate of decoding alone (message bytes
# per second), and its maximum RSS stays under 64 MiB. The tools' rate is taken per CPU
# second (user + system, from /usr/bin/time -v) so that other load on the machine does not
# count against them; the baseline likewise (CPU time of
# decoding passes over messages in memory, less the time of loading them). The wall-time
# ratio is printed too. Needs GNU time at /usr/bin/time.
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

"$speed" generate "$trace" "$mib" >"$work/generated"
read -r _ messages _ bytes <"$work/generated"
size=$(stat -c %s "$trace")
echo "trace: $((size >> 20)) MiB, $messages messages, $((bytes >> 20)) MiB of message bytes"
# The baseline: CPU time of N decoding passes over the same messages in memory, less the
# CPU time of loading them.
cpu_of() { awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$1"; }
passes=5
/usr/bin/time -v "$speed" decode "$trace" 64 0 >/dev/null 2>"$work/load"
/usr/bin/time -v "$speed" decode "$trace" 64 "$passes" >"$work/loaded" 2>"$work/decode"
read -r _ loaded <"$work/loaded"
decode=$(awk -v a="$(cpu_of "$work/decode")" -v b="$(cpu_of "$work/load")" -v n="$passes" -v bytes="$loaded" \
    'BEGIN { printf "%.1f", bytes * n / (a - b) / 1e6 }')
echo "baseline: dapkit-types decoding alone ($((loaded >> 20)) MiB of the same messages in memory, $passes passes): $decode MB/s per CPU second"
echo "load average: $(cut -d" " -f1-3 /proc/loadavg)"
fail=0
run() {
    local name=$1; shift
    local status=0
    /usr/bin/time -v "$@" >/dev/null 2>"$work/time" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "$name: exit $status"; cat "$work/time"; exit 1
    fi
    local wall cpu rss
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,t,":"); s=0; for(i=1;i<=n;i++) s=s*60+t[i]; print s}' "$work/time")
    cpu=$(awk -F': ' '/User time|System time/ {s+=$2} END {print s}' "$work/time")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time")
    awk -v name="$name" -v bytes="$bytes" -v wall="$wall" -v cpu="$cpu" -v rss="$rss" -v decode="$decode" 'BEGIN {
        rate = bytes / cpu / 1e6; ratio = rate / decode; wrate = bytes / wall / 1e6;
        printf "%s: %.2f s CPU (%.2f s wall), %.1f MB/s per CPU second = %.2fx the decoding rate (target >= 0.50; by wall time %.2fx), max RSS %.1f MiB (target < 64)\n",
            name, cpu, wall, rate, ratio, wrate / decode, rss / 1024;
        exit !(ratio >= 0.5 && rss < 64 * 1024) }' || fail=1
}
run "validate" "$bin" validate "$trace"
run "show --json" "$bin" show --json "$trace"
exit $fail
