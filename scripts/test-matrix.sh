#!/usr/bin/env bash
# Server compatibility matrix: runs tlog's integration tests against every server available here:
#   - the system redis-server (Debian bookworm: Redis 7.0),
#   - Valkey 8.1 and Redis 7.4.1, fetched by scripts/servers.sh into target/servers/ (Redis 7.4.1
#     is left out, with servers.sh's reason, if it could not be fetched),
# then prints a table: server, version, passed/failed, and the failing tests.
#
# Builds nothing itself: target/release/libtlog.so must exist (`cargo build --release`). Every
# test file but tests/old_server.rs (which needs Redis 6 and starts its own server) is run, as
#   REDIS_SERVER=<bin> TLOG_MODULE=$PWD/target/release/libtlog.so \
#       cargo test --release --test core --test bad_input ...
# would: the test executables are compiled once (`cargo test --release --no-run`, which also
# refreshes libtlog.so if src/ changed), then they and libtlog.so are copied to
# target/test-matrix/bin/ and that snapshot is run against each server from the package root,
# so every server sees exactly the same build even if src/ or tests/ change meanwhile.
# Override the list with TLOG_MATRIX_TESTS="core tail ...". Logs: target/test-matrix/<server>.log
# (each server's own log is in the test's temp dir, printed by the failing assertion).
# The cluster test calls `redis-cli` from PATH (the system's 7.0 client) whatever the server.
#
# Exits non-zero if any run fails.   Usage: bash scripts/test-matrix.sh
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
so="$root/target/release/libtlog.so"
servers="${TLOG_SERVERS_DIR:-$root/target/servers}"
logs="$root/target/test-matrix"

say() { echo "test-matrix.sh: $*"; }
die() {
    echo "test-matrix.sh: ERROR: $*" >&2
    exit 1
}

[ -f "$so" ] || die "$so is missing: build it first (cargo build --release)"
command -v python3 >/dev/null 2>&1 || die "needs python3 (to read cargo's JSON output)"

if [ -n "${TLOG_MATRIX_TESTS:-}" ]; then
    read -r -a tests <<<"$TLOG_MATRIX_TESTS"
else
    tests=()
    for f in tests/*.rs; do
        t="$(basename "$f" .rs)"
        [ "$t" = old_server ] || tests+=("$t")
    done
fi
[ ${#tests[@]} -gt 0 ] || die "no test files in tests/"
test_args=()
for t in "${tests[@]}"; do test_args+=(--test "$t"); done

bash scripts/servers.sh || die "scripts/servers.sh failed (see above)"
echo

# "name|binary" rows, or "name|SKIPPED: reason"
rows=()
if command -v redis-server >/dev/null 2>&1; then
    rows+=("redis (system)|$(command -v redis-server)")
else
    rows+=("redis (system)|SKIPPED: no redis-server on PATH (make deps installs it)")
fi
rows+=("valkey 8.1|$servers/valkey-8.1/valkey-server")
if [ -f "$servers/redis-7.4.skipped" ]; then
    rows+=("redis 7.4|SKIPPED: $(cat "$servers/redis-7.4.skipped")")
else
    rows+=("redis 7.4|$servers/redis-7.4/redis-server")
fi

mkdir -p "$logs"
say "compiling the test executables (${tests[*]})"
if ! cargo test --release --no-run --message-format=json "${test_args[@]}" >"$logs/build.json" 2>"$logs/build.log"; then
    tail -n 30 "$logs/build.log" >&2
    die "the tests do not compile (cargo test --release --no-run ${test_args[*]}; log: $logs/build.log)"
fi
snap="$logs/bin"
rm -rf "$snap"
mkdir -p "$snap"
cp "$so" "$snap/libtlog.so"
python3 - "$logs/build.json" "$snap" <<'PY' || die "found no test executable in cargo's output ($logs/build.json)"
import json, shutil, sys
found = 0
for line in open(sys.argv[1]):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("executable") and "test" in m["target"]["kind"]:
        shutil.copy2(m["executable"], f"{sys.argv[2]}/{m['target']['name']}")
        found += 1
sys.exit(0 if found else 1)
PY
for t in "${tests[@]}"; do
    [ -x "$snap/$t" ] || die "cargo built no test executable for tests/$t.rs"
done

table=()
any_failed=0
total_pass=0
total_fail=0
for row in "${rows[@]}"; do
    name="${row%%|*}"
    bin="${row#*|}"
    if [[ "$bin" == SKIPPED:* ]]; then
        say "=== $name: skipped: ${bin#SKIPPED: }"
        table+=("$name|-|skipped|${bin#SKIPPED: }")
        continue
    fi
    ver="$("$bin" --version 2>&1 | sed -n 's/.* v=\([^ ]*\) .*/\1/p')"
    [ -n "$ver" ] || ver="?"
    log="$logs/$(echo "$name" | tr -c 'a-zA-Z0-9.\n' '-' | sed 's/-\+/-/g; s/-$//').log"
    say "=== $name $ver ($bin): ${tests[*]} (log: $log)"
    start=$(date +%s)
    rc=0
    : >"$log"
    for t in "${tests[@]}"; do
        echo "     Running tests/$t.rs" >>"$log"
        REDIS_SERVER="$bin" TLOG_MODULE="$snap/libtlog.so" "$snap/$t" >>"$log" 2>&1 || rc=$?
    done
    secs=$(($(date +%s) - start))
    pass=$(awk '/^test result:/ {for (i = 1; i < NF; i++) if ($(i+1) ~ /^passed/) s += $i} END {print s + 0}' "$log")
    fail=$(awk '/^test result:/ {for (i = 1; i < NF; i++) if ($(i+1) ~ /^failed/) s += $i} END {print s + 0}' "$log")
    failing="$(sed -n 's/^test \(.*\) \.\.\. FAILED$/\1/p' "$log" | sort -u | tr '\n' ' ')"
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
    if [ "$rc" -ne 0 ] || [ "$fail" -ne 0 ]; then
        any_failed=1
        [ -n "$failing" ] || failing="a test executable exited $rc (see $log)"
        status="FAIL"
    else
        status="ok"
    fi
    grep -E '^test result:|^     Running' "$log" | sed 's/^/    /'
    say "$name: $pass passed, $fail failed in ${secs}s"
    table+=("$name|$ver|$status: $pass passed, $fail failed (${secs}s)|${failing:--}")
done

echo
printf '%-16s %-8s %-36s %s\n' "server" "version" "result" "failing tests / note"
printf '%-16s %-8s %-36s %s\n' "------" "-------" "------" "--------------------"
for r in "${table[@]}"; do
    IFS='|' read -r n v s f <<<"$r"
    printf '%-16s %-8s %-36s %s\n' "$n" "$v" "$s" "$f"
done
echo
echo "matrix: $total_pass passed, $total_fail failed"
exit "$any_failed"
