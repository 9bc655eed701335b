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

With --use, measures instead what each crate costs a program that uses it, in two roles.
Per role, one small library crate per DAP crate decodes the messages the role receives and
encodes those it sends, through that crate's types: an adapter decodes requests and encodes
responses and events (and the other way round for the reverse request runInTerminal), a
client the other way round. Each of these crates is its own workspace, built alone from
clean, one after the other (no build shares the machine or dependency features with another). dapkit-types:
`ProtocolMessage` (every kind, both ways, in both roles); `dap`: serde_json with
`requests::Request` and `base_message::BaseMessage` (feature `client` for the client);
debugserver-types, which has no message enum: serde_json with each `*Request`, `*Response` and
`*Event` type, named from its schema. The registry crates' serde impls are generic, so their
machine code is made in the crate that uses them; dapkit-types makes its decoders and encoders
itself. Printed per role, profile and crate: the dependency's time, the using crate's time,
their sum, and the sum as a ratio of the slower registry crate's sum.
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

# Every probe crate: its own workspace, built alone, with only its own dependencies' features.
MANIFEST = """[package]
name = "{name}"
version = "0.0.0"
edition = "2021"
publish = false

[dependencies]
{deps}

[workspace]
"""

DAPKIT_DEP = f"dapkit-types = {{ path = '{REPO}/dap-types' }}"

USE_MEMBERS = ["use-dapkit", "use-dap", "use-debugserver-types"]

# Each role's user crates. dapkit-types decodes and encodes every message kind through
# `ProtocolMessage`, the same code in both roles.
USE_DAPKIT = """//! Decoding and encoding with dapkit-types (every message kind, both ways).
pub fn decode(text: &str) -> Option<dapkit_types::ProtocolMessage> {
    text.parse().ok()
}

pub fn encode(message: &dapkit_types::ProtocolMessage) -> Vec<u8> {
    message.to_vec()
}
"""

ROLES = {
    # role: (dap's dependency line, dap user crate, debugserver-types: decoded suffixes,
    #        encoded suffixes)
    "adapter": (
        'dap = "=0.4.1-alpha1"',
        """//! An adapter's decoding and encoding with dap (default features: requests in,
//! responses, events and reverse requests out).
pub fn decode(text: &str) -> Option<dap::requests::Request> {
    serde_json::from_str(text).ok()
}

pub fn encode(message: &dap::base_message::BaseMessage) -> String {
    serde_json::to_string(message).unwrap_or_default()
}
""",
        ("Request",),
        ("Response", "Event"),
    ),
    "client": (
        'dap = { version = "=0.4.1-alpha1", features = ["client"] }',
        """//! A client's decoding and encoding with dap (feature `client`: responses, events and
//! reverse requests in, requests out).
pub fn decode(text: &str) -> Option<dap::base_message::BaseMessage> {
    serde_json::from_str(text).ok()
}

pub fn encode(message: &dap::requests::Request) -> String {
    serde_json::to_string(message).unwrap_or_default()
}
""",
        ("Response", "Event"),
        ("Request",),
    ),
}


def use_debugserver_types(schema, decoded, encoded):
    """The debugserver-types user: a decoder per incoming message type, an encoder per
    outgoing one (the crate has no message enum), named from the crate's own schema."""
    with open(schema, encoding="utf-8") as f:
        names = sorted(json.load(f)["definitions"])
    # The base definitions (`Request`, `Response`, `Event`) are not messages of their own.
    kinds = [n for n in names if n not in ("Request", "Response", "Event")]

    def direction(n):
        # A reverse request (runInTerminal) goes the other way: the adapter sends the
        # request and receives the response.
        reverse = n.startswith("RunInTerminal")
        if n.endswith(decoded):
            return "out" if reverse else "in"
        if n.endswith(encoded):
            return "in" if reverse else "out"
        return None

    incoming = [n for n in kinds if direction(n) == "in"]
    outgoing = [n for n in kinds if direction(n) == "out"]
    arms = "".join(
        f'        "{n}" => serde_json::from_str::<debugserver_types::{n}>(text).is_ok(),\n'
        for n in incoming
    )
    encoders = "".join(
        f"pub fn encode_{n.lower()}(m: &debugserver_types::{n}) -> String {{\n"
        f"    serde_json::to_string(m).unwrap_or_default()\n}}\n\n"
        for n in outgoing
    )
    return (
        "//! Decoding and encoding with debugserver-types.\n"
        "pub fn decode(kind: &str, text: &str) -> bool {\n    match kind {\n"
        f"{arms}        _ => false,\n    }}\n}}\n\n{encoders}"
    )


