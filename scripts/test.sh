#!/usr/bin/env bash
# The test command: format check, then the whole test suite. `.ci/run` runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "==> swift format lint"
swift format lint --strict --recursive Package.swift Sources Tests

echo "==> swift test"
swift test
