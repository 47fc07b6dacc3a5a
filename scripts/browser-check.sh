#!/usr/bin/env bash
# Renders every fixture's HTML report in headless Chromium and fails when a page loads anything from the network, is
# refused anything by its Content-Security-Policy, or when a hostile log (markup, script, javascript: URLs, a U+202E
# override, invalid UTF-8) runs script or changes the page's structure. Screenshots go to out/browser/.
#
#   scripts/browser-check.sh [fixture …]   (default: every fixture)
#
# First it checks itself: a page that breaks every rule must be caught.
set -euo pipefail
cd "$(dirname "$0")/.."

browser=$(command -v chromium-headless-shell || command -v chromium || true)
if [ -z "$browser" ]; then
    echo "Installing chromium-headless-shell" >&2
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd=sudo
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends chromium-headless-shell >/dev/null
    browser=$(command -v chromium-headless-shell)
fi
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

# check_page NAME PAGE REPORT_JSON: screenshot, then the network, console and DOM checks.
check_page() {
    local name=$1 page=$2 report=$3
    "$browser" "${flags[@]}" --window-size=1280,2000 --screenshot="$out/$name.png" "file://$page" \
        >/dev/null 2>"$out/$name.screenshot.log" || true
    "$browser" "${flags[@]}" --enable-logging=stderr --v=0 --log-net-log="$out/$name.netlog.json" \
        --dump-dom "file://$page" >"$out/$name.dom.html" 2>"$out/$name.console.log" || true
    python3 - "$page" "$out/$name.dom.html" "$out/$name.netlog.json" "$out/$name.console.log" "$report" <<'PYTHON'
import json, sys
from html.parser import HTMLParser

page, dom_path, netlog_path, console_path, report_path = sys.argv[1:6]
problems = []

# 1. Network: every URL the browser asked for must be the page itself.
try:
    netlog = json.load(open(netlog_path))
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
    if not (url.startswith("file://") or url.startswith("data:") or url.startswith("about:") or url.startswith("chrome:")):
        problems.append(f"the page asked the network for {url}")

# 2. Console: the policy refused nothing, because nothing tried.
for line in open(console_path, errors="replace"):
    if "Refused to" in line or "Content Security Policy" in line:
        problems.append("console: " + line.strip()[:300])

# 3. The rendered DOM: our script ran, nothing else did, and the structure is the report's own.
class Walker(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = {}
        self.scripts = 0
        self.groups = 0
        self.filter_hidden = None
        self.html_attributes = {}
    def handle_starttag(self, tag, attributes):
        attributes = dict(attributes)
        self.tags[tag] = self.tags.get(tag, 0) + 1
        if tag == "html":
            self.html_attributes = attributes
        if tag == "script":
            self.scripts += 1
        if tag == "article" and "group" in (attributes.get("class") or ""):
            self.groups += 1
        if attributes.get("id") == "filter":
            self.filter_hidden = "hidden" in attributes
        for name, value in attributes.items():
            if name.startswith("on"):
                problems.append(f"<{tag}> has an event handler {name}")
            if name in ("href", "src", "action", "xlink:href") and value and not value.startswith("#"):
                problems.append(f"<{tag} {name}={value[:80]!r}> points outside the page")
walker = Walker()
walker.feed(open(dom_path, errors="replace").read())
allowed = {"html", "head", "figure", "figcaption", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "p", "main", "section",
           "div", "b", "span", "ol", "ul", "li", "a", "svg", "title", "line", "text", "rect", "input", "article",
           "code", "details", "summary", "table", "thead", "tbody", "tr", "th", "td", "br", "pre", "footer", "script"}
for tag in walker.tags:
    if tag not in allowed:
        problems.append(f"unexpected element <{tag}> in the page")
if walker.scripts != 1:
    problems.append(f"{walker.scripts} script elements (the page has exactly one)")
if any(name.startswith("data-") for name in walker.html_attributes):
    problems.append(f"a script from the log ran: <html {walker.html_attributes}>")
report = json.load(open(report_path))
expected_groups = len(report["groups"])
if walker.groups != expected_groups:
    problems.append(f"{walker.groups} groups in the page, {expected_groups} in the report")
if expected_groups and walker.filter_hidden is not False:
    problems.append("the page's own script did not run (the filter box is still hidden)")

for problem in problems:
    print("   ", problem, file=sys.stderr)
sys.exit(1 if problems else 0)
PYTHON
}

# The checker must catch a page that loads, runs and injects what it should not.
cat >"$out/self-test.html" <<'HTML'
<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'">
<link rel="stylesheet" href="https://example.com/style.css"><title>bad</title></head>
<body><article class="group"><img src="https://example.com/x.png" onerror="document.documentElement.setAttribute('data-pwned','1')"></article>
<script>document.documentElement.setAttribute('data-pwned','2')</script><iframe src="https://example.com/"></iframe></body></html>
HTML
echo '{"groups": [{}]}' >"$out/self-test.json"
if check_page self-test "$out/self-test.html" "$out/self-test.json" 2>"$out/self-test.log"; then
    echo "FAIL the checker passed a page that loads and injects content" >&2
    exit 1
fi
echo "ok   the checker catches a hostile page ($(grep -c . "$out/self-test.log") problems found)"

failed=0
for fixture in "${fixtures[@]}"; do
    page=$out/$fixture.html
    status=0
    "$skm" analyze "Fixtures/$fixture/requests.jsonl" --state "Fixtures/$fixture/state.json" --color never \
        --html "$page" --json "$out/$fixture.json" >/dev/null 2>"$out/$fixture.analyze.log" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "FAIL $fixture: skm analyze exited with $status" >&2
        cat "$out/$fixture.analyze.log" >&2
        failed=1
        continue
    fi
    if ! check_page "$fixture" "$page" "$out/$fixture.json"; then
        echo "FAIL $fixture (see $out/$fixture.*)" >&2
        failed=1
    else
        echo "ok   $fixture: $out/$fixture.png"
    fi
done
exit $failed
