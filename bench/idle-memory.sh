#!/usr/bin/env bash
# idle-memory.sh: pgrelay's memory per idle client connection.
#
# Starts pgrelay (transaction pooling) in front of PRIMARY, which must trust 127.0.0.1 and have a
# database "bench" (bench/run.sh's cluster or ../shared/bench/cluster.sh do), warms it up with 100
# clients, then measures the live heap after a full GC (jcmd) and the process RSS with no client
# and with CLIENTS idle clients (bench/IdleClients.java). Stops pgrelay on exit.
#
#   PRIMARY [127.0.0.1:15432]  CLIENTS [5000]  PORT [6439]  PGRELAY_OPTS (JVM options)
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
PRIMARY=${PRIMARY:-127.0.0.1:15432}
CLIENTS=${CLIENTS:-5000}
PORT=${PORT:-6439}

JAVA_HOME=${JAVA_HOME:-$(ls -d /usr/lib/jvm/temurin-* 2>/dev/null | sort -V -r | head -n 1)}
J="$JAVA_HOME/bin"
[ -x "$J/jcmd" ] || { echo "idle-memory.sh: needs a JDK >= 21 with jcmd (set JAVA_HOME)" >&2; exit 1; }
[ "$(ulimit -n)" -ge $((CLIENTS * 2 + 100)) ] || ulimit -n $((CLIENTS * 2 + 100))

"$ROOT/bin/pgrelay" serve --listen "127.0.0.1:$PORT" --primary "$PRIMARY" --pool-mode transaction --pool-size 20 \
    >/tmp/pgrelay-idle-memory.log 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
# bin/pgrelay execs the JVM, so $pid is pgrelay itself.
for _ in $(seq 150); do grep -q "listening" /tmp/pgrelay-idle-memory.log && break; sleep 0.2; done
grep -q "listening" /tmp/pgrelay-idle-memory.log || {
    echo "idle-memory.sh: pgrelay did not start; see /tmp/pgrelay-idle-memory.log" >&2; exit 1; }

established() { ss -tn state established "( sport = :$PORT )" | tail -n +2 | wc -l; }
heap_kb() {
    "$J/jcmd" "$pid" GC.run >/dev/null
    sleep 1
    "$J/jcmd" "$pid" GC.heap_info | grep -E "^ *(DefNew|Tenured|garbage-first heap|PSYoungGen|ParOldGen)" \
        | grep -o "used [0-9]*K" | tr -dc '0-9\n' | awk '{s += $1} END {print s}'
}
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }

"$J/java" "$HERE/IdleClients.java" 127.0.0.1 "$PORT" 100 100 >/dev/null
for _ in $(seq 60); do [ "$(established)" = 0 ] && break; sleep 1; done
h0=$(heap_kb); r0=$(rss_kb)
"$J/java" "$HERE/IdleClients.java" 127.0.0.1 "$PORT" "$CLIENTS" 600000 & clients=$!
for _ in $(seq 300); do [ "$(established)" -ge "$CLIENTS" ] && break; sleep 1; done
sleep 2
h1=$(heap_kb); r1=$(rss_kb)
kill "$clients"; wait "$clients" 2>/dev/null || true
echo "pgrelay with 0 clients: heap ${h0} kB, RSS ${r0} kB; with ${CLIENTS} idle clients: heap ${h1} kB, RSS ${r1} kB"
echo "per idle client: heap $(( (h1 - h0) * 1024 / CLIENTS )) B, RSS $(( (r1 - r0) * 1024 / CLIENTS )) B"
