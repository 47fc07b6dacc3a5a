#!/usr/bin/env bash
# Prints the path of a headless Chromium, installing Debian's chromium-headless-shell first when there is none.
# browser-check.sh and triage-check.sh use it.
set -euo pipefail
browser=$(command -v chromium-headless-shell || command -v chromium || true)
if [ -z "$browser" ]; then
    echo "Installing chromium-headless-shell" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
    browser=$(command -v chromium-headless-shell)
fi
echo "$browser"
