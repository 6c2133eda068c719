#!/usr/bin/env bash
# Start a throwaway PostgreSQL on loopback for the database tests and print its URL.
# Installs Debian's server package when it is missing. CI runs as root and initdb
# refuses root, so the server runs as the `postgres` user.
set -euo pipefail

find_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

BIN="$(find_bin)"
if [ -z "$BIN" ] || [ ! -x "$BIN/initdb" ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi
# a free port unless one is asked for (another server, an earlier run, may hold any fixed one)
PORT="${DAO_LINT_PG_PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
DATA="$(mktemp -d /tmp/dao-lint-pg.XXXXXX)"
chown postgres:postgres "$DATA"
run_as_postgres() {
    if [ "$(id -u)" = "0" ]; then
        su postgres -s /bin/sh -c "$*"
    else
        sh -c "$*"
    fi
}
run_as_postgres "'$BIN/initdb' -D '$DATA/data' -U postgres -A trust --no-sync" >&2
run_as_postgres "'$BIN/pg_ctl' -D '$DATA/data' -l '$DATA/log' -w -o \"-h 127.0.0.1 -p $PORT -k '$DATA' -F\" start" >&2
run_as_postgres "'$BIN/createdb' -h 127.0.0.1 -p $PORT -U postgres dao_lint_test" >&2
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/dao_lint_test"
