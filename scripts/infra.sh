#!/usr/bin/env bash
# Local infrastructure for Switchboard dev and tests, without Docker:
#   Apache Kafka 3.9.1 (KRaft, one combined broker+controller node), PostgreSQL, Redis.
#
# Usage: scripts/infra.sh [up|down|status|env|{restart,stop,start}-{kafka,postgres,redis}]
#   up      (default) start whatever is not running yet; idempotent. Prints where things listen
#           and writes the connection settings to .cache/infra/env.
#   down    stop exactly what `up` started (data is kept).
#   status  one line per component; exit code 0 only if all three are running.
#   env     print `export ...` lines:  eval "$(scripts/infra.sh env)"
#   restart-<component>  stop then start one component (used by fault-injection tests).
#   stop-<component>, start-<component>  the two halves, to keep a component away for a while.
#
# Ports (all on 127.0.0.1), overridable through the environment:
#   SB_KAFKA_PORT=19092  (KRaft controller listener: SB_KAFKA_CONTROLLER_PORT, default +1)
#   SB_PG_PORT=15432     SB_REDIS_PORT=16379
# Non-default ports keep these processes clear of any system-wide Kafka/PostgreSQL/Redis.
#
# Everything (jars, data, logs, pid files) lives in $REPO/.cache/infra/ (git-ignored), or in
# SB_INFRA_DIR when set: a second, independent instance (the fault tests restart theirs).
# SB_KAFKA_HOME points at the Kafka jars of another instance, to reuse them (no download).
#
# SB_KAFKA_SCRAM=1 (with its own SB_INFRA_DIR and ports): Kafka authenticates and authorises
# like a production cluster. Its listener is SASL_PLAINTEXT with SCRAM-SHA-512 only; the
# StandardAuthorizer denies whatever no ACL allows; the users `admin` (super user) and one per
# service (telephony, booking, crm-touch, analytics, notify) get random passwords at format
# time (kept in kafka/scram-users); once started, the admin creates every topic and grants
# each service the ACLs `python -m switchboard_runtime.acls` derives from the services'
# tables (needs the workspace's Python: SB_PYTHON, default .venv/bin/python). `env` then
# prints the SASL settings and each service's <PREFIX>KAFKA_SASL_USERNAME/PASSWORD.
# Missing PostgreSQL / Redis / Java / Maven are installed with apt-get (root, or passwordless sudo).
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
REPO=$(cd "$SCRIPT_DIR/.." && pwd -P)
INFRA="${SB_INFRA_DIR:-$REPO/.cache/infra}"

HOST=127.0.0.1
KAFKA_PORT=${SB_KAFKA_PORT:-19092}
KAFKA_CONTROLLER_PORT=${SB_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}
PG_PORT=${SB_PG_PORT:-15432}
REDIS_PORT=${SB_REDIS_PORT:-16379}
KAFKA_START_TIMEOUT=${SB_KAFKA_START_TIMEOUT:-90}
KAFKA_HEAP=${SB_KAFKA_HEAP:-512m}

# Kafka 3.9.1 rather than 4.x: 3.9 is the last line that still serves every protocol API
# version aiokafka speaks (Kafka 4.0 dropped the old ones, KIP-896, and aiokafka's 4.x alignment
# is still open upstream: aio-libs/aiokafka#1085), and KRaft is already production-ready in it,
# so no ZooKeeper. The jars come from Maven Central through scripts/kafka/pom.xml.
KAFKA_VERSION=3.9.1
KAFKA_POM="$REPO/scripts/kafka/pom.xml"
KAFKA_HOME="${SB_KAFKA_HOME:-$INFRA/kafka-$KAFKA_VERSION}" # immutable: libs/ + completeness marker
KAFKA_LIBS="$KAFKA_HOME/libs"
KAFKA_LIBS_MARKER="$KAFKA_HOME/.libs-complete" # holds the sha256 of the pom that produced libs/
KAFKA_CONF="$INFRA/kafka"                      # generated config, cluster id, pid, stdout
KAFKA_DATA="$INFRA/kafka-data"                 # log.dirs (topic data + KRaft metadata log)
KAFKA_LOGS="$INFRA/kafka-logs"                 # log4j output (server.log)
KAFKA_PID="$KAFKA_CONF/kafka.pid"
KAFKA_OUT="$KAFKA_CONF/kafka.out"              # JVM stdout/stderr (crashes, JVM warnings)

