#!/usr/bin/env bash
# Throughput and memory benchmark of tlog against plain Redis commands and an equivalent Lua
# script (bench/log.lua), and against the API floor (bench/floor.c: the same work with nothing
# but the module API calls it needs). Reports; does not gate: exits 0 even when a target is
# missed, and non-zero only when the setup or a benchmark command fails.
#
# Part 2 fills one flow with 1,000,000 records and measures read queries on it: a page of 100
# records against its Lua peer (bench/get_limit.lua), a deep page by id cursor and a page
# bounded by time against the head page, and TLOG.COUNT. Part 3: multi-tag queries. Part 4:
# TLOG.TAIL. Part 5: retention (a per-call limit's cost; the cleaner with 1,000,000 records
# expiring at once, and TLOG.PURGE of 1,000,000 records, each with another client's latency).
#
# Usage: bash bench/run.sh path/to/libtlog.so
# Env:   BENCH_ROUNDS (default 3), BENCH_REQUESTS per workload run of part 1 (default 500000),
#        BENCH_RETENTION_RECORDS for part 5 (default 1000000), BENCH_LAST_PART (default 5: the
#        parts after it are skipped). The server is the first redis-server on PATH.
set -euo pipefail
shopt -s inherit_errexit # command substitutions fail the script too

if [[ $# -ne 1 || ! -f $1 ]]; then
    echo "usage: $0 path/to/libtlog.so" >&2
    exit 2
fi
MODULE=$(realpath "$1")
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROUNDS=${BENCH_ROUNDS:-3}
LAST_PART=${BENCH_LAST_PART:-5}
REQUESTS=${BENCH_REQUESTS:-500000}
MEM_RECORDS=100000
MSG=$(printf 'x%.0s' $(seq 100)) # 100-byte message (and SET/GET value)

# --- A private redis-server on a free loopback port, killed on exit -----------------------
WORKDIR=$(mktemp -d)
PORT=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')

# The API floor (bench/floor.c): the least a module can do for the work of TLOG.LOG and
# TLOG.LATEST, built against the redismodule.h of the redis-module crate tlog builds with.
# Without a C compiler it is left out and the rest runs.
FLOOR_ARGS=()
include=$(cargo metadata --format-version 1 --manifest-path "$BENCH_DIR/../Cargo.toml" 2>/dev/null | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "redis-module":
        print(os.path.join(os.path.dirname(p["manifest_path"]), "src", "include"))
        break
' || true)
if [[ -f $include/redismodule.h ]] && cc -O2 -fPIC -shared -I"$include" "$BENCH_DIR/floor.c" -o "$WORKDIR/floor.so"; then
    FLOOR_ARGS=(--loadmodule "$WORKDIR/floor.so")
else
    echo "bench/floor.c not built (no C compiler, or redismodule.h not found): the API floor is left out" >&2
fi

redis-server --port "$PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORKDIR" \
    --logfile "$WORKDIR/redis.log" --loadmodule "$MODULE" "${FLOOR_ARGS[@]}" &
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
# report CSV [ARG...] <<'PYEOF' ... : runs the Python code on stdin with `runs` (workload ->
# ops/sec of each round) and `med` (workload -> median) read from CSV ("workload,ops/sec"
# lines), and the ARGs in sys.argv[2:].
report() {
    python3 -c '
import csv, statistics, sys
runs = {}
for name, rps in csv.reader(open(sys.argv[1])):
    runs.setdefault(name, []).append(float(rps))
med = {name: statistics.median(v) for name, v in runs.items()}
exec(sys.stdin.read())
' "$@"
}

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
    # Too few requests to time (redis-benchmark says "inf"): the caller's sizing asks again.
    [[ $rps == inf ]] && rps=100000000
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
if [[ ${#FLOOR_ARGS[@]} -gt 0 ]]; then
    [[ $(cli FLOOR.LATEST bench t) == id$'\n'1$'\n'ts* ]] || { echo "FLOOR.LATEST bench t is broken" >&2; exit 1; }
    WORKLOADS+=("floor LOG" "floor LATEST")
fi
set_cmd() { # sets the array cmd to the redis-benchmark arguments of workload $1
    case $1 in
        SET) cmd=(-r 100000 SET key:__rand_int__ "$MSG") ;;
        Lua) cmd=(EVALSHA "$SHA" 1 lua "$MSG" t) ;;
        TLOG.LOG) cmd=(TLOG.LOG bench "$MSG" t) ;;
        GET) cmd=(GET key) ;;
        TLOG.LATEST) cmd=(TLOG.LATEST bench t) ;;
        "floor LOG") cmd=(FLOOR.LOG floor "$MSG" t) ;;
        "floor LATEST") cmd=(FLOOR.LATEST bench t) ;;
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
report "$RESULTS" "$MEM_TLOG" "$MEM_LUA" "$MEM_RECORDS" <<'EOF'

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

