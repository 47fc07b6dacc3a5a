"""The triage page in a real browser (Chromium driven by Playwright): upload a fixture, read the summary against
`skm analyze`'s own JSON report of the same files, follow a cause to its group, open a request's evidence, filter by
error, download the Markdown summary; then upload the hostile log and find no injected element, no script run, no
dialog and no request leaving the page's own address. Screenshots of each step go to out/triage/.

    python3 scripts/triage-check.py SKM_BINARY BROWSER
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

skm, browser_path = sys.argv[1], sys.argv[2]
root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = os.path.join(root, "out", "triage")
os.makedirs(out, exist_ok=True)
problems = []


def check(condition, message):
    if not condition:
        problems.append(message)
    return condition


def fixture(name, file):
    return os.path.join(root, "Fixtures", name, file)


def cli_report(name):
    """skm analyze's JSON report of a fixture: what the page must show."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "report.json")
        subprocess.run(
            [skm, "analyze", fixture(name, "requests.jsonl"), "--state", fixture(name, "state.json"), "--json", path],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        return json.load(open(path))


server = subprocess.Popen([skm, "triage", "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=root,
                          text=True)
try:
    line = server.stdout.readline()
    match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
    if not match:
        print(f"skm triage did not start: {line}{server.stderr.read()}", file=sys.stderr)
        sys.exit(1)
    base = match.group(0).rstrip("/")
    origin = urlparse(base).netloc

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        context = browser.new_context(viewport={"width": 1280, "height": 1100}, accept_downloads=True)
        page = context.new_page()
        requests_seen = []
        console = []
        dialogs = []

        def route(route):
            url = route.request.url
            requests_seen.append(url)
            if urlparse(url).netloc != origin:
                route.abort()
            else:
                route.continue_()

        context.route("**/*", route)
        page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: console.append(f"page error: {error}"))

        def dialog(d):
            dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)

        # 1. The upload form.
        page.goto(base + "/")
        page.screenshot(path=os.path.join(out, "1-upload.png"), full_page=True)
        check(page.locator("form#upload input[type=file][name=log]").count() == 1, "upload: no log input")

        # 2. A fixture's report, against the CLI's.
        name = "release-breaks-three-ways"
        expected = cli_report(name)
        page.set_input_files("input[name=log]", fixture(name, "requests.jsonl"))
        page.set_input_files("input[name=state]", fixture(name, "state.json"))
        with page.expect_navigation():
            page.click("form#upload button[type=submit]")
        check(re.search(r"/analyses/[0-9a-f]{32}$", page.url) is not None, f"report: unexpected URL {page.url}")
        page.screenshot(path=os.path.join(out, "2-report.png"), full_page=False)
        numbers = page.locator("#summary .numbers").inner_text().replace(",", "")
        summary = expected["summary"]
        for key in ("requests", "failures", "confirmed"):
            check(str(summary[key]) in numbers, f"summary: {key} {summary[key]} not in {numbers!r}")
        groups = page.locator("article.group")
        check(groups.count() == len(expected["groups"]),
              f"report: {groups.count()} groups on the page, {len(expected['groups'])} in skm analyze's report")

        # 3. A cause's "details" link leads to its group; a second example's evidence opens on a click.
        link = page.locator("#summary a[href^='#group-']").first
        target = link.get_attribute("href")
        link.click()
        check(page.url.endswith(target), f"cause link: the page is at {page.url}, not {target}")
        group = page.locator(f"article{target}")
        check(group.is_visible(), "cause link: its group is not visible")
        closed = group.locator("details:not([open]) > summary", has_text="Another example")
        if check(closed.count() > 0, "group: no second example to open"):
            closed.first.click()
            evidence = group.locator("details[open] table").nth(1)
            check(evidence.is_visible(), "group: the second example's evidence did not open")
            check("passed" in evidence.inner_text() or "failed" in evidence.inner_text(),
                  "group: the evidence table shows no check result")
            evidence.scroll_into_view_if_needed()
        page.screenshot(path=os.path.join(out, "3-evidence.png"), full_page=False)

        # 4. Filter by the second error: the groups of that error only, as skm analyze --error counts them.
        errors = expected["errors"]
        if check(len(errors) >= 2, "filter: the fixture has fewer than two errors"):
            code = errors[1]["error"]["code"]
            page.select_option("select[name=error]", str(code))
            with page.expect_navigation():
                page.click("form#triage-filter button[type=submit]")
            wanted = [g for g in expected["groups"] if g["resultCode"] == code]
            check(page.locator("article.group").count() == len(wanted),
                  f"filter: {page.locator('article.group').count()} groups for {code}, expected {len(wanted)}")
            check(f"error={code}" in page.url, f"filter: the URL {page.url} does not hold the filter")
            check(page.locator("select[name=error] option:checked").get_attribute("value") == str(code),
                  "filter: the chosen error is not selected after filtering")
            page.screenshot(path=os.path.join(out, "4-filtered.png"), full_page=False)

            # 5. The Markdown download of the filtered report.
            with page.expect_download() as download:
                page.click("nav.triage a:has-text('Markdown')")
            text = open(download.value.path(), encoding="utf-8").read()
            check(text.startswith("## SKM:"), f"download: the Markdown starts {text[:40]!r}")
            check(f"({code})" in text, "download: the Markdown does not name the filtered error")

        # 6. The hostile log: nothing it holds becomes markup, runs or reaches the network.
        page.goto(base + "/")
        page.set_input_files("input[name=log]", fixture("hostile-log", "requests.jsonl"))
        page.set_input_files("input[name=state]", fixture("hostile-log", "state.json"))
        with page.expect_navigation():
            page.click("form#upload button[type=submit]")
        page.wait_for_timeout(500)
        page.screenshot(path=os.path.join(out, "5-hostile.png"), full_page=False)
        hostile = cli_report("hostile-log")
        check(page.locator("article.group").count() == len(hostile["groups"]), "hostile: group count differs")
        structure = page.evaluate("""() => ({
            scripts: document.querySelectorAll('script').length,
            foreign: [...document.querySelectorAll('img,iframe,object,embed,video,audio,link,base,meta[http-equiv=refresh],form:not(#triage-filter)')].map(e => e.outerHTML.slice(0, 120)),
            handlers: [...document.querySelectorAll('*')].flatMap(e => [...e.attributes].filter(a => a.name.startsWith('on')).map(a => e.tagName + ' ' + a.name)),
            links: [...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href')).filter(h => !(h.startsWith('#') || h.startsWith('/'))),
            pwned: typeof window.pwned !== 'undefined' || typeof window.__skm_pwned !== 'undefined',
        })""")
        check(structure["scripts"] == 1, f"hostile: {structure['scripts']} script elements")
        check(structure["foreign"] == [], f"hostile: injected elements {structure['foreign']}")
        check(structure["handlers"] == [], f"hostile: event handler attributes {structure['handlers']}")
        check(structure["links"] == [], f"hostile: links leaving the page {structure['links']}")
        check(not structure["pwned"], "hostile: a script from the log ran")

        check(dialogs == [], f"dialogs opened: {dialogs}")
        for url in requests_seen:
            check(urlparse(url).netloc == origin, f"network: a request left the page's address: {url}")
        for message in console:
            check("Content Security Policy" not in message and "Refused" not in message
                  and not message.startswith("page error"), f"console: {message}")
        browser.close()
finally:
    server.terminate()
    server.wait(timeout=20)

# The uploads are gone once skm triage has stopped.
leftovers = [entry for entry in os.listdir(tempfile.gettempdir()) if entry.startswith(f"skm-triage-{server.pid}-")]
check(leftovers == [], f"skm triage left its uploads behind: {leftovers}")

if problems:
    print("triage page: " + str(len(problems)) + " problem(s):", file=sys.stderr)
    for problem in problems:
        print("  " + problem, file=sys.stderr)
    sys.exit(1)
print(f"triage page: upload, summary, evidence, filter, download and the hostile log checked; screenshots in {out}")
