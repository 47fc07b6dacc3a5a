#!/usr/bin/env python3
"""The script a user would write instead of `skm analyze`: count a request log's failures by message (orjson)."""
import collections
import sys

import orjson

counts = collections.Counter()
with open(sys.argv[1], "rb") as log:
    for line in log:
        record = orjson.loads(line)
        if not record["response"]["isSuccessful"]:
            counts[record["response"]["resultMessage"]] += 1
for message, count in counts.most_common():
    print(f"{count:>10} {message}")
