#!/usr/bin/env bash
# Start (or stop) every Switchboard service locally, against scripts/infra.sh's infrastructure.
#   bash scripts/run.sh start | stop | status
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$REPO/.cache/run"
mkdir -p "$RUN_DIR"
cd "$REPO"

# service:port — the ports each service's settings default to.
SERVICES=(telephony:8001 booking:8002 crm-touch:8003 analytics:8004 notify:8005 console:8080)

# Stand-ins for the chain's SMTP relay and SMS gateway: booking's notifications are really
# sent, to these, and kept where they can be read (MAIL_DIR, SMS_LOG).
SMTP_PORT=1025
SMS_PORT=8025
MAIL_DIR="$RUN_DIR/mail"
SMS_LOG="$RUN_DIR/sms.jsonl"
STANDINS=(smtp-catcher sms-gateway)

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_standins() {
    local pid="$RUN_DIR/smtp-catcher.pid"
    if ! alive "$pid"; then
        nohup "$REPO/.venv/bin/python" "$REPO/scripts/standins/smtp_catcher.py" \
            --port "$SMTP_PORT" --out "$MAIL_DIR" >"$RUN_DIR/smtp-catcher.log" 2>&1 &
        echo $! >"$pid"
    fi
    pid="$RUN_DIR/sms-gateway.pid"
    if ! alive "$pid"; then
        nohup "$REPO/.venv/bin/python" "$REPO/scripts/standins/sms_gateway.py" \
            --port "$SMS_PORT" --out "$SMS_LOG" --token dev-sms-token \
            >"$RUN_DIR/sms-gateway.log" 2>&1 &
        echo $! >"$pid"
    fi
}

