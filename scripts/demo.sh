#!/usr/bin/env bash
# The main job on a shipped fixture: builds skm and analyses the request log of an incident (key "orders" rotated,
# then its old version deleted while a batch job still reads ciphertexts made under it) against the key manager's
# state, printing the triage summary and writing the HTML, XML, JSON and Markdown reports to out/<fixture>/.
#
#   scripts/demo.sh [fixture name, default rotation-then-version-deleted]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product skm >&2

fixture=${1:-rotation-then-version-deleted}
out=out/$fixture
mkdir -p "$out"
printf '\033[1m$ skm analyze Fixtures/%s/requests.jsonl --state Fixtures/%s/state.json --out %s --validate\033[0m\n\n' \
    "$fixture" "$fixture" "$out"
status=0
.build/debug/skm analyze "Fixtures/$fixture/requests.jsonl" --state "Fixtures/$fixture/state.json" \
    --out "$out" --validate || status=$?
# Exit status 1 means failed requests were found and explained: what a demo of an incident should show.
if [ "$status" -gt 1 ]; then exit "$status"; fi
printf '\nReports: %s/report.html (open it in a browser), %s/report.xml, %s/report.json, %s/report.md\n' "$out" "$out" "$out" "$out"
printf 'Other incidents: %s\n' "$(ls Fixtures | tr '\n' ' ')"
printf 'One request in full: .build/debug/skm explain Fixtures/%s/requests.jsonl --state Fixtures/%s/state.json --request <id>\n' \
    "$fixture" "$fixture"
