#!/usr/bin/env bash
# The analyser against jq on the same log: generates request logs of 1 M and 4 M lines (about 5 % failures) from the
# mixed-traffic fixture, then reports for `skm analyze` (release build) lines/s, MB/s and peak RSS, and the time of
# `jq -c 'select(.response.isSuccessful == false)'` on the same file.
#
#   Benchmarks/analyze.sh [sizes in lines, default "1000000 4000000"]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"1000000 4000000"}
fixture=Fixtures/mixed-traffic

need=()
command -v jq >/dev/null || need+=(jq)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    echo "Installing ${need[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq "${need[@]}" >/dev/null
fi
swift build -c release --product skm >&2
swift build -c release --product skm-benchmark >&2
skm=$PWD/.build/release/skm
bench=$PWD/.build/release/skm-benchmark

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-10s %10s %12s %10s %10s %10s %10s %8s\n' lines MB "skm s" "lines/s" "MB/s" "RSS MB" "jq s" "jq/skm"
for lines in $sizes; do
    log=$work/requests-$lines.jsonl
    "$bench" generate-log "$fixture/requests.jsonl" "$lines" 5 "$log"
    bytes=$(stat -c %s "$log")
    # Warm the page cache so both tools read from memory.
    cat "$log" >/dev/null
    status=0
    /usr/bin/time -f '%e %M' -o "$work/skm.time" "$skm" analyze "$log" --state "$fixture/state.json" \
        --color never >"$work/skm.out" 2>"$work/skm.err" || status=$?
    if [ "$status" -gt 1 ]; then cat "$work/skm.err" >&2; exit "$status"; fi
    read -r skm_seconds skm_kb < <(tail -1 "$work/skm.time")
    /usr/bin/time -f '%e' -o "$work/jq.time" jq -c 'select(.response.isSuccessful == false)' "$log" >"$work/jq.out"
    read -r jq_seconds <"$work/jq.time"
    awk -v lines="$lines" -v bytes="$bytes" -v s="$skm_seconds" -v kb="$skm_kb" -v jq="$jq_seconds" 'BEGIN {
        mb = bytes / 1048576
        printf "%-10d %10.0f %12.2f %10.0f %10.1f %10.1f %10.2f %8.2f\n", lines, mb, s, lines / s, mb / s, kb / 1024, jq, jq / s
    }'
    grep -m1 "requests:" "$work/skm.out" >&2 || true
done