def write_crate(crate, name, deps, code):
    """A probe crate in `crate`; fetches its dependencies (so download time never counts)."""
    os.makedirs(os.path.join(crate, "src"), exist_ok=True)
    with open(os.path.join(crate, "Cargo.toml"), "w") as f:
        f.write(MANIFEST.format(name=name, deps=deps))
    with open(os.path.join(crate, "src", "lib.rs"), "w") as f:
        f.write(code)
    subprocess.run(["cargo", "fetch", "--manifest-path", os.path.join(crate, "Cargo.toml")], check=True)


def write_use_probe(work, role):
    """The --use crates of one role, each in `work/<name>`; returns their directories."""
    dap_dep, dap_code, decoded, encoded = ROLES[role]
    deps = {
        "use-dapkit": (DAPKIT_DEP, USE_DAPKIT),
        "use-dap": (dap_dep, dap_code),
        "use-debugserver-types": ('debugserver-types = "=0.5.0"', ""),
    }
    dirs = {}
    for name, (dep, code) in deps.items():
        dirs[name] = os.path.join(work, name)
        write_crate(dirs[name], name, f'serde_json = "1"\n{dep}', code)
    manifest = os.path.join(dirs["use-debugserver-types"], "Cargo.toml")
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--manifest-path", manifest],
        check=True, capture_output=True, text=True,
    )
    pkg = [p for p in json.loads(meta.stdout)["packages"] if p["name"] == "debugserver-types"]
    if not pkg:
        raise SystemExit("cargo metadata lists no debugserver-types package")
    schema = os.path.join(os.path.dirname(pkg[0]["manifest_path"]), "src", "schema.json")
    with open(os.path.join(dirs["use-debugserver-types"], "src", "lib.rs"), "w") as f:
        f.write(use_debugserver_types(schema, decoded, encoded))
    return dirs


def unit_times(html):
    """Crate name -> seconds of its units (build scripts left out), from cargo's timing
    report."""
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


def build(crate, profile):
    """Builds the probe crate in `crate` from clean (its own `target`); per-crate seconds from
    cargo's timing report."""
    target = os.path.join(crate, "target")
    shutil.rmtree(target, ignore_errors=True)
    cmd = ["cargo", "build", "--timings", "--manifest-path", os.path.join(crate, "Cargo.toml")]
    if profile == "release":
        cmd.append("--release")
    env = dict(os.environ, CARGO_TARGET_DIR=target, CARGO_TERM_COLOR="never")
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    reports = sorted(glob.glob(os.path.join(target, "cargo-timings", "cargo-timing-*.html")))
    if not reports:
        raise SystemExit(f"cargo wrote no timing report under {target}/cargo-timings")
    with open(reports[-1], encoding="utf-8") as f:
        return unit_times(f.read())


def measure_dependencies(work, profiles):
    """The default mode: one probe crate depending on the three, built once per profile."""
    write_crate(
        work,
        "dapkit-compile-probe",
        f'{DAPKIT_DEP}\ndap = "=0.4.1-alpha1"\ndebugserver-types = "=0.5.0"',
        "pub use dap; pub use dapkit_types; pub use debugserver_types;\n",
    )
    rows = []
    for profile in profiles:
        times = build(work, profile)
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


def measure_use(work, profiles):
    """--use: per role and profile, each user crate built alone from clean, one after the
    other (no build shares the machine, nor its dependencies' features, with another)."""
    print(f"{'role':8} {'profile':8} {'crate':18} {'dependency':>10} {'user crate':>10} {'sum':>6} {'vs slower registry sum':>23}")
    for role in ROLES:
        dirs = write_use_probe(os.path.join(work, role), role)
        for profile in profiles:
            sums = {}
            for crate, member in zip(CRATES, USE_MEMBERS):
                times = build(dirs[member], profile)
                dep, user = times.get(crate, float("nan")), times.get(member, float("nan"))
                sums[crate] = (dep, user, dep + user)
            slower = max(sums["dap"][2], sums["debugserver-types"][2])
            for crate in CRATES:
                dep, user, total = sums[crate]
                print(f"{role:8} {profile:8} {crate:18} {dep:10.1f} {user:10.1f} {total:6.1f} {total / slower:22.2f}x", flush=True)


def main(argv):
    profiles = ["debug", "release"]
    keep = None
    use = False
    while argv:
        arg = argv.pop(0)
        if arg == "--profiles" and argv:
            profiles = argv.pop(0).split(",")
        elif arg == "--keep" and argv:
            keep = os.path.abspath(argv.pop(0))
        elif arg == "--use":
            use = True
        else:
            print(__doc__)
            return 2
    work = keep or tempfile.mkdtemp(prefix="dapkit-compile-probe-")
    print(f"generated lines of dapkit-types: {generated_lines()}")
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f} (the figures are only comparable within one run)")
    if use:
        measure_use(work, profiles)
    else:
        measure_dependencies(work, profiles)
    if not keep:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
