"""The `continue` tool through the real `dapkit mcp` stdio process vs a direct DAP client.

Both sides debug the same Python loop under real debugpy (`.ci/install-peers`), each with
its own adapter, stopping at the same breakpoint; the stops alternate between the sides
(one MCP stop, one direct stop, then the other way round, ...) so both see the same
machine load. Per stop:

- mcp: the official MCP Python SDK (`mcp`) calls the `continue` tool of `dapkit mcp`
  (JSON-RPC over the server's stdin/stdout; the server's session runs debugpy behind its
  in-process proxy) and waits for the answer, the next stop's snapshot (stackTrace,
  scopes, variables of the locals, the source excerpt);
- direct: a plain DAP client (Content-Length framing over the adapter's stdin/stdout,
  asyncio, in this process) sends `continue`, waits for the `stopped` event and fetches
  stackTrace (10 levels) + scopes + variables of the locals itself.

Both times run from sending `continue` to the snapshot in hand, so they include the
debuggee running to the next stop; the difference is what the MCP path adds (the JSON-RPC
hop both ways, the proxy hop, building the bounded snapshot). Prints the medians and their
ratio (mcp / direct) and the load average. It runs itself, and each side's adapter, in a
session of its own, as the MCP SDK starts `dapkit mcp` (see the end of the file). Run with
the peers' Python:

    cargo build --release -p dapkit-cli
    .peers/venv/bin/python mcp/benches/stdio_roundtrip.py --dapkit target/release/dapkit
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client

PROGRAM = """total = 0
for i in range(400):
    item = {"i": i, "square": i * i, "label": "item %d" % i}
    total += i  # BREAK
print("done", total)
"""
WAIT = 60


class Dap:
    """A minimal DAP client over an adapter's stdio."""

    def __init__(self, proc):
        self.proc = proc
        self.seq = 0
        self.events = []

    async def send(self, command, arguments=None):
        self.seq += 1
        msg = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        body = json.dumps(msg).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self.proc.stdin.drain()
        return self.seq

    async def read(self):
        length = None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                raise EOFError("the adapter closed its stdout")
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return json.loads(await self.proc.stdout.readexactly(length))

    async def until(self, pred):
        while True:
            msg = await asyncio.wait_for(self.read(), WAIT)
            if pred(msg):
                return msg
            # Kept for a later `event` call: the ones waited for (others are dropped).
            if msg.get("type") == "event" and msg["event"] in ("initialized", "stopped"):
                self.events.append(msg)

    async def event(self, name):
        for i, e in enumerate(self.events):
            if e["event"] == name:
                return self.events.pop(i)
        return await self.until(lambda m: m.get("type") == "event" and m["event"] == name)

    async def request(self, command, arguments=None):
        seq = await self.send(command, arguments)
        r = await self.until(lambda m: m.get("type") == "response" and m["request_seq"] == seq)
        assert r["success"], r
        return r


async def direct_start(python, program, line):
    proc = await asyncio.create_subprocess_exec(
        python, "-m", "debugpy.adapter",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, limit=1 << 24,
        # Started as the MCP SDK starts `dapkit mcp` (and so its debugpy): in its own
        # session (with the kernel's autogroup scheduling, both sides then get the same
        # share of a loaded machine) and with the SDK's default environment.
        start_new_session=True, env=get_default_environment())
    dap = Dap(proc)
    await dap.request("initialize", {"adapterID": "debugpy", "linesStartAt1": True,
                                     "pathFormat": "path"})
    launched = await dap.send("launch", {"type": "python", "request": "launch", "program": program,
                                         "console": "internalConsole"})
    await dap.event("initialized")
    await dap.request("setBreakpoints", {"source": {"path": program}, "breakpoints": [{"line": line}]})
    await dap.request("configurationDone")
    await dap.until(lambda m: m.get("type") == "response" and m["request_seq"] == launched)
    stop = await dap.event("stopped")
    return dap, stop["body"].get("threadId", 1)