if "floor LOG" in med:
    print("\nThe API floor (bench/floor.c: the same work with nothing but the module API calls it needs):")
    for label, num, den in [
        ("floor LOG / SET", "floor LOG", "SET"),
        ("floor LOG / Lua", "floor LOG", "Lua"),
        ("floor LATEST / GET", "floor LATEST", "GET"),
        ("TLOG.LOG / floor LOG", "TLOG.LOG", "floor LOG"),
        ("TLOG.LATEST / floor LATEST", "TLOG.LATEST", "floor LATEST"),
    ]:
        print(f"{label:<28}{med[num] / med[den]:.2f}")

mem_tlog, mem_lua, n = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
print(f"\nMemory per record (used_memory growth over {n:,} records, 100-byte message, one tag):")
print(f"  TLOG.LOG  {mem_tlog:>6} bytes/record")
print(f"  Lua       {mem_lua:>6} bytes/record")
EOF

((LAST_PART >= 2)) || exit 0
# === Part 2: queries on a 1,000,000-record flow =============================================
BIG_RECORDS=1000000
DEEP_ID=300000 # the deep page starts below this id; the time bound is this record's ts
PAGE=100

now() { date +%s.%N; }

# --- Fill: 1M records under prefix big, one tag, through redis-benchmark (-P 64 overrides) ---
cli FLUSHALL >/dev/null
mem_before=$(used_memory)
fill_start=$(now)
FILL_RPS=$(run_benchmark "$BIG_RECORDS" -P 64 TLOG.LOG big "$MSG" t)
FILL_SECS=$(awk -v a="$fill_start" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
mem_after=$(used_memory)
for check in "LLEN big:flow:t" "LLEN big:flow:__all__" "TLOG.COUNT big t"; do
    # shellcheck disable=SC2086 # word splitting of the check is intended
    got=$(cli $check)
    if [[ $got != "$BIG_RECORDS" ]]; then
        echo "after the fill, $check = $got, expected $BIG_RECORDS" >&2
        exit 1
    fi
done
MEM_BIG=$(((mem_after - mem_before) / BIG_RECORDS))

# The stored ts of record DEEP_ID, as written (parse_float=str keeps every digit).
DEEP_TS=$(cli GET "big:msg:$DEEP_ID" | python3 -c 'import json, sys; print(json.load(sys.stdin, parse_float=str)["ts"])')
[[ $DEEP_TS =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "cannot read the ts of big:msg:$DEEP_ID: $DEEP_TS" >&2; exit 1; }

# --- Sanity checks of every reply before measuring -------------------------------------------
GET_SHA=$(cli -x SCRIPT LOAD <"$BENCH_DIR/get_limit.lua")
# check_page LABEL FIRST_ID LAST_ID TS_MAX CLI-ARGS... : a RAW reply of PAGE JSON records,
# newest first, ids consecutive from FIRST_ID (empty: any) down to LAST_ID (empty: any), every
# ts <= TS_MAX (empty: no bound). Prints the reply.
check_page() {
    local label=$1 first=$2 last=$3 tsmax=$4 out
    shift 4
    out=$(cli "$@")
    if ! python3 -c '
import json, sys
page, first, last, tsmax = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
recs = [json.loads(line, parse_float=str) for line in sys.stdin.read().splitlines()]
ids = [r["id"] for r in recs]
assert len(recs) == page, f"{len(recs)} records, expected {page}"
assert ids == list(range(ids[0], ids[0] - page, -1)), "ids not consecutive newest first"
assert not first or ids[0] == int(first), f"first id {ids[0]}, expected {first}"
assert not last or ids[-1] == int(last), f"last id {ids[-1]}, expected {last}"
from decimal import Decimal
assert not tsmax or all(Decimal(r["ts"]) <= Decimal(tsmax) for r in recs), "a ts past the bound"
' "$PAGE" "$first" "$last" "$tsmax" <<<"$out"; then
        echo "$label: unexpected reply to: $*" >&2
        exit 1
    fi
    printf '%s\n' "$out"
}
head_raw=$(check_page "TLOG.GET RAW" "$BIG_RECORDS" $((BIG_RECORDS - PAGE + 1)) "" TLOG.GET big t LIMIT "$PAGE" RAW)
lua_page=$(check_page "bench/get_limit.lua" "$BIG_RECORDS" "" "" EVALSHA "$GET_SHA" 1 big t "$PAGE")
[[ $lua_page == "$head_raw" ]] || { echo "bench/get_limit.lua and TLOG.GET ... RAW differ" >&2; exit 1; }
check_page "TLOG.GET BEFORE" $((DEEP_ID - 1)) $((DEEP_ID - PAGE)) "" \
    TLOG.GET big t BEFORE "$DEEP_ID" LIMIT "$PAGE" RAW >/dev/null
until_page=$(check_page "TLOG.GET UNTIL" "" "" "$DEEP_TS" TLOG.GET big t UNTIL "$DEEP_TS" LIMIT "$PAGE" RAW)
# The newest record at or before DEEP_TS: DEEP_ID itself, or a later one with the same ts.
python3 -c '
import json, sys
r = json.loads(sys.stdin.readline(), parse_float=str)
assert r["id"] >= int(sys.argv[1]) and r["ts"] == sys.argv[2], r
' "$DEEP_ID" "$DEEP_TS" <<<"$until_page" || { echo "TLOG.GET UNTIL starts at the wrong record" >&2; exit 1; }
# The map reply: PAGE records, the first one BIG_RECORDS (field "id" is followed by its value).
head_map=$(cli TLOG.GET big t LIMIT "$PAGE")
[[ $(grep -cx id <<<"$head_map") == "$PAGE" && $(sed -n 2p <<<"$head_map") == "$BIG_RECORDS" ]] \
    || { echo "TLOG.GET big t LIMIT $PAGE (field maps) is broken" >&2; exit 1; }
# Records DEEP_ID.. have ts >= DEEP_TS; a few before it may share that microsecond.
since_count=$(cli TLOG.COUNT big t SINCE "$DEEP_TS")
until_count=$(cli TLOG.COUNT big t UNTIL "$DEEP_TS")
before_count=$(cli TLOG.COUNT big t BEFORE "$DEEP_ID")
[[ $before_count == $((DEEP_ID - 1)) ]] || { echo "TLOG.COUNT BEFORE $DEEP_ID = $before_count" >&2; exit 1; }
if ((since_count < BIG_RECORDS - DEEP_ID + 1 || since_count > BIG_RECORDS - DEEP_ID + 1 + 1000 \
    || since_count + until_count < BIG_RECORDS)); then
    echo "TLOG.COUNT SINCE/UNTIL $DEEP_TS = $since_count/$until_count: inconsistent" >&2
    exit 1
fi

# --- Throughput: interleaved rounds; each workload's request count sized to run ~2 s ---------
# COUNT BEFORE is the id seek of the deep page alone (no record is read): it tells the cost of
# the seek from the cost of the page.
QUERIES=("Lua LIMIT 100" "GET LIMIT 100 RAW" "GET LIMIT 100" "GET BEFORE" "GET UNTIL" "COUNT SINCE"
    "COUNT BEFORE" "COUNT")
set_query() { # sets the array cmd to the redis-benchmark arguments of query workload $1
    case $1 in
        "Lua LIMIT 100") cmd=(EVALSHA "$GET_SHA" 1 big t "$PAGE") ;;
        "GET LIMIT 100 RAW") cmd=(TLOG.GET big t LIMIT "$PAGE" RAW) ;;
        "GET LIMIT 100") cmd=(TLOG.GET big t LIMIT "$PAGE") ;;
        "GET BEFORE") cmd=(TLOG.GET big t BEFORE "$DEEP_ID" LIMIT "$PAGE") ;;
        "GET UNTIL") cmd=(TLOG.GET big t UNTIL "$DEEP_TS" LIMIT "$PAGE") ;;
        "COUNT SINCE") cmd=(TLOG.COUNT big t SINCE "$DEEP_TS") ;;
        "COUNT BEFORE") cmd=(TLOG.COUNT big t BEFORE "$DEEP_ID") ;;
        "COUNT") cmd=(TLOG.COUNT big t) ;;
    esac
}
# requests_for SECONDS RPS : a request count that takes about SECONDS at RPS (at least 400).
requests_for() { awk -v s="$1" -v r="$2" 'BEGIN {n = int(s * r / 100) * 100; print (n < 400 ? 400 : n)}'; }
declare -A QN
for w in "${QUERIES[@]}"; do
    set_query "$w"
    n=400
    rps=$(run_benchmark "$n" "${cmd[@]}") # a first guess, grown until it takes measurable time...
    while awk -v n="$n" -v r="$rps" 'BEGIN {exit !(n / r < 0.05)}' && ((n < 10000000)); do
        n=$((n * 10))
        rps=$(run_benchmark "$n" "${cmd[@]}")
    done
    n=$(requests_for 0.3 "$rps")
    if ((n > 400)); then # ...refined over ~0.3 s unless the guess took that long already
        rps=$(run_benchmark "$n" "${cmd[@]}")
    fi
    QN[$w]=$(requests_for 2 "$rps")
