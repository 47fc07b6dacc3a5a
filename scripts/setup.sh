#!/usr/bin/env bash
# Installs what building and testing SKM needs beyond Swift itself, when it is missing. Safe to run again.
set -euo pipefail

packages=(libssl-dev libxml2-dev libsqlite3-dev zlib1g-dev pkg-config)
missing=()
for package in "${packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing ${missing[*]}" >&2
    sudo_cmd=""
    [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Schema validation in the tests uses Python's reference validator; the Markdown summary is rendered by markdown-it.
for module in jsonschema:jsonschema markdown_it:markdown-it-py; do
    if ! python3 -c "import ${module%%:*}" 2>/dev/null; then
        echo "Installing the Python ${module#*:} package" >&2
        python3 -m pip install --quiet "${module#*:}"
    fi
done
