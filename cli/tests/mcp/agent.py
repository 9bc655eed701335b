"""An AI agent's side of `dapkit mcp`, played by the official MCP Python SDK.

Run by cli/tests/mcp.rs: `python agent.py SCENARIO`, with DAPKIT_BIN (the dapkit binary),
DAPKIT_WORK (a scratch directory holding the programs), DAPKIT_CONFIG (the TOML config
naming the peers' python, gdb and dlv; lldb-dap is the preset's own lookup unless
DAPKIT_LLDB_DAP names one). Every check is an assert with a message; the script
prints one line per tool call (`> tool args` / `< answer`, cut) and `scenario ok` at the end.
"""

import asyncio
import json
import os
import sys
import time

import jsonschema
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

TOOLS = {
    "launch", "attach", "set_breakpoints", "continue", "step", "snapshot", "variables",
    "evaluate", "stack", "threads", "output", "pause", "terminate", "sessions",
}
WORK = os.environ["DAPKIT_WORK"]
TRANSCRIPT = []


def line_of(path, marker):
    with open(path) as f:
        for i, text in enumerate(f, 1):
            if marker in text:
                return i
    raise AssertionError(f"{marker} not in {path}")


class Agent:
    def __init__(self, session):
        self.s = session

    async def call(self, tool, args, expect_error=False, timeout=120):
        shown = json.dumps(args)
        print(f"> {tool} {shown[:300]}", flush=True)
        TRANSCRIPT.append({"call": tool, "arguments": args})
        r = await self.s.call_tool(tool, args, read_timeout_seconds=timeout)
        text = "".join(c.text for c in r.content if getattr(c, "type", "") == "text")
        print(f"< {'ERROR ' if r.is_error else ''}{text[:600]}", flush=True)
        TRANSCRIPT.append({"answer": text, "isError": bool(r.is_error)})
        if expect_error:
            assert r.is_error, f"{tool} {shown[:200]} should be a tool error, got {text[:500]}"
            return text
        assert not r.is_error, f"{tool} {shown[:200]} failed: {text}"
        return json.loads(text)


def local(snapshot, name):
    for scope in snapshot.get("scopes", []):
        for v in scope.get("variables", []):
            if v["name"] == name:
                return v
    raise AssertionError(f"no local {name} in {json.dumps(snapshot)[:2000]}")


async def list_tools(agent):
    tools = (await agent.s.list_tools()).tools
    names = {t.name for t in tools}
    assert names == TOOLS, f"tools: {sorted(names)}"
    for t in tools:
        jsonschema.Draft202012Validator.check_schema(t.input_schema)
        assert t.input_schema.get("type") == "object", f"{t.name}: {t.input_schema}"
        assert t.description, f"{t.name} has no description"
    launch = next(t for t in tools if t.name == "launch").input_schema
    assert set(launch["required"]) == {"adapter", "program"}, launch
    # A valid call validates against the schema; a wrong type does not.
    v = jsonschema.Draft202012Validator(launch)
    v.validate({"adapter": "debugpy", "program": "a.py", "breakpoints": [{"path": "a.py", "line": 3}]})
    assert not v.is_valid({"adapter": "debugpy", "program": "a.py", "breakpoints": [{"path": "a.py", "line": "x"}]})
    bp = next(t for t in tools if t.name == "set_breakpoints").input_schema
    jsonschema.Draft202012Validator(bp).validate(
        {"session": "s1", "path": "a.py", "breakpoints": [{"line": 3, "condition": "x > 1"}]})
    print(f"tools ok: {len(tools)} schemas valid", flush=True)


