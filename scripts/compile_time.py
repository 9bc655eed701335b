#!/usr/bin/env python3
"""Compile time of dapkit-types next to the registry DAP crates, in one build.

Usage: python3 scripts/compile_time.py [--profiles debug,release] [--keep DIR]

Creates a probe crate (in a temporary directory) depending on dapkit-types (this
checkout, default features), `dap` 0.4.1-alpha1 and `debugserver-types` 0.5.0, builds it
from clean with `cargo build --timings` once per profile (all three crates compile in the
same build, so they share the machine's load), and prints per crate: the time cargo's
timing report gives its library unit, that time as a ratio of the slower registry crate's,
and the rlib size. Also prints the generated lines of dapkit-types. Needs network access to
the crates registry for the first run (the crates are then in cargo's cache).

The target of issue 11: dapkit-types <= 1.5x the slower registry crate in both profiles.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CRATES = ["dapkit-types", "dap", "debugserver-types"]

MANIFEST = """[package]
name = "dapkit-compile-probe"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
dapkit-types = {{ path = "{repo}/dap-types" }}
dap = "=0.4.1-alpha1"
debugserver-types = "=0.5.0"

[workspace]
"""


def unit_times(html):
    """(crate name, target kind) -> seconds, from cargo's timing report."""
    m = re.search(r"const UNIT_DATA = (\[.*?\]);\n", html, re.S)
    if not m:
        raise SystemExit("no UNIT_DATA in the timing report: cargo's format changed?")
    out = {}
    for unit in json.loads(m.group(1)):
        target = unit.get("target", "").strip()
        if "build script" in target or target.startswith("(run"):
            continue
        out[unit["name"]] = out.get(unit["name"], 0.0) + unit["duration"]
    return out


def generated_lines():
    total = 0
    for path in glob.glob(os.path.join(REPO, "dap-types/src/generated/*.rs")):
        with open(path, encoding="utf-8") as f:
            total += sum(1 for _ in f)
    return total


def main(argv):
    profiles = ["debug", "release"]
    keep = None
    while argv:
        arg = argv.pop(0)
        if arg == "--profiles" and argv:
            profiles = argv.pop(0).split(",")
        elif arg == "--keep" and argv:
            keep = os.path.abspath(argv.pop(0))
        else:
            print(__doc__)
            return 2
    work = keep or tempfile.mkdtemp(prefix="dapkit-compile-probe-")
    os.makedirs(os.path.join(work, "src"), exist_ok=True)
    with open(os.path.join(work, "Cargo.toml"), "w") as f:
        f.write(MANIFEST.format(repo=REPO))
    with open(os.path.join(work, "src", "lib.rs"), "w") as f:
        f.write("pub use dap; pub use dapkit_types; pub use debugserver_types;\n")
    env = dict(os.environ, CARGO_TARGET_DIR=os.path.join(work, "target"), CARGO_TERM_COLOR="never")
    # Fetch first, so download time never counts.
    subprocess.run(["cargo", "fetch", "--manifest-path", os.path.join(work, "Cargo.toml")], check=True, env=env)
    print(f"generated lines of dapkit-types: {generated_lines()}")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (the figures are only comparable within one run)")
    rows = []
    for profile in profiles:
        shutil.rmtree(os.path.join(work, "target"), ignore_errors=True)
        cmd = ["cargo", "build", "--timings", "--manifest-path", os.path.join(work, "Cargo.toml")]
        if profile == "release":
            cmd.append("--release")
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        reports = sorted(glob.glob(os.path.join(work, "target", "cargo-timings", "cargo-timing-*.html")))
        with open(reports[-1], encoding="utf-8") as f:
            times = unit_times(f.read())
        deps = os.path.join(work, "target", profile, "deps")
        slower = max(times.get("dap", 0.0), times.get("debugserver-types", 0.0))
        for crate in CRATES:
            lib = crate.replace("-", "_")
            rlibs = glob.glob(os.path.join(deps, f"lib{lib}-*.rlib"))
            size = max((os.path.getsize(p) for p in rlibs), default=0)
            t = times.get(crate)
            ratio = t / slower if t and slower else float("nan")
            rows.append((profile, crate, t, ratio, size))
    print(f"{'profile':8} {'crate':18} {'seconds':>8} {'vs slower registry':>19} {'rlib bytes':>11}")
    for profile, crate, t, ratio, size in rows:
        t_text = f"{t:8.1f}" if t is not None else "       ?"
        print(f"{profile:8} {crate:18} {t_text} {ratio:18.2f}x {size:11d}")
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
