#!/usr/bin/env python3
"""Scan the recorded fixtures and list the protocol quirks each file actually holds.

Usage: python3 tests/record/quirks.py [FIXTURES_DIR]

The README's quirk list is written from this script's output, so every claim
there can be re-checked against the bytes.
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dapwire import split_frames  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LONG_FLOAT = re.compile(rb"(?<![\w.\"])-?\d+\.\d{15,}(?:[eE][-+]?\d+)?")
ESCAPED_NON_ASCII = re.compile(rb"\\u00[89a-fA-F][0-9a-fA-F]|\\u0[1-9a-fA-F][0-9a-fA-F]{2}|\\u[1-9a-fA-F][0-9a-fA-F]{3}")


def top_level_key_order(body: bytes):
    return list(json.loads(body.decode("utf-8")).keys())


def scan_file(path):
    data = open(path, "rb").read()
    found = {}

    def note(name, detail):
        found.setdefault(name, []).append(detail)

    frames = split_frames(data)
    orders = set()
    for index, (_header, body) in enumerate(frames, start=1):
        msg = json.loads(body.decode("utf-8"))
        where = f"#{index} seq {msg.get('seq')}"
        kind = msg.get("type")
        orders.add(tuple(k for k in top_level_key_order(body) if k in ("seq", "type", "command", "event", "body")))
        if msg.get("seq") == 0:
            note("seq 0", where)
        if kind == "event" and msg.get("event") in ("debugpySockets", "debugpyWaitingForServer", "capabilities"):
            note(f"event {msg['event']}", where)
        if kind == "request" and msg.get("command") == "runInTerminal":
            note("reverse request runInTerminal", where)
        if kind == "response":
            cmd = msg.get("command")
            if cmd == "runInTerminal":
                note("runInTerminal response", f"{where} body {json.dumps(msg.get('body'))}")
            if msg.get("success") is False:
                label = "failed response with body" if "body" in msg else "failed response without body"
                note(label, f"{where} {cmd}")
            elif "body" not in msg:
                note("successful response without body key", f"{where} {cmd}")
            elif msg.get("body") == {}:
                note("body: {}", f"{where} {cmd}")
            if cmd == "dapkitUnknownCommand":
                note("unknown command answered", f"{where} success={msg.get('success')}")
        if kind == "event" and "body" not in msg:
            note("event without body", f"{where} {msg.get('event')}")
        for m in LONG_FLOAT.finditer(body):
            note("17-significant-digit float", f"{where} {m.group(0).decode()}")
        if ESCAPED_NON_ASCII.search(body):
            note("\\uXXXX escape of non-ASCII", where)
        if any(b >= 0x80 for b in body):
            note("raw UTF-8 non-ASCII bytes", where)
        if b"{}" in body:
            note("empty object {} somewhere", where)
        if re.search(rb'"\$__lldb', body):
            note("lldb $__lldb_* custom key", where)
        if b"\\r\\n" in body:
            note("escaped CRLF inside a string", where)
    first = frames and top_level_key_order(frames[0][1])
    sorted_keys = all(top_level_key_order(b) == sorted(top_level_key_order(b)) for _, b in frames)
    return found, orders, sorted_keys, len(frames), len(data), first


def main(argv):
    root = argv[0] if argv else os.path.join(REPO, "tests", "fixtures", "traffic")
    for session in sorted(os.listdir(root)):
        sdir = os.path.join(root, session)
        if not os.path.isdir(sdir):
            continue
        for fname in ("from-client.dap", "from-adapter.dap"):
            path = os.path.join(sdir, fname)
            found, orders, sorted_keys, count, size, _ = scan_file(path)
            print(f"== {session}/{fname}: {size} bytes, {count} messages, "
                  f"top-level keys sorted: {sorted_keys}")
            print("   key orders (seq/type/command/event/body):",
                  sorted({"/".join(o) for o in orders}))
            for name in sorted(found):
                items = found[name]
                shown = "; ".join(items[:4]) + (f"; ... ({len(items)} total)" if len(items) > 4 else "")
                print(f"   {name}: {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
