#!/usr/bin/env bash
# Checks the public API of dapkit's library crates against a baseline commit with
# cargo-semver-checks, and requires every crate with a breaking change since then to say so
# in CHANGELOG.md's [Unreleased] section: a note starting `**Breaking (crate` that was not
# there at the baseline (an older note does not cover a newer break).
#
#   bash scripts/semver_check.sh [CRATE...]   # default: every library crate of the workspace
#
# The baseline is the commit in .ci/semver-baseline: the API whose breaking changes must be
# noted. Move it to a release's commit when one is cut (and start a new [Unreleased]).
# A crate that did not exist at the baseline has nothing to break and is skipped; so is one
# built from nothing that changed since (its directory, those of the dapkit crates it
# depends on, the workspace's Cargo.toml and Cargo.lock).
# The tool: $CARGO_SEMVER_CHECKS, else .peers/semver-checks/bin/cargo-semver-checks
# (installed by .ci/install-semver-checks), else `cargo semver-checks` from PATH.
#
# Prints a line per crate on stdout (and each finding of a crate whose break is not noted);
# exit 0 when every break is noted, 1 when one is not, 2 when the check could not run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

fail() {
    echo "semver_check: error: $*" >&2
    exit 2
}

case "${1:-}" in
-h | --help)
    sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
-*) fail "unknown option $1 (see --help)" ;;
esac

tool=()
if [ -n "${CARGO_SEMVER_CHECKS:-}" ]; then
    tool=("$CARGO_SEMVER_CHECKS" semver-checks)
elif [ -x .peers/semver-checks/bin/cargo-semver-checks ]; then
    tool=(.peers/semver-checks/bin/cargo-semver-checks semver-checks)
elif cargo semver-checks --version >/dev/null 2>&1; then
    tool=(cargo semver-checks)
else
    fail "cargo-semver-checks not found (install it with: bash .ci/install-semver-checks)"
fi

base=$(grep -m1 -E '^[0-9a-f]{40}$' .ci/semver-baseline) ||
    fail ".ci/semver-baseline holds no commit hash"
git cat-file -e "$base^{commit}" 2>/dev/null ||
    fail "the baseline commit $base is not in this clone (a shallow clone? git fetch --unshallow)"

# The library crates (a lib target, publishable): name, directory, and the directories whose
# files make its API (its own and those of the workspace crates it depends on, at any
# depth; dev-dependencies do not count).
crates=$(cargo metadata --no-deps --format-version 1 | python3 -c '
import json, os, sys
root = sys.argv[1]
packages = json.load(sys.stdin)["packages"]
dirs = {p["name"]: os.path.relpath(os.path.dirname(p["manifest_path"]), root) for p in packages}
deps = {p["name"]: [d["name"] for d in p["dependencies"]
                    if d.get("path") and d["kind"] != "dev" and d["name"] in dirs]
        for p in packages}
for p in packages:
    if p["publish"] == [] or not any("lib" in t["kind"] for t in p["targets"]):
        continue
    seen, todo = set(), [p["name"]]
    while todo:
        n = todo.pop()
        if n not in seen:
            seen.add(n)
            todo.extend(deps[n])
    print(p["name"], dirs[p["name"]], *sorted(dirs[n] for n in seen))
' "$root") || fail "cargo metadata failed"

# A crate whose files, whose dapkit dependencies' files, and the workspace's Cargo.toml and
# Cargo.lock are as they were at the baseline has the baseline's API: it is not built again.
git diff --quiet "$base" -- Cargo.toml Cargo.lock && workspace_same=1 || workspace_same=0

wanted=("$@")
checked=()
while read -r name dir sources; do
    if [ ${#wanted[@]} -gt 0 ] && ! printf '%s\n' "${wanted[@]}" | grep -qxF "$name"; then
        continue
    fi
    if ! git cat-file -e "$base:$dir/Cargo.toml" 2>/dev/null; then
        echo "$name: new since the baseline ${base:0:7}, nothing to compare"
        continue
    fi
    # shellcheck disable=SC2086 # the directories, one word each
    if [ "$workspace_same" = 1 ] && git diff --quiet "$base" -- $sources; then
        echo "$name: no breaking change since ${base:0:7} (nothing it is built from changed: $sources)"
        continue
    fi
    checked+=("$name")
done <<<"$crates"
for w in "${wanted[@]}"; do
    grep -q "^$w " <<<"$crates" || fail "$w is not a library crate of this workspace"
done
[ ${#checked[@]} -gt 0 ] || exit 0

log=$(mktemp)
trap 'rm -f "$log"' EXIT
args=()
for c in "${checked[@]}"; do args+=(-p "$c"); done
# `--release-type patch`: any breaking change is reported as one (before 1.0 a minor
# version may break, so the version numbers alone would allow everything). The exit code
# says only that something was found; the summaries below say what, crate by crate.
"${tool[@]}" "${args[@]}" --baseline-rev "$base" --release-type patch >"$log" 2>&1 || true

# The [Unreleased] section of a changelog text, and how many breaking-change notes of a
# crate it holds.
unreleased() { awk '/^## \[Unreleased\]/ { on = 1; next } /^## \[/ { on = 0 } on'; }
notes() { grep -cE "\*\*Breaking \($1[,)]" || true; }
now=$(unreleased <CHANGELOG.md)
then=$(git show "$base:CHANGELOG.md" 2>/dev/null | unreleased)

status=0
for c in "${checked[@]}"; do
    # The summary line of this crate's check: between its `Checking <crate> v…` line and
    # the next crate's.
    summary=$(awk -v c="$c" '
        $1 == "Checking" { on = ($2 == c) }
        on && $1 == "Summary" { sub(/^ *Summary /, ""); print; exit }' "$log")
    if [ -z "$summary" ]; then
        cat "$log" >&2
        fail "cargo-semver-checks gave no result for $c (its output is above)"
    fi
    case "$summary" in
    "semver requires new major version"*)
        if [ "$(notes "$c" <<<"$now")" -gt "$(notes "$c" <<<"$then")" ]; then
            echo "$c: breaking changes since ${base:0:7}, noted in CHANGELOG.md ($summary)"
        else
            echo "$c: breaking changes since ${base:0:7} NOT noted: CHANGELOG.md's [Unreleased] section has no **Breaking ($c)** note added since then ($summary):"
            awk -v c="$c" '
                $1 == "Checking" { on = ($2 == c) }
                !on { next }
                /^--- failure/ { print "    " $0; next }
                /^Failed in:/ { items = 1; next }
                /^ *$/ { items = 0 }
                items { print "    " $0 }' "$log"
            status=1
        fi
        ;;
    "no semver update required"*)
        echo "$c: no breaking change since ${base:0:7}"
        ;;
    *)
        # A minor-level finding (an addition that needs a minor version): not a break.
        echo "$c: no breaking change since ${base:0:7} ($summary)"
        ;;
    esac
done
exit "$status"
