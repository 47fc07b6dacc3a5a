#!/usr/bin/env bash
# Replays the curl examples of SKM's API guide against a running `skm serve`, in a throwaway installation, and
# checks every answer. Paths, headers and bodies are the guide's; appkeys, key ids and values are this
# installation's. Exits non-zero when any answer differs from what the guide shows.
#
#   scripts/api-examples.sh [path to the skm binary]
set -euo pipefail
cd "$(dirname "$0")/.."
skm=${1:-}
if [ -z "$skm" ]; then
    swift build --product skm >&2
    skm=$PWD/.build/debug/skm
fi

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export SKM_DB=$work/skm.sqlite
$skm init >/dev/null 2>&1
created=$($skm appkey create --name examples --json)
field() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v:=v[p] if not p.isdigit() else v[int(p)] for p in sys.argv[2].split(".")]; print(v)' "$1" "$2"; }
APPKEY=$(field "$created" appkey)
UAK_ID=$(field "$created" userAccessKeyId)
UAK_SECRET=$(field "$created" userAccessKeySecret)
$skm keystore create --name "Store #1" --ip4-auth Y --mac-auth Y --auth-mode OR >/dev/null
$skm auth add-ip --keystore "Store #1" 127.0.0.1 >/dev/null
SECRET_KEY=$(printf 'data' | $skm key create --keystore "Store #1" --type secret --name "Secret #1" --secret-file - --quiet)
SYMMETRIC_KEY=$($skm key create --keystore "Store #1" --type symmetric --name "Key #1" --quiet)
ASYMMETRIC_KEY=$($skm key create --keystore "Store #1" --type asymmetric --name "Key #2" --quiet)
$skm key rotate "$SYMMETRIC_KEY" >/dev/null   # so that keyVersion=1 of the guide's example exists
$skm cert ca >"$work/ca.pem"

port=$((20000 + RANDOM % 20000))
$skm serve --port "$port" --request-log "$work/requests.jsonl" --log-level warning 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
BASE="https://127.0.0.1:$port"

