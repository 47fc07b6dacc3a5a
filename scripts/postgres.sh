#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests and benchmarks: its own cluster in a temporary directory, on a free port of
# 127.0.0.1, started without systemd, and a role `skm` (with a random password) that may create databases.
#
#   scripts/postgres.sh start DIR   installs PostgreSQL 15 with apt-get when no server is installed, creates and
#                                   starts the cluster under DIR and prints the environment to use it:
#                                     SKM_TEST_POSTGRES_URL=postgres://skm@127.0.0.1:PORT/skm
#                                     SKM_TEST_POSTGRES_PASSWORD_FILE=DIR/password
#   scripts/postgres.sh stop DIR    stops that cluster and removes DIR
#
# The tests' cluster runs with fsync=off (nothing in it outlives the run); SKM_POSTGRES_FSYNC=on makes it durable, as
# the benchmarks need to compare it fairly with SQLite's synchronous commits.
#
# Exits non-zero with the reason when the server cannot be installed or started.
set -euo pipefail

command=${1:-}
directory=${2:-}
if [ -z "$command" ] || [ -z "$directory" ]; then
    echo "usage: scripts/postgres.sh start|stop DIR" >&2
    exit 2
fi

fail() {
    echo "scripts/postgres.sh: $*" >&2
    exit 1
}

bin_directory() {
    local found
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    [ -n "$found" ] && [ -x "$found/initdb" ] && echo "$found"
}

# Runs a PostgreSQL program as the cluster's owner: PostgreSQL refuses to run as root.
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "$command" in
start)
    bin=$(bin_directory || true)
    if [ -z "$bin" ]; then
        echo "Installing PostgreSQL 15" >&2
        sudo_cmd=""
        [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
        $sudo_cmd apt-get update -qq || fail "apt-get update failed"
        DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends postgresql-15 \
            || fail "could not install postgresql-15 with apt-get"
        bin=$(bin_directory || true)
        [ -n "$bin" ] || fail "PostgreSQL was installed but no initdb was found under /usr/lib/postgresql"
    fi
    mkdir -p "$directory"
    directory=$(cd "$directory" && pwd)
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || fail "there is no postgres user to run the server as"
        chown postgres:postgres "$directory"
        as_owner test -x "$directory" \
            || fail "the postgres user cannot reach $directory: one of its parent directories is closed to it"
    fi
    chmod 700 "$directory"
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    password=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    # The superuser connects through the cluster's own socket only; TCP needs a password.
    as_owner "$bin/initdb" -D "$directory/data" -U postgres --auth-local=trust --auth-host=scram-sha-256 \
        --no-sync >"$directory/initdb.log" 2>&1 || fail "initdb failed: $(tail -5 "$directory/initdb.log")"
    as_owner "$bin/pg_ctl" -D "$directory/data" -l "$directory/server.log" -w -t 30 \
        -o "-p $port -k $directory -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${SKM_POSTGRES_FSYNC:-off}" start \
        >/dev/null || fail "the server did not start: $(tail -5 "$directory/server.log" 2>/dev/null)"
    as_owner "$bin/psql" -h "$directory" -p "$port" -U postgres -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE skm LOGIN CREATEDB PASSWORD '$password'" -c "CREATE DATABASE skm OWNER skm" >/dev/null \
        || fail "could not create the skm role and database"
    umask 077
    printf '%s\n' "$password" >"$directory/password"
    [ "$(id -u)" -ne 0 ] || chown root:root "$directory/password"
    echo "$port" >"$directory/port"
    echo "SKM_TEST_POSTGRES_URL=postgres://skm@127.0.0.1:$port/skm"
    echo "SKM_TEST_POSTGRES_PASSWORD_FILE=$directory/password"
    ;;
stop)
    [ -d "$directory/data" ] || exit 0
    bin=$(bin_directory || true)
    [ -n "$bin" ] && as_owner "$bin/pg_ctl" -D "$directory/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$directory"
    ;;
*)
    echo "usage: scripts/postgres.sh start|stop DIR" >&2
    exit 2
    ;;
esac
