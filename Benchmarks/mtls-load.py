#!/usr/bin/env python3
"""Keep-alive HTTPS load with a client certificate, for Benchmarks/server.sh's CERT=1 runs (wrk has no client
certificates). One process per connection, each sending the same request again and again for the given seconds;
prints its totals in wrk's words, the lines server.sh reads.

    mtls-load.py URL CONNECTIONS SECONDS CLIENT.pem [LUA]   (LUA: a wrk script of server.sh's; POST with its body)
"""
import http.client
import multiprocessing
import re
import ssl
import sys
import time
import urllib.parse


def worker(url, pem, body, seconds, results):
    parts = urllib.parse.urlsplit(url)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the bench server's own certificate; loopback only
    context.load_cert_chain(pem)
    connection = http.client.HTTPSConnection(parts.hostname, parts.port, context=context)
    latencies, failures = [], 0
    method = "POST" if body is not None else "GET"
    headers = {"Content-Type": "application/json"} if body is not None else {}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        start = time.monotonic()
        connection.request(method, parts.path, body, headers)
        response = connection.getresponse()
        response.read()
        latencies.append(time.monotonic() - start)
        if not 200 <= response.status < 300:
            failures += 1
    results.put((latencies, failures))


def main():
    url, connections, seconds, pem = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    body = None
    if len(sys.argv) > 5:
        match = re.search(r"wrk\.body = '(.*)'", open(sys.argv[5]).read())
        body = match.group(1) if match else None
    results = multiprocessing.Queue()
    workers = [
        multiprocessing.Process(target=worker, args=(url, pem, body, seconds, results)) for _ in range(connections)
    ]
    started = time.monotonic()
    for process in workers:
        process.start()
    latencies, failures = [], 0
    for _ in workers:
        some, failed = results.get()
        latencies += some
        failures += failed
    for process in workers:
        process.join()
    elapsed = time.monotonic() - started
    latencies.sort()

    def percentile(fraction):
        return f"{latencies[min(len(latencies) - 1, int(len(latencies) * fraction))] * 1000:.2f}ms" if latencies else "-"

    print(f"  {len(latencies)} requests in {elapsed:.2f}s")
    print(f"     50% {percentile(0.5)}")
    print(f"     99% {percentile(0.99)}")
    if failures:
        print(f"  Non-2xx or 3xx responses: {failures}")
    print(f"Requests/sec: {len(latencies) / elapsed:.2f}")


if __name__ == "__main__":
    main()
