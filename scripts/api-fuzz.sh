#!/usr/bin/env bash
# Fuzzes a running `skm serve` with schemathesis (PyPI) against Schemas/openapi.yaml: no answer may be a 500, and
# every answer's status, content type and body must match the description.
#
#   scripts/api-fuzz.sh [examples per operation, default 40]
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-40}
swift build --product skm >&2
skm=$PWD/.build/debug/skm

venv=.build/venv-schemathesis
if [ ! -x "$venv/bin/schemathesis" ]; then
    echo "Installing schemathesis into $venv" >&2
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet 'schemathesis>=4,<5'
fi

work=$(mktemp -d)
server=""
cleanup() { [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export SKM_DB=$work/skm.sqlite
$skm init >/dev/null 2>&1
created=$($skm appkey create --name fuzz --json)
value() { python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$created" "$1"; }
export SKM_FUZZ_APPKEY=$(value appkey)
export SKM_FUZZ_UAK_ID=$(value userAccessKeyId)
export SKM_FUZZ_UAK_SECRET=$(value userAccessKeySecret)
$skm keystore create --name fuzz --ip4-auth Y >/dev/null
$skm auth add-ip --keystore fuzz 127.0.0.1 >/dev/null
export SKM_FUZZ_KEY=$($skm key create --keystore fuzz --type symmetric --name fuzz --quiet)
$skm cert ca >"$work/ca.pem"

port=$((20000 + RANDOM % 20000))
$skm serve --port "$port" --request-log "$work/requests.jsonl" --log-level error 2>"$work/serve.log" &
server=$!
for _ in $(seq 100); do curl -s --cacert "$work/ca.pem" "https://127.0.0.1:$port/health" >/dev/null 2>&1 && break; sleep 0.1; done

# Half of the cases use the installation's real appkey and key, so that generated requests get past the first checks.
cat >"$work/schemathesis.toml" <<TOML
[parameters]
"path.appkey" = "\${SKM_FUZZ_APPKEY}"
"path.keyid" = "\${SKM_FUZZ_KEY}"
TOML

status=0
# One worker: with two threads, hypothesis describing its strategies (CPython's ast, not thread-safe in 3.11) now and
# then fails with "AST constructor recursion depth mismatch", a failure of the tool, not of the server.
"$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run Schemas/openapi.yaml \
    --url "https://127.0.0.1:$port" --tls-verify "$work/ca.pem" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --max-examples "$examples" --seed 20261127 --workers 1 --request-timeout 10 \
    -H "X-TC-AUTHENTICATION-ID: $SKM_FUZZ_UAK_ID" -H "X-TC-AUTHENTICATION-SECRET: $SKM_FUZZ_UAK_SECRET" \
    --suppress-health-check all || status=$?
echo "requests answered: $(wc -l <"$work/requests.jsonl"); server errors logged: $(grep -c '"httpStatus":500' "$work/requests.jsonl" || true)"
exit $status
