#!/usr/bin/env bash
# Encrypt and decrypt requests per second of `skm serve` (release build, HTTPS keep-alive, request log on) on one
# SQLite node, one PostgreSQL node, and two PostgreSQL nodes on one database (wrk drives both at once, half the
# connections each; per node and in total). PostgreSQL is a throwaway cluster started by scripts/postgres.sh, with
# fsync on. On a machine of two cores the nodes, the database and wrk share them: the two-node figure shows what the
# coordination costs, not what a second machine would add.
#
#   Benchmarks/nodes.sh [seconds per run, default 10] [connections, default 32]
#   Benchmarks/server.sh --nodes [seconds] [connections]    (the same)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-10}
connections=${2:-32}

command -v wrk >/dev/null || { echo "Installing wrk" >&2; apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product skm >&2
skm=$PWD/.build/release/skm

work=$(mktemp -d)
servers=()
cleanup() {
    for server in "${servers[@]}"; do kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; done
    [ -z "${postgres:-}" ] || scripts/postgres.sh stop "$postgres" || true
    rm -rf "$work"
}
trap cleanup EXIT

# Sets up an installation in SKM_DB and prints "appkey key".
setup() {
    "$skm" init >/dev/null 2>&1
    local appkey key
    appkey=$("$skm" appkey create --name bench --quiet)
    "$skm" keystore create --name bench --ip4-auth Y >/dev/null
    "$skm" auth add-ip --keystore bench 127.0.0.1 >/dev/null
    key=$("$skm" key create --keystore bench --type symmetric --name bench --quiet)
    echo "$appkey $key"
}

# Starts a node on a free port and sets `port` (not in a subshell: the server would hold its output open, and its
# process id would be lost for the clean-up).
start() {  # name
    port=$((20000 + RANDOM % 20000))
    "$skm" serve --port "$port" --log-level warning --request-log "$work/$1.jsonl" >/dev/null 2>"$work/$1.log" &
    servers+=($!)
    for _ in $(seq 100); do curl -sk "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done
}

scripts() {  # port appkey key
    local base="https://127.0.0.1:$1/keymanager/v1.2/appkey/$2/symmetric-keys/$3"
    local plaintext="0123456789abcdef0123456789abcdef"
    local ciphertext
    ciphertext=$(curl -sk -X POST "$base/encrypt" -d "{\"plaintext\":\"$plaintext\"}" \
        | python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["ciphertext"])')
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'{\"plaintext\":\"$plaintext\"}'" >"$work/encrypt.lua"
    printf 'wrk.method = "POST"\nwrk.body = %s\nwrk.headers["Content-Type"] = "application/json"\n' \
        "'{\"ciphertext\":\"$ciphertext\"}'" >"$work/decrypt.lua"
}

# Prints requests per second; a run with refusals or socket errors is reported and fails the benchmark.
rate() {  # connections url script
    local output
    output=$(wrk -t1 -c"$1" -d"${duration}s" -s "$3" "$2")
    if printf '%s\n' "$output" | grep -qE 'Non-2xx|Socket errors'; then
        printf 'wrk saw failures on %s:\n%s\n' "$2" "$output" >&2
        exit 1
    fi
    printf '%s\n' "$output" | awk '/Requests\/sec/ {print $2}'
}

printf '%-22s %12s %12s\n' "setup" "encrypt/s" "decrypt/s"
row() { printf '%-22s %12.0f %12.0f\n' "$1" "$2" "$3"; }

# One node on SQLite.
export SKM_DB=$work/sqlite/skm.sqlite
mkdir -p "$work/sqlite"
read -r appkey key < <(setup)
start sqlite
scripts "$port" "$appkey" "$key"
base="https://127.0.0.1:$port/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key"
encrypt=$(rate "$connections" "$base/encrypt" "$work/encrypt.lua")
decrypt=$(rate "$connections" "$base/decrypt" "$work/decrypt.lua")
row "SQLite, 1 node" "$encrypt" "$decrypt"
kill "${servers[0]}"; wait "${servers[0]}" 2>/dev/null || true; servers=()

# PostgreSQL.
# Durable commits, as SQLite's; the cluster in a directory of its own, which the postgres user can reach.
postgres=$(mktemp -d)
environment=$(SKM_POSTGRES_FSYNC=on scripts/postgres.sh start "$postgres")
url=$(printf '%s\n' "$environment" | sed -n 's/^SKM_TEST_POSTGRES_URL=//p')
export SKM_DB=$url SKM_DB_PASSWORD_FILE=$postgres/password SKM_ROOT_KEY_FILE=$work/root.key
read -r appkey key < <(setup)
start node1
first=$port
scripts "$first" "$appkey" "$key"
base="https://127.0.0.1:$first/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key"
encrypt=$(rate "$connections" "$base/encrypt" "$work/encrypt.lua")
decrypt=$(rate "$connections" "$base/decrypt" "$work/decrypt.lua")
row "PostgreSQL, 1 node" "$encrypt" "$decrypt"

start node2
second=$port
half=$((connections / 2))
for operation in encrypt decrypt; do
    rate "$half" "https://127.0.0.1:$first/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key/$operation" \
        "$work/$operation.lua" >"$work/$operation.1" &
    one=$!
    rate "$half" "https://127.0.0.1:$second/keymanager/v1.2/appkey/$appkey/symmetric-keys/$key/$operation" \
        "$work/$operation.lua" >"$work/$operation.2"
    wait "$one"
done
row "PostgreSQL, node 1 of 2" "$(cat "$work/encrypt.1")" "$(cat "$work/decrypt.1")"
row "PostgreSQL, node 2 of 2" "$(cat "$work/encrypt.2")" "$(cat "$work/decrypt.2")"
row "PostgreSQL, 2 nodes" "$(python3 -c "print($(cat "$work/encrypt.1") + $(cat "$work/encrypt.2"))")" \
    "$(python3 -c "print($(cat "$work/decrypt.1") + $(cat "$work/decrypt.2"))")"
