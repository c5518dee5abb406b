#!/usr/bin/env bash
# Runs once in the primary's first start (docker-entrypoint-initdb.d): the application's role and
# database, and a replication role the replica's pg_basebackup logs in with.
set -euo pipefail

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" <<'SQL'
CREATE ROLE app LOGIN PASSWORD 'app-password';
CREATE DATABASE app OWNER app;
CREATE ROLE replicator REPLICATION LOGIN PASSWORD 'replicator-password';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
