#!/usr/bin/env bash
# Records Fixtures/captures-of-one-session: one client's calls to a real `skm serve`, captured every way customers
# send them. The same calls are made three times: with `curl -v` (curl-v.txt), with `curl --trace-ascii
# --trace-time` (curl-trace-ascii.txt), and through nginx in front of the key manager, which writes its JSON access
# log (nginx-access.jsonl). The key manager's own request log (requests.jsonl) holds all of them; the state after
# the session is state.json. envoy-access.jsonl is written from nginx's lines in the shape of the Envoy json_format
# docs/analysis.md documents (Envoy is not a Debian package).
#
#   scripts/record-captures.sh [path to the skm binary]
#
# Needs curl and nginx (installed with apt-get when missing). Everything runs on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
skm=${1:-}
if [ -z "$skm" ]; then
    swift build --product skm >&2
    skm=$PWD/.build/debug/skm
fi
if ! command -v nginx >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx >/dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
out=Fixtures/captures-of-one-session
mkdir -p "$out"

work=$(mktemp -d)
chmod 755 "$work"
server=""
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export SKM_DB=$work/skm.sqlite
field() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

$skm init >/dev/null 2>&1
created=$($skm appkey create --name shop --json)
APPKEY=$(field "$created" appkey)
UAK_ID=$(field "$created" userAccessKeyId)
$skm keystore create --name payments --ip4-auth Y --mac-auth Y >/dev/null
$skm auth add-ip --keystore payments 127.0.0.1 >/dev/null
$skm auth add-mac --keystore payments aa:bb:cc:dd:ee:01 >/dev/null
KEY=$($skm key create --keystore payments --type symmetric --name orders --quiet)
# A ciphertext of version 0, kept by the client; then version 1 and version 0 retired.
OLD=$($skm call encrypt --key "$KEY" --field plaintext=order-1001 --ip 127.0.0.1 --mac aa:bb:cc:dd:ee:01 |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["body"]["ciphertext"])')
$skm key rotate "$KEY" >/dev/null
sleep 2 # the last change apart from the others, whole seconds later (a test moves the calls' times onto it)
$skm key version delete "$KEY" 0 >/dev/null
$skm cert ca >"$work/ca.pem"
sleep 2  # the answers' Date headers count whole seconds: the calls come after the changes

port=$((20000 + RANDOM % 20000))
$skm serve --port "$port" --request-log "$work/requests.jsonl" --request-log-sync always --trusted-proxy 127.0.0.1 \
    --log-level warning 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

proxy=$((port + 1))
cat >"$work/nginx.conf" <<EOF
user root;
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 64; }
http {
    log_format skm escape=json '{"msec":"\$msec","remote_addr":"\$remote_addr","request_method":"\$request_method",'
        '"request_uri":"\$request_uri","status":\$status,"request_time":\$request_time,'
        '"request_length":\$request_length,"scheme":"\$scheme","http_x_forwarded_for":"\$http_x_forwarded_for",'
        '"http_x_toast_client_mac_addr":"\$http_x_toast_client_mac_addr",'
        '"upstream_http_x_request_id":"\$upstream_http_x_request_id","http_user_agent":"\$http_user_agent"}';
    access_log $work/nginx-access.jsonl skm;
    client_body_temp_path $work/body;
    proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fastcgi;
    uwsgi_temp_path $work/uwsgi;
    scgi_temp_path $work/scgi;
    server {
        listen 127.0.0.1:$proxy;
        location / {
            proxy_pass https://127.0.0.1:$port;
            proxy_ssl_verify off;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
        }
    }
}
EOF
"$nginx" -p "$work" -c "$work/nginx.conf" 2>>"$work/nginx-error.log"
for _ in $(seq 100); do curl -s "http://127.0.0.1:$proxy/health" >/dev/null 2>&1 && break; sleep 0.1; done

