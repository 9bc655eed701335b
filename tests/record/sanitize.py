"""Rewrite machine-specific path prefixes in recorded DAP streams.

Only the JSON body text changes, by plain byte substitution; each
Content-Length header is then recomputed from the new body. Every other byte
(key order, spacing, number spellings, escapes, other header lines) is kept.
"""

import json
import re

from dapwire import DapError, HEADER_END, split_frames

# Substrings that must never appear in a committed fixture.
FORBIDDEN = [b"/root", b"/tmp", b"/work", b".pyenv"]


def rewrite_header(header: bytes, length: int) -> bytes:
    lines = []
    for line in header.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            # keep the exact spelling of the name and the spacing after the colon
            spaces = value[: len(value) - len(value.lstrip())]
            line = name + b":" + spaces + str(length).encode("ascii")
        lines.append(line)
    return b"\r\n".join(lines)


def sanitize_stream(data: bytes, replacements):
    """Apply `replacements` ([(old_bytes, new_bytes)], in order) to each body.

    Returns (new_stream, frame_count, bodies_changed).
    """
    out = []
    changed = 0
    frames = split_frames(data)
    for header, body in frames:
        new = body
        for old, repl in replacements:
            new = new.replace(old, repl)
        if new != body:
            changed += 1
            # the substitution must leave the body valid JSON
            json.loads(new.decode("utf-8"))
        out.append(rewrite_header(header, len(new)) + HEADER_END + new)
    return b"".join(out), len(frames), changed


def check_clean(data: bytes, extra_forbidden=()):
    """Raise DapError naming the first machine-specific string still present."""
    for bad in FORBIDDEN + [x for x in extra_forbidden if x]:
        if isinstance(bad, bytes):
            idx = data.find(bad)
            if idx >= 0:
                raise DapError(f"fixture still contains {bad!r}: ...{data[max(0, idx - 60):idx + 60]!r}...")
        else:  # compiled regex
            m = bad.search(data)
            if m:
                raise DapError(f"fixture still contains {m.group(0)!r}")


def hostname_pattern(host: str):
    """A regex matching the host name as a whole word (it may be short)."""
    return re.compile(rb"(?<![A-Za-z0-9_.-])" + re.escape(host.encode()) + rb"(?![A-Za-z0-9_-])")


def verify_stream(data: bytes):
    """Every frame's length matches its body and every body is a JSON object."""
    frames = split_frames(data)
    for header, body in frames:
        msg = json.loads(body.decode("utf-8"))
        if not isinstance(msg, dict) or "seq" not in msg or "type" not in msg:
            raise DapError(f"not a DAP message: {body[:80]!r}")
    return len(frames)
