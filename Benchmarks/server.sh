#!/usr/bin/env bash
# Requests per second of `skm serve` (release build, HTTPS with keep-alive, request log on) for /health, encrypt and
# decrypt of a 32-byte plaintext, driven by wrk on loopback; then each API figure as a share of /health.
#
#   Benchmarks/server.sh [seconds per run, default 15] [connections, default 32]
#   ENTRIES=500 Benchmarks/server.sh ...   the key store also registers that many other CIDRs (client
#                                          authentication against a large store)
#   Benchmarks/server.sh --nodes [seconds] [connections]   SQLite, PostgreSQL and two PostgreSQL nodes (nodes.sh)
set -euo pipefail
if [ "${1:-}" = "--nodes" ]; then shift; exec "$(dirname "$0")/nodes.sh" "$@"; fi
cd "$(dirname "$0")/.."
duration=${1:-15}
connections=${2:-32}

command -v wrk >/dev/null || { echo "Installing wrk" >&2; apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product skm >&2
skm=$PWD/.build/release/skm

work=$(mktemp -d)
trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true; rm -rf "$work"' EXIT
export SKM_DB=$work/skm.sqlite
$skm init >/dev/null 2>&1
appkey=$($skm appkey create --name bench --quiet)
$skm keystore create --name bench --ip4-auth Y >/dev/null
$skm auth add-ip --keystore bench 127.0.0.1 >/dev/null
if [ "${ENTRIES:-0}" -gt 0 ]; then
    { echo value; for i in $(seq "$ENTRIES"); do echo "10.$((i / 250)).$((i % 250)).0/24"; done; } >"$work/hosts.csv"
    $skm auth import --keystore bench "$work/hosts.csv" >/dev/null
fi
key=$($skm key create --keystore bench --type symmetric --name bench --quiet)

port=$((20000 + RANDOM % 20000))
$skm serve --port "$port" --log-level warning --request-log "$work/requests.jsonl" 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -sk "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

base="https://127.0.0.1:$port/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key"
plaintext="0123456789abcdef0123456789abcdef"
ciphertext=$(curl -sk -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["ciphertext"])')

cat >"$work/encrypt.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"plaintext":"$plaintext"}'
wrk.headers["Content-Type"] = "application/json"
LUA
cat >"$work/decrypt.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"ciphertext":"$ciphertext"}'
wrk.headers["Content-Type"] = "application/json"
LUA

run() {  # name url [script]
    local args=(-t2 -c"$connections" -d"${duration}s" --latency)
    [ -n "${3:-}" ] && args+=(-s "$3")
    local output
    output=$(wrk "${args[@]}" "$2")
    local rate errors
    rate=$(printf '%s\n' "$output" | awk '/Requests\/sec/ {print $2}')
    errors=$(printf '%s\n' "$output" | awk '/Non-2xx/ {print $5}')
    printf '%-8s %10.0f req/s   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rate" \
        "$(printf '%s\n' "$output" | awk '$1=="50%" {print $2}')" \
        "$(printf '%s\n' "$output" | awk '$1=="99%" {print $2}')" "${errors:-0}" >&2
    echo "$rate"
}

echo "skm serve, HTTPS keep-alive, wrk -t2 -c$connections -d${duration}s, $(nproc) cores, $((${ENTRIES:-0} + 1)) IPv4 entries" >&2
curl -sk -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" >/dev/null   # warm up
health=$(run health "https://127.0.0.1:$port/health")
encrypt=$(run encrypt "$base/encrypt" "$work/encrypt.lua")
decrypt=$(run decrypt "$base/decrypt" "$work/decrypt.lua")
python3 - "$health" "$encrypt" "$decrypt" <<'PY'
import sys
health, encrypt, decrypt = map(float, sys.argv[1:])
print(f"encrypt / health = {encrypt / health:.0%}")
print(f"decrypt / health = {decrypt / health:.0%}")
ok = encrypt >= 0.7 * health and decrypt >= 0.7 * health
print("bar (each >= 70% of /health):", "met" if ok else "NOT met")
PY
lines=$(wc -l <"$work/requests.jsonl")
echo "request log lines written: $lines" >&2
