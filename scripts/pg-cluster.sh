#!/bin/sh
# pg-cluster.sh - a throwaway PostgreSQL 15 cluster for tests (installs nothing: see deps.sh).
#
#   scripts/pg-cluster.sh start DIR          create and start a cluster in DIR; print its URL
#   scripts/pg-cluster.sh createdb DIR NAME  create database NAME in it; print its URL
#   scripts/pg-cluster.sh stop DIR           stop the cluster (immediate) and remove DIR
#
# PG_DURABLE=1 keeps PostgreSQL's durable defaults (fsync, synchronous_commit and
# full_page_writes on); without it the cluster trades them for speed, as tests want.
# Only URLs go to stdout; everything else goes to stderr. As root the server runs as the
# `postgres` user (PostgreSQL refuses root); any other user runs it as itself.
set -eu

PROG="pg-cluster"
TEST_DB="engram_test"

die()
{
    echo "$PROG: $*" >&2
    exit 1
}

usage()
{
    echo "usage: $0 start DIR | createdb DIR NAME | stop DIR" >&2
    exit 2
}

# The directory holding initdb and pg_ctl; PG_BINDIR overrides the search.
find_bindir()
{
    for d in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin; do
        if [ -n "$d" ] && [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
            echo "$d"
            return 0
        fi
    done
    die "PostgreSQL 15 server binaries not found in /usr/lib/postgresql/15/bin" \
        "(run scripts/deps.sh, or set PG_BINDIR)"
}

# Run a command as the cluster owner: `postgres` when we are root, else ourselves.
as_owner()
{
    if [ "$(id -u)" -eq 0 ]; then
        # From /, so postgres never inherits an unreadable working directory.
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

# Absolute form of a directory that exists.
abs_dir()
{
    (cd "$1" && pwd -P)
}

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port()
{
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
        return 0
    fi
    command -v ss >/dev/null 2>&1 || die "need python3 or ss to find a free port"
    p=$((20000 + $$ % 20000))
    tries=0
    while [ "$tries" -lt 200 ]; do
        if [ -z "$(ss -Hltn "sport = :$p" 2>/dev/null)" ]; then
            echo "$p"
            return 0
        fi
        p=$((p + 1))
        tries=$((tries + 1))
    done
    die "no free port found on 127.0.0.1"
}

# C.UTF-8 when the system has it (Debian 12 does), else plain C.
pick_locale()
{
    if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
        echo "C.UTF-8"
    else
        echo "C"
    fi
}

# Prepare DIR (empty or missing) for the cluster owner; prints its absolute path.
prepare_dir()
{
    dir=$1
    if [ -e "$dir" ] && [ -n "$(ls -A "$dir" 2>/dev/null)" ]; then
        die "'$dir' exists and is not empty"
    fi
    mkdir -p "$dir" || die "cannot create '$dir'"
    dir=$(abs_dir "$dir")
    if [ "$(id -u)" -eq 0 ]; then
        id postgres >/dev/null 2>&1 || die "user 'postgres' does not exist (run scripts/deps.sh)"
        chown postgres: "$dir" || die "cannot give '$dir' to user postgres"
        chmod 700 "$dir"
    fi
    as_owner test -w "$dir" ||
        die "'$dir' is not writable by the cluster owner (its parents must be searchable)"
    # Unix socket paths are limited to 107 bytes: DIR/.s.PGSQL.NNNNN must fit.
    [ "${#dir}" -le 90 ] || die "'$dir' is too long for a socket directory (max 90 bytes)"
    echo "$dir"
}

run_initdb()
{
    bindir=$1
    dir=$2
    if ! as_owner "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync -E UTF8 \
        --locale="$(pick_locale)" >"$dir/initdb.log" 2>&1; then
        cat "$dir/initdb.log" >&2
        die "initdb failed in '$dir/data'"
    fi
}

# Start the server on a free port, retrying when another process takes the port first.
start_server()
{
    bindir=$1
    dir=$2
    tries=0
    while [ "$tries" -lt 5 ]; do
        port=$(free_port)
        opts="-p $port -k $dir -c listen_addresses=127.0.0.1"
        if [ -z "${PG_DURABLE:-}" ]; then
            opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        fi
        if as_owner "$bindir/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/log" -w start \
            >/dev/null 2>&1; then
            echo "$port" >"$dir/port"
            return 0
        fi
        grep -q "already in use" "$dir/log" 2>/dev/null || break
        tries=$((tries + 1))
    done
    tail -n 20 "$dir/log" >&2 2>/dev/null || true
    die "the server did not start (log: '$dir/log')"
}

# Port of the cluster in DIR (written by start).
cluster_port()
{
    [ -f "$1/port" ] || die "'$1' holds no cluster started by this script"
    cat "$1/port"
}

# Create database NAME in the cluster listening on PORT; print its URL.
make_db()
{
    bindir=$1
    port=$2
    name=$3
    case "$name" in
    "" | *[!A-Za-z0-9_]*) die "bad database name '$name' (letters, digits, _ only)" ;;
    esac
    as_owner "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$name" >&2 ||
        return 1
    echo "postgresql://postgres@127.0.0.1:$port/$name"
}

cmd_start()
{
    bindir=$(find_bindir)
    dir=$(prepare_dir "$1")
    run_initdb "$bindir" "$dir"
    start_server "$bindir" "$dir"
    if ! make_db "$bindir" "$(cat "$dir/port")" "$TEST_DB"; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
        die "createdb '$TEST_DB' failed; the cluster in '$dir' was stopped"
    fi
}

cmd_createdb()
{
    [ -d "$1" ] || die "no cluster directory '$1'"
    dir=$(abs_dir "$1")
    port=$(cluster_port "$dir")
    make_db "$(find_bindir)" "$port" "$2" || die "createdb '$2' failed"
}

cmd_stop()
{
    if [ ! -d "$1" ]; then
        echo "$PROG: no cluster directory '$1', nothing to stop" >&2
        return 0
    fi
    dir=$(abs_dir "$1")
    [ "$dir" != "/" ] || die "refusing to remove '/'"
    if [ -n "$(ls -A "$dir")" ] && [ ! -f "$dir/port" ] && [ ! -f "$dir/data/PG_VERSION" ]; then
        die "'$dir' does not look like a cluster made by this script; not removing it"
    fi
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$(find_bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 ||
            echo "$PROG: pg_ctl stop failed in '$dir' (removing it anyway)" >&2
    fi
    rm -rf "$dir"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
start)
    [ $# -eq 1 ] || usage
    cmd_start "$1"
    ;;
createdb)
    [ $# -eq 2 ] || usage
    cmd_createdb "$1" "$2"
    ;;
stop)
    [ $# -eq 1 ] || usage
    cmd_stop "$1"
    ;;
*)
    usage
    ;;
esac
