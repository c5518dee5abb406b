#!/usr/bin/env bash
# bench/run.sh: pgbench through pgrelay, next to PgBouncer and to PostgreSQL directly.
#
# Starts a throwaway PostgreSQL primary + streaming replica, PgBouncer and pgrelay on
# 127.0.0.1, runs pgbench workloads against the three targets in turn (round-robin), prints
# one markdown table per workload and saves it under bench/results/. Everything it starts
# is stopped on exit (also on Ctrl-C or failure); raw pgbench output is kept.
# See bench/README.md. Knobs (environment, defaults in brackets):
#   WORKLOADS ["sel_simple sel_prepared tpcb sel_connect"]  ROUNDS [3]  DURATION [15]  WARMUP [5]
#   SCALE [10]  CLIENTS [per workload: 32, 32, 16, 16]  THREADS [2]
#   PG_BIN [newest /usr/lib/postgresql/*/bin]  PGBOUNCER [pgbouncer on the PATH or /usr/sbin]
#   PRIMARY_PORT [26432]  REPLICA_PORT [26433]  BOUNCER_PORT [26434]  RELAY_PORT [26435]
#   PGBOUNCER_POOL_SIZE [20]  PGRELAY_POOL_MODE [session]  PGRELAY_POOL_SIZE [64]
#   PGRELAY_OPTS (JVM options, passed to bin/pgrelay)  PGRELAY_JAR [cli/target/pgrelay.jar]
#   KEEP [0; 1 leaves the servers running]  LOCK_FILE [none; flock it during the measurements]
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$BENCH_DIR")
HOST=127.0.0.1
DB=bench
DB_USER=postgres
PG_OS_USER=postgres   # PostgreSQL and PgBouncer refuse to run as root; used only when we are root

WORKLOADS=${WORKLOADS:-sel_simple sel_prepared tpcb sel_connect}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-5}
SCALE=${SCALE:-10}
CLIENTS=${CLIENTS:-}
THREADS=${THREADS:-2}
PRIMARY_PORT=${PRIMARY_PORT:-26432}
REPLICA_PORT=${REPLICA_PORT:-26433}
BOUNCER_PORT=${BOUNCER_PORT:-26434}
RELAY_PORT=${RELAY_PORT:-26435}
PGBOUNCER_POOL_SIZE=${PGBOUNCER_POOL_SIZE:-20}
PGRELAY_POOL_MODE=${PGRELAY_POOL_MODE:-session}
PGRELAY_POOL_SIZE=${PGRELAY_POOL_SIZE:-64}
KEEP=${KEEP:-0}
LOCK_FILE=${LOCK_FILE:-}
TARGETS=(direct pgbouncer pgrelay)

die() { echo "bench/run.sh: $*" >&2; exit 1; }
usage_error() { echo "bench/run.sh: $*" >&2; exit 2; }
say() { echo "== $* ($(date -u +%H:%M:%S))"; }

# ------------------------------------------------------------------ workloads
wl_clients() {
  if [ -n "$CLIENTS" ]; then echo "$CLIENTS"; return; fi
  case "$1" in sel_simple | sel_prepared) echo 32 ;; *) echo 16 ;; esac
}
wl_flags() { # pgbench options of a workload, without -n/-T and connection options
  local c
  c=$(wl_clients "$1")
  case "$1" in
    sel_simple) echo "-S -M simple -c $c -j $THREADS" ;;
    sel_prepared) echo "-S -M prepared -c $c -j $THREADS" ;;
    tpcb) echo "-M simple -c $c -j $THREADS" ;;
    sel_connect) echo "-S -M simple -C -c $c -j $THREADS" ;;
    *) return 1 ;;
  esac
}
wl_title() {
  case "$1" in
    sel_simple) echo "select-only, simple protocol" ;;
    sel_prepared) echo "select-only, named prepared statements" ;;
    tpcb) echo "TPC-B-like read/write" ;;
    sel_connect) echo "select-only, a new connection per transaction" ;;
  esac
}

# ------------------------------------------------------------------ checks before starting anything
is_uint() { [[ $1 =~ ^[0-9]+$ ]]; }
for v in ROUNDS DURATION WARMUP SCALE THREADS PRIMARY_PORT REPLICA_PORT BOUNCER_PORT RELAY_PORT \
  PGBOUNCER_POOL_SIZE PGRELAY_POOL_SIZE; do
  is_uint "${!v}" || usage_error "$v must be a whole number, got '${!v}'"
