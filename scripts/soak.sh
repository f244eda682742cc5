#!/usr/bin/env bash
# Sustained load: a master and a replica (both with the module), 50 clients for 60 s
# (SOAK_CLIENTS, SOAK_SECONDS) mixing writes, filtered reads, LATEST and the blocking tail;
# a fifth of the writes go to a prefix under retention (TTLs of 1-3 s, MAXLEN ~ 2000).
# Fails on any error, any acknowledged record missing, or a replica that differs at the end.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module="$root/target/release/libtlog.so"
soak="$root/target/release/examples/soak"
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
work=$(mktemp -d)
m=$(free_port); r=$(free_port)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/m" "$work/r"
redis-server --port "$m" --bind 127.0.0.1 --save "" --dir "$work/m" --appendonly yes --loadmodule "$module" \
    --enable-debug-command local --logfile "$work/m/log" & pids+=($!)
redis-server --port "$r" --bind 127.0.0.1 --save "" --dir "$work/r" --replicaof 127.0.0.1 "$m" --loadmodule "$module" \
    --enable-debug-command local --logfile "$work/r/log" & pids+=($!)
for _ in $(seq 100); do
    redis-cli -p "$r" INFO replication 2>/dev/null | grep -q master_link_status:up && break
    sleep 0.1
done
"$soak" "$m" "${SOAK_CLIENTS:-50}" "${SOAK_SECONDS:-60}"
# Records of {ret} expire up to 3 s after the load; the cleaner then removes their ids. Compare
# once the cleaner is done: nothing removed over two full passes of its SCAN.
sleep 4
field() { redis-cli -p "$m" INFO tlog | tr -d '\r' | awk -F: -v f="tlog_$1" '$1 == f {print $2}'; }
work() { echo "$(field records_evicted) $(field records_expired) $(field dead_ids_trimmed) $(field cleaner_backlog) $(field purges_running)"; }
last=$(work); since=$(field cleaner_scan_cycles)
for _ in $(seq 240); do
    sleep 0.5
    now=$(work)
    if [[ $now != "$last" ]]; then last=$now; since=$(field cleaner_scan_cycles); continue; fi
    (( $(field cleaner_scan_cycles) >= since + 2 )) && break
done
redis-cli -p "$m" WAIT 1 10000 >/dev/null
redis-cli -p "$m" INFO tlog | grep -E "records_(logged|evicted|expired)|dead_ids|max_tick" | tr -d '\r' | sed 's/^/  /'
dm=$(redis-cli -p "$m" DEBUG DIGEST); dr=$(redis-cli -p "$r" DEBUG DIGEST)
echo "digest master $dm, replica $dr"
[[ $dm == "$dr" ]] || { echo "the replica differs from the master" >&2; exit 1; }