# session BASE CURL-OPTIONS...: the client's calls, each a curl run with the options given.
session() {
    local base=$1
    shift
    local v12=$base/keymanager/v1.2/appkey/$APPKEY mac=(-H "X-TOAST-CLIENT-MAC-ADDR: aa:bb:cc:dd:ee:01")
    local json=(-H "Content-Type: application/json")
    "$@" "${mac[@]}" "$v12/confirm"
    "$@" "${mac[@]}" "${json[@]}" -d '{"plaintext":"order-2001"}' "$v12/symmetric-keys/$KEY/encrypt"
    # The ciphertext of the retired version 0.
    "$@" "${mac[@]}" "${json[@]}" -d "{\"ciphertext\":\"$OLD\"}" "$v12/symmetric-keys/$KEY/decrypt"
    # A release that lost the MAC header.
    "$@" "${json[@]}" -d '{"plaintext":"order-2002"}' "$v12/symmetric-keys/$KEY/encrypt"
    # An appkey cut short in a configuration file.
    "$@" "${mac[@]}" "${json[@]}" -d '{"plaintext":"order-2003"}' \
        "$base/keymanager/v1.2/appkey/${APPKEY:0:15}/symmetric-keys/$KEY/encrypt"
    # A management call with a User Access Key whose secret is wrong.
    "$@" -H "X-TC-AUTHENTICATION-ID: $UAK_ID" -H "X-TC-AUTHENTICATION-SECRET: not-the-secret" \
        "$base/keymanager/v1.2/appkey/$APPKEY/keystores"
}
verbose() { curl -sv --cacert "$work/ca.pem" "$@" >>"$work/curl-v.txt" 2>&1 || true; }
trace() {
    curl -s --cacert "$work/ca.pem" --trace-ascii "$work/one-trace.txt" --trace-time -o /dev/null "$@" || true
    cat "$work/one-trace.txt" >>"$work/curl-trace-ascii.txt"
}
proxied() { curl -s -o /dev/null "$@" || true; }

session "https://127.0.0.1:$port" verbose
# Two calls in one curl run: its answers' bodies reach standard output only when curl ends, after both calls.
verbose -H "X-TOAST-CLIENT-MAC-ADDR: aa:bb:cc:dd:ee:01" \
    "https://127.0.0.1:$port/keymanager/v1.2/appkey/$APPKEY/symmetric-keys/0123456789abcdef0123456789abcdef/symmetric-key" \
    "https://127.0.0.1:$port/keymanager/v1.2/appkey/$APPKEY/symmetric-keys/$KEY/symmetric-key?keyVersion=0"
session "https://127.0.0.1:$port" trace
session "http://127.0.0.1:$proxy" proxied
# An answer's Date header counts whole seconds and may lag by one: the state is taken after the calls' last second.
sleep 3

kill "$(cat "$work/nginx.pid")"
kill "$server" && wait "$server" 2>/dev/null || true
server=""
$skm snapshot export --out "$out/state.json" >/dev/null
# The throwaway folder's name, which curl prints, is fixed (outside the dumps, whose offsets count bytes).
sed -e "s|$work|/tmp/skm|g" "$work/curl-v.txt" >"$out/curl-v.txt"
sed -e "s|== Info:  CAfile: $work|== Info:  CAfile: /tmp/skm|" "$work/curl-trace-ascii.txt" >"$out/curl-trace-ascii.txt"
cp "$work/requests.jsonl" "$out/requests.jsonl"
cp "$work/nginx-access.jsonl" "$out/nginx-access.jsonl"
python3 - "$out/nginx-access.jsonl" "$out/envoy-access.jsonl" <<'EOF'
import datetime, json, sys
# Envoy's json_format with the keys docs/analysis.md documents: START_TIME, the request's method and path, the
# status, DURATION in milliseconds, the downstream address with its port, and two headers.
with open(sys.argv[1]) as source, open(sys.argv[2], "w") as target:
    for number, line in enumerate(source):
        n = json.loads(line)
        start = float(n["msec"]) - float(n["request_time"])
        envoy = {
            "start_time": datetime.datetime.fromtimestamp(start, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.")
            + "%03dZ" % (round(start * 1000) % 1000),
            "method": n["request_method"],
            "path": n["request_uri"],
            "protocol": "HTTP/1.1",
            "response_code": n["status"],
            "response_flags": "-",
            "bytes_received": 0,
            "duration": round(float(n["request_time"]) * 1000),
            "downstream_remote_address": "%s:%d" % (n["remote_addr"], 40000 + number),
            "x_forwarded_for": n["http_x_forwarded_for"] or None,
            "x_toast_client_mac_addr": n["http_x_toast_client_mac_addr"] or None,
            "skm_request_id": n["upstream_http_x_request_id"] or None,
            "user_agent": n["http_user_agent"],
        }
        target.write(json.dumps(envoy, separators=(",", ":")) + "\n")
EOF
echo "recorded $out: $(wc -l <"$out/requests.jsonl") requests in the key manager's log"