done
[ -z "$CLIENTS" ] || is_uint "$CLIENTS" || usage_error "CLIENTS must be a whole number, got '$CLIENTS'"
if [ "$ROUNDS" -lt 1 ] || [ "$DURATION" -lt 1 ]; then usage_error "ROUNDS and DURATION must be at least 1"; fi
[ -n "${WORKLOADS// /}" ] || usage_error "WORKLOADS is empty"
max_clients=0
for wl in $WORKLOADS; do
  wl_flags "$wl" >/dev/null || usage_error "unknown workload '$wl' (known: sel_simple sel_prepared tpcb sel_connect)"
  c=$(wl_clients "$wl")
  [ "$c" -ge "$THREADS" ] || usage_error "$wl: $c clients but THREADS=$THREADS (pgbench needs clients >= threads)"
  if [ "$c" -gt "$max_clients" ]; then max_clients=$c; fi
done
case "$PGRELAY_POOL_MODE" in
  session)
    [ "$PGRELAY_POOL_SIZE" -ge "$max_clients" ] ||
      usage_error "pgrelay in session mode holds one server connection per client: PGRELAY_POOL_SIZE ($PGRELAY_POOL_SIZE) must be >= the largest client count ($max_clients)" ;;
  transaction) ;;
  *) usage_error "PGRELAY_POOL_MODE must be session or transaction, got '$PGRELAY_POOL_MODE'" ;;
esac
ports="$PRIMARY_PORT $REPLICA_PORT $BOUNCER_PORT $RELAY_PORT"
[ "$(tr ' ' '\n' <<<"$ports" | sort -u | wc -l)" = 4 ] || usage_error "the four ports must differ: $ports"

PG_BIN=${PG_BIN:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1)}
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo "
if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/postgres" ]; then
  echo "bench/run.sh: no PostgreSQL server binaries found (looked in /usr/lib/postgresql/*/bin; set PG_BIN)." >&2
  echo "  install them with: ${SUDO}apt-get install -y postgresql" >&2
  exit 2
fi
for b in initdb pg_ctl pg_basebackup psql pgbench; do
  [ -x "$PG_BIN/$b" ] || { echo "bench/run.sh: $PG_BIN/$b is missing (${SUDO}apt-get install -y postgresql postgresql-contrib)" >&2; exit 2; }
done
PGBOUNCER=${PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}
if [ ! -x "$PGBOUNCER" ]; then
  echo "bench/run.sh: PgBouncer is not installed. Install it with:" >&2
  echo "  ${SUDO}apt-get install -y pgbouncer" >&2
  exit 2
fi
for tool in ss timeout ps; do command -v "$tool" >/dev/null || die "needs '$tool' (iproute2, coreutils, procps)"; done
[ -z "$LOCK_FILE" ] || command -v flock >/dev/null || die "LOCK_FILE is set but flock is missing (util-linux)"
if [ "$(id -u)" = 0 ]; then
  id "$PG_OS_USER" >/dev/null 2>&1 ||
    die "running as root: PostgreSQL must run as OS user '$PG_OS_USER', which does not exist (the postgresql package creates it)"
  command -v runuser >/dev/null || die "running as root needs runuser (util-linux)"
fi
port_in_use() { [ -n "$(ss -Hltn "sport = :$1")" ]; }
for p in $ports; do
  port_in_use "$p" && usage_error "port $p is already in use; pick free ones with PRIMARY_PORT, REPLICA_PORT, BOUNCER_PORT, RELAY_PORT"
done

# ------------------------------------------------------------------ helpers
as_pg() { # run a server-side command as the PostgreSQL OS user (only needed when we are root)
  if [ "$(id -u)" = 0 ]; then (cd / && runuser -u "$PG_OS_USER" -- "$@"); else "$@"; fi
}
give_to_pg() { if [ "$(id -u)" = 0 ]; then chown -R "$PG_OS_USER": "$@"; fi; }
sql() { # sql PORT DATABASE STATEMENT... (one -c per statement)
  local port=$1 db=$2 s args=()
  shift 2
  for s in "$@"; do args+=(-c "$s"); done
  "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$HOST" -p "$port" -U "$DB_USER" -d "$db" "${args[@]}"
}
wait_for() { # wait_for SECONDS PORT DATABASE: until a query there succeeds
  local i
  for ((i = 0; i < $1 * 2; i++)); do
    sql "$2" "$3" 'select 1' >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
alive() { # a live, non-zombie process
  local state
  state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ]
}
stop_pid() { # stop_pid PID NAME: TERM, up to 40 s, then KILL
  local pid=$1 i
  alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 80; i++)); do alive "$pid" || break; sleep 0.5; done
  if alive "$pid"; then echo "$2 (pid $pid) did not stop in 40 s, killing it"; kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}
