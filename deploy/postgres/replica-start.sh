#!/bin/sh
# The read replica: on first start, copy the primary with pg_basebackup (-R writes the
# standby.signal and primary_conninfo), then run PostgreSQL as a hot standby.
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until pg_basebackup -h postgres -U replicator -D "$PGDATA" -R -X stream -P; do
    echo "waiting for the primary..."; sleep 2
  done
  chmod 0700 "$PGDATA"
fi
exec postgres -c hot_standby=on
