#!/usr/bin/env bash
# The key manager's quick start: builds skm, then creates an appkey, a key store and a key in a throwaway installation, and
# encrypts and decrypts through the engine as a client would. Every command is printed before it runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product skm >&2

skm() { .build/debug/skm "$@"; }
step() { printf '\n\033[1m$ skm %s\033[0m\n' "$*"; skm "$@"; }

workdir=$(mktemp -d)
export SKM_DB="$workdir/skm.sqlite"
echo "Installation in $workdir"

step init
step appkey create --name demo
step keystore create --name payments --ip4-auth Y
step auth add-ip --keystore payments 10.0.3.0/24
printf '\n\033[1m$ KEY=$(skm key create --keystore payments --type symmetric --name orders --quiet)\033[0m\n'
KEY=$(skm key create --keystore payments --type symmetric --name orders --quiet)
echo "$KEY"
printf '\n\033[1m$ skm call encrypt --key $KEY --field plaintext="hello, key manager" --ip 10.0.3.7\033[0m\n'
encrypted=$(skm call encrypt --key "$KEY" --field plaintext="hello, key manager" --ip 10.0.3.7)
echo "$encrypted"
CIPHERTEXT=$(printf '%s' "$encrypted" | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["ciphertext"])')
step call decrypt --key "$KEY" --field ciphertext="$CIPHERTEXT" --ip 10.0.3.7
printf '\nThe same call from an address the key store does not know:\n'
step call decrypt --key "$KEY" --field ciphertext="$CIPHERTEXT" --ip 192.0.2.10 || true

printf '\nUser Access Keys: add one, rotate it (a new one in service, the old one revoked), revoke the new one:\n'
printf '\n\033[1m$ AKID=$(skm access-key add --json | …userAccessKeyId)\033[0m\n'
AKID=$(skm access-key add --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["userAccessKeyId"])')
echo "$AKID"
printf '\n\033[1m$ NEW=$(skm access-key rotate $AKID --json | …userAccessKeyId)\033[0m\n'
NEW=$(skm access-key rotate "$AKID" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["userAccessKeyId"])')
echo "$NEW"
step access-key revoke "$NEW"
step access-key list