PG_DIR="$INFRA/pg"
PG_DATA="$PG_DIR/data"
PG_LOG="$PG_DIR/postgres.log"

REDIS_DIR="$INFRA/redis"
REDIS_PID="$REDIS_DIR/redis.pid"
REDIS_LOG="$REDIS_DIR/redis.log"

ENV_FILE="$INFRA/env"

KAFKA_SCRAM=${SB_KAFKA_SCRAM:-0}
KAFKA_SCRAM_USERS="$KAFKA_CONF/scram-users"    # "<user> <password>" lines, mode 600
KAFKA_SCRAM_SERVICES="telephony booking crm-touch analytics notify"
PYTHON=${SB_PYTHON:-$REPO/.venv/bin/python}

# ---------------------------------------------------------------------------------- helpers

log() { printf '[infra] %s\n' "$*" >&2; }
die() { printf '[infra] ERROR: %s\n' "$*" >&2; exit 1; }

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$HOST/$1" 2>/dev/null; }

# True if pid $1 is alive and its command line contains every further argument.
pid_matches() {
    local pid=$1; shift
    [[ $pid =~ ^[0-9]+$ ]] && [[ -r /proc/$pid/cmdline ]] || return 1
    local cmd
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
    local want
    for want in "$@"; do [[ $cmd == *"$want"* ]] || return 1; done
}

read_pid() { [[ -s $1 ]] && tr -dc '0-9' <"$1" || true; }

# True if pid $1 exists and is not a zombie. Daemons are re-parented to init, and an init that
# reaps lazily (containers, microVMs) leaves an exited daemon as a zombie for a while, which
# `kill -0` still reports as alive.
pid_alive() {
    local state
    state=$(sed -n 's/^.*) \(.\).*$/\1/p' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $state && $state != Z ]]
}

# Wait (polling, bounded) until pid $1 has exited. $2 = timeout in seconds.
wait_pid_gone() {
    local pid=$1 deadline=$((SECONDS + $2))
    while pid_alive "$pid"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.2
    done
}

# $1 component, $2 port it is running on, $3 port requested now, $4 env var name.
check_same_port() {
    [[ $2 == "$3" ]] ||
        die "$1 is already running on port $2, but $4 asks for $3; run 'scripts/infra.sh restart-$1' (or down) first"
}

APT_UPDATED=0
apt_install() {
    local sudo=()
    if ((EUID != 0)); then
        if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
            die "need root (or passwordless sudo) to apt-get install $*"
        fi
        sudo=(sudo -n)
    fi
    mkdir -p "$INFRA"
    # `apt-get update` at most once per invocation, and only when we do install something.
    if ((APT_UPDATED == 0)); then
        log "apt-get update ..."
        "${sudo[@]}" apt-get update -q >"$INFRA/apt.log" 2>&1 ||
            { tail -n 20 "$INFRA/apt.log" >&2; die "apt-get update failed (full log: $INFRA/apt.log)"; }
        APT_UPDATED=1
    fi
    log "apt-get install $* ..."
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@" >>"$INFRA/apt.log" 2>&1 9>&- ||
        { tail -n 20 "$INFRA/apt.log" >&2; die "apt-get install $* failed (full log: $INFRA/apt.log)"; }
}

# ------------------------------------------------------------------------------------ Kafka

kafka_running() { pid_matches "$(read_pid "$KAFKA_PID")" kafka.Kafka "$KAFKA_CONF/server.properties"; }

# Broker port of the running instance (server.properties is rewritten only on start).
kafka_actual_port() { sed -n 's|^listeners=[A-Z_]*://[^:]*:\([0-9]*\).*|\1|p' "$KAFKA_CONF/server.properties"; }

