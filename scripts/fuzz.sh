#!/usr/bin/env bash
# Builds the libFuzzer harnesses (Sources/Fuzz) with address sanitizer and runs each for the given number of seconds
# (default 60), seeded from Fixtures/ and Rules/. Prints, per target, the executions, the units the fuzzer found new
# coverage with, and the crashes; exits 1 if any target crashed, hung or ran out of memory. Crash inputs are kept in
# .build-fuzz/crashes/ (turn each into a regression test), the growing corpora in .build-fuzz/corpus/.
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]
#
# Targets: RequestBody TokenForm RequestLog HAR RuleYAML Condition Certificate (all by default).
set -euo pipefail
cd "$(dirname "$0")/.."
# The harnesses are declared in Package.swift only when this is set.
export SKM_FUZZ=1

seconds="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(RequestBody TokenForm RequestLog HAR RuleYAML Condition Certificate)
fi

scratch=.build-fuzz
mkdir -p "$scratch/bin" "$scratch/corpus" "$scratch/crashes" "$scratch/logs"

# Every module is instrumented (coverage and address sanitizer); each harness is a static library that swiftc links
# with libFuzzer's main. A scratch path of its own keeps the normal build intact.
for target in "${targets[@]}"; do
    echo "==> building Fuzz$target"
    # A failed build stops here: a fuzzer left from an earlier build must never stand in for this one.
    # The archive too: `ar` keeps the objects of deleted sources, which then fail the link.
    rm -f "$scratch/bin/fuzz-$target" "$scratch/debug/libFuzz$target.a"
    if ! swift build --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address --product "Fuzz$target" \
        > "$scratch/logs/build-$target.txt" 2>&1; then
        grep -E "error" "$scratch/logs/build-$target.txt" | head -20
        echo "Fuzz$target did not build (log: $scratch/logs/build-$target.txt)" >&2
        exit 1
    fi
    grep -E "Build of product" "$scratch/logs/build-$target.txt" || true
    swiftc -sanitize=fuzzer,address "$scratch/debug/libFuzz$target.a" -lz -lxml2 -lssl -lcrypto -lsqlite3 \
        -o "$scratch/bin/fuzz-$target" 2>&1 | grep -v "Cannot export local symbol" || true
    test -x "$scratch/bin/fuzz-$target"
done

# Seeds: what the shipped fixtures and rules hold, cut to the shape each harness reads.
seed() {
    local target="$1" dir="$scratch/corpus/$1"
    mkdir -p "$dir"
    case "$target" in
        RequestBody)
            python3 - "$dir" <<'PY'
import json, glob, sys, os
out = sys.argv[1]
bodies = {b'{"plaintext":"aGVsbG8="}', b'{"ciphertext":"AAAAAA=="}', b'{"keyStoreName":"s","name":"k"}',
          b'{"name":"s","ip4AuthUse":"Y","macAuthUse":"N","certificateAuthUse":"N","authMode":"OR"}'}
for har in glob.glob("Fixtures/*/capture.har"):
    for entry in json.load(open(har))["log"]["entries"]:
        text = entry["request"].get("postData", {}).get("text")
        if text: bodies.add(text.encode())
for index, body in enumerate(sorted(bodies)):
    for operation in (0, 3, 7, 20, 30):
        open(os.path.join(out, f"seed-{index}-{operation}"), "wb").write(bytes([operation]) + body)
PY
            ;;
        TokenForm)
            printf '\000grant_type=client_credentials' > "$dir/form"
            printf '\000grant_type=password&x=%%41' > "$dir/other"
            printf '\001AKID:secret' > "$dir/basic"
            printf '\003Basic QUtJRDpzZWNyZXQ=' > "$dir/header"
            ;;
        RequestLog)
            for log in Fixtures/*/requests.jsonl; do
                name=$(basename "$(dirname "$log")")
                head -40 "$log" | split -l 1 - "$dir/$name-"
            done
            ;;
        HAR)
            for har in Fixtures/*/capture.har; do cp "$har" "$dir/$(basename "$(dirname "$har")").har"; done
            ;;
        RuleYAML)
            cp Rules/*.yaml "$dir/"
            ;;
        Condition)
            grep -hE '^\s+(assert|when|holds): ' Rules/*.yaml | sed -E 's/^\s+(assert|when|holds): //' \
                | awk -v dir="$dir" '{ print > (dir "/expr-" NR) }'
            ;;
        Certificate)
            cp Fixtures/expired-client-certificate/client-cert.pem "$dir/cert.pem"
            openssl x509 -in "$dir/cert.pem" -outform der -out "$dir/cert.der" 2>/dev/null || true
            ;;
    esac
}

printf '\n%-12s %12s %10s %8s\n' "target" "executions" "new units" "crashes"
status=0
summary=""
for target in "${targets[@]}"; do
    seed "$target"
    log="$scratch/logs/$target.log"
    touch "$log.start"
    # -timeout: an input that runs 10 s is a hang; -rss_limit_mb: 2 GB is a leak or a blow-up. LeakSanitizer is off:
    # Swift's lazily initialised globals (caches, compiled patterns) are allocated once, inside whichever input first
    # needs them, and would be reported as that input's leak.
    # Swift's own crash handler is off: run inside an instrumented process it trips the address sanitizer itself,
    # which then reports that instead of the crash (a trap for an arithmetic overflow says nothing else). Without
    # it, libFuzzer names the signal and the sanitizer prints the crashing stack.
    set +e
    SWIFT_BACKTRACE=enable=no ASAN_OPTIONS=detect_leaks=0 "$scratch/bin/fuzz-$target" "$scratch/corpus/$target" \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -detect_leaks=0 -print_final_stats=1 \
        -artifact_prefix="$scratch/crashes/$target-" >"$log" 2>&1
    code=$?
    set -e
    runs=$(grep -E '^stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
    added=$(grep -E '^stat::new_units_added' "$log" | tail -1 | awk '{print $2}')
    crashes=$(find "$scratch/crashes" -name "$target-*" -newer "$log.start" 2>/dev/null | wc -l || true)
    [ "$code" -ne 0 ] && crashes=$(( crashes > 0 ? crashes : 1 ))
    line=$(printf '%-12s %12s %10s %8s' "$target" "${runs:-?}" "${added:-?}" "$crashes")
    echo "$line"
    summary+="$line"$'\n'
    if [ "$crashes" -ne 0 ]; then
        status=1
        grep -E "ERROR: |SUMMARY: |Fatal error|deadly signal|Test unit written" "$log" | head -6 | sed 's/^/    /'
        # The input itself, so that a crash seen only in a CI log can be replayed (libFuzzer prints it for inputs of
        # up to a few kilobytes).
        grep -E '^Base64: ' "$log" | head -1 | cut -c1-8000 | sed 's/^/    /'
        # Where it crashed: the first frames outside the sanitizer and libFuzzer.
        grep -E '^ +#[0-9]+ .* in ' "$log" | grep -v compiler-rt | head -8 | sed 's/^ */    /'
    fi
done
exit $status
