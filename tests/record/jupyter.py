#!/usr/bin/env python3
"""Record a real Jupyter debugger session: ipykernel's debugger spoken to the way a
notebook frontend does, with jupyter_client (`debug_request` on the control channel,
`debug_reply` back, `debug_event`s on IOPub).

Usage (the Python with ipykernel and jupyter_client, installed by `bash .ci/install-peers`):

    .peers/venv/bin/python tests/record/jupyter.py [--out DIR]

Writes DIR/ipykernel-debugger/from-client.dap (every `debug_request`'s content, in order)
and from-adapter.dap (every `debug_reply`'s and `debug_event`'s content, in the order they
arrived; after each request, the events that came before its reply), each message
Content-Length framed as DAP frames are. DIR defaults to tests/fixtures/jupyter. The JSON
is the kernel's own text re-encoded compactly by Python (the messages travel inside
Jupyter messages, not as DAP frames); machine-specific paths are rewritten as in
record.py (see sanitize.py).

The session covers every request of the Jupyter additions to the DAP (dumpCell, debugInfo,
inspectVariables, richInspectVariables, copyToGlobals), stopped and not stopped, among
the standard requests around them.
"""

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from dapwire import DapError, split_frames  # noqa: E402
from record import REPO, Recording, free_port, log  # noqa: E402

from jupyter_client import BlockingKernelClient  # noqa: E402

WAIT = 60  # seconds for any single expected message

CELL = "def triple(v):\n    w = v * 3\n    return w\n\nresult = triple(5)\n"


def frame(msg):
    body = json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Session:
    def __init__(self, kc):
        self.kc = kc
        self.seq = 0
        self.client = []  # frames
        self.adapter = []
        self.events = []  # debug_event contents not yet looked at

    def drain_events(self, timeout=0.0):
        while True:
            try:
                msg = self.kc.iopub_channel.get_msg(timeout=timeout)
            except Exception:  # queue.Empty
                return
            if msg["msg_type"] == "debug_event":
                self.adapter.append(frame(msg["content"]))
                self.events.append(msg["content"])
            timeout = 0.0

    def request(self, command, arguments=None):
        self.seq += 1
        content = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            content["arguments"] = arguments
        self.client.append(frame(content))
        msg = self.kc.session.msg("debug_request", content)
        self.kc.control_channel.send(msg)
        deadline = time.monotonic() + WAIT
        while True:
            if time.monotonic() > deadline:
                raise DapError(f"no debug_reply to {command}")
            try:
                reply = self.kc.control_channel.get_msg(timeout=1)
            except Exception:  # queue.Empty
                continue
            if reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
                continue
            self.drain_events()
            self.adapter.append(frame(reply["content"]))
            log(f"  {command}: {json.dumps(reply['content'])[:100]}")
            return reply["content"]

    def execute(self, code):
        """Runs code in the kernel (shell channel), recording the debug events meanwhile."""
        self.execute_reply(self.kc.execute(code))

    def execute_reply(self, msg_id):
        """Waits for the execute_reply to msg_id, recording the debug events meanwhile."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            self.drain_events()
            try:
                reply = self.kc.get_shell_msg(timeout=0.2)
            except Exception:  # queue.Empty
                continue
            if reply["msg_type"] == "execute_reply" and reply["parent_header"].get("msg_id") == msg_id:
                self.drain_events(timeout=0.5)
                return reply
        raise DapError("no execute_reply")

    def wait_event(self, name):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for i, e in enumerate(self.events):
                if e.get("event") == name:
                    return self.events.pop(i)
            self.drain_events(timeout=1)
        raise DapError(f"no {name} event")


def record(rec, python):
    conn = {
        "shell_port": free_port(), "iopub_port": free_port(), "stdin_port": free_port(),
        "control_port": free_port(), "hb_port": free_port(), "ip": "127.0.0.1",
        "key": "dapkit-recorder", "transport": "tcp", "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }
    path = os.path.join(rec.work, "kernel.json")
    with open(path, "w") as f:
        json.dump(conn, f)
    env = dict(rec.env, TMPDIR=rec.work, JUPYTER_RUNTIME_DIR=rec.work,
               IPYTHONDIR=os.path.join(rec.work, "ipython"))
    rec.spawn([python, "-m", "ipykernel_launcher", "-f", path], env=env)
    kc = BlockingKernelClient(connection_file=path)
    kc.load_connection_file()
    kc.start_channels(hb=False)
    try:
        kc.wait_for_ready(timeout=120)
        s = Session(kc)
        s.request("initialize", {
            "clientID": "dapkit-recorder", "clientName": "dapkit recorder",
            "adapterID": "python", "locale": "en-us", "linesStartAt1": True,
            "columnsStartAt1": True, "pathFormat": "path", "supportsVariableType": True,
            "supportsVariablePaging": True, "supportsRunInTerminalRequest": True,
        })
        s.request("attach", {})
        s.request("debugInfo")
        s.execute("data = {'name': 'dapkit', 'items': [1, 2.5, 'three']}\nanswer = 42")
        # Not stopped: the globals, and a rich view of one of them.
        s.request("inspectVariables")
        s.request("richInspectVariables", {"variableName": "answer"})
        dumped = s.request("dumpCell", {"code": CELL})
        source = dumped["body"]["sourcePath"]
        s.request("setBreakpoints", {"source": {"path": source}, "breakpoints": [{"line": 3}]})
        s.request("debugInfo")
        s.request("configurationDone")
        cell = kc.execute(CELL)
        stopped = s.wait_event("stopped")
        thread = stopped["body"]["threadId"]
        trace = s.request("stackTrace", {"threadId": thread})
        frame_id = trace["body"]["stackFrames"][0]["id"]
        scopes = s.request("scopes", {"frameId": frame_id})
        s.request("variables", {"variablesReference": scopes["body"]["scopes"][0]["variablesReference"]})
        # Stopped: a local's rich view, and the local copied into the globals.
        s.request("richInspectVariables", {"variableName": "w", "frameId": frame_id})
        s.request("copyToGlobals", {"srcVariableName": "w", "dstVariableName": "copied_w",
                                    "srcFrameId": frame_id})
        s.request("continue", {"threadId": thread})
        s.execute_reply(cell)
        s.request("inspectVariables")
        s.request("disconnect", {"restart": False, "terminateDebuggee": False})
        s.drain_events(timeout=0.5)
    finally:
        kc.stop_channels()
        kc2 = BlockingKernelClient(connection_file=path)
        kc2.load_connection_file()
        try:
            kc2.shutdown()
        finally:
            kc2.stop_channels()
    for name, frames in (("from-client.dap", s.client), ("from-adapter.dap", s.adapter)):
        with open(os.path.join(rec.raw_dir, name), "wb") as f:
            f.write(b"".join(frames))


def verify_kernel_stream(data):
    """Every frame's length matches its body and every body is a JSON object with a
    `type` (ipykernel's replies may lack `seq`)."""
    frames = split_frames(data)
    for _, body in frames:
        msg = json.loads(body.decode("utf-8"))
        if not isinstance(msg, dict) or "type" not in msg:
            raise DapError(f"not a DAP message: {body[:80]!r}")
    return len(frames)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "jupyter"))
    args = parser.parse_args()
    rec = Recording("ipykernel-debugger")
    rec.add_python_prefixes(sys.executable)
    try:
        record(rec, sys.executable)
    finally:
        rec.cleanup()
    rec.finish(args.out, verify=verify_kernel_stream)


if __name__ == "__main__":
    main()