done

QRESULTS=$WORKDIR/queries.csv
echo
echo "Queries on a 1,000,000-record flow: prefix big, one tag, 100-byte message;" \
    "$ROUNDS rounds, -P 16 -c 50"
printf '  fill: %d x TLOG.LOG (redis-benchmark -P 64 -c 50) in %s s, %.0f ops/sec\n' \
    "$BIG_RECORDS" "$FILL_SECS" "$FILL_RPS"
echo "  deep cursor: BEFORE $DEEP_ID; time bound: UNTIL/SINCE $DEEP_TS (the ts of record $DEEP_ID)"
for round in $(seq "$ROUNDS"); do
    for w in "${QUERIES[@]}"; do
        set_query "$w"
        rps=$(run_benchmark "${QN[$w]}" "${cmd[@]}")
        printf '  round %d  %-18s %12.0f ops/sec  (%d requests)\n' "$round" "$w" "$rps" "${QN[$w]}"
        echo "$w,$rps" >>"$QRESULTS"
    done
done

report "$QRESULTS" "$MEM_BIG" "$BIG_RECORDS" <<'PYEOF'

print("\nMedian throughput (ops/sec) over rounds:")
print(f"  {'query':<18} {'median':>12}   rounds")
for name, v in runs.items():
    print(f"  {name:<18} {med[name]:>12.0f}   " + " ".join(f"{x:.0f}" for x in v))

