#!/usr/bin/env bash
# Sustained load: a master and a replica (both with the module), 50 clients for 60 s
# (SOAK_CLIENTS, SOAK_SECONDS) mixing writes, filtered reads, LATEST and the blocking tail.
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
redis-cli -p "$m" WAIT 1 10000 >/dev/null
dm=$(redis-cli -p "$m" DEBUG DIGEST); dr=$(redis-cli -p "$r" DEBUG DIGEST)
echo "digest master $dm, replica $dr"
[[ $dm == "$dr" ]] || { echo "the replica differs from the master" >&2; exit 1; }
