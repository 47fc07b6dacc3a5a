#!/usr/bin/env bash
# The triage page (`skm triage`) in headless Chromium, driven by Playwright for Python (installed from PyPI when
# missing; it drives the system's Chromium, so nothing else is downloaded). Screenshots go to out/triage/.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(scripts/browser.sh)
if ! python3 -c 'import playwright' 2>/dev/null; then
    echo "Installing Playwright for Python" >&2
    python3 -m pip install --quiet playwright
fi
swift build --product skm >&2
python3 scripts/triage-check.py "$PWD/.build/debug/skm" "$browser"