print("\nRatios of medians:")
W = 38
print(f"{'GET LIMIT 100 / Lua':<{W}}{med['GET LIMIT 100 RAW'] / med['Lua LIMIT 100']:.2f}   (target >= 3.00)")
print(f"{'GET LIMIT 100 (field maps) / Lua':<{W}}{med['GET LIMIT 100'] / med['Lua LIMIT 100']:.2f}")
# Cost of a page relative to the head page: the inverse ratio of their throughputs.
print(f"{'deep cursor page / head page cost':<{W}}{med['GET LIMIT 100'] / med['GET BEFORE']:.2f}   (target <= 2.00)")
print(f"{'time-bounded page / head page cost':<{W}}{med['GET LIMIT 100'] / med['GET UNTIL']:.2f}   (target <= 2.00)")

print("\nTLOG.COUNT (ops/sec, median):")
print(f"  COUNT big t SINCE <ts>   {med['COUNT SINCE']:>12.0f}")
print(f"  COUNT big t BEFORE <id>  {med['COUNT BEFORE']:>12.0f}   (the deep page's id seek alone)")
print(f"  COUNT big t              {med['COUNT']:>12.0f}")

print(f"\nMemory: {int(sys.argv[2])} bytes/record (1M records, one tag)"
      f" (used_memory growth over the fill / {int(sys.argv[3]):,})")