HZ=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime (+ reaped children's) of PID and all its live descendants, in clock ticks
  local total k
  [ -r "/proc/$1/stat" ] || { echo 0; return; }
  total=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 + $14 + $15 }')
  total=${total:-0}
  for k in $(ps -o pid= --ppid "$1" 2>/dev/null); do total=$((total + $(cpu_ticks "$k"))); done
  echo "$total"
}

# ------------------------------------------------------------------ cleanup (trap)
WORK=""; RAW=""; PRIMARY_DIR=""; REPLICA_DIR=""; BOUNCER_PID=""; RELAY_PID=""; STARTED=0
stop_postgres() { # stop_postgres DATADIR
  [ -f "$1/postmaster.pid" ] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1 ||
    as_pg "$PG_BIN/pg_ctl" -D "$1" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
}
cleanup() {
  local rc=$?
  set +e
  trap '' INT TERM
  [ -z "$LOCK_FILE" ] || exec 9>&-
  [ "$rc" = 0 ] || echo "bench/run.sh: stopping (exit code $rc)" >&2
  if [ -n "$WORK" ] && [ "$KEEP" = 1 ] && [ "$STARTED" = 1 ]; then
    write_stop_script
    echo "KEEP=1: left running: primary $HOST:$PRIMARY_PORT, replica :$REPLICA_PORT, PgBouncer :$BOUNCER_PORT, pgrelay :$RELAY_PORT (pid $RELAY_PID)"
    echo "  e.g. psql -h $HOST -p $RELAY_PORT -U $DB_USER $DB"
    echo "  stop them and remove $WORK with: bash $WORK/stop.sh"
    [ -z "$RAW" ] || echo "raw pgbench output: $RAW"
    exit "$rc"
  fi
  [ -z "$RELAY_PID" ] || stop_pid "$RELAY_PID" pgrelay
  [ -z "$BOUNCER_PID" ] || stop_pid "$BOUNCER_PID" pgbouncer
  [ -z "$REPLICA_DIR" ] || stop_postgres "$REPLICA_DIR"
  [ -z "$PRIMARY_DIR" ] || stop_postgres "$PRIMARY_DIR"
  if [ -n "$WORK" ]; then
    if [ -n "$RAW" ]; then
      mkdir -p "$RAW/logs"
      cp "$WORK"/*.log "$WORK"/pg/*.log "$WORK"/pgbouncer/*.log "$WORK"/pgbouncer/pgbouncer.ini "$RAW/logs/" 2>/dev/null
    fi
    rm -rf "$WORK"
  fi
  [ -z "$RAW" ] || echo "raw pgbench output and server logs: $RAW"
  exit "$rc"
}
write_stop_script() {
  local as=""
  if [ "$(id -u)" = 0 ]; then as="runuser -u $PG_OS_USER -- "; fi
  cat >"$WORK/stop.sh" <<EOF
#!/usr/bin/env bash
# written by bench/run.sh (KEEP=1): stops what that run left running and removes $WORK
kill -TERM $RELAY_PID $BOUNCER_PID 2>/dev/null
sleep 2
for d in '$REPLICA_DIR' '$PRIMARY_DIR'; do
  $as'$PG_BIN/pg_ctl' -D "\$d" -m fast -w stop
done
rm -rf '$WORK'
EOF
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ start
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
WORK=$(mktemp -d /tmp/pgrelay-bench-work.XXXXXX)
RAW=$(mktemp -d "/tmp/pgrelay-bench-raw-$STAMP.XXXXXX")
chmod 755 "$WORK"
mkdir -p "$WORK/pg" "$WORK/pgbouncer"
give_to_pg "$WORK/pg" "$WORK/pgbouncer"
PRIMARY_DIR=$WORK/pg/primary
REPLICA_DIR=$WORK/pg/replica
export PGCONNECT_TIMEOUT=10   # a target that accepts but never answers fails instead of hanging

ntargets=${#TARGETS[@]}
nwl=$(wc -w <<<"$WORKLOADS")
est=$((nwl * ntargets * (WARMUP + 2 + ROUNDS * (DURATION + 2)) + 40))
echo "bench/run.sh: workloads: $WORKLOADS; $ROUNDS round(s) x ${DURATION}s per target, ${WARMUP}s warm-up; about $((est / 60 + 1)) min"
echo "work dir: $WORK   raw output: $RAW"

# max_connections: 300, or more if CLIENTS asks for it (direct clients + both poolers' server connections)
bouncer_session_pool=$PGBOUNCER_POOL_SIZE
c=$(wl_clients sel_prepared)
if [ "$c" -gt "$bouncer_session_pool" ]; then bouncer_session_pool=$c; fi
relay_conns=$PGRELAY_POOL_SIZE
if [ "$relay_conns" -gt "$max_clients" ]; then relay_conns=$max_clients; fi
MAX_CONNECTIONS=$((max_clients + PGBOUNCER_POOL_SIZE + bouncer_session_pool + relay_conns + 20))
if [ "$MAX_CONNECTIONS" -lt 300 ]; then MAX_CONNECTIONS=300; fi

write_pg_conf() { # write_pg_conf DATADIR PORT
  cat >"$1/bench.conf" <<EOF
# written by bench/run.sh
listen_addresses = '$HOST'
port = $2
unix_socket_directories = ''
max_connections = $MAX_CONNECTIONS
shared_buffers = 256MB
fsync = on
synchronous_commit = on
wal_level = replica
max_wal_senders = 4
max_replication_slots = 4
hot_standby = on
max_wal_size = 4GB
checkpoint_timeout = 30min
log_min_messages = warning
log_line_prefix = '%m [%p] '
EOF
  grep -q "^include 'bench.conf'" "$1/postgresql.conf" || echo "include 'bench.conf'" >>"$1/postgresql.conf"
  give_to_pg "$1/bench.conf" "$1/postgresql.conf"
}

say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') from $PG_BIN: primary $HOST:$PRIMARY_PORT"
as_pg "$PG_BIN/initdb" -D "$PRIMARY_DIR" -U "$DB_USER" -A trust -E UTF8 --locale=C --no-sync >"$RAW/initdb.log" 2>&1 ||
  { tail -5 "$RAW/initdb.log" >&2; die "initdb failed"; }
write_pg_conf "$PRIMARY_DIR" "$PRIMARY_PORT"
cat >"$PRIMARY_DIR/pg_hba.conf" <<EOF
# written by bench/run.sh: TCP loopback only, no passwords (throwaway benchmark cluster)
host  all          all  127.0.0.1/32  trust
host  replication  all  127.0.0.1/32  trust
EOF
give_to_pg "$PRIMARY_DIR/pg_hba.conf"
STARTED=1
as_pg "$PG_BIN/pg_ctl" -D "$PRIMARY_DIR" -l "$WORK/pg/primary.log" -w -t 60 start >/dev/null ||
  { tail -5 "$WORK/pg/primary.log" >&2; die "the primary did not start"; }
sql "$PRIMARY_PORT" postgres "CREATE DATABASE $DB"

say "streaming replica $HOST:$REPLICA_PORT"
as_pg "$PG_BIN/pg_basebackup" -h "$HOST" -p "$PRIMARY_PORT" -U "$DB_USER" -D "$REPLICA_DIR" \
  -R -X stream -C -S bench_replica -c fast >"$RAW/basebackup.log" 2>&1 ||
  { tail -5 "$RAW/basebackup.log" >&2; die "pg_basebackup failed"; }
write_pg_conf "$REPLICA_DIR" "$REPLICA_PORT"
as_pg "$PG_BIN/pg_ctl" -D "$REPLICA_DIR" -l "$WORK/pg/replica.log" -w -t 60 start >/dev/null ||
  { tail -5 "$WORK/pg/replica.log" >&2; die "the replica did not start"; }
for ((i = 0; i < 30; i++)); do
  [ "$(sql "$PRIMARY_PORT" postgres "select count(*) from pg_stat_replication where state = 'streaming'")" -ge 1 ] && break
  sleep 1
done
[ "$i" -lt 30 ] || die "the replica is not streaming after 30 s (see $WORK/pg/replica.log)"

say "PgBouncer $("$PGBOUNCER" --version | awk 'NR == 1 {print $2}') on $HOST:$BOUNCER_PORT (transaction pooling, pool size $PGBOUNCER_POOL_SIZE)"
cat >"$WORK/pgbouncer/pgbouncer.ini" <<EOF
; written by bench/run.sh
[databases]
$DB = host=$HOST port=$PRIMARY_PORT dbname=$DB
; PgBouncer 1.18 cannot keep named prepared statements in transaction mode: sel_prepared uses this one
${DB}_session = host=$HOST port=$PRIMARY_PORT dbname=$DB pool_mode=session pool_size=$bouncer_session_pool

[pgbouncer]
listen_addr = $HOST
listen_port = $BOUNCER_PORT
unix_socket_dir =
auth_type = trust
auth_file = $WORK/pgbouncer/userlist.txt
admin_users = $DB_USER
pool_mode = transaction
default_pool_size = $PGBOUNCER_POOL_SIZE
max_client_conn = 500
ignore_startup_parameters = extra_float_digits
logfile = $WORK/pgbouncer/pgbouncer.log
pidfile = $WORK/pgbouncer/pgbouncer.pid
log_connections = 0
log_disconnections = 0
EOF
echo "\"$DB_USER\" \"\"" >"$WORK/pgbouncer/userlist.txt"
give_to_pg "$WORK/pgbouncer"
as_pg "$PGBOUNCER" -d -q "$WORK/pgbouncer/pgbouncer.ini" || die "PgBouncer did not start (see $WORK/pgbouncer/pgbouncer.log)"
for ((i = 0; i < 20; i++)); do [ -s "$WORK/pgbouncer/pgbouncer.pid" ] && break; sleep 0.5; done
BOUNCER_PID=$(tr -dc 0-9 <"$WORK/pgbouncer/pgbouncer.pid" 2>/dev/null || true)
[ -n "$BOUNCER_PID" ] || die "PgBouncer wrote no pid file (see $WORK/pgbouncer/pgbouncer.log)"
wait_for 20 "$BOUNCER_PORT" "$DB" || die "PgBouncer does not answer (see $WORK/pgbouncer/pgbouncer.log)"

# pgrelay: run a private copy of the jar, so a rebuild during the run cannot pull classes from under it
JAR=${PGRELAY_JAR:-$REPO/cli/target/pgrelay.jar}
if [ ! -f "$JAR" ]; then
  [ -z "${PGRELAY_JAR:-}" ] || die "PGRELAY_JAR=$PGRELAY_JAR does not exist"
  say "building $JAR (./mvnw -B -q package -DskipTests)"
  if [ -z "${JAVA_HOME:-}" ]; then
    jdk=$(find /usr/lib/jvm -maxdepth 1 -name 'temurin-*' -type d 2>/dev/null | sort -V | tail -n 1)
    [ -z "$jdk" ] || export JAVA_HOME=$jdk
  fi
  (cd "$REPO" && ./mvnw -B -q package -DskipTests) || die "the build failed"
fi
cp "$JAR" "$WORK/pgrelay.jar"
JAR_INFO="$(basename "$JAR") built $(date -u -r "$JAR" '+%Y-%m-%d %H:%M UTC')"
RELAY_VERSION=$(PGRELAY_JAR=$WORK/pgrelay.jar "$REPO/bin/pgrelay" --version 2>/dev/null | head -n 1 || true)
say "pgrelay (${RELAY_VERSION:-version unknown}, $JAR_INFO) on $HOST:$RELAY_PORT, pool mode $PGRELAY_POOL_MODE, pool size $PGRELAY_POOL_SIZE"
PGRELAY_JAR=$WORK/pgrelay.jar "$REPO/bin/pgrelay" serve --listen "$HOST:$RELAY_PORT" \
  --primary "$HOST:$PRIMARY_PORT" --replica "$HOST:$REPLICA_PORT" \
  --pool-mode "$PGRELAY_POOL_MODE" --pool-size "$PGRELAY_POOL_SIZE" --admin-listen "$HOST:0" \
  >"$WORK/pgrelay.log" 2>&1 </dev/null &
RELAY_PID=$!
for ((i = 0; i < 120; i++)); do
  alive "$RELAY_PID" || { tail -20 "$WORK/pgrelay.log" >&2; die "pgrelay exited during startup"; }
  sql "$RELAY_PORT" "$DB" 'select 1' >/dev/null 2>&1 && break
  sleep 0.5
done
[ "$i" -lt 120 ] || { tail -20 "$WORK/pgrelay.log" >&2; die "pgrelay does not answer after 60 s"; }
JVM_ARGS=$(tr '\0' ' ' <"/proc/$RELAY_PID/cmdline" | sed 's/ -jar .*//; s/^[^ ]* *//')   # what the launcher used

if [ -n "$LOCK_FILE" ]; then   # taken after the servers started, so they do not inherit it
  exec 9>>"$LOCK_FILE"
  say "waiting for lock $LOCK_FILE"
  flock 9
fi

say "pgbench -i -s $SCALE (directly on the primary)"
"$PG_BIN/pgbench" -i -q -s "$SCALE" -h "$HOST" -p "$PRIMARY_PORT" -U "$DB_USER" "$DB" >"$RAW/pgbench-init.log" 2>&1 ||
  { tail -5 "$RAW/pgbench-init.log" >&2; die "pgbench -i failed"; }
for ((i = 0; i < 60; i++)); do   # let the replica catch up, so it does not replay the load during the first runs
  [ "$(sql "$PRIMARY_PORT" postgres 'select bool_and(replay_lsn >= pg_current_wal_lsn()) from pg_stat_replication')" = t ] && break
  sleep 1
done

# ------------------------------------------------------------------ measure
target_port() { case "$1" in direct) echo "$PRIMARY_PORT" ;; pgbouncer) echo "$BOUNCER_PORT" ;; pgrelay) echo "$RELAY_PORT" ;; esac; }
target_pid() { case "$1" in pgbouncer) echo "$BOUNCER_PID" ;; pgrelay) echo "$RELAY_PID" ;; *) echo "" ;; esac; }
target_db() { if [ "$1" = pgbouncer ] && [ "$2" = sel_prepared ]; then echo "${DB}_session"; else echo "$DB"; fi; }
target_label() { # target_label TARGET WORKLOAD
  case "$1" in
    pgbouncer) if [ "$2" = sel_prepared ]; then echo "pgbouncer (session)"; else echo "pgbouncer (transaction)"; fi ;;
    pgrelay) echo "pgrelay ($PGRELAY_POOL_MODE)" ;;
    *) echo "$1" ;;
  esac
}