async def flow(agent, adapter, program, first, blank, final_output, evaluate, step_to, exit_code):
    """launch with a breakpoint → snapshot → step → evaluate → blank-line breakpoint →
    continue to the end."""
    stop = await agent.call("launch", {
        "adapter": adapter, "program": program, "cwd": WORK,
        "breakpoints": [{"path": program, "line": first}],
    })
    sid = stop["session"]
    assert stop["state"] == "stopped", stop
    assert stop["proxy"].startswith("127.0.0.1:"), stop
    assert stop["breakpoints"][0]["requestedLine"] == first and stop["breakpoints"][0]["verified"], stop
    assert stop["location"]["line"] == first, stop
    assert f">{first:>5} |" in stop["location"]["source"], stop["location"]
    snap = await agent.call("snapshot", {"session": sid, "depth": 2})
    assert snap["location"]["line"] == first, snap
    for name, value in evaluate["locals"].items():
        got = local(snap, name)["value"]
        assert value in got, f"{name} = {got}, expected {value}"
    stepped = await agent.call("step", {"session": sid, "kind": "over"})
    assert stepped["state"] == "stopped" and stepped["location"]["line"] == step_to, stepped
    ev = await agent.call("evaluate", {"session": sid, "expression": evaluate["expression"]})
    assert ev["result"] == evaluate["result"], ev
    bps = await agent.call("set_breakpoints", {"session": sid, "path": program, "breakpoints": [{"line": blank}]})
    b = bps["breakpoints"][0]
    assert b["requestedLine"] == blank, b
    assert (not b["verified"]) or b["line"] != blank, f"a blank-line breakpoint must be unverified or moved: {b}"
    print(f"blank line {blank}: verified={b['verified']} line={b.get('line')} message={b.get('message')}", flush=True)
    await agent.call("set_breakpoints", {"session": sid, "path": program, "breakpoints": []})
    threads = await agent.call("threads", {"session": sid})
    assert threads["threads"], threads
    stack = await agent.call("stack", {"session": sid})
    assert stack["frames"][0]["line"] == step_to, stack
    end = await agent.call("continue", {"session": sid, "waitSeconds": 60})
    assert end["state"] == "exited", end
    assert end["exitCode"] == exit_code, end
    out = await agent.call("output", {"session": sid})
    assert final_output in out["output"], out
    listed = await agent.call("sessions", {})
    assert [s["state"] for s in listed["sessions"] if s["session"] == sid] == ["exited"], listed
    done = await agent.call("terminate", {"session": sid})
    assert done["exitCode"] == exit_code, done
    listed = await agent.call("sessions", {})
    assert all(s["session"] != sid for s in listed["sessions"]), listed


async def scenario_debugpy(agent):
    await list_tools(agent)
    program = os.path.join(WORK, "prog.py")
    await flow(agent, "debugpy", program, line_of(program, "# FIRST"), line_of(program, "# FIRST") + 2,
               "done 42", {"locals": {"n": "7", "numbers": "[7, 14, 21]"},
                           "expression": "total * 2", "result": "84"},
               line_of(program, "# FIRST") + 1, 3)


async def scenario_gdb(agent):
    program = os.path.join(WORK, "prog")
    source = os.path.join(WORK, "prog.c")
    first = line_of(source, "/* FIRST */")
    # gdb stops at a breakpoint line, then `next` goes to the following statement.
    await flow_gdb(agent, program, source, first)


async def flow_gdb(agent, program, source, first):
    stop = await agent.call("launch", {
        "adapter": "gdb", "program": program, "cwd": WORK,
        "breakpoints": [{"path": source, "line": first}],
    })
    sid = stop["session"]
    assert stop["state"] == "stopped" and stop["location"]["line"] == first, stop
    # gdb answers setBreakpoints before the program is loaded (pending, unverified) and
    # binds it later with a `breakpoint` event: launch's answer reports it as bound.
    bp = stop["breakpoints"][0]
    assert bp["requestedLine"] == first and bp["verified"] and bp["line"] == first, stop
    snap = await agent.call("snapshot", {"session": sid})
    assert local(snap, "n")["value"] == "7", snap
    stepped = await agent.call("step", {"session": sid, "kind": "over"})
    assert stepped["location"]["line"] == first + 1, stepped
    ev = await agent.call("evaluate", {"session": sid, "expression": "total * 2"})
    assert ev["result"] == "84", ev
    blank = line_of(source, "/* BLANK */") + 1
    bps = await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": [{"line": blank}]})
    b = bps["breakpoints"][0]
    assert (not b["verified"]) or b["line"] != blank, f"a blank-line breakpoint must be unverified or moved: {b}"
    print(f"gdb blank line {blank}: verified={b['verified']} line={b.get('line')} message={b.get('message')}", flush=True)
    await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": []})
    end = await agent.call("continue", {"session": sid, "waitSeconds": 60})
    assert end["state"] == "exited" and end["exitCode"] == 3, end
    out = await agent.call("output", {"session": sid})
    assert "done 42" in out["output"], out
    await agent.call("terminate", {"session": sid})


