#!/usr/bin/env bash
# The Python client (clients/python) and its tests, in a private venv per redis-py major
# inside target/:
#   target/clients/py-tlog-redis<MAJOR>/   redis-py <MAJOR>.x, pytest, the client (pip -e)
# for the current major of redis-py and the one before it (mypy too in the current one, which
# checks the client and tests/typing_user.py, a program that uses it, with --strict).
# Idempotent: a venv that has the right major and was set up from the same pyproject.toml is
# left alone, so a second run takes about a second.
#
# Usage: bash scripts/python-client.sh          set up the venvs
#        bash scripts/python-client.sh test     set up, then run mypy --strict and the
#                                               tests in each venv (TLOG_MODULE: the module,
#                                               target/release/libtlog.so by default)
set -euo pipefail

PY_MAJORS=(8 7) # keep in step with scripts/client-deps.sh

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
dest=target/clients
say() { echo "python-client.sh: $*"; }

if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    echo "python-client.sh: needs python3 with venv (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi

# The stamp names the checkout too: the client is installed in editable mode, so a venv
# copied from another checkout would test that checkout's code.
stamp_of() { echo "$(sha256sum clients/python/pyproject.toml | cut -c1-16) $root"; }
py_version() {
    "$1/bin/python" -c 'import importlib.metadata as m; print(m.version("redis"))' 2>/dev/null || true
}

for major in "${PY_MAJORS[@]}"; do
    venv="$dest/py-tlog-redis$major"
    stamp="$(stamp_of)-$major"
    if [[ "$(py_version "$venv")" != "$major".* || "$(cat "$venv/.tlog-stamp" 2>/dev/null)" != "$stamp" ]]; then
        say "setting up $venv (redis-py $major.x, pytest, the client)"
        rm -rf "$venv"
        python3 -m venv "$venv"
        extra=()
        [ "$major" = "${PY_MAJORS[0]}" ] && extra=(mypy)
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
            "redis>=$major,<$((major + 1))" pytest "${extra[@]}"
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e clients/python
        "$venv/bin/python" -c 'import tlog' || {
            echo "python-client.sh: tlog does not import in $venv after pip install" >&2
            exit 1
        }
        echo "$stamp" >"$venv/.tlog-stamp"
    fi
done

[ "${1:-}" = test ] || exit 0

export TLOG_MODULE="${TLOG_MODULE:-$root/target/release/libtlog.so}"
first="$dest/py-tlog-redis${PY_MAJORS[0]}"
say "mypy --strict on the client, and on a program that uses it (tests/typing_user.py)"
(cd clients/python && "$root/$first/bin/python" -m mypy --strict --cache-dir "$root/$dest/mypy-cache" \
    src/tlog tests/typing_user.py)
for major in "${PY_MAJORS[@]}"; do
    venv="$dest/py-tlog-redis$major"
    say "tests with redis-py $(py_version "$venv")"
    (cd clients/python && "$root/$venv/bin/python" -m pytest -q -p no:cacheprovider tests)
done
