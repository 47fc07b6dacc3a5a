#!/usr/bin/env bash
# Per-request cost of the compiled rule set (release build): for one failed request per rule, replay the decision
# procedure over every rule, evaluate the logged error's rule with evidence and render the explanation and fix.
#
#   Benchmarks/rules.sh [rounds, default 20000]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product skm-benchmark >&2
.build/release/skm-benchmark rules Rules "${1:-20000}"
