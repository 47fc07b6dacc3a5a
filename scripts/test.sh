#!/usr/bin/env bash
# The test command: format check, the whole test suite (with a throwaway PostgreSQL, scripts/postgres.sh), the
# rules' own tests, the HTML reports and the triage page in a real browser, then the API guide's curl examples, a
# short schemathesis run against a live server and a short run of every libFuzzer harness. `.ci/run` runs exactly
# this.
# SKM_SKIP_FUZZ=1 leaves out schemathesis (which installs from PyPI on first use) and the libFuzzer runs, and says
# so.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "==> swift format lint"
swift format lint --strict --recursive Package.swift Sources Tests Benchmarks

echo "==> PostgreSQL for the storage tests (a throwaway cluster on a free port of 127.0.0.1)"
postgres_directory=$(mktemp -d "${TMPDIR:-/tmp}/skm-postgres.XXXXXX")
trap 'scripts/postgres.sh stop "$postgres_directory"' EXIT
if ! postgres_environment=$(scripts/postgres.sh start "$postgres_directory"); then
    echo "error: PostgreSQL could not be started (see above); the storage tests on PostgreSQL cannot run" >&2
    exit 1
fi
while IFS= read -r line; do export "${line?}"; done <<<"$postgres_environment"
echo "    $SKM_TEST_POSTGRES_URL"

echo "==> swift test"
# The build and the suite take a few minutes; a run still going after 30 is stuck somewhere. It is stopped then, and
# the tests that started and never ended are named, instead of the run using up the time of whatever runs it.
test_output=$(mktemp "${TMPDIR:-/tmp}/skm-swift-test.XXXXXX")
set +e
timeout --kill-after=30s 30m swift test 2>&1 | tee "$test_output"
test_status=${PIPESTATUS[0]}
set -e
if [ "$test_status" -eq 124 ] || [ "$test_status" -eq 137 ]; then
    echo "error: swift test was still running after 30 minutes and was stopped. Started and never ended:" >&2
    python3 - "$test_output" >&2 <<'EOF_UNFINISHED'
import re, sys
started, ended = [], set()
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    # Not the run itself, and not a parameterised test's cases: the test they belong to is named.
    if (match := re.search(r" Test (.+?) started\.$", line)) and match.group(1) != "run" \
            and not match.group(1).startswith("case "):
        started.append(match.group(1)[:200])
    elif match := re.search(r" Test (.+?)(?: with \d+ test cases?)? (?:passed|failed) after ", line):
        ended.add(match.group(1)[:200])
print("\n".join("    " + name for name in started if name not in ended) or "    (none: the build or the runner itself)")
EOF_UNFINISHED
fi
rm -f "$test_output"
[ "$test_status" -eq 0 ] || exit "$test_status"

echo "==> skm rules lint and test on the shipped rules"
swift run --skip-build skm rules lint Rules/
swift run --skip-build skm rules test Rules/

echo "==> HTML reports in headless Chromium"
scripts/browser-check.sh

echo "==> the triage page in headless Chromium (Playwright)"
scripts/triage-check.sh

echo "==> the API guide's examples against skm serve"
scripts/api-examples.sh

if [ "${SKM_SKIP_FUZZ:-0}" != "1" ]; then
    echo "==> schemathesis against Schemas/openapi.yaml"
    scripts/api-fuzz.sh 15
    echo "==> libFuzzer: every harness for 10 seconds"
    scripts/fuzz.sh 10
else
    echo "==> SKM_SKIP_FUZZ=1: skipping the schemathesis run and the libFuzzer harnesses"
fi