failures=0
# example NAME EXPECTATION-PYTHON CURL-ARGS...: runs curl, then checks the HTTP status (200), the envelope (a
# "header" saying success) and the JSON answer with a Python expression over `r` (the parsed answer) and `b` (its
# body). Each call is noted, to be found in the request log afterwards.
example() {
    local name=$1 check=$2
    shift 2
    note_call "$@"
    local answer status
    answer=$(curl -s --cacert "$work/ca.pem" -w '\n%{http_code}' "$@") || true
    status=${answer##*$'\n'}
    answer=${answer%$'\n'*}
    if [ "$status" = "200" ] && python3 -c '
import json, sys
r = json.loads(sys.argv[1]); b = r.get("body")
h = r["header"]
ok = h["isSuccessful"] is True and h["resultCode"] == 0 and h["resultMessage"] == "success" and eval(sys.argv[2])
sys.exit(0 if ok else 1)' "$answer" "$check" 2>/dev/null; then
        printf 'PASS  %s\n' "$name"
    else
        printf 'FAIL  %s (HTTP %s)\n      %s\n' "$name" "$status" "$answer"
        failures=$((failures + 1))
    fi
    LAST=$answer
}
# note_call CURL-ARGS...: the method and path a call sends, in order.
note_call() {
    local method=GET url="" previous=""
    for argument in "$@"; do
        [ "$previous" = "-X" ] && method=$argument
        case "$argument" in https://*) url=$argument ;; esac
        previous=$argument
    done
    url=${url#"$BASE"}
    printf '%s %s\n' "$method" "${url%%\?*}" >>"$work/calls.txt"
}
json() { python3 -c 'import json,sys; v=json.loads(sys.argv[1]); [v:=v[p] for p in sys.argv[2].split(".")]; print(v)' "$LAST" "$1"; }

V12="$BASE/keymanager/v1.2/appkey/$APPKEY"
V13="$BASE/keymanager/v1.3/appkey/$APPKEY"
V10="$BASE/keymanager/v1.0/appkey/$APPKEY"
UAK=(-H "X-TC-AUTHENTICATION-ID: $UAK_ID" -H "X-TC-AUTHENTICATION-SECRET: $UAK_SECRET")
JSON=(-H "Content-Type: application/json")

example "GET confirm" 'set(b) == {"clientIp","clientMacHeader","clientSentCertificate"} and b["clientIp"] == "127.0.0.1"' \
    -X GET "$V12/confirm" -H "X-TOAST-CLIENT-MAC-ADDR: 00:00:00:00:00:00"
example "GET secrets/{keyid}" 'b == {"secret": "data"}' -X GET "$V10/secrets/$SECRET_KEY"
example "POST symmetric-keys/{keyid}/encrypt" 'set(b) == {"ciphertext","keyVersion"} and b["keyVersion"] == 1' \
    -X POST "$V12/symmetric-keys/$SYMMETRIC_KEY/encrypt" "${JSON[@]}" -d '{"plaintext": "data"}'
CIPHERTEXT=$(json body.ciphertext)
example "POST symmetric-keys/{keyid}/decrypt" 'b == {"plaintext": "data", "keyVersion": 1}' \
    -X POST "$V12/symmetric-keys/$SYMMETRIC_KEY/decrypt" "${JSON[@]}" -d "{\"ciphertext\": \"$CIPHERTEXT\"}"
example "POST symmetric-keys/{keyid}/create-local-key" 'set(b) == {"localKeyPlaintext","localKeyCiphertext","keyVersion"}' \
    -X POST "$V12/symmetric-keys/$SYMMETRIC_KEY/create-local-key"
example "GET symmetric-keys/{keyid}/symmetric-key?keyVersion=1" 'b["keyVersion"] == 1 and len(b["symmetricKey"].split(", ")) == 32' \
    -X GET "$V12/symmetric-keys/$SYMMETRIC_KEY/symmetric-key?keyVersion=1"
example "POST asymmetric-keys/{keyid}/sign" 'set(b) == {"signature","keyVersion"}' \
    -X POST "$V12/asymmetric-keys/$ASYMMETRIC_KEY/sign" "${JSON[@]}" -d '{"plaintext": "data"}'
SIGNATURE=$(json body.signature)
example "POST asymmetric-keys/{keyid}/verify" 'b == {"result": True, "keyVersion": 0}' \
    -X POST "$V12/asymmetric-keys/$ASYMMETRIC_KEY/verify" "${JSON[@]}" -d "{\"plaintext\": \"data\", \"signature\": \"$SIGNATURE\"}"
example "POST asymmetric-keys/{keyid}/sign-standard" 'b["algorithm"] == "RSASSA-PSS" and b["hashAlgorithm"] == "SHA-256" and b["mgfAlgorithm"] == "MGF1-SHA-256" and b["saltLength"] == 32 and b["keyVersion"] == 0' \
    -X POST "$V13/asymmetric-keys/$ASYMMETRIC_KEY/sign-standard" "${JSON[@]}" -d '{"plaintext": "ZGF0YQ==", "algorithm": "RSASSA-PSS"}'
STANDARD=$(json body.signature)
example "POST asymmetric-keys/{keyid}/verify-standard" 'b == {"result": True, "keyVersion": 0}' \
    -X POST "$V13/asymmetric-keys/$ASYMMETRIC_KEY/verify-standard" "${JSON[@]}" \
    -d "{\"plaintext\": \"ZGF0YQ==\", \"signature\": \"$STANDARD\", \"algorithm\": \"RSASSA-PSS\", \"keyVersion\": 0}"
example "GET asymmetric-keys/{keyid}/publicKey?keyVersion=0" 'b["keyType"] == "PublicKey" and b["key"].startswith("0x30, 0x82, 0x01, 0x22") and b["encodedKey"].startswith("MIIBIjANBgkq")' \
    -X GET "$V12/asymmetric-keys/$ASYMMETRIC_KEY/publicKey?keyVersion=0"
example "POST keys/symmetric-keys/create" 'b["keyStatus"] == "ACTIVE" and len(b["keyId"]) == 32' \
    -X POST "$V12/keys/symmetric-keys/create" "${UAK[@]}" "${JSON[@]}" \
    -d '{"keyStoreName": "Store #1", "name": "Key Sample #2", "description": "Description #2", "autoRotationPeriod": 0}'
NEW_KEY=$(json body.keyId)
example "PUT keys/{keyid}/delete" 'len(b["keyId"]) == 32 and b["deletionDateTime"]' \
    -X PUT "$V12/keys/$NEW_KEY/delete" "${UAK[@]}"
example "DELETE keys/{keyid}" 'b["keyId"] and b["deletionDateTime"]' -X DELETE "$V12/keys/$NEW_KEY" "${UAK[@]}"
example "POST auths/ipv4s" 'b == {"value": "127.0.0.2", "description": "Description #1"}' \
    -X POST "$V12/auths/ipv4s" "${UAK[@]}" "${JSON[@]}" -d '{"keyStoreName": "Store #1", "value": "127.0.0.2", "description": "Description #1"}'
example "POST auths/macs" 'b == {"value": "aa:aa:aa:aa:aa:aa", "description": "Description #1"}' \
    -X POST "$V12/auths/macs" "${UAK[@]}" "${JSON[@]}" -d '{"keyStoreName": "Store #1", "value": "aa:aa:aa:aa:aa:aa", "description": "Description #1"}'
example "POST auths/certificates" 'b == {"name": "Certificate Name #1", "description": "Description #1"}' \
    -X POST "$V12/auths/certificates" "${UAK[@]}" "${JSON[@]}" \
    -d '{"keyStoreName": "Store #1", "name": "Certificate Name #1", "password": "Password", "lifeTime": 365, "description": "Description #1"}'
example "PUT auths/macs/delete" 'b["value"] == "aa:aa:aa:aa:aa:aa" and b["deletionDateTime"]' \
    -X PUT "$V12/auths/macs/delete" "${UAK[@]}" "${JSON[@]}" -d '{"keyStoreName": "Store #1", "value": "aa:aa:aa:aa:aa:aa"}'
note_call -X POST "$BASE/oauth2/token/create"
TOKEN_ANSWER=$(curl -s --cacert "$work/ca.pem" -X POST "$BASE/oauth2/token/create" -u "$UAK_ID:$UAK_SECRET" \
    -H "Content-Type: application/x-www-form-urlencoded" -d "grant_type=client_credentials")
TOKEN=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("access_token",""))' "$TOKEN_ANSWER")
[ -n "$TOKEN" ] && echo "PASS  POST /oauth2/token/create" || { echo "FAIL  POST /oauth2/token/create: $TOKEN_ANSWER"; failures=$((failures + 1)); }
BEARER=(-H "X-NHN-AUTHORIZATION: Bearer $TOKEN")
example "POST keystores (v1.3)" 'b["name"] == "myKeyStore" and b["authMode"] == "AND" and isinstance(b["keyStoreId"], int)' \
    -X POST "$V13/keystores" "${BEARER[@]}" "${JSON[@]}" \
    -d '{"name": "myKeyStore", "description": "Custom description", "ip4AuthUse": "Y", "macAuthUse": "N", "certificateAuthUse": "N", "authMode": "AND"}'
STORE_ID=$(json body.keyStoreId)
example "PUT keystores/{keyStoreId} (v1.3)" 'b is None' -X PUT "$V13/keystores/$STORE_ID" "${BEARER[@]}" "${JSON[@]}" \
    -d '{"name": "myKeyStore", "description": "Changed", "ip4AuthUse": "Y", "macAuthUse": "Y", "certificateAuthUse": "N", "authMode": "OR"}'
example "DELETE keystores/{keyStoreId} (v1.3)" 'b is None' -X DELETE "$V13/keystores/$STORE_ID" "${BEARER[@]}"
example "GET keystores/{keyStoreId}/certificates?value=" 'b["certificateList"][0]["name"] == "Certificate Name #1" and b["certificateList"][0]["password"] == "Password" and b["certificateList"][0]["expirationDate"]' \
    -X GET "$V12/keystores/1/certificates?value=Certificate%20Name%20%231" "${UAK[@]}"

kill "$server"; wait "$server" 2>/dev/null || true; server=""
# Every call is in the request log, in order, as a success; nothing else is.
if python3 - "$work/calls.txt" "$work/requests.jsonl" <<'PYTHON'
import json, sys, urllib.parse
calls = [line.split(" ", 1) for line in open(sys.argv[1]).read().splitlines()]
lines = [json.loads(line) for line in open(sys.argv[2])]
problems = []
if len(lines) != len(calls):
    problems.append(f"{len(calls)} calls, {len(lines)} log lines")
for index, ((method, path), line) in enumerate(zip(calls, lines)):
    logged = (line["method"], line["path"])
    if logged != (method, urllib.parse.unquote(path)) and logged != (method, path):
        problems.append(f"call {index + 1}: {method} {path}, logged as {logged[0]} {logged[1]}")
    if not line["response"]["isSuccessful"] or line["response"]["httpStatus"] != 200:
        problems.append(f"call {index + 1}: logged as {line['response']}")
if len({line["requestId"] for line in lines}) != len(lines):
    problems.append("request ids repeat")
for problem in problems:
    print("      " + problem)
sys.exit(1 if problems else 0)
PYTHON
then
    echo "PASS  the request log holds every call, in order, each a success ($(wc -l <"$work/requests.jsonl") lines)"
else
    echo "FAIL  the request log does not match the calls"
    failures=$((failures + 1))
fi
if [ "$failures" -gt 0 ]; then
    echo "$failures example(s) failed"
    exit 1
fi
echo "all examples answered as the guide shows"
