#!/usr/bin/env bash
# Throughput and memory benchmark of tlog against plain Redis commands and an equivalent Lua
# script (bench/log.lua). Reports; does not gate: exits 0 even when a target is missed, and
# non-zero only when the setup or a benchmark command fails.
#
# Usage: bash bench/run.sh path/to/libtlog.so
# Env:   BENCH_ROUNDS (default 3), BENCH_REQUESTS per workload run (default 500000)
set -euo pipefail
shopt -s inherit_errexit # command substitutions fail the script too

if [[ $# -ne 1 || ! -f $1 ]]; then
    echo "usage: $0 path/to/libtlog.so" >&2
    exit 2
fi
MODULE=$(realpath "$1")
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
REQUESTS=${BENCH_REQUESTS:-500000}
MEM_RECORDS=100000
MSG=$(printf 'x%.0s' $(seq 100)) # 100-byte message (and SET/GET value)

# --- A private redis-server on a free loopback port, killed on exit -----------------------
WORKDIR=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORKDIR" \
    --logfile "$WORKDIR/redis.log" --loadmodule "$MODULE" &
SERVER_PID=$!
cleanup() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    rm -rf "$WORKDIR"
}
trap cleanup EXIT

# redis-cli that fails (-e) on an error reply, not only on a connection error.
cli() { redis-cli -e -h 127.0.0.1 -p "$PORT" "$@"; }

for try in $(seq 50); do
    [[ $(cli PING 2>/dev/null) == PONG ]] && break
    if [[ $try -eq 50 ]] || ! kill -0 "$SERVER_PID" 2>/dev/null; then
        echo "redis-server did not answer PING on port $PORT; its log:" >&2
        cat "$WORKDIR/redis.log" >&2 || true
        exit 1
    fi
    sleep 0.1
done

# --- Helpers --------------------------------------------------------------------------------
# Empties the database, then seeds what the read workloads need: a GET key and one record.
reset_db() {
    cli FLUSHALL >/dev/null
    cli SET key "$MSG" >/dev/null
    cli TLOG.LOG bench "$MSG" t >/dev/null
}

# run_benchmark N [redis-benchmark options] CMD... : prints the ops/sec of N requests. Any
# failure (redis-benchmark 7 exits non-zero on the first error reply) aborts the script.
run_benchmark() {
    local n=$1 out rps
    shift
    if ! out=$(redis-benchmark -h 127.0.0.1 -p "$PORT" -n "$n" -P 16 -c 50 -q --csv "$@" 2>&1) \
        || grep -qi error <<<"$out"; then
        printf 'benchmark failed: %s\n%s\n' "$*" "$out" >&2
        exit 1
    fi
    rps=$(tail -n 1 <<<"$out" | awk -F'","' '{print $2}')
    if [[ ! $rps =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
        printf 'cannot parse redis-benchmark output: %s\n%s\n' "$*" "$out" >&2
        exit 1
    fi
    echo "$rps"
}

used_memory() { cli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" {print $2}'; }

# --- Sanity checks before measuring ---------------------------------------------------------
SHA=$(cli -x SCRIPT LOAD <"$BENCH_DIR/log.lua")
reset_db
latest=$(cli TLOG.LATEST bench t)
[[ $latest == *"$MSG"* ]] || { echo "TLOG.LATEST bench t is broken: $latest" >&2; exit 1; }
[[ $(cli EVALSHA "$SHA" 1 lua "$MSG" t) == 1 ]] || { echo "bench/log.lua is broken" >&2; exit 1; }

# --- Throughput: interleaved rounds, each running every workload once ------------------------
WORKLOADS=("SET" "Lua" "TLOG.LOG" "GET" "TLOG.LATEST")
set_cmd() { # sets the array cmd to the redis-benchmark arguments of workload $1
    case $1 in
        SET) cmd=(-r 100000 SET key:__rand_int__ "$MSG") ;;
        Lua) cmd=(EVALSHA "$SHA" 1 lua "$MSG" t) ;;
        TLOG.LOG) cmd=(TLOG.LOG bench "$MSG" t) ;;
        GET) cmd=(GET key) ;;
        TLOG.LATEST) cmd=(TLOG.LATEST bench t) ;;
    esac
}
RESULTS=$WORKDIR/results.csv
echo "tlog benchmark: $ROUNDS rounds x $REQUESTS requests per workload, -P 16 -c 50, port $PORT"
for round in $(seq "$ROUNDS"); do
    for w in "${WORKLOADS[@]}"; do
        reset_db # keeps memory bounded and every run starts from the same state
        set_cmd "$w"
        rps=$(run_benchmark "$REQUESTS" "${cmd[@]}")
        printf '  round %d  %-12s %12.0f ops/sec\n' "$round" "$w" "$rps"
        echo "$w,$rps" >>"$RESULTS"
    done
done

# --- Memory per record: 100,000 records through each implementation --------------------------
# mem_per_record PREFIX CMD... : prints used_memory growth per record logged by CMD.
mem_per_record() {
    local prefix=$1 before after count
    shift
    cli FLUSHALL >/dev/null
    before=$(used_memory)
    run_benchmark "$MEM_RECORDS" "$@" >/dev/null
    after=$(used_memory)
    count=$(cli LLEN "$prefix:flow:__all__")
    if [[ $count -ne $MEM_RECORDS ]]; then
        echo "expected $MEM_RECORDS records under $prefix, found $count" >&2
        exit 1
    fi
    echo $(((after - before) / MEM_RECORDS))
}
MEM_TLOG=$(mem_per_record bench TLOG.LOG bench "$MSG" t)
MEM_LUA=$(mem_per_record lua EVALSHA "$SHA" 1 lua "$MSG" t)

# --- Report ---------------------------------------------------------------------------------
python3 - "$RESULTS" "$MEM_TLOG" "$MEM_LUA" "$MEM_RECORDS" <<'EOF'
import csv, statistics, sys

runs = {}
for name, rps in csv.reader(open(sys.argv[1])):
    runs.setdefault(name, []).append(float(rps))
med = {name: statistics.median(v) for name, v in runs.items()}

print("\nMedian throughput (ops/sec) over rounds:")
print(f"  {'workload':<12} {'median':>12}   rounds")
for name, v in runs.items():
    print(f"  {name:<12} {med[name]:>12.0f}   " + " ".join(f"{x:.0f}" for x in v))

print("\nRatios of medians:")
for label, num, den, target in [
    ("TLOG.LOG / SET", "TLOG.LOG", "SET", 0.40),
    ("TLOG.LOG / Lua", "TLOG.LOG", "Lua", 2.00),
    ("TLOG.LATEST / GET", "TLOG.LATEST", "GET", 0.50),
]:
    print(f"{label:<20}{med[num] / med[den]:.2f}   (target >= {target:.2f})")

mem_tlog, mem_lua, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"\nMemory per record (used_memory growth over {n:,} records, 100-byte message, one tag):")
print(f"  TLOG.LOG  {mem_tlog:>6} bytes/record")
print(f"  Lua       {mem_lua:>6} bytes/record")
EOF