async def scenario_lldb(agent):
    """lldb-dap (the preset, found in PATH) on the C program compiled with gcc -g."""
    program = os.path.join(WORK, "prog")
    source = os.path.join(WORK, "prog.c")
    first = line_of(source, "/* FIRST */")
    stop = await agent.call("launch", {
        "adapter": "lldb-dap", "program": program, "cwd": WORK,
        "breakpoints": [{"path": source, "line": first}],
    })
    sid = stop["session"]
    assert stop["state"] == "stopped" and stop["reason"] == "breakpoint", stop
    assert stop["location"]["line"] == first and stop["location"]["function"] == "first", stop
    assert f">{first:>5} |" in stop["location"]["source"], stop["location"]
    assert [f["name"] for f in stop["frames"][:2]] == ["first", "main"], stop["frames"]
    bp = stop["breakpoints"][0]
    assert bp["requestedLine"] == first and bp["verified"] and bp["line"] == first, stop
    # depth 2 expands the array: its elements are the real values.
    snap = await agent.call("snapshot", {"session": sid, "depth": 2})
    assert local(snap, "n")["value"] == "7", snap
    numbers = local(snap, "numbers")
    assert numbers.get("type") == "int[3]", numbers
    assert [c["value"] for c in numbers["children"]] == ["7", "14", "21"], numbers
    stepped = await agent.call("step", {"session": sid, "kind": "over"})
    assert stepped["state"] == "stopped" and stepped["reason"] == "step", stepped
    assert stepped["location"]["line"] == first + 1, stepped
    assert local(stepped, "total")["value"] == "42", stepped
    ev = await agent.call("evaluate", {"session": sid, "expression": "total * 2"})
    assert ev["result"] == "84", ev
    ev = await agent.call("evaluate", {"session": sid, "expression": "no_such_variable + 1"}, expect_error=True)
    assert "no_such_variable" in ev, ev
    blank = line_of(source, "/* BLANK */") + 1
    bps = await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": [{"line": blank}]})
    b = bps["breakpoints"][0]
    assert (not b["verified"]) or b["line"] != blank, f"a blank-line breakpoint must be unverified or moved: {b}"
    print(f"lldb-dap blank line {blank}: verified={b['verified']} line={b.get('line')} message={b.get('message')}", flush=True)
    await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": []})
    stack = await agent.call("stack", {"session": sid})
    assert stack["frames"][0]["line"] == first + 1, stack
    end = await agent.call("continue", {"session": sid, "waitSeconds": 60})
    assert end["state"] == "exited" and end["exitCode"] == 3, end
    out = await agent.call("output", {"session": sid})
    assert "done 42" in out["output"], out
    done = await agent.call("terminate", {"session": sid})
    assert done["exitCode"] == 3, done


async def scenario_delve(agent):
    source = os.path.join(WORK, "prog.go")
    first = line_of(source, "// FIRST")
    stop = await agent.call("launch", {
        "adapter": "delve", "program": source, "cwd": WORK, "waitSeconds": 120,
        "breakpoints": [{"path": source, "line": first}],
    }, timeout=200)
    sid = stop["session"]
    assert stop["state"] == "stopped" and stop["location"]["line"] == first, stop
    assert local(stop, "n")["value"] == "7", stop
    stepped = await agent.call("step", {"session": sid, "kind": "over"})
    assert stepped["location"]["line"] == first + 1, stepped
    ev = await agent.call("evaluate", {"session": sid, "expression": "total * 2"})
    assert ev["result"] == "84", ev
    blank = first + 2
    bps = await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": [{"line": blank}]})
    b = bps["breakpoints"][0]
    assert (not b["verified"]) or b["line"] != blank, f"a blank-line breakpoint must be unverified or moved: {b}"
    print(f"delve blank line {blank}: verified={b['verified']} line={b.get('line')} message={b.get('message')}", flush=True)
    await agent.call("set_breakpoints", {"session": sid, "path": source, "breakpoints": []})
    end = await agent.call("continue", {"session": sid, "waitSeconds": 60})
    # delve ends with `terminated` and no `exited` event; the exit status comes in a console
    # line once the session is disconnected, which `continue` does after `terminated`.
    assert end["state"] == "exited" and end["exitCode"] == 3, end
    done = await agent.call("terminate", {"session": sid})
    assert done["exitCode"] == 3, done


async def scenario_running(agent):
    program = os.path.join(WORK, "forever.py")
    started = await agent.call("launch", {"adapter": "debugpy", "program": program, "cwd": WORK})
    sid = started["session"]
    assert started["state"] == "running", started
    t0 = time.monotonic()
    r = await agent.call("continue", {"session": sid, "waitSeconds": 2})
    took = time.monotonic() - t0
    assert r["state"] == "running", r
    # Returns at the deadline, not after some longer timeout (a generous bound on a loaded machine).
    assert took < 20, f"continue with waitSeconds 2 took {took:.1f} s"
    r = await agent.call("continue", {"session": sid, "waitSeconds": 1})
    assert r["state"] == "running", r
    stopped = await agent.call("pause", {"session": sid})
    assert stopped["state"] == "stopped", stopped
    assert stopped["reason"] == "pause", stopped
    count = int(local(stopped, "count")["value"])
    assert count > 0, stopped
    r = await agent.call("terminate", {"session": sid})
    assert r["state"] == "exited", r