kafka_ensure_libs() {
    local want
    want=$(sha256sum "$KAFKA_POM" | cut -d' ' -f1)
    if [[ -f $KAFKA_LIBS_MARKER && $(<"$KAFKA_LIBS_MARKER") == "$want" ]]; then
        return 0
    fi
    command -v mvn >/dev/null || apt_install maven
    log "downloading Kafka $KAFKA_VERSION jars from Maven Central (once) ..."
    rm -rf "$KAFKA_LIBS" "$KAFKA_LIBS_MARKER"
    mkdir -p "$KAFKA_HOME"
    # -B: no ANSI colours/progress in the log. Output goes to a file: shown only on failure.
    if ! mvn -B -q -f "$KAFKA_POM" dependency:copy-dependencies \
        -DoutputDirectory="$KAFKA_LIBS" >"$KAFKA_HOME/mvn.log" 2>&1; then
        tail -n 30 "$KAFKA_HOME/mvn.log" >&2
        die "maven could not fetch the Kafka jars (full log: $KAFKA_HOME/mvn.log)"
    fi
    [[ -f $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar ]] ||
        die "maven finished but $KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar is missing"
    # Written last: a half-finished download is never mistaken for a complete one.
    printf '%s\n' "$want" >"$KAFKA_LIBS_MARKER"
}

# Config is regenerated on every start so port overrides take effect; the data dir is not tied
# to the listener ports (static controller.quorum.voters are not stored by `format`).
kafka_write_config() {
    mkdir -p "$KAFKA_CONF" "$KAFKA_DATA" "$KAFKA_LOGS"
    cat >"$KAFKA_CONF/server.properties" <<EOF
# Generated by scripts/infra.sh -- edits are overwritten on the next start.
# Single node, KRaft combined mode: this process is both the broker and the (only) controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
$(kafka_listener_config)
controller.listener.names=CONTROLLER
log.dirs=$KAFKA_DATA

num.partitions=3
# One broker: internal topics cannot have more than one replica.
default.replication.factor=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# The default 50 partitions per internal topic make the first consumer group / first
# transaction on a fresh cluster take seconds on a 2-core box; 10 is plenty for one node.
offsets.topic.num.partitions=10
transaction.state.log.num.partitions=10
# Tests create consumer groups all the time; don't wait 3 s for more members to join.
group.initial.rebalance.delay.ms=0
EOF
    cat >"$KAFKA_CONF/log4j.properties" <<EOF
# Generated by scripts/infra.sh. Broker logs go to a file, never to stdout.
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.RollingFileAppender
log4j.appender.file.File=$KAFKA_LOGS/server.log
log4j.appender.file.MaxFileSize=50MB
log4j.appender.file.MaxBackupIndex=3
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
# One line per request is far too much even for debugging.
log4j.logger.kafka.request.logger=WARN
EOF
    # For the one-shot CLI tools (StorageTool): warnings to stderr only.
    cat >"$KAFKA_CONF/tools-log4j.properties" <<'EOF'
log4j.rootLogger=WARN, stderr
log4j.appender.stderr=org.apache.log4j.ConsoleAppender
log4j.appender.stderr.Target=System.err
log4j.appender.stderr.layout=org.apache.log4j.PatternLayout
log4j.appender.stderr.layout.ConversionPattern=[%d] %p %m (%c)%n
EOF
}

kafka_tool() {
    java -Dlog4j.configuration="file:$KAFKA_CONF/tools-log4j.properties" -cp "$KAFKA_LIBS/*" "$@"
}

# The client listener: PLAINTEXT, or (SB_KAFKA_SCRAM=1) SASL/SCRAM with ACLs.
kafka_listener_config() {
    if [[ $KAFKA_SCRAM != 1 ]]; then
        cat <<EOF
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
auto.create.topics.enable=true
EOF
        return 0
    fi
    cat <<EOF
listeners=SASL_PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://$HOST:$KAFKA_PORT
# The controller listener stays PLAINTEXT on the loopback: requests on it come from this
# process only, as User:ANONYMOUS, which is therefore a super user; clients have no way to it.
listener.security.protocol.map=SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=SASL_PLAINTEXT
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$(kafka_scram_password admin)";
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:admin;User:ANONYMOUS
# Topics are the admin's to create (as Strimzi's KafkaTopics are in a cluster).
auto.create.topics.enable=false
EOF
}