start() {
    echo "  building the operator console (console/dist)"
    make -s -C "$REPO" console-build >"$RUN_DIR/console-build.log" 2>&1 \
        || { tail -n 30 "$RUN_DIR/console-build.log" >&2; exit 1; }
    # shellcheck disable=SC1091
    source "$REPO/.cache/infra/env"
    # The demo's Mango Office and Twilio webhook secrets (make simulate FORMAT=... signs with them).
    set -a
    # shellcheck disable=SC1091
    source "$REPO/scripts/demo-pbx.env"
    set +a
    start_standins
    # booking sends its notifications to the stand-ins; unsubscribe links point at the console.
    export BOOKING_SMTP_HOST=127.0.0.1 BOOKING_SMTP_PORT="$SMTP_PORT" BOOKING_SMTP_SECURITY=none \
        BOOKING_SMTP_FROM="Switchboard demo clinics <no-reply@clinic.example>" \
        BOOKING_SMS_PROVIDER=webhook BOOKING_SMS_WEBHOOK_URL="http://127.0.0.1:$SMS_PORT/sms" \
        BOOKING_SMS_WEBHOOK_TOKEN=dev-sms-token BOOKING_PUBLIC_URL=http://127.0.0.1:8080
    for entry in "${SERVICES[@]}"; do
        name="${entry%%:*}"; port="${entry##*:}"; pid="$RUN_DIR/$name.pid"
        if alive "$pid"; then echo "  $name already running (pid $(cat "$pid"))"; continue; fi
        # Touch creation is the Calltouch setting; the demo has it on until an admin says otherwise.
        CRM_TOUCH_CALLTOUCH_ENABLED_DEFAULT=true \
        nohup "$REPO/.venv/bin/switchboard-$name" serve --port "$port" \
            >"$RUN_DIR/$name.log" 2>&1 &
        echo $! >"$pid"
    done
    for entry in "${SERVICES[@]}"; do
        name="${entry%%:*}"; port="${entry##*:}"
        deadline=$((SECONDS + 60))
        until curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1; do
            if ! alive "$RUN_DIR/$name.pid"; then
                echo "  $name exited; last lines of $RUN_DIR/$name.log:" >&2
                tail -n 30 "$RUN_DIR/$name.log" >&2; exit 1
            fi
            if (( SECONDS > deadline )); then
                echo "  $name not ready after 60 s; see $RUN_DIR/$name.log" >&2; exit 1
            fi
            sleep 0.5
        done
        echo "  $name ready on http://127.0.0.1:$port  (API docs: /docs, log: .cache/run/$name.log)"
    done
    echo "  seeding the demo chain (booking) and matching the simulator's clinics (telephony)"
    "$REPO/.venv/bin/switchboard-booking" seed >"$RUN_DIR/seed.log" 2>&1 \
        || { tail -n 20 "$RUN_DIR/seed.log" >&2; exit 1; }
    "$REPO/.venv/bin/python" "$REPO/scripts/demo_setup.py"
    yesterday="$(date -d yesterday +%F)"
    echo "  playing a simulated clinic day ($yesterday) through the PBX webhook"
    "$REPO/.venv/bin/switchboard-telephony" simulate --url http://127.0.0.1:8001 \
        --token dev-pbx-token --day "$yesterday" --speedup 0 --calls 800 \
        >"$RUN_DIR/simulate.log" 2>&1 || { tail -n 20 "$RUN_DIR/simulate.log" >&2; exit 1; }
    cat <<MSG

Switchboard is running, with $yesterday's simulated calls in the call log.

  Console: http://127.0.0.1:8080   (log in as anna / anna)

Logins (user/password): admin/admin, anna/anna and boris/boris (call center Central,
sharing extension 101), petr/petr (call center Partner), maria/maria (manager).

Patient notifications (email, SMS) booked, moved and cancelled appointments send are kept by
the local stand-ins instead of being delivered:
  emails: $MAIL_DIR/*.eml, one JSON line each in $MAIL_DIR/messages.jsonl
  SMS:    $SMS_LOG, or curl http://127.0.0.1:$SMS_PORT/messages
Each client's and appointment's notifications (status, reason, text) are in the console;
templates and reminder hours per clinic under Settings > Notifications.

Send it a call of your own (each delivery is signed with the integration token, see
services/telephony/README.md "Signing a delivery"):
  BODY='[{"type":"call.started","call_id":"demo-1","timestamp":"$(date -u +%FT%TZ)","from":"+74951234567","to":"101","extension":"101"},
         {"type":"call.ended","call_id":"demo-1","timestamp":"$(date -u +%FT%TZ)","status":"no_answer"}]'
  TS=\$(date +%s)
  SIG=\$(printf 'v1:%s:%s' "\$TS" "\$BODY" | openssl dgst -sha256 -hmac dev-pbx-token -r | cut -d' ' -f1)
  curl -X POST http://127.0.0.1:8001/api/telephony/pbx/events \\
       -H "X-Switchboard-Timestamp: \$TS" -H "X-Switchboard-Signature: v1=\$SIG" \\
       -H 'Content-Type: application/json' -d "\$BODY"
or play today's calls live at 60x: make simulate
(as FreeSWITCH, Mango Office or Twilio would send them: make simulate FORMAT=freeswitch|mango|twilio)
Stop the services with 'make stop', the infrastructure with 'make infra-down'.
MSG
}

stop() {
    for entry in "${SERVICES[@]}" "${STANDINS[@]}"; do
        name="${entry%%:*}"; pid="$RUN_DIR/$name.pid"
        if alive "$pid"; then
            kill -TERM "$(cat "$pid")"
            for _ in $(seq 1 100); do alive "$pid" || break; sleep 0.2; done
            alive "$pid" && kill -KILL "$(cat "$pid")"
            echo "  $name stopped"
        fi
        rm -f "$pid"
    done
}

status() {
    for entry in "${SERVICES[@]}" "${STANDINS[@]}"; do
        name="${entry%%:*}"
        if alive "$RUN_DIR/$name.pid"; then echo "  $name running"; else echo "  $name stopped"; fi
    done
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
