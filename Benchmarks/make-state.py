#!/usr/bin/env python3
"""A state with a realistic audit history for Benchmarks/analyze.sh.

Takes a fixture's state snapshot and adds, in the appkey of its first key store, STORES key stores of KEYS keys each
(created a second after the fixture's last event), then EVENTS description changes on those stores and keys spread
evenly over SPAN seconds from START (the generated log's time range), so that the state the analyser rebuilds at
each request's time keeps moving and every failed request's audit history is full. Changes come in pairs that
return each description to its first value, so the final state is consistent with the history.

    make-state.py STATE.json STORES KEYS EVENTS START SPAN-SECONDS OUT.json
"""
import copy
import datetime
import json
import sys


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)


def main():
    if len(sys.argv) != 8:
        sys.exit(__doc__)
    source, stores, keys, events, start, span, destination = sys.argv[1:]
    stores, keys, events, span = int(stores), int(keys), int(events), float(span)
    start = parse(start)
    state = json.load(open(source))
    template_store = state["keyStores"][0]
    appkey = template_store["appkey"]
    template_key = next(k for k in state["keys"] if k["type"] == "SYMMETRIC_KEY")
    template_version = next(v for v in state["keyVersions"] if v["keyId"] == template_key["id"])
    created = parse(max(e["time"] for e in state["events"])) + datetime.timedelta(seconds=1)
    sequence = 0
    history = []

    def event(time, action, kind, target, changes, **extra):
        history.append(dict(time=stamp(time), actor="cli:bench", action=action, appkey=appkey, targetKind=kind,
                            targetId=target, changes=changes, **extra))

    targets = []
    next_store = max(s["id"] for s in state["keyStores"]) + 1
    for store_index in range(stores):
        store = copy.deepcopy(template_store)
        store.update(id=next_store + store_index, name=f"bench-{store_index}", description="",
                     created={"at": stamp(created), "user": "cli:bench"},
                     lastChange={"at": stamp(created), "user": "cli:bench"})
        state["keyStores"].append(store)
        event(created, "keyStore.create", "KEY_STORE", str(store["id"]),
              [{"field": "name", "after": store["name"]}, {"field": "status", "after": "ACTIVE"}],
              keyStoreId=store["id"])
        targets.append(("keyStore.update", "KEY_STORE", str(store["id"]), {"keyStoreId": store["id"]}))
        for key_index in range(keys):
            key = copy.deepcopy(template_key)
            key_id = f"{store['id']:08x}{key_index:024x}"
            key.update(id=key_id, keyStoreId=store["id"], name=f"bench-{store_index}-{key_index}", description="",
                       created={"at": stamp(created), "user": "cli:bench"},
                       lastChange={"at": stamp(created), "user": "cli:bench"})
            state["keys"].append(key)
            version = copy.deepcopy(template_version)
            version.update(keyId=key_id, created={"at": stamp(created), "user": "cli:bench"},
                           lastChange={"at": stamp(created), "user": "cli:bench"})
            state["keyVersions"].append(version)
            event(created, "key.create", "KEY", key_id,
                  [{"field": "name", "after": key["name"]}, {"field": "type", "after": key["type"]},
                   {"field": "status", "after": "ACTIVE"}, {"field": "autoRotationPeriod", "after": "0"}],
                  keyStoreId=store["id"], keyId=key_id, keyVersion=0)
    pairs = max(1, events // 2)
    for index in range(pairs):
        action, kind, target, extra = targets[index % len(targets)]
        first = start + datetime.timedelta(seconds=span * (2 * index) / (2 * pairs))
        second = start + datetime.timedelta(seconds=span * (2 * index + 1) / (2 * pairs))
        event(first, action, kind, target, [{"field": "description", "before": "", "after": f"change {index}"}],
              **extra)
        event(second, action, kind, target, [{"field": "description", "before": f"change {index}", "after": ""}],
              **extra)
    # Existing events keep their order; the new ones follow by time.
    merged = state["events"] + history
    merged.sort(key=lambda e: (parse(e["time"]), e.get("sequence", 1 << 40)))
    for number, item in enumerate(merged, start=1):
        item["sequence"] = number
    state["events"] = merged
    state["generatedAt"] = stamp(start + datetime.timedelta(seconds=span + 60))
    json.dump(state, open(destination, "w"), indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