# The SCRAM users' passwords: generated once, before the storage is formatted with them.
kafka_scram_users() {
    [[ -s $KAFKA_SCRAM_USERS ]] && return 0
    mkdir -p "$KAFKA_CONF"
    local user
    (
        umask 077
        for user in admin $KAFKA_SCRAM_SERVICES; do
            printf '%s %s\n' "$user" "$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')"
        done >"$KAFKA_SCRAM_USERS.tmp"
    )
    mv "$KAFKA_SCRAM_USERS.tmp" "$KAFKA_SCRAM_USERS"
}

kafka_scram_password() { sed -n "s/^$1 //p" "$KAFKA_SCRAM_USERS"; }

# As the admin: create every topic and grant each service its ACLs (idempotent).
kafka_scram_grant() {
    [[ $KAFKA_SCRAM == 1 ]] || return 0
    [[ -x $PYTHON ]] || die "SB_KAFKA_SCRAM=1 needs the workspace's Python ($PYTHON; uv sync first, or set SB_PYTHON)"
    log "creating topics and granting each service its ACLs ..."
    env -u TOPIC_PREFIX KAFKA_BOOTSTRAP_SERVERS="$HOST:$KAFKA_PORT" \
        KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_USERNAME=admin \
        KAFKA_SASL_PASSWORD="$(kafka_scram_password admin)" KAFKA_TOPIC_REPLICATION=1 \
        "$PYTHON" -m switchboard_runtime.acls >"$KAFKA_CONF/acls.log" 2>&1 9>&- ||
        kafka_fail "granting ACLs failed: $(tail -n 5 "$KAFKA_CONF/acls.log")"
}

# Format the storage once. The cluster id is generated once and kept, so later starts (and a
# re-format after wiping kafka-data/) reuse the same id.
kafka_format_once() {
    [[ -f $KAFKA_DATA/meta.properties ]] && return 0
    local cid_file="$KAFKA_CONF/cluster-id"
    if [[ ! -s $cid_file ]]; then
        kafka_tool kafka.tools.StorageTool random-uuid | tr -d '[:space:]' >"$cid_file.tmp"
        [[ -s $cid_file.tmp ]] || die "kafka.tools.StorageTool random-uuid printed nothing"
        mv "$cid_file.tmp" "$cid_file"
    fi
    local scram=() user
    if [[ $KAFKA_SCRAM == 1 ]]; then
        for user in admin $KAFKA_SCRAM_SERVICES; do
            scram+=(--add-scram "SCRAM-SHA-512=[name=$user,password=$(kafka_scram_password "$user")]")
        done
    fi
    log "formatting Kafka storage (cluster id $(<"$cid_file")) ..."
    kafka_tool kafka.tools.StorageTool format -t "$(<"$cid_file")" \
        -c "$KAFKA_CONF/server.properties" "${scram[@]}" >"$KAFKA_CONF/format.log" 2>&1 ||
        { cat "$KAFKA_CONF/format.log" >&2; die "kafka storage format failed"; }
}