PYEOF

((LAST_PART >= 3)) || exit 0
# --- Part 3: tag filters: AND of two 100,000-record flows, OR of five flows ---------------------
# 200,000 records in prefix tf: tag a on even records (100,000), b on records i % 4 in {0, 1}
# (100,000; a AND b: 50,000), and one of c0..c4 on each (40,000 each). Written with
# redis-cli --pipe from generated commands.
cli FLUSHALL >/dev/null
python3 - <<'PYEOF' | redis-cli -h 127.0.0.1 -p "$PORT" --pipe >/dev/null
import sys
out = sys.stdout.buffer
def cmd(*words):
    parts = [b"*%d\r\n" % len(words)]
    for w in words:
        w = w.encode() if isinstance(w, str) else w
        parts.append(b"$%d\r\n%s\r\n" % (len(w), w))
    return b"".join(parts)
for i in range(200_000):
    tags = []
    if i % 2 == 0:
        tags.append("a")
    if i % 4 in (0, 1):
        tags.append("b")
    tags.append("c%d" % (i % 5))
    out.write(cmd("TLOG.LOG", "tf", "x" * 100, *tags))
PYEOF
for k in a b c0; do
    n=$(cli LLEN "tf:flow:$k")
    [[ $k == c0 && $n == 40000 || $k != c0 && $n == 100000 ]] || { echo "tag filter fill: tf:flow:$k has $n ids" >&2; exit 1; }
done
AND_IDS=$(cli TLOG.GET tf a AND 1 b LIMIT 100 RAW | grep -c '"id"')
OR_IDS=$(cli TLOG.GET tf __all__ OR 5 c0 c1 c2 c3 c4 LIMIT 100 RAW | grep -c '"id"')
[[ $AND_IDS == 100 && $OR_IDS == 100 ]] || { echo "tag filter replies: $AND_IDS / $OR_IDS records" >&2; exit 1; }
echo
echo "Tag filters on 200,000 records (LIMIT 100, RAW), median of $ROUNDS rounds:"
TRESULTS=$WORKDIR/tags.csv
for round in $(seq "$ROUNDS"); do
    echo "head,$(run_benchmark 20000 TLOG.GET tf a LIMIT 100 RAW)" >>"$TRESULTS"
    echo "and,$(run_benchmark 20000 TLOG.GET tf a AND 1 b LIMIT 100 RAW)" >>"$TRESULTS"
    echo "or,$(run_benchmark 20000 TLOG.GET tf __all__ OR 5 c0 c1 c2 c3 c4 LIMIT 100 RAW)" >>"$TRESULTS"
    echo "count_and,$(run_benchmark 200 TLOG.COUNT tf a AND 1 b)" >>"$TRESULTS"
done
report "$TRESULTS" <<'PYEOF'
print(f"  one flow, head page               {med['head']:>9.0f} ops/sec")
print(f"  a AND b (100,000 each)            {med['and']:>9.0f} ops/sec   cost {med['head'] / med['and']:.2f}x the head page")
print(f"  OR of five 40,000-record flows    {med['or']:>9.0f} ops/sec   cost {med['head'] / med['or']:.2f}x the head page")
print(f"  COUNT a AND b (whole flows)       {med['count_and']:>9.0f} ops/sec")
PYEOF

