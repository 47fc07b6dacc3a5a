#!/usr/bin/env bash
# Requests per second of `skm serve` (release build, HTTPS with keep-alive, request log on) for /health, encrypt and
# decrypt of a 32-byte plaintext, driven by wrk on loopback, with the server's CPU time per request; then each API
# figure as a share of /health. The three run interleaved for ROUNDS rounds (default 3) and the medians are
# compared: on a shared machine one run of each can differ by a third from the next.
#
#   Benchmarks/server.sh [seconds per run, default 15] [connections, default 32]
#   ROUNDS=5 Benchmarks/server.sh ...     more rounds
#   ENTRIES=500 Benchmarks/server.sh ...   the key store also registers that many other CIDRs (client
#                                          authentication against a large store)
#   Benchmarks/server.sh --nodes [seconds] [connections]   SQLite, PostgreSQL and two PostgreSQL nodes (nodes.sh)
set -euo pipefail
if [ "${1:-}" = "--nodes" ]; then shift; exec "$(dirname "$0")/nodes.sh" "$@"; fi
cd "$(dirname "$0")/.."
duration=${1:-15}
connections=${2:-32}
rounds=${ROUNDS:-3}

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

hz=$(getconf CLK_TCK)
server_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }   # user + system time of the server process

run() {  # name url [script]: one wrk run; prints "name req/s server-µs-per-request"
    local args=(-t2 -c"$connections" -d"${duration}s" --latency)
    [ -n "${3:-}" ] && args+=(-s "$3")
    local before after output
    before=$(server_ticks)
    output=$(wrk "${args[@]}" "$2")
    after=$(server_ticks)
    local rate errors requests
    rate=$(printf '%s\n' "$output" | awk '/Requests\/sec/ {print $2}')
    requests=$(printf '%s\n' "$output" | awk '/requests in/ {print $1}')
    errors=$(printf '%s\n' "$output" | awk '/Non-2xx/ {print $5}')
    local cpu
    cpu=$(python3 -c "print(f'{($after - $before) / $hz / $requests * 1e6:.1f}')")
    printf '  %-8s %10.0f req/s   server %6s µs CPU/request   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$rate" "$cpu" \
        "$(printf '%s\n' "$output" | awk '$1=="50%" {print $2}')" \
        "$(printf '%s\n' "$output" | awk '$1=="99%" {print $2}')" "${errors:-0}" >&2
    echo "$1 $rate $cpu" >>"$work/results"
}

echo "skm serve, HTTPS keep-alive, wrk -t2 -c$connections -d${duration}s, $(nproc) cores, $((${ENTRIES:-0} + 1)) IPv4 entries, $rounds rounds" >&2
curl -sk -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" >/dev/null   # warm up
: >"$work/results"
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    # Interleaved, so that a slow spell of the machine weighs on every figure alike.
    run health "https://127.0.0.1:$port/health"
    run encrypt "$base/encrypt" "$work/encrypt.lua"
    run decrypt "$base/decrypt" "$work/decrypt.lua"
done
python3 - "$work/results" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
rate = {n: statistics.median(float(r[1]) for r in rows if r[0] == n) for n in ("health", "encrypt", "decrypt")}
cpu = {n: statistics.median(float(r[2]) for r in rows if r[0] == n) for n in ("health", "encrypt", "decrypt")}
print("medians over the rounds:")
for n in ("health", "encrypt", "decrypt"):
    print(f"  {n:8} {rate[n]:10.0f} req/s   server {cpu[n]:6.1f} µs CPU/request")
print(f"encrypt / health = {rate['encrypt'] / rate['health']:.0%}   (server CPU per request: {cpu['encrypt'] / cpu['health']:.2f}× /health's)")
print(f"decrypt / health = {rate['decrypt'] / rate['health']:.0%}   (server CPU per request: {cpu['decrypt'] / cpu['health']:.2f}× /health's)")
ok = rate["encrypt"] >= 0.7 * rate["health"] and rate["decrypt"] >= 0.7 * rate["health"]
print("bar (each >= 70% of /health):", "met" if ok else "NOT met")
PY
lines=$(wc -l <"$work/requests.jsonl")
echo "request log lines written: $lines" >&2