async def scenario_attach(agent):
    """attach: debugpy's adapter listens, the program connects to it (`debugpy --connect`),
    a breakpoint given to attach stops it, the agent reads a local and ends it."""
    import socket
    import subprocess
    program = os.path.join(WORK, "forever.py")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    async def start_debuggee():
        # After the adapter has had time to listen; the attach call waits for the program.
        await asyncio.sleep(2)
        return subprocess.Popen(
            [sys.executable, "-m", "debugpy", "--connect", f"127.0.0.1:{port}", program],
            cwd=WORK, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    starter = asyncio.create_task(start_debuggee())
    line = line_of(program, "count += 1")
    debuggee = None
    try:
        attached = await agent.call("attach", {
            "adapter": "debugpy", "listen": {"host": "127.0.0.1", "port": port},
            "breakpoints": [{"path": program, "line": line}],
        })
        debuggee = await starter
        sid = attached["session"]
        assert attached["proxy"].startswith("127.0.0.1:"), attached
        assert attached["breakpoints"][0]["verified"], attached
        stop = await agent.call("continue", {"session": sid, "waitSeconds": 30})
        assert stop["state"] == "stopped" and stop["reason"] == "breakpoint", stop
        assert stop["location"]["line"] == line, stop
        assert int(local(stop, "count")["value"]) >= 0, stop
        ev = await agent.call("evaluate", {"session": sid, "expression": "count + 1000"})
        assert int(ev["result"]) >= 1000, ev
        await agent.call("terminate", {"session": sid})
    finally:
        if debuggee is None:
            debuggee = await starter
        debuggee.kill()
        debuggee.wait(timeout=10)


async def scenario_huge(agent):
    program = os.path.join(WORK, "huge.py")
    stop = await agent.call("launch", {
        "adapter": "debugpy", "program": program, "cwd": WORK,
        "breakpoints": [{"path": program, "line": line_of(program, "# STOP")}],
    })
    sid = stop["session"]
    for depth in (1, 2, 4):
        r = await agent.s.call_tool("snapshot", {"session": sid, "depth": depth, "frames": 100})
        text = r.content[0].text
        assert not r.is_error, text[:1000]
        size = len(text.encode())
        assert size < 64 * 1024, f"snapshot at depth {depth} is {size} bytes"
        print(f"snapshot depth {depth}: {size} bytes", flush=True)
    snap = json.loads(text)
    big = local(snap, "big")
    assert "variablesReference" in big, big
    text_var = local(snap, "text")
    assert len(text_var["value"].encode()) <= 2048, text_var
    page = await agent.call("variables", {"session": sid, "reference": big["variablesReference"], "count": 1000})
    assert len(page["variables"]) <= 100 and page.get("more"), {k: page[k] for k in ("more", "start")}
    page2 = await agent.call("variables", {"session": sid, "reference": big["variablesReference"], "start": 500000, "count": 5})
    print("page at 500000:", [v["name"] for v in page2["variables"]], flush=True)
    ev = await agent.call("evaluate", {"session": sid, "expression": "text"})
    assert len(ev["result"].encode()) <= 2048 and ev.get("resultTruncated"), {k: v for k, v in ev.items() if k != "result"}
    await agent.call("terminate", {"session": sid})


async def scenario_join(agent):
    """Holds a stopped session; prints its proxy address; waits for the Rust side (a dapkit
    Client) to read the stack and take control; then sees its own continue refused."""
    program = os.path.join(WORK, "prog.py")
    first = line_of(program, "# FIRST")
    stop = await agent.call("launch", {
        "adapter": "debugpy", "program": program, "cwd": WORK,
        "breakpoints": [{"path": program, "line": first}],
    })
    sid = stop["session"]
    listed = await agent.call("sessions", {})
    proxy = next(s["proxy"] for s in listed["sessions"] if s["session"] == sid)
    stack = await agent.call("stack", {"session": sid})
    print("JOIN " + json.dumps({"proxy": proxy, "thread": stack["thread"],
                                "top": [stack["frames"][0]["name"], stack["frames"][0]["line"]]}), flush=True)
    answer = await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    assert answer.strip() == "taken", f"the person side said {answer!r}"
    refused = await agent.call("continue", {"session": sid, "waitSeconds": 1}, expect_error=True)
    assert "observer cannot send continue" in refused, refused
    # Reading still works for the agent as an observer.
    await agent.call("stack", {"session": sid})
    await agent.call("terminate", {"session": sid})


async def scenario_joined(agent):
    """`dapkit mcp --join ADDR`: a person's debugpy session (stopped at # FIRST) is s1."""
    for _ in range(50):
        listed = await agent.call("sessions", {})
        if listed["sessions"] and listed["sessions"][0]["state"] == "stopped":
            break
        await asyncio.sleep(0.2)
    s = listed["sessions"][0]
    assert s["joined"] and s["session"] == "s1" and s["state"] == "stopped", listed
    assert s["proxy"] == os.environ["DAPKIT_JOIN"], listed
    snap = await agent.call("snapshot", {"session": "s1"})
    program = os.path.join(WORK, "prog.py")
    assert snap["location"]["line"] == line_of(program, "# FIRST"), snap
    assert local(snap, "n")["value"] == "7", snap
    ev = await agent.call("evaluate", {"session": "s1", "expression": "n * 6"})
    assert ev["result"] == "42", ev
    # The person controls the session: the agent reads, its continue is refused.
    refused = await agent.call("continue", {"session": "s1", "waitSeconds": 1}, expect_error=True)
    assert "observer cannot send continue" in refused, refused
    await agent.call("terminate", {"session": "s1"})


async def scenario_hostile(agent):
    program = os.path.join(WORK, "prog.py")
    e = await agent.call("snapshot", {"session": "s999"}, expect_error=True)
    assert "unknown session `s999`" in e, e
    e = await agent.call("launch", {"adapter": "bash", "program": program}, expect_error=True)
    assert "unknown adapter `bash`" in e, e
    e = await agent.call("launch", {"adapter": "debugpy"}, expect_error=True)
    assert "missing field `program`" in e, e
    e = await agent.call("launch", {"adapter": "debugpy", "program": program, "breakpoints": [{"path": program, "line": "x"}]}, expect_error=True)
    assert "invalid type" in e, e
    e = await agent.call("launch", {"adapter": 5, "program": program}, expect_error=True)
    assert "invalid type" in e, e
    e = await agent.call("variables", {"session": "s1", "reference": -3}, expect_error=True)
    assert "reference must be" in e, e
    e = await agent.call("evaluate", {"session": "s1", "expression": "x" * (1 << 20)}, expect_error=True)
    assert "at most" in e, e
    e = await agent.call("step", {"session": "s1", "kind": "sideways"}, expect_error=True)
    assert "unknown variant `sideways`" in e, e
    e = await agent.call("continue", {"session": "s1", "waitSeconds": -1}, expect_error=True)
    e = await agent.call("launch", {"adapter": "debugpy", "program": os.path.join(WORK, "missing.py"), "stopOnEntry": True, "waitSeconds": 20}, expect_error=False)
    # debugpy starts, the program fails to run: the answer says the session ended.
    assert e["state"] == "exited", e
    await agent.call("terminate", {"session": e["session"]})
    # A real session still works after all of that.
    stop = await agent.call("launch", {"adapter": "debugpy", "program": program, "stopOnEntry": True})
    assert stop["state"] == "stopped", stop
    e = await agent.call("evaluate", {"session": stop["session"], "expression": "1 +"}, expect_error=True)
    assert "SyntaxError" in e or "invalid syntax" in e, e
    e = await agent.call("variables", {"session": stop["session"], "reference": 987654}, expect_error=True)
    await agent.call("terminate", {"session": stop["session"]})
    listed = await agent.call("sessions", {})
    assert listed["sessions"] == [], listed


async def main(scenario):
    params = StdioServerParameters(
        command=os.environ["DAPKIT_BIN"],
        args=["mcp", "--config", os.environ["DAPKIT_CONFIG"]]
        + (["--join", os.environ["DAPKIT_JOIN"]] if os.environ.get("DAPKIT_JOIN") else []),
    )
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await globals()[f"scenario_{scenario}"](Agent(session))
    if os.environ.get("DAPKIT_TRANSCRIPT"):
        with open(os.environ["DAPKIT_TRANSCRIPT"], "w") as f:
            json.dump(TRANSCRIPT, f, indent=1)
    print(f"{scenario} ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