((LAST_PART >= 4)) || exit 0
# --- Part 4: TLOG.TAIL: wake-up latency, and TLOG.LOG throughput with 100 idle blocked readers ---
TAIL_BIN=$(dirname "$MODULE")/examples/tail_latency
[[ -x $TAIL_BIN ]] || { echo "missing $TAIL_BIN: cargo build --release --example tail_latency" >&2; exit 1; }
cli FLUSHALL >/dev/null
echo
echo "TLOG.TAIL (100 readers blocked on 100 tags):"
read -r ROUNDS_T P50 P99 MAXL < <("$TAIL_BIN" "$PORT" latency 2000)
printf '  TLOG.LOG -> matching reader'"'"'s reply: p50 %s us, p99 %s us, max %s us over %s records (target p99 < 1000 us)\n' \
    "$P50" "$P99" "$MAXL" "$ROUNDS_T"
cli FLUSHALL >/dev/null
TRESULTS=$WORKDIR/tail.csv
# Each measurement starts from an empty database (a growing one slows later runs), and the
# order alternates between rounds.
measure_idle() { cli FLUSHALL >/dev/null; echo "none,$(run_benchmark 300000 TLOG.LOG tl "$MSG" other)" >>"$TRESULTS"; }
measure_held() {
    "$TAIL_BIN" "$PORT" hold 100 &
    HOLD_PID=$!
    for _ in $(seq 200); do
        [[ $(cli INFO clients | tr -d '\r' | awk -F: '$1 == "blocked_clients" {print $2}') == 100 ]] && break
        sleep 0.05
    done
    cli FLUSHALL >/dev/null
    echo "blocked,$(run_benchmark 300000 TLOG.LOG tl "$MSG" other)" >>"$TRESULTS"
    kill "$HOLD_PID" 2>/dev/null || true
    wait "$HOLD_PID" 2>/dev/null || true
}
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then measure_idle; measure_held; else measure_held; measure_idle; fi
done
report "$TRESULTS" <<'PYEOF'
print(f"  TLOG.LOG, no reader blocked           {med['none']:>9.0f} ops/sec")
print(f"  TLOG.LOG, 100 readers of other tags   {med['blocked']:>9.0f} ops/sec   ratio {med['blocked'] / med['none']:.2f} (target >= 0.90)")
PYEOF

((LAST_PART >= 5)) || exit 0
# --- Part 5: retention: the cost of a limit per write; the cleaner and TLOG.PURGE at 1,000,000 records ---
RET_BIN=$(dirname "$MODULE")/examples/retention_latency
[[ -x $RET_BIN ]] || { echo "missing $RET_BIN: cargo build --release --example retention_latency" >&2; exit 1; }
RET_RECORDS=${BENCH_RETENTION_RECORDS:-1000000}
echo
echo "Retention:"
RRESULTS=$WORKDIR/retention.csv
# In steady state each TLOG.ADD MAXLEN 1000 removes one record (its key, its ids in two flows).
measure_plain() { cli FLUSHALL >/dev/null; echo "plain,$(run_benchmark 300000 TLOG.ADD rt MESSAGE "$MSG" t)" >>"$RRESULTS"; }
measure_maxlen() { cli FLUSHALL >/dev/null; echo "maxlen,$(run_benchmark 300000 TLOG.ADD rt MAXLEN 1000 MESSAGE "$MSG" t)" >>"$RRESULTS"; }
for round in $(seq "$ROUNDS"); do
    if ((round % 2)); then measure_plain; measure_maxlen; else measure_maxlen; measure_plain; fi
done
report "$RRESULTS" <<'PYEOF'
print(f"  TLOG.ADD                              {med['plain']:>9.0f} ops/sec")
print(f"  TLOG.ADD MAXLEN 1000 (one removal)    {med['maxlen']:>9.0f} ops/sec   ratio {med['maxlen'] / med['plain']:.2f}")
PYEOF
echo "  $RET_RECORDS records (two tags each) expiring at once; the cleaner removes their ids (target: ticks <= 1000 us):"
"$RET_BIN" "$PORT" expire "$RET_RECORDS" | sed 's/^/    /'
echo "  100000 records with a tag each (100,000 flows) expiring at once:"
"$RET_BIN" "$PORT" tags 100000 | sed 's/^/    /'
echo "  TLOG.PURGE of a $RET_RECORDS-record prefix while another client sends GETs (target: its max latency < 10 ms):"
"$RET_BIN" "$PORT" purge "$RET_RECORDS" | sed 's/^/    /'