# Start the JVM in the background (does not wait for readiness: see kafka_wait).
kafka_launch() {
    KAFKA_LAUNCHED=1 # kafka_wait: also confirms that an already-running broker is ready
    if kafka_running; then
        check_same_port kafka "$(kafka_actual_port)" "$KAFKA_PORT" SB_KAFKA_PORT
        return 0
    fi
    local p
    for p in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        port_open "$p" && die "port $HOST:$p is already in use by another process (not our Kafka); set SB_KAFKA_PORT / SB_KAFKA_CONTROLLER_PORT"
    done
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    kafka_ensure_libs
    if [[ $KAFKA_SCRAM == 1 ]]; then kafka_scram_users; fi
    kafka_write_config
    kafka_format_once
    # Each start gets a fresh server.log, so readiness is judged on this run's lines only.
    [[ -f $KAFKA_LOGS/server.log ]] && mv -f "$KAFKA_LOGS/server.log" "$KAFKA_LOGS/server.log.prev"
    [[ -f $KAFKA_OUT ]] && mv -f "$KAFKA_OUT" "$KAFKA_OUT.prev"
    rm -f "$KAFKA_PID"
    log "starting Kafka $KAFKA_VERSION ..."
    # setsid: own session, so a CI step or `make` killing its process group doesn't take the
    # broker with it. The inner bash records its own pid and then exec's java (same pid).
    # shellcheck disable=SC2016 # $$, $0 and $@ belong to the inner shell
    setsid nohup bash -c 'echo $$ >"$0"; exec "$@"' "$KAFKA_PID" \
        java "-Xmx$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dkafka.logs.dir="$KAFKA_LOGS" -Dlog4j.configuration="file:$KAFKA_CONF/log4j.properties" \
        -cp "$KAFKA_LIBS/*" kafka.Kafka "$KAFKA_CONF/server.properties" \
        </dev/null >>"$KAFKA_OUT" 2>&1 9>&- &
}

kafka_fail() {
    {
        echo "---- $KAFKA_LOGS/server.log (tail) ----"
        tail -n 40 "$KAFKA_LOGS/server.log" 2>/dev/null || true
        echo "---- $KAFKA_OUT (tail) ----"
        tail -n 20 "$KAFKA_OUT" 2>/dev/null || true
    } >&2
    # Don't leave a half-started broker behind: the next `up` would take it for a good one.
    [[ ${2:-} == stop ]] && kafka_stop
    die "$1"
}

# Poll (bounded) until the broker accepts connections AND has logged that startup completed.
kafka_wait() {
    [[ ${KAFKA_LAUNCHED:-0} == 1 ]] || return 0
    local deadline=$((SECONDS + KAFKA_START_TIMEOUT)) pid=""
    while :; do
        [[ -n $pid ]] || pid=$(read_pid "$KAFKA_PID")
        if [[ -n $pid ]] && ! pid_alive "$pid"; then
            kafka_fail "Kafka exited during startup"
        fi
        if grep -q 'Kafka Server started' "$KAFKA_LOGS/server.log" 2>/dev/null && port_open "$KAFKA_PORT"; then
            break
        fi
        ((SECONDS < deadline)) || kafka_fail "Kafka not ready after ${KAFKA_START_TIMEOUT}s (stopped it again)" stop
        sleep 0.3
    done
    KAFKA_LAUNCHED=0
    kafka_scram_grant
    # The version the broker logged at startup (AppInfoParser: "Kafka version: 3.9.1"), kept in
    # a file because server.log rolls over.
    local v
    v=$(sed -n 's/.*Kafka version: \([^ ]*\).*/\1/p' "$KAFKA_LOGS/server.log" | tail -n 1)
    printf '%s\n' "$v" >"$KAFKA_CONF/version"
    [[ $v == "$KAFKA_VERSION" ]] || log "WARNING: broker reports version '$v', expected $KAFKA_VERSION"
}

kafka_version() { cat "$KAFKA_CONF/version" 2>/dev/null || true; }

kafka_stop() {
    local pid
    pid=$(read_pid "$KAFKA_PID")
    if ! kafka_running; then
        rm -f "$KAFKA_PID"
        return 0
    fi
    log "stopping Kafka (pid $pid) ..."
    kill -TERM "$pid"   # triggers the broker's controlled shutdown
    if ! wait_pid_gone "$pid" 60; then
        log "Kafka did not exit within 60s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" 10 || die "could not kill Kafka pid $pid"
    fi
    rm -f "$KAFKA_PID"
}

kafka_status() {
    if kafka_running; then
        printf 'kafka     running  pid %-7s %s:%s (controller :%s)  version %s\n' \
            "$(read_pid "$KAFKA_PID")" "$HOST" "$(kafka_actual_port)" \
            "$(sed -n 's|^controller.quorum.voters=1@[^:]*:||p' "$KAFKA_CONF/server.properties")" "$(kafka_version)"
    else
        printf 'kafka     stopped  (%s:%s)\n' "$HOST" "$KAFKA_PORT"
        return 1
    fi
}

