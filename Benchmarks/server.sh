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
#   CERT=1 Benchmarks/server.sh ...       client-certificate authentication instead of IPv4: the key store
#                                          requires a certificate its CA issued, and every run (health too) is
#                                          driven by Benchmarks/mtls-load.py, one process per connection, since
#                                          wrk has no client certificates (fewer connections suit it: -c 6)
#   BASELINE=path/to/skm Benchmarks/server.sh ...   also runs that binary (an older build), side by side with
#                                          its own copy of the set-up, in turns with this one: the comparison
#                                          of two builds that holds on a noisy machine
#   Benchmarks/server.sh --nodes [seconds] [connections]   SQLite, PostgreSQL and two PostgreSQL nodes (nodes.sh)
set -euo pipefail
if [ "${1:-}" = "--nodes" ]; then shift; exec "$(dirname "$0")/nodes.sh" "$@"; fi
cd "$(dirname "$0")/.."
duration=${1:-15}
connections=${2:-32}
rounds=${ROUNDS:-3}

command -v wrk >/dev/null || { echo "Installing wrk" >&2; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product skm >&2
work=$(mktemp -d)
servers=()
trap 'for pid in "${servers[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done; rm -rf "$work"' EXIT
plaintext="0123456789abcdef0123456789abcdef"

start() {  # name binary: a database, an appkey, a key store allowing 127.0.0.1 and a key; the server on a free port
    local name=$1 skm=$2 dir=$work/$1
    mkdir -p "$dir"
    export SKM_DB=$dir/skm.sqlite
    $skm init >/dev/null 2>&1
    local appkey key port
    appkey=$($skm appkey create --name bench --quiet)
    if [ -n "${CERT:-}" ]; then
        $skm keystore create --name bench --ip4-auth N --cert-auth Y >/dev/null
        echo bench-password >"$dir/password"
        $skm auth issue-cert --keystore bench --name bench-client --password-file "$dir/password" >/dev/null
        $skm cert export --keystore bench --name bench-client --out "$dir/client.p12" \
            --password-file "$dir/password" >/dev/null
        openssl pkcs12 -in "$dir/client.p12" -passin file:"$dir/password" -nodes -out "$dir/client.pem" 2>/dev/null
    else
        $skm keystore create --name bench --ip4-auth Y >/dev/null
        $skm auth add-ip --keystore bench 127.0.0.1 >/dev/null
    fi
    if [ "${ENTRIES:-0}" -gt 0 ]; then
        { echo value; for i in $(seq "$ENTRIES"); do echo "10.$((i / 250)).$((i % 250)).0/24"; done; } >"$dir/hosts.csv"
        $skm auth import --keystore bench "$dir/hosts.csv" >/dev/null
    fi
    key=$($skm key create --keystore bench --type symmetric --name bench --quiet)
    port=$((20000 + RANDOM % 20000))
    $skm serve --port "$port" --log-level warning --request-log "$dir/requests.jsonl" 2>"$dir/serve.log" &
    echo $! >"$dir/pid"
    servers+=("$!")
    for _ in $(seq 100); do curl -sk "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
    echo "https://127.0.0.1:$port" >"$dir/origin"
    local base="https://127.0.0.1:$port/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key"
    echo "$base" >"$dir/base"
    local ciphertext
    local client=()
    [ -n "${CERT:-}" ] && client=(--cert "$dir/client.pem")
    ciphertext=$(curl -sk "${client[@]}" -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["ciphertext"])')
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'{\"plaintext\":\"$plaintext\"}'" >"$dir/encrypt.lua"
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'{\"ciphertext\":\"$ciphertext\"}'" >"$dir/decrypt.lua"
    curl -sk "${client[@]}" -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" >/dev/null   # warm up
}

names=(this)
start this "$PWD/.build/release/skm"
if [ -n "${BASELINE:-}" ]; then
    names+=(baseline)
    start baseline "$(realpath "$BASELINE")"
fi

hz=$(getconf CLK_TCK)

run() {  # server name url [script]: one wrk run; prints "server name req/s server-µs-per-request"
    local pid
    pid=$(cat "$work/$1/pid")
    local args=(-t2 -c"$connections" -d"${duration}s" --latency)
    [ -n "${4:-}" ] && args+=(-s "$4")
    local before after output
    before=$(awk '{print $14 + $15}' "/proc/$pid/stat")   # user + system time of the server process
    if [ -n "${CERT:-}" ]; then
        output=$(python3 Benchmarks/mtls-load.py "$3" "$connections" "$duration" "$work/$1/client.pem" ${4:+"$4"})
    else
        output=$(wrk "${args[@]}" "$3")
    fi
    after=$(awk '{print $14 + $15}' "/proc/$pid/stat")
    local rate errors requests
    rate=$(printf '%s\n' "$output" | awk '/Requests\/sec/ {print $2}')
    requests=$(printf '%s\n' "$output" | awk '/requests in/ {print $1}')
    errors=$(printf '%s\n' "$output" | awk '/Non-2xx/ {print $5}')
    local cpu
    cpu=$(python3 -c "print(f'{($after - $before) / $hz / $requests * 1e6:.1f}')")
    printf '  %-8s %-8s %10.0f req/s   server %6s µs CPU/request   p50 %8s   p99 %8s   non-2xx %s\n' "$1" "$2" \
        "$rate" "$cpu" "$(printf '%s\n' "$output" | awk '$1=="50%" {print $2}')" \
        "$(printf '%s\n' "$output" | awk '$1=="99%" {print $2}')" "${errors:-0}" >&2
    echo "$1 $2 $rate $cpu $round" >>"$work/results"
}

if [ -n "${CERT:-}" ]; then
    echo "skm serve, HTTPS keep-alive with a client certificate, mtls-load.py -c$connections -d${duration}s, $(nproc) cores, $rounds rounds" >&2
else
    echo "skm serve, HTTPS keep-alive, wrk -t2 -c$connections -d${duration}s, $(nproc) cores, $((${ENTRIES:-0} + 1)) IPv4 entries, $rounds rounds" >&2
fi
: >"$work/results"
for round in $(seq "$rounds"); do
    echo "round $round" >&2
    # Interleaved, so that a slow spell of the machine weighs on every figure alike.
    for name in "${names[@]}"; do
        base=$(cat "$work/$name/base")
        run "$name" health "$(cat "$work/$name/origin")/health"
        run "$name" encrypt "$base/encrypt" "$work/$name/encrypt.lua"
        run "$name" decrypt "$base/decrypt" "$work/$name/decrypt.lua"
    done
done
python3 - "$work/results" "${names[@]}" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
tasks = ("health", "encrypt", "decrypt")
def median(server, task, column):
    return statistics.median(float(r[column]) for r in rows if r[0] == server and r[1] == task)
for server in sys.argv[2:]:
    rate = {t: median(server, t, 2) for t in tasks}
    cpu = {t: median(server, t, 3) for t in tasks}
    print(f"{server}: medians over the rounds")
    for t in tasks:
        print(f"  {t:8} {rate[t]:10.0f} req/s   server {cpu[t]:6.1f} µs CPU/request")
    for t in ("encrypt", "decrypt"):
        print(f"  {t} / health = {rate[t] / rate['health']:.0%}   (server CPU per request: {cpu[t] / cpu['health']:.2f}× /health's)")
    # Each round's own ratios too: a round's three runs are minutes apart at most, so a slow spell of the machine
    # that spans a round weighs on both sides of its ratios.
    for t in ("encrypt", "decrypt"):
        ratios = []
        for r in sorted({row[4] for row in rows if row[0] == server}, key=int):
            pair = {row[1]: float(row[2]) for row in rows if row[0] == server and row[4] == r}
            ratios.append(pair[t] / pair["health"])
        print(f"  {t} / health by round: " + " ".join(f"{x:.0%}" for x in ratios)
              + f"   (median {statistics.median(ratios):.0%})")
    ok = rate["encrypt"] >= 0.7 * rate["health"] and rate["decrypt"] >= 0.7 * rate["health"]
    print("  bar (each >= 70% of /health):", "met" if ok else "NOT met")
if len(sys.argv) > 3:
    print("this build against the baseline, server CPU per request (medians):")
    for t in tasks:
        new, old = median("this", t, 3), median("baseline", t, 3)
        print(f"  {t:8} {old:6.1f} -> {new:6.1f} µs   ({(new - old) / old:+.1%})")
PY
for name in "${names[@]}"; do
    echo "$name: request log lines written: $(wc -l <"$work/$name/requests.jsonl")" >&2
done
