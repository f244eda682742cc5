#!/usr/bin/env bash
# Installs the Redis clients that tests/clients.rs runs the client snippets (docs/clients/)
# with, into target/clients/ and nowhere else:
#   target/clients/py-redis<MAJOR>/          a Python venv with redis-py <MAJOR>.x
#   target/clients/node-redis<MAJOR>/node_modules   node-redis <MAJOR>.x
# for the current major of each client and the one before it. Idempotent: a client that is
# already there with the right major is left alone, so a second run takes under a second. Without python3 (with venv) or node and npm, it says what to install
# and fails.
#
# When a new major is out (`pip index versions redis`, `npm view redis version`), change the
# lists below and the tests in tests/clients.rs.
#
# Usage: bash scripts/client-deps.sh
set -euo pipefail

PY_MAJORS=(8 7)
NODE_MAJORS=(6 5)
NODE_MIN=20 # node-redis 6 needs Node.js 20 or later

cd "$(dirname "${BASH_SOURCE[0]}")/.."
dest=target/clients

say() { echo "client-deps.sh: $*"; }

# Check every prerequisite first, so one run names all that is missing.
missing=()
if ! command -v python3 >/dev/null 2>&1; then
    missing+=("python3 with venv (Debian: apt-get install python3 python3-venv)")
elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=("Python's venv module (Debian: apt-get install python3-venv)")
fi
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    missing+=("Node.js $NODE_MIN or later with npm (https://nodejs.org, or Debian: apt-get install nodejs npm)")
elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt "$NODE_MIN" ]; then
    missing+=("Node.js $NODE_MIN or later (this is $(node --version))")
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "client-deps.sh: the client snippet tests need:" >&2
    for m in "${missing[@]}"; do echo "    - $m" >&2; done
    echo "Install them, then run: bash scripts/client-deps.sh" >&2
    exit 1
fi

# The installed version of redis-py in a venv, or nothing (no venv, or a broken one).
py_version() {
    "$1/bin/python" -c 'import importlib.metadata as m; print(m.version("redis"))' 2>/dev/null || true
}
# The installed version of node-redis in a folder, or nothing.
node_version() {
    sed -n 's/^  "version": "\(.*\)",$/\1/p' "$1/node_modules/redis/package.json" 2>/dev/null || true
}

installed=()
for major in "${PY_MAJORS[@]}"; do
    venv="$dest/py-redis$major"
    if [[ "$(py_version "$venv")" != "$major".* ]]; then
        say "installing redis-py $major.x into $venv"
        rm -rf "$venv"
        python3 -m venv "$venv"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "redis>=$major,<$((major + 1))"
        "$venv/bin/python" -c 'import redis' || {
            echo "client-deps.sh: redis-py does not import in $venv after pip install" >&2
            exit 1
        }
    fi
    installed+=("redis-py $(py_version "$venv")")
done

for major in "${NODE_MAJORS[@]}"; do
    dir="$dest/node-redis$major"
    if [[ "$(node_version "$dir")" != "$major".* ]]; then
        say "installing node-redis $major.x into $dir"
        rm -rf "$dir"
        mkdir -p "$dir"
        npm install --prefix "$dir" --no-audit --no-fund --loglevel=error "redis@$major" >/dev/null
        [[ "$(node_version "$dir")" == "$major".* ]] || {
            echo "client-deps.sh: no node-redis $major.x in $dir after npm install" >&2
            exit 1
        }
    fi
    installed+=("node-redis $(node_version "$dir")")
done

say "$(IFS=,; echo "${installed[*]}" | sed 's/,/, /g')"