# ------------------------------------------------------------------------------- PostgreSQL
#
# We run our OWN cluster in .cache/infra/pg rather than Debian's default one (/etc/postgresql,
# port 5432, systemd): no root-owned config to edit, a port that cannot clash with a system
# server, settings tuned for tests, and `rm -rf .cache/infra/pg` resets everything.
# The server refuses to run as root, so everything runs as the `postgres` OS user.

pg_bindir() {
    local d
    # Prefer the major version the data dir was created with, then the newest installed.
    if [[ -f $PG_DATA/PG_VERSION ]]; then
        d="/usr/lib/postgresql/$(<"$PG_DATA/PG_VERSION")/bin"
        [[ -x $d/postgres ]] && { echo "$d"; return; }
    fi
    d=$(printf '%s\n' /usr/lib/postgresql/*/bin | grep -v '[*]' | sort -V | tail -n 1) || true
    [[ -n $d && -x $d/initdb ]] && echo "$d"
}

# Run as the postgres OS user (when we are root), from a cwd it can read.
as_pg() {
    if ((EUID == 0)); then
        (cd / && runuser -u postgres -- "$@")
    else
        (cd / && "$@")
    fi
}

# Unix socket directory. Socket paths are limited to ~107 bytes and PostgreSQL's list syntax
# does not like whitespace, so a deep or odd repo path falls back to a per-repo dir in /tmp.
pg_sockdir() {
    local d="$PG_DIR/run"
    if ((${#d} > 80)) || [[ $d =~ [[:space:],] ]]; then
        d="/tmp/switchboard-pg-$(printf '%s' "$REPO" | sha256sum | cut -c1-12)"
    fi
    echo "$d"
}

pg_running() {
    local bin
    bin=$(pg_bindir) || return 1
    [[ -f $PG_DATA/PG_VERSION ]] && as_pg "$bin/pg_ctl" -D "$PG_DATA" status >/dev/null 2>&1
}

# Make sure the postgres user can reach $PG_DIR; explain clearly when it cannot.
pg_check_access() {
    if ((EUID != 0)); then return 0; fi
    # Our own dirs inside the repo: make them traversable (harmless; root's umask may be 077).
    chmod o+x "$REPO/.cache" "$INFRA"
    mkdir -p "$PG_DIR"
    chown postgres: "$PG_DIR"
    if ! as_pg test -w "$PG_DIR"; then
        local d="" part
        IFS=/ read -ra parts <<<"${PG_DIR#/}"
        for part in "${parts[@]}"; do
            d="$d/$part"
            as_pg test -x "$d" ||
                die "the 'postgres' OS user cannot traverse $d ($(stat -c '%A %U:%G' "$d")), so it cannot use $PG_DATA. Run 'chmod o+x $d' or move the repo."
        done
        die "the 'postgres' OS user cannot write to $PG_DIR"
    fi
}

pg_actual_port() { sed -n 4p "$PG_DATA/postmaster.pid" 2>/dev/null; }

# Install if needed and check file access; cheap, so `up` runs it before launching anything.
pg_prepare() {
    if [[ -z $(pg_bindir) ]]; then
        apt_install postgresql
        [[ -n $(pg_bindir) ]] || die "installed postgresql but found no /usr/lib/postgresql/*/bin/initdb"
    fi
    if ((EUID == 0)); then id postgres >/dev/null 2>&1 || die "no 'postgres' OS user"; fi
    pg_check_access
}

pg_start() {
    if pg_running; then
        check_same_port postgres "$(pg_actual_port)" "$PG_PORT" SB_PG_PORT
        return 0
    fi
    port_open "$PG_PORT" && die "port $HOST:$PG_PORT is already in use by another process (not our PostgreSQL); set SB_PG_PORT"
    pg_prepare
    local bin sock
    bin=$(pg_bindir)
    sock=$(pg_sockdir)

    if [[ ! -f $PG_DATA/PG_VERSION ]]; then
        rm -rf "$PG_DATA" # leftovers of an interrupted initdb
        local locale=C
        grep -qiE '^c\.utf-?8$' <<<"$(locale -a 2>/dev/null)" && locale=C.UTF-8
        log "initdb $PG_DATA ($("$bin/postgres" --version)) ..."
        # --no-sync: scratch cluster, no point in fsyncing the fresh files.
        as_pg "$bin/initdb" -D "$PG_DATA" --auth=trust -U postgres --encoding=UTF8 \
            --locale="$locale" --no-sync >"$PG_DIR/initdb.log" 2>&1 ||
            { cat "$PG_DIR/initdb.log" >&2; die "initdb failed"; }
        echo "include_if_exists = 'switchboard.conf'" | as_pg tee -a "$PG_DATA/postgresql.conf" >/dev/null
    fi

    mkdir -p "$sock"
    ((EUID == 0)) && chown postgres: "$sock"
    # Regenerated on every start (port may change). Included last from postgresql.conf, so it wins.
    as_pg tee "$PG_DATA/switchboard.conf" >/dev/null <<EOF
# Generated by scripts/infra.sh -- edits are overwritten on the next start.
listen_addresses = '$HOST'
port = $PG_PORT
unix_socket_directories = '$sock'
max_connections = 300
shared_buffers = 256MB
# Test/dev box only: durability is traded for speed. A crash (of the machine, not of
# PostgreSQL) can corrupt this cluster; delete .cache/infra/pg and start again.
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
    log "starting PostgreSQL ..."
    as_pg "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_LOG" -w -t 60 start >/dev/null 2>&1 9>&- ||
        { tail -n 30 "$PG_LOG" >&2; die "PostgreSQL did not start (log: $PG_LOG)"; }
}

pg_stop() {
    pg_running || return 0
    log "stopping PostgreSQL ..."
    as_pg "$(pg_bindir)/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null
}

pg_status() {
    if pg_running; then
        printf 'postgres  running  pid %-7s %s:%s  (%s, socket dir %s)\n' \
            "$(head -n 1 "$PG_DATA/postmaster.pid")" "$HOST" "$(pg_actual_port)" \
            "PostgreSQL $(<"$PG_DATA/PG_VERSION")" "$(sed -n 5p "$PG_DATA/postmaster.pid")"
    else
        printf 'postgres  stopped  (%s:%s)\n' "$HOST" "$PG_PORT"
        return 1
    fi
}

# ------------------------------------------------------------------------------------ Redis
#
# Our own redis-server process on a private port, not Debian's redis-server service.
# Pure cache/broker for tests: no RDB snapshots, no AOF.

redis_running() { pid_matches "$(read_pid "$REDIS_PID")" redis-server; }

# Redis rewrites its process title to "redis-server 127.0.0.1:<port>".
redis_actual_port() {
    local title
    title=$(tr '\0' ' ' <"/proc/$(read_pid "$REDIS_PID")/cmdline" 2>/dev/null) || return 0
    [[ $title =~ :([0-9]+) ]] && echo "${BASH_REMATCH[1]}"
}

redis_ping() { [[ $(redis-cli -h "$HOST" -p "$1" ping 2>/dev/null) == PONG ]]; }

redis_prepare() {
    if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
        apt_install redis-server
    fi
}

redis_start() {
    if redis_running; then
        check_same_port redis "$(redis_actual_port)" "$REDIS_PORT" SB_REDIS_PORT
        return 0
    fi
    port_open "$REDIS_PORT" && die "port $HOST:$REDIS_PORT is already in use by another process (not our Redis); set SB_REDIS_PORT"
    redis_prepare
    mkdir -p "$REDIS_DIR"
    rm -f "$REDIS_PID"
    log "starting Redis ..."
    redis-server --port "$REDIS_PORT" --bind "$HOST" --daemonize yes \
        --dir "$REDIS_DIR" --pidfile "$REDIS_PID" --logfile "$REDIS_LOG" \
        --save "" --appendonly no >/dev/null 9>&-
    local deadline=$((SECONDS + 30))
    until redis_ping "$REDIS_PORT"; do
        ((SECONDS < deadline)) || { tail -n 20 "$REDIS_LOG" >&2; die "Redis did not answer PING within 30s"; }
        sleep 0.1
    done
}

redis_stop() {
    local pid
    pid=$(read_pid "$REDIS_PID")
    if ! redis_running; then return 0; fi
    log "stopping Redis (pid $pid) ..."
    redis-cli -h "$HOST" -p "$(redis_actual_port)" shutdown nosave >/dev/null 2>&1 || true
    if ! wait_pid_gone "$pid" 20; then
        kill -KILL "$pid" 2>/dev/null || true
        wait_pid_gone "$pid" 5 || die "could not stop Redis pid $pid"
    fi
    rm -f "$REDIS_PID"
}

redis_status() {
    if redis_running; then
        printf 'redis     running  pid %-7s %s:%s  (%s)\n' "$(read_pid "$REDIS_PID")" "$HOST" "$(redis_actual_port)" \
            "$(redis-server --version | grep -o 'v=[^ ]*' | sed 's/v=/Redis /')"
    else
        printf 'redis     stopped  (%s:%s)\n' "$HOST" "$REDIS_PORT"
        return 1
    fi
}

# --------------------------------------------------------------------------------- commands

print_env() {
    cat <<EOF
export KAFKA_BOOTSTRAP_SERVERS=$HOST:$KAFKA_PORT
export DATABASE_URL=postgresql+asyncpg://postgres@$HOST:$PG_PORT/postgres
export REDIS_URL=redis://$HOST:$REDIS_PORT/0
EOF
    [[ $KAFKA_SCRAM == 1 && -s $KAFKA_SCRAM_USERS ]] || return 0
    echo "export KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT KAFKA_SASL_MECHANISM=SCRAM-SHA-512"
    local user prefix
    for user in $KAFKA_SCRAM_SERVICES; do
        prefix=$(tr 'a-z-' 'A-Z_' <<<"$user")_
        echo "export ${prefix}KAFKA_SASL_USERNAME=$user ${prefix}KAFKA_SASL_PASSWORD=$(kafka_scram_password "$user")"
    done
}

status_all() {
    local rc=0
    kafka_status || rc=1
    pg_status || rc=1
    redis_status || rc=1
    return $rc
}

# Serialise up/down/restart: two concurrent `up`s must not both start a Kafka.
# flock is tied to the open file, so every daemon we spawn gets `9>&-`: a daemon inheriting
# fd 9 would hold the lock for as long as it runs.
take_lock() {
    mkdir -p "$INFRA"
    exec 9>"$INFRA/.lock"
    flock -w 600 9 || die "timed out waiting for another infra.sh ($INFRA/.lock)"
}

cmd_up() {
    take_lock
    local t0=$SECONDS
    # Installs and access checks first, so a failure there leaves nothing half-started.
    pg_running || pg_prepare
    redis_running || redis_prepare
    # Kafka's JVM takes longest to come up, so launch it first and start the others meanwhile.
    kafka_launch
    pg_start
    redis_start
    kafka_wait
    print_env >"$ENV_FILE"
    status_all
    echo "env: $ENV_FILE  (eval \"\$($0 env)\")"
    echo "logs: $KAFKA_LOGS/server.log  $PG_LOG  $REDIS_LOG"
    log "up in $((SECONDS - t0))s"
}

cmd_down() {
    take_lock
    kafka_stop
    pg_stop
    redis_stop
    status_all || true
}

case "${1:-up}" in
    up) cmd_up ;;
    down) cmd_down ;;
    status) status_all ;;
    env) print_env ;;
    restart-kafka) take_lock; kafka_stop; kafka_launch; kafka_wait; kafka_status ;;
    restart-postgres) take_lock; pg_stop; pg_start; pg_status ;;
    restart-redis) take_lock; redis_stop; redis_start; redis_status ;;
    stop-kafka) take_lock; kafka_stop ;;
    stop-postgres) take_lock; pg_stop ;;
    stop-redis) take_lock; redis_stop ;;
    start-kafka) take_lock; kafka_launch; kafka_wait; kafka_status ;;
    start-postgres) take_lock; pg_start; pg_status ;;
    start-redis) take_lock; redis_start; redis_status ;;
    -h | --help | help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
    *) die "unknown command '$1' (try: up, down, status, env, restart-|stop-|start-kafka|postgres|redis)" ;;
esac