RUNS=$RAW/runs.tsv   # workload round target rc tps latency_ms failed_tx transactions pooler_cpu_ticks error
: >"$RUNS"
run_pgbench() { # run_pgbench WORKLOAD TARGET ROUND (0 = warm-up, not recorded)
  local wl=$1 t=$2 round=$3 secs=$DURATION name out err rc=0 pid c0="" c1="" ticks="" tps lat failed txns error="" cpu_note
  local -a flags
  [ "$round" != 0 ] || secs=$WARMUP
  read -r -a flags <<<"$(wl_flags "$wl")"
  name=$wl.$t.r$round; [ "$round" != 0 ] || name=$wl.$t.warmup
  out=$RAW/$name.out; err=$RAW/$name.err
  if [ "$wl" = tpcb ]; then   # same starting point for every target, done directly on the primary
    sql "$PRIMARY_PORT" "$DB" 'VACUUM pgbench_branches' 'VACUUM pgbench_tellers' 'TRUNCATE pgbench_history' 'CHECKPOINT' >/dev/null
  fi
  sleep 1
  pid=$(target_pid "$t")
  [ -z "$pid" ] || c0=$(cpu_ticks "$pid")
  timeout --foreground -k 5 $((secs + 60)) "$PG_BIN/pgbench" -n -T "$secs" "${flags[@]}" \
    -h "$HOST" -p "$(target_port "$t")" -U "$DB_USER" "$(target_db "$t" "$wl")" >"$out" 2>"$err" </dev/null || rc=$?
  [ -z "$pid" ] || { c1=$(cpu_ticks "$pid"); ticks=$((c1 - c0)); }
  tps=$(awk '/^tps = / { print $3; exit }' "$out")
  lat=$(awk '/^latency average = / { print $4; exit }' "$out")
  failed=$(awk -F': ' '/^number of failed transactions: / { split($2, a, " "); print a[1]; exit }' "$out")
  txns=$(awk -F': ' '/^number of transactions actually processed: / { split($2, a, "/"); print a[1] + 0; exit }' "$out")
  if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then error="pgbench still running after $((secs + 60)) s"
  elif [ "$rc" != 0 ] || [ -z "$tps" ]; then
    error=$(grep -m 1 -iE 'error|fatal|abort|could not' "$err" "$out" 2>/dev/null | sed 's/^[^:]*://' || true)
    error=${error:-pgbench exit code $rc}
  fi
  error=$(printf '%s' "$error" | tr '\t|\n' '   ' | cut -c 1-150)
  if [ "$round" = 0 ]; then
    printf '  warm-up %-10s tps=%s%s\n' "$t" "${tps:-ERR}" "${error:+  ($error)}"
    return
  fi
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$wl" "$round" "$t" "$rc" "$tps" "$lat" "${failed:-0}" \
    "${txns:-0}" "$ticks" "$error" >>"$RUNS"
  cpu_note=""
  if [ -n "$ticks" ] && [ "${txns:-0}" -gt 0 ]; then
    cpu_note=$(awk -v k="$ticks" -v hz="$HZ" -v n="$txns" 'BEGIN { printf "  pooler CPU %.1f µs/tx", k / hz / n * 1e6 }')
  fi
  printf '  round %s %-10s tps=%-10s lat=%-7s ms%s%s\n' "$round" "$t" "${tps:-ERR}" "${lat:-ERR}" \
    "$cpu_note" "${error:+  ERROR: $error}"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
for wl in $WORKLOADS; do
  say "$wl: $(wl_title "$wl") - pgbench -n $(wl_flags "$wl") -T $DURATION"
  if [ "$WARMUP" -gt 0 ]; then
    for t in "${TARGETS[@]}"; do run_pgbench "$wl" "$t" 0; done
  fi
  for ((r = 1; r <= ROUNDS; r++)); do
    for t in "${TARGETS[@]}"; do run_pgbench "$wl" "$t" "$r"; done
  done
done
T_END=$(date +%s)
if [ -n "$LOCK_FILE" ]; then exec 9>&-; fi

# ------------------------------------------------------------------ report
table() { # table WORKLOAD: one markdown table from runs.tsv
  local wl=$1
  echo "| target | median tps | median avg latency ms | tps / PgBouncer | tps / direct | tps per round | failed tx | pooler CPU s / 1000 tx | = µs / tx | notes |"
  echo "|---|---:|---:|---:|---:|---|---:|---:|---:|---|"
  awk -F'\t' -v wl="$wl" -v hz="$HZ" -v order="${TARGETS[*]}" \
    -v l_direct="$(target_label direct "$wl")" -v l_pgbouncer="$(target_label pgbouncer "$wl")" \
    -v l_pgrelay="$(target_label pgrelay "$wl")" '
    function median(list,   a, n, i, j, x) {
      n = split(list, a, " ")
      if (n == 0) return ""
      for (i = 2; i <= n; i++) { x = a[i] + 0; for (j = i - 1; j >= 1 && a[j] + 0 > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "n/a" : sprintf("%.2f", a / b) }
    $1 == wl {
      t = $3; runs[t]++
      if ($5 != "") { tps[t] = tps[t] " " $5; lat[t] = lat[t] " " $6; per[t] = per[t] sprintf(" %.0f", $5) }
      else { per[t] = per[t] " ERR"; bad[t]++ }
      failed[t] += $7
      if ($9 != "" && $8 > 0) cpu[t] = cpu[t] " " ($9 / hz) / ($8 / 1000)
      if ($10 != "" && note[t] == "") note[t] = $10
      if ($4 != 0 && $4 != "") nonzero[t]++
    }
    END {
      n = split(order, ts, " ")
      for (i = 1; i <= n; i++) med[ts[i]] = median(tps[ts[i]])
      label["direct"] = l_direct; label["pgbouncer"] = l_pgbouncer; label["pgrelay"] = l_pgrelay
      for (i = 1; i <= n; i++) {
        t = ts[i]
        if (!(t in runs)) continue
        m = med[t]; l = median(lat[t]); c = median(cpu[t])
        notes = ""
        if (bad[t] > 0) notes = bad[t] "/" runs[t] " runs failed"
        else if (nonzero[t] > 0) notes = nonzero[t] "/" runs[t] " runs exited non-zero"
        if (note[t] != "") notes = notes (notes == "" ? "" : ": ") note[t]
        printf "| %s | %s | %s | %s | %s | %s | %d | %s | %s | %s |\n", label[t],
          (m == "" ? "ERR" : sprintf("%.0f", m)), (l == "" ? "ERR" : sprintf("%.3f", l)),
          ratio(m, med["pgbouncer"]), ratio(m, med["direct"]), substr(per[t], 2), failed[t],
          (t == "direct" ? "-" : (c == "" ? "n/a" : sprintf("%.4f", c))),
          (t == "direct" ? "-" : (c == "" ? "n/a" : sprintf("%.1f", c * 1000))), notes
      }
    }' "$RUNS"
}

git_rev=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$REPO" status --porcelain --untracked-files=no 2>/dev/null)" ] || git_rev="$git_rev + uncommitted changes"
prepared_note=""
case " $WORKLOADS " in *" sel_prepared "*)
  prepared_note="; sel_prepared goes to a second database entry with pool_mode session (pool_size $bouncer_session_pool), because PgBouncer 1.18 cannot keep named prepared statements in transaction mode" ;;
esac
mkdir -p "$BENCH_DIR/results"
RESULT=$BENCH_DIR/results/results-$STAMP.md
{
  echo "# pgrelay benchmark, $(date -u -d "@$T_START" '+%Y-%m-%d %H:%M UTC')"
  echo
  echo "- **pgrelay**: ${RELAY_VERSION:-version unknown}, commit $git_rev, $JAR_INFO; **pool mode $PGRELAY_POOL_MODE**, pool size $PGRELAY_POOL_SIZE, JVM options \`${JVM_ARGS:-none}\`; the replica is passed with --replica."
  echo "- **PgBouncer** $("$PGBOUNCER" --version | awk 'NR == 1 {print $2}'): pool_mode transaction, default_pool_size $PGBOUNCER_POOL_SIZE${prepared_note}."
  echo "- **PostgreSQL** $("$PG_BIN/postgres" --version | awk '{print $3}'): primary + async streaming replica on 127.0.0.1 (fsync on, synchronous_commit on, shared_buffers 256MB, max_connections $MAX_CONNECTIONS), trust auth, TCP loopback, no TLS; pgbench scale $SCALE."
  echo "- **Host**: $(nproc) CPUs ($(awk -F': ' '/^model name/ {print $2; exit}' /proc/cpuinfo)), $(awk '/^MemTotal/ {printf "%.0f GiB", $2 / 1048576}' /proc/meminfo) RAM, Linux $(uname -r); pgbench, both PostgreSQL servers and the poolers share these CPUs. Load average at start: $LOAD_START."
  echo "- **Method**: $ROUNDS round(s) x ${DURATION}s per target and workload, targets interleaved round-robin (${TARGETS[*]}), ${WARMUP}s unrecorded warm-up per target before each workload, pgbench -n -j $THREADS; before every tpcb run VACUUM pgbench_branches/pgbench_tellers, TRUNCATE pgbench_history and CHECKPOINT directly on the primary. Measuring took $(( (T_END - T_START) / 60 )) min $(( (T_END - T_START) % 60 )) s."
  echo "- **Columns**: medians over rounds; latency is pgbench's 'latency average'; failed tx is the sum over rounds; pooler CPU is user+system CPU time of the pooler process (with its children) during the run divided by the transactions pgbench completed: seconds per 1000 transactions, which is the same number as milliseconds per transaction, and x1000 as microseconds per transaction."
  for wl in $WORKLOADS; do
    echo
    echo "## $wl: $(wl_title "$wl")"
    echo
    echo "\`pgbench -n $(wl_flags "$wl") -T $DURATION\`"
    if [ "$wl" = sel_prepared ]; then
      echo
      echo "PgBouncer runs this one in **session** mode (named prepared statements do not survive transaction pooling in 1.18)."
    fi
    echo
    table "$wl"
  done
  echo
  echo "Raw pgbench output: \`$RAW\` (runs.tsv: workload, round, target, exit code, tps, latency ms, failed tx, transactions, pooler CPU ticks at $HZ Hz, error)."
} >"$RESULT"
cp "$RESULT" "$RAW/"
echo
cat "$RESULT"
echo
echo "saved: $RESULT"
