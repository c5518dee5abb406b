#!/usr/bin/env bash
# The replica's entrypoint: on first start, clone the primary with pg_basebackup (-R writes the
# standby settings), then run PostgreSQL as a hot standby streaming from it.
set -euo pipefail

export PGPASSWORD=$REPLICATOR_PASSWORD
data=${PGDATA:-/var/lib/postgresql/data}
if [[ ! -s $data/PG_VERSION ]]; then
  until pg_basebackup --host="$PRIMARY_HOST" --username=replicator --pgdata="$data" \
      --wal-method=stream --write-recovery-conf --checkpoint=fast; do
    echo "replica: waiting for the primary at $PRIMARY_HOST" >&2
    rm -rf "${data:?}"/*
    sleep 2
  done
  chmod 700 "$data"
fi
exec postgres -D "$data" -c hot_standby=on
