#!/usr/bin/env bash
# `skm analyze` against the tools a user would reach for instead, on the same logs: jq selecting the failures, and a
# short Python script counting them by message with orjson (Benchmarks/peer-orjson.py). Logs of each size are
# generated from the mixed-traffic fixture with 5 % and 50 % failed requests (a quiet day and an incident); the
# state is that fixture's with a realistic audit history added (Benchmarks/make-state.py: 40 more key stores of 5 keys,
# 1,000 changes spread over the log's time range). Release build, page cache warm; prints lines/s, MB/s, peak RSS and
# each peer's time over skm's (above 1: skm is faster).
#
#   Benchmarks/analyze.sh [sizes in lines, default "1000000 4000000"] [failure percents, default "5 50"]
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"1000000 4000000"}
percents=${2:-"5 50"}
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
python3 -c 'import orjson' 2>/dev/null || python3 -m pip install -q orjson >&2
swift build -c release --product skm >&2
swift build -c release --product skm-benchmark >&2
skm=$PWD/.build/release/skm
bench=$PWD/.build/release/skm-benchmark

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

printf '%-9s %5s %6s %8s %10s %7s %7s %8s %8s %7s %7s\n' \
    lines fail% MB "skm s" "lines/s" "MB/s" "RSS MB" "jq s" "py s" "jq/skm" "py/skm"
for lines in $sizes; do
    for percent in $percents; do
        log=$work/requests.jsonl
        "$bench" generate-log "$fixture/requests.jsonl" "$lines" "$percent" "$log"
        start=$(head -c 200 "$log" | grep -o '"time":"[^"]*"' | head -1 | cut -d'"' -f4)
        python3 Benchmarks/make-state.py "$fixture/state.json" 40 5 1000 "$start" \
            "$(awk -v n="$lines" 'BEGIN { print n * 0.02 }')" "$work/state.json"
        bytes=$(stat -c %s "$log")
        # Warm the page cache so every tool reads from memory.
        cat "$log" >/dev/null
        status=0
        /usr/bin/time -f '%e %M' -o "$work/skm.time" "$skm" analyze "$log" --state "$work/state.json" \
            --color never >"$work/skm.out" 2>"$work/skm.err" || status=$?
        if [ "$status" -gt 1 ]; then cat "$work/skm.err" >&2; exit "$status"; fi
        read -r skm_seconds skm_kb < <(tail -1 "$work/skm.time")
        /usr/bin/time -f '%e' -o "$work/jq.time" jq -c 'select(.response.isSuccessful == false)' "$log" >/dev/null
        read -r jq_seconds <"$work/jq.time"
        /usr/bin/time -f '%e' -o "$work/py.time" python3 Benchmarks/peer-orjson.py "$log" >/dev/null
        read -r py_seconds <"$work/py.time"
        awk -v lines="$lines" -v p="$percent" -v bytes="$bytes" -v s="$skm_seconds" -v kb="$skm_kb" \
            -v jq="$jq_seconds" -v py="$py_seconds" 'BEGIN {
            mb = bytes / 1048576
            printf "%-9d %5d %6.0f %8.2f %10.0f %7.1f %7.1f %8.2f %8.2f %7.2f %7.2f\n", lines, p, mb, s, lines / s, mb / s, kb / 1024, jq, py, jq / s, py / s
        }'
    done
done
