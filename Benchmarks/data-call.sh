#!/usr/bin/env bash
# The server's own work per encrypt and decrypt, without HTTP and TLS (release build): route the path, parse the
# body, run the engine on a real SQLite file behind the server's cache, count the call, build the request-log record
# and its line, render the answer. What `server.sh` measures, less what Hummingbird, NIO and TLS do per request;
# steadier than a wrk run, and a single process that a profiler can look at (`perf record -g`).
#
#   Benchmarks/data-call.sh [calls, default 200000]
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product skm-benchmark >&2
for operation in encrypt decrypt; do
    .build/release/skm-benchmark data-call "$operation" "${1:-200000}"
done
