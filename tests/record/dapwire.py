"""Content-Length framing plus a recording DAP client.

`Client` talks to a real debug adapter over a byte transport (a TCP socket or a
child's stdio pipes) and tees every byte it sends and every byte it receives,
unmodified, into two files: `from-client.dap` and `from-adapter.dap`.

Reverse requests from the adapter (e.g. `runInTerminal`) are answered by a
handler the session registers. Every wait is bounded by a timeout.
"""

import json
import os
import socket
import threading
import time

HEADER_END = b"\r\n\r\n"


class DapError(Exception):
    """A protocol or transport problem while recording."""


def frame(body: bytes) -> bytes:
    """Wrap a JSON body in a Content-Length header."""
    return b"Content-Length: " + str(len(body)).encode("ascii") + HEADER_END + body


def split_frames(data: bytes):
    """Split a framed stream into (header_bytes, body_bytes) pairs.

    Raises DapError on a truncated or malformed stream.
    """
    frames = []
    pos = 0
    while pos < len(data):
        end = data.find(HEADER_END, pos)
        if end < 0:
            raise DapError(f"truncated header at byte {pos}")
        header = data[pos:end]
        length = None
        for line in header.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if not sep:
                raise DapError(f"malformed header line {line!r} at byte {pos}")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None:
            raise DapError(f"no Content-Length in header at byte {pos}")
        start = end + len(HEADER_END)
        if start + length > len(data):
            raise DapError(f"truncated body at byte {start} (want {length})")
        frames.append((header, data[start:start + length]))
        pos = start + length
    return frames


class SocketTransport:
    """A connected TCP socket."""

    def __init__(self, sock):
        self.sock = sock

    @classmethod
    def connect_retry(cls, host, port, timeout):
        """Retry connect until it succeeds; keep the first socket that does.

        Never connects and closes a probe socket: some adapters (debugpy)
        accept exactly one client.
        """
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                sock.connect((host, port))
                return cls(sock)
            except OSError as err:
                last = err
                sock.close()
                time.sleep(0.1)
        raise DapError(f"could not connect to {host}:{port} within {timeout}s: {last}")

    def write(self, data):
        self.sock.sendall(data)

    def read(self):
        return self.sock.recv(65536)

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


class PipeTransport:
    """A child process's stdin (we write) and stdout (we read)."""

    def __init__(self, proc):
        self.proc = proc

    def write(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def read(self):
        return os.read(self.proc.stdout.fileno(), 65536)

    def close(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass


class Client:
    """A scripted DAP client that records the exact bytes of both directions."""

    def __init__(self, transport, out_dir, log=print):
        self.transport = transport
        self.log = log
        self.client_file = open(os.path.join(out_dir, "from-client.dap"), "wb")
        self.adapter_file = open(os.path.join(out_dir, "from-adapter.dap"), "wb")
        self.seq = 0
        self.write_lock = threading.Lock()
        self.cond = threading.Condition()
        self.messages = []  # every decoded message from the adapter, in order
        self.closed = False
        self.reverse_handlers = {}
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    # ---- sending -------------------------------------------------------
    def _send(self, make_message):
        with self.write_lock:
            self.seq += 1
            msg = make_message(self.seq)
            body = json.dumps(msg, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            data = frame(body)
            self.client_file.write(data)
            self.client_file.flush()
            self.transport.write(data)
            return self.seq

    def request(self, command, arguments=None):
        """Send a request; return its seq (does not wait)."""

        def make(seq):
            msg = {"seq": seq, "type": "request", "command": command}
            if arguments is not None:
                msg["arguments"] = arguments
            return msg

        seq = self._send(make)
        self.log(f"  -> {command} (seq {seq})")
        return seq

    def respond(self, req, success=True, body=None, message=None):
        def make(seq):
            msg = {"seq": seq, "type": "response", "request_seq": req["seq"],
                   "success": success, "command": req["command"]}
            if message is not None:
                msg["message"] = message
            if body is not None:
                msg["body"] = body
            return msg

        self._send(make)

    # ---- receiving -----------------------------------------------------
    def _read_loop(self):
        buf = b""
        try:
            while True:
                chunk = self.transport.read()
                if not chunk:
                    break
                self.adapter_file.write(chunk)
                self.adapter_file.flush()
                buf += chunk
                while True:
                    end = buf.find(HEADER_END)
                    if end < 0:
                        break
                    length = None
                    for line in buf[:end].split(b"\r\n"):
                        name, _, value = line.partition(b":")
                        if name.strip().lower() == b"content-length":
                            length = int(value.strip())
                    if length is None:
                        raise DapError(f"header without Content-Length: {buf[:end]!r}")
                    start = end + len(HEADER_END)
                    if len(buf) < start + length:
                        break
                    msg = json.loads(buf[start:start + length].decode("utf-8"))
                    buf = buf[start + length:]
                    self._dispatch(msg)
        except (OSError, ValueError, DapError) as err:
            self.log(f"  reader stopped: {err}")
        finally:
            with self.cond:
                self.closed = True
                self.cond.notify_all()

    def _dispatch(self, msg):
        kind = msg.get("type")
        if kind == "event":
            self.log(f"  <- event {msg.get('event')}")
        elif kind == "response":
            ok = "ok" if msg.get("success") else "FAILED: " + str(msg.get("message"))
            self.log(f"  <- response {msg.get('command')} ({ok})")
        elif kind == "request":
            self.log(f"  <- reverse request {msg.get('command')}")
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()
        if kind == "request":
            handler = self.reverse_handlers.get(msg.get("command"))
            try:
                if handler is None:
                    self.respond(msg, success=False, message=f"unsupported reverse request {msg.get('command')}")
                else:
                    handler(self, msg)
            except OSError as err:
                self.log(f"  could not answer reverse request: {err}")

    def mark(self):
        """Index of the next message to arrive; pass to waits as `after`."""
        with self.cond:
            return len(self.messages)

    def wait_for(self, pred, timeout, what, after=0):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for msg in self.messages[after:]:
                    if pred(msg):
                        return msg
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DapError(f"timed out after {timeout}s waiting for {what}")
                if self.closed:
                    raise DapError(f"connection closed while waiting for {what}")
                self.cond.wait(left)

    def wait_response(self, seq, timeout=20):
        return self.wait_for(
            lambda m: m.get("type") == "response" and m.get("request_seq") == seq,
            timeout, f"response to seq {seq}")

    def wait_event(self, name, after=0, timeout=20):
        return self.wait_for(
            lambda m: m.get("type") == "event" and m.get("event") == name,
            timeout, f"event {name}", after)

    def call(self, command, arguments=None, timeout=20):
        """Send a request and wait for its response."""
        return self.wait_response(self.request(command, arguments), timeout)

    def wait_closed(self, timeout):
        deadline = time.monotonic() + timeout
        with self.cond:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def close(self):
        self.transport.close()
        self.reader.join(5)
        self.client_file.close()
        self.adapter_file.close()