async def direct_stop(dap, thread):
    """continue → stopped → stackTrace + scopes + variables; returns the seconds taken."""
    t0 = time.perf_counter()
    await dap.request("continue", {"threadId": thread})
    await dap.event("stopped")
    trace = await dap.request("stackTrace", {"threadId": thread, "levels": 10})
    frame = trace["body"]["stackFrames"][0]["id"]
    scopes = await dap.request("scopes", {"frameId": frame})
    ref = scopes["body"]["scopes"][0]["variablesReference"]
    variables = await dap.request("variables", {"variablesReference": ref, "count": 101})
    took = time.perf_counter() - t0
    assert any(v["name"] == "item" for v in variables["body"]["variables"]), variables
    return took


async def mcp_stop(session, sid):
    t0 = time.perf_counter()
    r = await session.call_tool("continue", {"session": sid, "waitSeconds": WAIT})
    took = time.perf_counter() - t0
    answer = json.loads(r.content[0].text)
    assert not r.is_error and answer["state"] == "stopped", answer
    names = [v["name"] for s in answer["scopes"] for v in s.get("variables", [])]
    assert "item" in names, answer
    return took


async def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dapkit", required=True, help="the dapkit binary (a release build)")
    ap.add_argument("--stops", type=int, default=50, help="stops measured per side")
    args = ap.parse_args()
    assert 1 <= args.stops <= 300, "--stops between 1 and 300 (the loop stops 400 times)"
    with tempfile.TemporaryDirectory(prefix="dapkit-mcp-bench-") as tmp:
        program = os.path.join(tmp, "loop.py")
        with open(program, "w") as f:
            f.write(PROGRAM)
        line = next(i for i, t in enumerate(PROGRAM.splitlines(), 1) if "# BREAK" in t)
        config = os.path.join(tmp, "mcp.toml")
        with open(config, "w") as f:
            f.write(f"python = {json.dumps(sys.executable)}\n")
        params = StdioServerParameters(command=args.dapkit, args=["mcp", "--config", config])
        dap, thread = await direct_start(sys.executable, program, line)
        try:
            async with stdio_client(params) as (read, write):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    r = await session.call_tool("launch", {
                        "adapter": "debugpy", "program": program, "cwd": tmp,
                        "breakpoints": [{"path": program, "line": line}]})
                    first = json.loads(r.content[0].text)
                    assert not r.is_error and first["state"] == "stopped", first
                    sid = first["session"]
                    # Warm-up: one stop each, not counted.
                    await mcp_stop(session, sid)
                    await direct_stop(dap, thread)
                    via_mcp, direct = [], []
                    for i in range(args.stops):
                        # Which side goes first alternates too (no order bias).
                        if i % 2 == 0:
                            via_mcp.append(await mcp_stop(session, sid))
                            direct.append(await direct_stop(dap, thread))
                        else:
                            direct.append(await direct_stop(dap, thread))
                            via_mcp.append(await mcp_stop(session, sid))
                    await session.call_tool("terminate", {"session": sid})
        finally:
            try:
                await asyncio.wait_for(dap.request("disconnect", {"terminateDebuggee": True}), 10)
            except (Exception, asyncio.TimeoutError):
                pass
            if dap.proc.returncode is None:
                dap.proc.kill()
            await dap.proc.wait()
    m, d = statistics.median(via_mcp), statistics.median(direct)
    print(f"stops per side: {args.stops} (alternating)")
    print(f"direct DAP client, continue -> snapshot: median {d * 1e3:.1f} ms")
    print(f"dapkit mcp over stdio, continue tool:     median {m * 1e3:.1f} ms")
    print(f"ratio mcp/direct: {m / d:.2f}x")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    if os.getsid(0) != os.getpid():
        # Run in a session of its own: with the kernel's autogroup scheduling, a client
        # that shares its group with a busy build waits for the CPU at each message it
        # handles, and the direct side handles five per stop where the MCP side handles one.
        sys.exit(subprocess.run([sys.executable] + sys.argv, start_new_session=True).returncode)
    asyncio.run(main())
