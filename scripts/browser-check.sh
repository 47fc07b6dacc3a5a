#!/usr/bin/env bash
# Renders every fixture's HTML report in headless Chromium and fails when a page loads anything from the network, is
# refused anything by its Content-Security-Policy, or when a hostile log (markup, script, javascript: URLs, a U+202E
# override, invalid UTF-8) runs script or changes the page's structure. Every fixture's request log and HAR capture is
# checked. Screenshots go to out/browser/.
#
#   scripts/browser-check.sh [fixture …]   (default: every fixture)
#
# First it checks itself: each detector must catch a page made to break its rule, with its own message.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(scripts/browser.sh)
swift build --product skm >&2
skm=$PWD/.build/debug/skm

fixtures=("$@")
if [ ${#fixtures[@]} -eq 0 ]; then
    for directory in Fixtures/*/; do fixtures+=("$(basename "$directory")"); done
fi
out=$PWD/out/browser
mkdir -p "$out"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT

# Nothing may reach the network: every host resolves nowhere and any proxy use fails.
flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions
    --disable-background-networking --disable-component-update --disable-sync --metrics-recording-only
    --host-resolver-rules="MAP * ~NOTFOUND" --proxy-server="http://127.0.0.1:9" --user-data-dir="$profile"
    --virtual-time-budget=3000)

# dump NAME PAGE: a screenshot, the DOM after the page's own script ran, the console and the net log.
dump() {
    local name=$1 page=$2
    "$browser" "${flags[@]}" --window-size=1280,2000 --screenshot="$out/$name.png" "file://$page" \
        >/dev/null 2>"$out/$name.screenshot.log" || true
    "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --log-net-log="$out/$name.netlog.json" \
        --dump-dom "file://$page" >"$out/$name.dom.html" 2>"$out/$name.console.log" || true
}

# check_page NAME PAGE REPORT_JSON REFERENCE_NAME: the network, console and script checks on NAME's dump, and its
# element structure against REFERENCE_NAME's: the same report rendered from the same inputs with every character
# that could open markup replaced by a letter. Escaping that holds leaves the structure unchanged.
check_page() {
    local name=$1 page=$2 report=$3 reference=$4
    dump "$name" "$page"
    python3 - "$out" "$name" "$report" "$reference" <<'PYTHON'
import json, os, sys
from html.parser import HTMLParser

out, name, report_path, reference = sys.argv[1:5]
problems = []

# 1. Network: every URL the browser asked for must be the page itself.
try:
    netlog = json.load(open(os.path.join(out, name + ".netlog.json")))
except Exception as error:
    netlog = {"events": []}
    problems.append(f"no net log: {error}")
urls = set()
def walk(value):
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "url" and isinstance(item, str):
                urls.add(item)
            walk(item)
    elif isinstance(value, list):
        for item in value:
            walk(item)
walk(netlog.get("events", []))
for url in sorted(urls):
    if not url.startswith(("file://", "data:", "about:", "chrome:")):
        problems.append(f"network: the page asked for {url}")

# 2. Console: the policy refused nothing, because nothing tried.
for line in open(os.path.join(out, name + ".console.log"), errors="replace"):
    if "Refused to" in line or "Content Security Policy" in line:
        problems.append("console: " + line.strip()[:300])

# 3. The rendered DOM: only the page's own script ran, and the structure is the report's own.
class Walker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.skeleton = []
        self.scripts = 0
        self.groups = 0
        self.filter_hidden = None
        self.html_attributes = {}
        self.handlers = []
        self.links = []
    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        self.skeleton.append((tag, tuple(sorted(attributes))))
        if tag == "html":
            self.html_attributes = attributes
        if tag == "script":
            self.scripts += 1
        if tag == "article" and "group" in (attributes.get("class") or ""):
            self.groups += 1
        if attributes.get("id") == "filter":
            self.filter_hidden = "hidden" in attributes
        for key, value in attributes.items():
            if key.startswith("on"):
                self.handlers.append(f"<{tag}> has an event handler {key}")
            if key in ("href", "src", "action", "xlink:href", "formaction") and value and not value.startswith("#"):
                self.links.append(f"<{tag} {key}={value[:80]!r}> points outside the page")
    def handle_endtag(self, tag):
        self.skeleton.append(("/" + tag, ()))

def parse(dump_name):
    walker = Walker()
    walker.feed(open(os.path.join(out, dump_name + ".dom.html"), errors="replace").read())
    return walker

page = parse(name)
problems += ["handler: " + text for text in page.handlers]
problems += ["link: " + text for text in page.links]
if any(key.startswith("data-") for key in page.html_attributes):
    problems.append(f"script: a script from the log ran: <html {page.html_attributes}>")
if page.scripts != 1:
    problems.append(f"script: {page.scripts} script elements (the page has exactly one)")
report = json.load(open(report_path))
expected_groups = len(report.get("groups", []))
if page.groups != expected_groups:
    problems.append(f"structure: {page.groups} groups in the page, {expected_groups} in the report")
if expected_groups and page.filter_hidden is not False:
    problems.append("own-script: the page's own script did not run (the filter box is still hidden)")
if reference != "-":
    expected = parse(reference).skeleton
    if page.skeleton != expected:
        index = next((i for i, (a, b) in enumerate(zip(page.skeleton, expected)) if a != b), min(len(page.skeleton), len(expected)))
        got = page.skeleton[index] if index < len(page.skeleton) else "(end)"
        want = expected[index] if index < len(expected) else "(end)"
        problems.append(f"structure: element {index} is {got}, where the same report without markup characters has {want}")

for problem in problems:
    print("   ", problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PYTHON
}

# defang IN OUT: a copy of a log, capture or state with every character that could open markup or an attribute
# replaced by a letter, inside JSON strings only (the JSON stays valid).
defang() {
    python3 - "$1" "$2" <<'PYTHON'
import sys
source, target = sys.argv[1:3]
text = open(source, encoding="utf-8", errors="surrogateescape").read()
# Escaped double quotes go too, except in HAR captures, whose answers are JSON inside JSON strings.
sequences = ["\\u003c", "\\u003e", "\\u0026", "\\u0027", "\\u0060"]
if not source.endswith(".har"):
    sequences.append('\\"')
for sequence in sequences:
    text = text.replace(sequence, "x")
for character in "<>&'`":
    text = text.replace(character, "x")
open(target, "w", encoding="utf-8", errors="surrogateescape").write(text)
PYTHON
}

# The checker must catch what each detector is for: one page per detector, each required to produce its message.
self_test() {
    local detector=$1 expected=$2 body=$3 head=${4:-}
    local page="$out/self-test-$detector.html"
    printf '<!DOCTYPE html><html><head><meta charset="utf-8">%s<title>self-test</title></head><body>%s</body></html>\n' \
        "$head" "$body" >"$page"
    echo '{"groups": []}' >"$out/self-test-$detector.json"
    if check_page "self-test-$detector" "$page" "$out/self-test-$detector.json" "$5" 2>"$out/self-test-$detector.log"; then
        echo "FAIL the $detector check passed a page it must refuse" >&2
        exit 1
    fi
    if ! grep -q "$expected" "$out/self-test-$detector.log"; then
        echo "FAIL the $detector check did not say '$expected':" >&2
        cat "$out/self-test-$detector.log" >&2
        exit 1
    fi
    echo "ok   the $detector check catches its page: $(head -1 "$out/self-test-$detector.log" | sed 's/^ *//')"
}
one_script='<script>document.body.dataset.ok="1"</script>'
# The reference of the structure self-test: the same page without the injected elements.
printf '<!DOCTYPE html><html><head><meta charset="utf-8"><title>self-test</title></head><body><p>text</p>%s</body></html>\n' \
    "$one_script" >"$out/self-test-reference.html"
dump self-test-reference "$out/self-test-reference.html"
self_test network "network: the page asked for" "<img src=\"http://198.51.100.7/pixel.png\">$one_script" "" -
self_test console "console: " "<img src=\"data:image/png;base64,iVBORw0KGgo=\">$one_script" \
    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; script-src 'unsafe-inline'\">" -
self_test script "script: a script from the log ran" \
    "<script>document.documentElement.setAttribute('data-pwned','1')</script>" "" -
self_test handler "handler: " "<p onclick=\"x()\">text</p>$one_script" "" -
self_test structure "structure: element" "<p>text<b>bold</b></p><div><style>p{}</style></div>$one_script" "" \
    self-test-reference

# analyse NAME INPUT STATE [OPTIONS…]: the report of one input, as HTML and JSON, and its reference page from the
# defanged input and state.
analyse() {
    local name=$1 input=$2 state=$3
    shift 3
    local status=0
    "$skm" analyze "$input" --state "$state" --color never --html "$out/$name.html" --json "$out/$name.json" "$@" \
        >/dev/null 2>"$out/$name.analyze.log" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "FAIL $name: skm analyze exited with $status" >&2
        cat "$out/$name.analyze.log" >&2
        return 1
    fi
    local extension="${input##*.}"
    defang "$input" "$out/$name.defanged.$extension"
    defang "$state" "$out/$name.defanged-state.json"
    "$skm" analyze "$out/$name.defanged.$extension" --state "$out/$name.defanged-state.json" --color never \
        --html "$out/$name.reference.html" --json "$out/$name.reference.json" "$@" >/dev/null 2>&1 || true
    dump "$name.reference" "$out/$name.reference.html"
}

failed=0
for fixture in "${fixtures[@]}"; do
    inputs=("requests.jsonl")
    [ -f "Fixtures/$fixture/capture.har" ] && inputs+=("capture.har")
    for input in "${inputs[@]}"; do
        name="$fixture-${input%%.*}"
        if ! analyse "$name" "Fixtures/$fixture/$input" "Fixtures/$fixture/state.json"; then
            failed=1
            continue
        fi
        if ! check_page "$name" "$out/$name.html" "$out/$name.json" "$name.reference"; then
            echo "FAIL $name (see $out/$name.*)" >&2
            failed=1
        else
            echo "ok   $name: $out/$name.png"
        fi
    done
done
exit $failed
