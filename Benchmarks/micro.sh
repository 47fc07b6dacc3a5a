#!/usr/bin/env bash
# Micro-benchmarks of the analyser's inner loops with package-benchmark (Benchmarks/SKMMicro, declared only when
# SKM_BENCHMARK=1): reading a request-log line, building a failed request's facts, explaining a failed request with
# the rules. Prints wall clock and throughput per benchmark; extra arguments go to `swift package benchmark`
# (for example `--format markdown`, or `baseline update` / `baseline compare`). Builds in .build-bench so that the
# ordinary build is left as it is.
#
#   Benchmarks/micro.sh [benchmark options]
set -euo pipefail
cd "$(dirname "$0")/.."
export SKM_BENCHMARK=1
exec swift package --scratch-path .build-bench --allow-writing-to-package-directory benchmark "$@"
