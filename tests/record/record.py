#!/usr/bin/env python3
"""Record real DAP traffic between a scripted client and a real debug adapter.

Usage: python3 tests/record/record.py [--out DIR] SESSION [SESSION...]
       python3 tests/record/record.py --list

Each session writes tests/fixtures/traffic/SESSION/from-client.dap and
from-adapter.dap: the exact Content-Length framed bytes each peer sent, after
machine-specific path prefixes in the JSON bodies were rewritten (see
sanitize.py). Python 3 standard library only.

Peers are found through environment variables, else default places:
  DAPKIT_PEER_PYTHON  python with debugpy (default: <repo>/.peers/venv/bin/python,
                      installed by `bash .ci/install-peers`)
  DAPKIT_LLDB_DAP     lldb-dap binary (default: /usr/lib/llvm-22/bin/lldb-dap)
  DAPKIT_GDB          gdb >= 14 with DAP support (default: gdb on PATH)
"""

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import programs  # noqa: E402
import sanitize  # noqa: E402
from dapwire import Client, DapError, PipeTransport, SocketTransport  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(REPO, "tests", "fixtures", "traffic")
WAIT = 30  # seconds for any single expected message


def log(text):
    print(text, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def peer_python():
    path = os.environ.get("DAPKIT_PEER_PYTHON") or os.path.join(REPO, ".peers", "venv", "bin", "python")
    if not os.path.exists(path):
        raise DapError(f"no debugpy interpreter at {path}: run `bash .ci/install-peers`")
    return path


class Recording:
    """Temp dirs, child processes and the path rewrites for one session."""

    def __init__(self, name):
        self.name = name
        self.work = os.path.realpath(tempfile.mkdtemp(prefix="dapkit-rec-"))
        self.prog_dir = os.path.join(self.work, "demo")
        self.raw_dir = os.path.join(self.work, "raw")
        os.makedirs(self.prog_dir)
        os.makedirs(self.raw_dir)
        self.children = []  # Popen objects we started
        self.loose_pids = []  # (pid, parent Popen) started by a shell we started
        home = os.path.expanduser("~")
        # a small, explicit environment: nothing of the recording machine's leaks in
        self.env = {
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "HOME": home,
            "LANG": "C.UTF-8",
        }
        self.replacements = [(self.prog_dir, "/src/demo")]
        self.replacements.append((self.work, "/src/scratch"))

    def add_python_prefixes(self, python):
        out = subprocess.run(
            [python, "-c", "import sys; print(sys.prefix); print(sys.base_prefix); print(sys.base_exec_prefix)"],
            capture_output=True, text=True, check=True, timeout=30)
        prefix, base, base_exec = out.stdout.split("\n")[:3]
        if prefix != base:
            self.replacements.append((os.path.realpath(prefix), "/opt/venv"))
            self.replacements.append((prefix, "/opt/venv"))
        self.replacements.append((os.path.realpath(base), "/opt/python"))
        self.replacements.append((base, "/opt/python"))
        self.replacements.append((base_exec, "/opt/python"))
        pyenv = os.path.join(os.path.expanduser("~"), ".pyenv")
        self.replacements.append((pyenv, "/opt/python-builds"))

    def write_program(self, filename, text):
        path = os.path.join(self.prog_dir, filename)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def spawn(self, args, **kw):
        kw.setdefault("env", self.env)
        kw.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in kw:
            kw["stdout"] = open(os.path.join(self.work, "child-%d.log" % len(self.children)), "wb")
            kw["stderr"] = subprocess.STDOUT
        proc = subprocess.Popen(args, **kw)
        self.children.append(proc)
        return proc

    def run_in_terminal(self, client, req):
        """Handle the `runInTerminal` reverse request: run its args for real."""
        args = req.get("arguments") or {}
        env = dict(self.env)
        for key, value in (args.get("env") or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        cwd = args.get("cwd") or None
        argv = args.get("args") or []
        rfd, wfd = os.pipe()
        # The shell starts the command in the background, reports its pid on a
        # pipe, then waits: processId is the command, shellProcessId the shell.
        if args.get("argsCanBeInterpretedByShell"):
            script = "%s & echo $! >&%d; wait $!" % (" ".join(argv), wfd)
            shell_args = ["/bin/sh", "-c", script]
        else:
            script = '"$@" & echo $! >&%d; wait $!' % wfd
            shell_args = ["/bin/sh", "-c", script, "sh"] + list(argv)
        try:
            shell = self.spawn(shell_args, cwd=cwd, env=env, pass_fds=(wfd,),
                               stdout=open(os.path.join(self.work, "terminal.log"), "ab"),
                               stderr=subprocess.STDOUT)
        except OSError as err:
            os.close(rfd)
            os.close(wfd)
            client.respond(req, success=False, message=f"could not start terminal: {err}")
            return
        os.close(wfd)
        pid = None
        ready, _, _ = select.select([rfd], [], [], 10)
        if ready:
            text = os.read(rfd, 64).decode("ascii", "replace").strip()
            if text.isdigit():
                pid = int(text)
        os.close(rfd)
        if pid is None:
            client.respond(req, success=False, message="terminal command did not start")
            return
        self.loose_pids.append((pid, shell))
        client.respond(req, body={"processId": pid, "shellProcessId": shell.pid})

    def cleanup(self):
        for pid, parent in self.loose_pids:
            if parent.poll() is None:  # still the shell's child, so the pid is ours
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for proc in self.children:
            if proc.poll() is None:
                try:
                    proc.wait(3)
                except subprocess.TimeoutExpired:
                    log(f"  killing child pid {proc.pid}")
                    proc.kill()
                    proc.wait(5)

    def finish(self, fixtures=FIXTURES, verify=sanitize.verify_stream):
        """Sanitize the raw streams into the fixtures directory and check them (`verify`
        returns a stream's frame count, raising DapError for a frame it refuses)."""
        out_dir = os.path.join(fixtures, self.name)
        os.makedirs(out_dir, exist_ok=True)
        # longest prefix first, so a nested prefix is never half rewritten
        pairs = list(self.replacements) + [(REPO, "/src/dapkit")]
        home = os.path.expanduser("~")
        if home not in ("/", ""):
            pairs.append((home, "/home/user"))
        reps = sorted({(a.encode(), b.encode()) for a, b in pairs if a}, key=lambda p: -len(p[0]))
        host = socket.gethostname()
        forbidden = [sanitize.hostname_pattern(host)] if host else []
        summary = {}
        for fname in ("from-client.dap", "from-adapter.dap"):
            with open(os.path.join(self.raw_dir, fname), "rb") as f:
                raw = f.read()
            clean, count, changed = sanitize.sanitize_stream(raw, reps)
            sanitize.check_clean(clean, forbidden)
            if verify(clean) != count:
                raise DapError(f"{fname}: frame count changed while sanitizing")
            with open(os.path.join(out_dir, fname), "wb") as f:
                f.write(clean)
            summary[fname] = (len(clean), count, changed)
            log(f"  {self.name}/{fname}: {len(clean)} bytes, {count} messages, {changed} rewritten")
        return summary


def initialize_args(adapter_id):
    return {
        "clientID": "dapkit-recorder",
        "clientName": "dapkit recorder",
        "adapterID": adapter_id,
        "locale": "en-us",
        "linesStartAt1": True,
        "columnsStartAt1": True,
        "pathFormat": "path",
        "supportsVariableType": True,
        "supportsVariablePaging": True,
        "supportsRunInTerminalRequest": True,
        "supportsMemoryReferences": True,
        "supportsProgressReporting": True,
        "supportsInvalidatedEvent": True,
        "supportsMemoryEvent": True,
        "supportsArgsCanBeInterpretedByShell": True,
    }


def find_var(resp, name):
    for var in resp["body"]["variables"]:
        if var["name"] == name:
            return var
    raise DapError(f"no variable {name!r} in {[v['name'] for v in resp['body']['variables']]}")


def stop_and_wait(c, command, args, what="stopped"):
    """Send a request that resumes execution; wait for its response and the next stop."""
    mark = c.mark()
    c.wait_response(c.request(command, args), WAIT)
    return c.wait_event(what, after=mark, timeout=WAIT)


def inspect_top_frame(c, thread_id, expand):
    """stackTrace -> scopes -> variables of the first scope, expanding `expand` names."""
    st = c.call("stackTrace", {"threadId": thread_id, "startFrame": 0, "levels": 20})
    frame_id = st["body"]["stackFrames"][0]["id"]
    scopes = c.call("scopes", {"frameId": frame_id})
    local_ref = scopes["body"]["scopes"][0]["variablesReference"]
    local_vars = c.call("variables", {"variablesReference": local_ref})
    for path in expand:
        resp = local_vars
        for name in path:
            var = find_var(resp, name)
            resp = c.call("variables", {"variablesReference": var["variablesReference"]})
    return frame_id


def finish_session(c, disconnect_args):
    """Disconnect and wait (bounded) for the adapter to close the connection."""
    c.call("disconnect", disconnect_args, timeout=WAIT)
    c.wait_closed(5)


# ---------------------------------------------------------------- sessions
def session_debugpy_launch(rec):
    python = peer_python()
    rec.add_python_prefixes(python)
    prog = rec.write_program("demo.py", programs.DEMO_PY)
    src = programs.DEMO_PY
    port = free_port()
    rec.spawn([python, "-m", "debugpy.adapter", "--host", "127.0.0.1", "--port", str(port)])
    c = Client(SocketTransport.connect_retry("127.0.0.1", port, WAIT), rec.raw_dir, log)
    c.reverse_handlers["runInTerminal"] = rec.run_in_terminal
    try:
        init = c.call("initialize", initialize_args("python"))
        offered = [f["filter"] for f in init["body"].get("exceptionBreakpointFilters", [])]
        launch_seq = c.request("launch", {
            "name": "Demo (integrated terminal)",
            "type": "python",
            "request": "launch",
            "program": prog,
            "args": ["--flag", "two words"],
            "cwd": rec.prog_dir,
            "console": "integratedTerminal",
            "env": {"DAPKIT_DEMO": "fixture"},
            "justMyCode": True,
            "stopOnEntry": False,
        })
        c.wait_event("initialized", timeout=WAIT)
        l1 = programs.line_of(src, "bp-first")
        l2 = programs.line_of(src, "bp-conditional")
        c.call("setBreakpoints", {
            "source": {"name": "demo.py", "path": prog},
            "breakpoints": [{"line": l1}, {"line": l2, "condition": "total == 6"}],
            "lines": [l1, l2],
            "sourceModified": False,
        })
        c.call("setExceptionBreakpoints", {"filters": [f for f in ("raised", "uncaught") if f in offered]})
        mark = c.mark()
        c.call("configurationDone")
        c.wait_response(launch_seq, WAIT)
        stopped = c.wait_event("stopped", after=mark, timeout=WAIT)
        tid = stopped["body"]["threadId"]
        c.call("threads")
        frame_id = inspect_top_frame(c, tid, [("data",), ("data", "'items'"), ("point",)])
        c.call("evaluate", {"expression": "len(data['items']) + point.x", "frameId": frame_id, "context": "watch"})
        c.call("evaluate", {"expression": "text", "frameId": frame_id, "context": "hover"})
        c.call("evaluate", {"expression": "undefined_name + 1", "frameId": frame_id, "context": "repl"})
        stopped = stop_and_wait(c, "stepIn", {"threadId": tid})
        c.call("stackTrace", {"threadId": tid, "startFrame": 0, "levels": 20})
        stopped = stop_and_wait(c, "next", {"threadId": tid})
        stopped = stop_and_wait(c, "continue", {"threadId": tid})  # conditional breakpoint
        inspect_top_frame(c, tid, [])
        stopped = stop_and_wait(c, "continue", {"threadId": tid})  # raised ValueError
        if stopped["body"].get("reason") != "exception":
            raise DapError(f"expected an exception stop, got {stopped['body']}")
        c.call("exceptionInfo", {"threadId": tid})
        c.call("dapkitUnknownCommand", {"probe": True})
        mark = c.mark()
        c.call("continue", {"threadId": tid})
        c.wait_event("terminated", after=mark, timeout=WAIT)
        finish_session(c, {"restart": False, "terminateDebuggee": True})
    finally:
        c.close()


def session_debugpy_attach(rec):
    python = peer_python()
    rec.add_python_prefixes(python)
    prog = rec.write_program("attach_demo.py", programs.ATTACH_PY)
    port = free_port()
    rec.spawn([python, "-m", "debugpy", "--listen", "127.0.0.1:%d" % port, "--wait-for-client", prog],
              cwd=rec.prog_dir)
    c = Client(SocketTransport.connect_retry("127.0.0.1", port, WAIT), rec.raw_dir, log)
    try:
        c.call("initialize", initialize_args("python"))
        attach_seq = c.request("attach", {
            "name": "Attach to demo",
            "type": "python",
            "request": "attach",
            "connect": {"host": "127.0.0.1", "port": port},
            "justMyCode": True,
        })
        c.wait_event("initialized", timeout=WAIT)
        line = programs.line_of(programs.ATTACH_PY, "bp")
        c.call("setBreakpoints", {"source": {"name": "attach_demo.py", "path": prog},
                                  "breakpoints": [{"line": line}], "lines": [line]})
        c.call("setExceptionBreakpoints", {"filters": []})
        mark = c.mark()
        c.call("configurationDone")
        c.wait_response(attach_seq, WAIT)
        stopped = c.wait_event("stopped", after=mark, timeout=WAIT)
        tid = stopped["body"]["threadId"]
        c.call("threads")
        inspect_top_frame(c, tid, [("lengths",)])
        mark = c.mark()
        c.call("continue", {"threadId": tid})
        c.wait_event("terminated", after=mark, timeout=WAIT)
        finish_session(c, {"restart": False})
    finally:
        c.close()


def session_debugpy_extension(rec):
    """debugpy's own requests (its extension schema): sent to debugpy listening in-process."""
    python = peer_python()
    rec.add_python_prefixes(python)
    prog = rec.write_program("attach_demo.py", programs.ATTACH_PY)
    port = free_port()
    rec.spawn([python, "-m", "debugpy", "--listen", "127.0.0.1:%d" % port, "--wait-for-client", prog],
              cwd=rec.prog_dir)
    c = Client(SocketTransport.connect_retry("127.0.0.1", port, WAIT), rec.raw_dir, log)
    try:
        c.call("initialize", initialize_args("python"))
        attach_seq = c.request("attach", {
            "name": "Attach to demo",
            "type": "python",
            "request": "attach",
            "connect": {"host": "127.0.0.1", "port": port},
            "justMyCode": True,
        })
        c.wait_event("initialized", timeout=WAIT)
        c.call("setDebuggerProperty", {
            "skipSuspendOnBreakpointException": ["BaseException"],
            "skipPrintBreakpointException": ["NameError"],
            "multiThreadsSingleNotification": True,
        })
        line = programs.line_of(programs.ATTACH_PY, "bp")
        c.call("setPydevdSourceMap", {
            "source": {"path": prog},
            "pydevdSourceMaps": [
                {"line": 1, "endLine": 3, "runtimeSource": {"path": "<cell-1>"}, "runtimeLine": 1},
            ],
        })
        c.call("setBreakpoints", {"source": {"name": "attach_demo.py", "path": prog},
                                  "breakpoints": [{"line": line}], "lines": [line]})
        c.call("setExceptionBreakpoints", {"filters": []})
        mark = c.mark()
        c.call("configurationDone")
        c.wait_response(attach_seq, WAIT)
        stopped = c.wait_event("stopped", after=mark, timeout=WAIT)
        tid = stopped["body"]["threadId"]
        c.call("pydevdSystemInfo")
        mark = c.mark()
        c.call("continue", {"threadId": tid})
        c.wait_event("terminated", after=mark, timeout=WAIT)
        finish_session(c, {"restart": False})
    finally:
        c.close()


def compile_c(rec):
    src = rec.write_program("demo.c", programs.DEMO_C)
    exe = os.path.join(rec.prog_dir, "demo")
    subprocess.run(["gcc", "-g", "-O0", "-o", exe, src], check=True, cwd=rec.prog_dir, timeout=60)
    return src, exe


def native_session(c, rec, src, exe, adapter_id, launch_extra):
    c.call("initialize", initialize_args(adapter_id))
    launch = {"name": "Demo (C)", "type": adapter_id, "request": "launch",
              "program": exe, "args": [], "cwd": rec.prog_dir, "stopOnEntry": False}
    launch.update(launch_extra)
    launch_seq = c.request("launch", launch)
    c.wait_event("initialized", timeout=WAIT)
    l1 = programs.line_of(programs.DEMO_C, "bp-first")
    l2 = programs.line_of(programs.DEMO_C, "bp-second")
    c.call("setBreakpoints", {"source": {"name": "demo.c", "path": src},
                              "breakpoints": [{"line": l1}, {"line": l2, "condition": "total == 14"}],
                              "lines": [l1, l2], "sourceModified": False})
    c.call("setFunctionBreakpoints", {"breakpoints": []})
    mark = c.mark()
    c.call("configurationDone", timeout=WAIT)
    c.wait_response(launch_seq, WAIT)
    stopped = c.wait_event("stopped", after=mark, timeout=WAIT)
    tid = stopped["body"]["threadId"]
    c.call("threads")
    frame_id = inspect_top_frame(c, tid, [("p",), ("values",)])
    c.call("evaluate", {"expression": "p.x + values[2]", "frameId": frame_id, "context": "watch"})
    c.call("evaluate", {"expression": "p.weight * 3", "frameId": frame_id, "context": "hover"})
    c.call("evaluate", {"expression": "no_such_variable + 1", "frameId": frame_id, "context": "watch"})
    stop_and_wait(c, "next", {"threadId": tid})
    c.call("stackTrace", {"threadId": tid, "startFrame": 0, "levels": 20})
    stop_and_wait(c, "continue", {"threadId": tid})  # conditional breakpoint
    inspect_top_frame(c, tid, [])
    mark = c.mark()
    c.call("continue", {"threadId": tid})
    c.wait_event("terminated", after=mark, timeout=WAIT)
    finish_session(c, {"restart": False, "terminateDebuggee": True})


def session_lldb_dap_c(rec):
    lldb_dap = os.environ.get("DAPKIT_LLDB_DAP") or "/usr/lib/llvm-22/bin/lldb-dap"
    if not os.path.exists(lldb_dap):
        raise DapError(f"no lldb-dap at {lldb_dap} (apt-get install lldb-22, or set DAPKIT_LLDB_DAP)")
    src, exe = compile_c(rec)
    proc = rec.spawn([lldb_dap], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=open(os.path.join(rec.work, "lldb-dap.err"), "wb"), cwd=rec.prog_dir)
    c = Client(PipeTransport(proc), rec.raw_dir, log)
    try:
        native_session(c, rec, src, exe, "lldb-dap",
                       {"initCommands": ["settings set symbols.load-on-demand true"]})
    finally:
        c.close()


def session_gdb_dap_c(rec):
    gdb = os.environ.get("DAPKIT_GDB") or shutil.which("gdb") or "gdb"
    gdb_home = os.path.dirname(os.path.dirname(os.path.realpath(gdb)))
    if gdb_home not in ("/usr", "/usr/local", "/"):
        rec.replacements.append((gdb_home, "/opt/gdb"))  # e.g. a venv holding gdb-for-pwndbg
    src, exe = compile_c(rec)
    proc = rec.spawn([gdb, "-q", "-i", "dap"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=open(os.path.join(rec.work, "gdb.err"), "wb"), cwd=rec.prog_dir)
    c = Client(PipeTransport(proc), rec.raw_dir, log)
    try:
        native_session(c, rec, src, exe, "gdb", {})
    finally:
        c.close()


SESSIONS = {
    "debugpy-launch": session_debugpy_launch,
    "debugpy-attach": session_debugpy_attach,
    "debugpy-extension": session_debugpy_extension,
    "lldb-dap-c": session_lldb_dap_c,
    "gdb-dap-c": session_gdb_dap_c,
}


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__)
        return 2
    if argv[0] == "--list":
        print("\n".join(SESSIONS))
        return 0
    fixtures = FIXTURES
    if argv[0] == "--out":
        if len(argv) < 3:
            print("--out needs a directory and a session", file=sys.stderr)
            return 2
        fixtures, argv = os.path.abspath(argv[1]), argv[2:]
    failed = 0
    for name in argv:
        if name not in SESSIONS:
            print(f"unknown session {name!r}; known: {', '.join(SESSIONS)}", file=sys.stderr)
            return 2
        rec = Recording(name)
        log(f"== {name} (work dir {rec.work})")
        started = time.monotonic()
        try:
            SESSIONS[name](rec)
        except (DapError, OSError, subprocess.SubprocessError, KeyError, ValueError) as err:
            log(f"!! {name} failed: {err!r}")
            failed += 1
            rec.cleanup()
            continue
        rec.cleanup()
        try:
            rec.finish(fixtures)
        except DapError as err:
            log(f"!! {name}: sanitizing failed: {err}")
            failed += 1
            continue
        log(f"   done in {time.monotonic() - started:.1f}s")
        if os.environ.get("DAPKIT_KEEP_WORK") is None:
            shutil.rmtree(rec.work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
