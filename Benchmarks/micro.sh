#!/usr/bin/env bash
# Micro-benchmarks of the analyser's inner loops with package-benchmark (Benchmarks/Micro, a package of its own):
# reading a request-log line, building a failed request's facts, explaining a failed request with the rules.
# Prints wall clock and throughput per benchmark; extra arguments go to `swift package benchmark`
# (for example `--format markdown`, or `baseline update` / `baseline compare`).
#
#   Benchmarks/micro.sh [benchmark options]
set -euo pipefail
cd "$(dirname "$0")/.."
# The benchmarks find Rules/ and Fixtures/ in SKM's root, above the folder they run in.
cd Benchmarks/Micro
exec swift package --allow-writing-to-package-directory benchmark "$@"
