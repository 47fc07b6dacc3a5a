#!/usr/bin/env bash
# Per-request cost of the compiled rule set (release build): for one failed request per rule, replay the decision
# procedure over every rule, evaluate the logged error's rule with evidence and render the explanation and fix.
#
#   Benchmarks/rules.sh [rounds, default 20000]
#   ONLY=SKM-INVALID-REQUEST Benchmarks/rules.sh ...
#       one rule's failed request alone, timed or counted
#   COUNT=1 Benchmarks/rules.sh [rounds, default 200]
#       instructions per failed request instead of time, counted by valgrind's callgrind inside the timed function
#       alone, with string hashing's per-process seed fixed: the same on every run of one build, so two builds
#       compare on a machine too noisy to time them
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product skm-benchmark >&2
if [ -z "${COUNT:-}" ]; then
    exec .build/release/skm-benchmark rules Rules "${1:-20000}"
fi

rounds=${1:-200}
if ! command -v valgrind >/dev/null; then
    echo "Installing valgrind" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq && $sudo_cmd apt-get install -y -qq valgrind >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# valgrind reads the binary's debug information slowly and gains nothing from it here.
objcopy --strip-debug .build/release/skm-benchmark "$work/skm-benchmark"
# The symbol of `explain(_:)` in Benchmarks/Sources/skm-benchmark/main.swift: every call of it is one failed request.
SWIFT_DETERMINISTIC_HASHING=1 valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" --collect-atstart=no \
    --toggle-collect='$s13skm_benchmark7explainySiAA4CaseVF' \
    "$work/skm-benchmark" rules Rules "$rounds" >"$work/stdout" 2>"$work/stderr"
collected=$(grep -o 'Collected : [0-9]*' "$work/stderr" | grep -o '[0-9]*$' || true)
cases=$(grep -o '; [0-9]* failed requests' "$work/stdout" | grep -o '[0-9]*' || true)
warm=$(grep -o 'after [0-9]* warm-up rounds' "$work/stdout" | grep -o '[0-9]*' || true)
if [ -z "$collected" ] || [ -z "$cases" ] || [ -z "$warm" ] || [ "$collected" -eq 0 ]; then
    echo "callgrind counted nothing in explain(_:); its output:" >&2
    cat "$work/stderr" >&2
    exit 1
fi
# explain(_:) runs the warm-up rounds, then the timed ones, over every case.
calls=$(((warm + rounds) * cases))
awk -v n="$collected" -v calls="$calls" -v cases="$cases" 'BEGIN {
    printf "%d failed requests, %d calls: %.0f instructions per failed request\n", cases, calls, n / calls
}'
