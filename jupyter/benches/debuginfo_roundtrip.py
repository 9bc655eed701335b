"""debugInfo round trip: through `dapkit jupyter` vs. directly with jupyter_client.

Starts one ipykernel (its own loopback ports, killed at the end) and `dapkit jupyter
--listen` on it, then times N `debugInfo` requests each way, in alternating blocks so both
see the same machine load:

- direct: jupyter_client's BlockingKernelClient sends `debug_request` on the control
  channel and waits for the `debug_reply` (what a notebook frontend does);
- dapkit: a plain DAP client (a TCP socket, Content-Length framing) sends `debugInfo` to
  `dapkit jupyter` and waits for the response.

Prints the medians and their ratio (dapkit / direct). Run with the Python that has
ipykernel and jupyter_client (`.peers/venv/bin/python` after `bash .ci/install-peers`):

    cargo build --release -p dapkit-cli
    .peers/venv/bin/python jupyter/benches/debuginfo_roundtrip.py --dapkit target/release/dapkit
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from jupyter_client import BlockingKernelClient


def free_ports(n):
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def start_kernel(tmp):
    shell, iopub, stdin, control, hb = free_ports(5)
    info = {
        "shell_port": shell, "iopub_port": iopub, "stdin_port": stdin,
        "control_port": control, "hb_port": hb, "ip": "127.0.0.1",
        "key": "bench-key", "transport": "tcp", "signature_scheme": "hmac-sha256",
        "kernel_name": "python3",
    }
    path = os.path.join(tmp, "kernel.json")
    with open(path, "w") as f:
        json.dump(info, f)
    env = dict(os.environ, JUPYTER_RUNTIME_DIR=tmp, IPYTHONDIR=os.path.join(tmp, "ipython"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "ipykernel_launcher", "-f", path],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    return path, proc


class DapClient:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.seq = 0

    def request(self, command, arguments=None):
        self.seq += 1
        msg = {"seq": self.seq, "type": "request", "command": command}
        if arguments is not None:
            msg["arguments"] = arguments
        body = json.dumps(msg).encode()
        self.sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        while True:
            reply = self.read()
            if reply.get("type") == "response" and reply.get("request_seq") == self.seq:
                return reply

    def read(self):
        while b"\r\n\r\n" not in self.buf:
            self.fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        length = int(head.split(b":")[1])
        while len(self.buf) < length:
            self.fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return json.loads(body)

    def fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise RuntimeError("dapkit jupyter closed the connection")
        self.buf += data


def direct_round_trip(kc, seq):
    msg = kc.session.msg("debug_request", {"type": "request", "seq": seq, "command": "debugInfo"})
    kc.control_channel.send(msg)
    while True:
        reply = kc.control_channel.get_msg(timeout=30)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            assert reply["content"]["success"], reply
            return


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dapkit", default="target/release/dapkit")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--block", type=int, default=20, help="requests per alternating block")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path, kernel = start_kernel(tmp)
        server = None
        try:
            kc = BlockingKernelClient(connection_file=path)
            kc.load_connection_file()
            kc.start_channels(hb=False)
            kc.wait_for_ready(timeout=120)
            server = subprocess.Popen(
                [args.dapkit, "-q", "jupyter", "--connection-file", path, "--listen"],
                stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
            )
            ready = json.loads(server.stdout.readline())
            dap = DapClient(ready["ready"]["listen"])
            assert dap.request("debugInfo")["success"]

            for i in range(20):  # warm-up, both ways
                direct_round_trip(kc, 10_000 + i)
                dap.request("debugInfo")
            direct, bridged = [], []
            seq = 20_000
            while len(direct) < args.count:
                for _ in range(args.block):
                    seq += 1
                    t = time.perf_counter()
                    direct_round_trip(kc, seq)
                    direct.append(time.perf_counter() - t)
                for _ in range(args.block):
                    t = time.perf_counter()
                    reply = dap.request("debugInfo")
                    bridged.append(time.perf_counter() - t)
                    assert reply["success"] and "hashSeed" in reply["body"], reply
            direct, bridged = direct[: args.count], bridged[: args.count]
            md, mb = statistics.median(direct), statistics.median(bridged)
            print(f"debugInfo round trip, median of {args.count} each (alternating blocks of {args.block})")
            print(f"  direct (jupyter_client, control channel): {md * 1e6:8.1f} us")
            print(f"  through dapkit jupyter (plain DAP, TCP):  {mb * 1e6:8.1f} us")
            print(f"  ratio dapkit / direct: {mb / md:.3f}")
            kc.stop_channels()
        finally:
            if server is not None:
                server.kill()
                server.wait()
            kernel.kill()
            kernel.wait()


if __name__ == "__main__":
    main()
