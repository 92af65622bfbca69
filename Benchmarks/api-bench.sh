#!/usr/bin/env bash
# Palisade API benchmark: wrk against GET /api/status and an authenticated GET /v1/accounts
# (64 connections), with nginx serving the same bodies on loopback as the named reference in
# the same run. Prints requests/s, p99 latency, the palisade/nginx ratio and whether palisade
# met the goal (>= 10,000 requests/s and p99 <= 5 ms).
#
# Usage: ./Benchmarks/api-bench.sh          (after `swift build -c release`; `make bench` does both)
# Environment:
#   BENCH_DURATION     measured run per endpoint and server (default 10s)
#   BENCH_WARMUP       warm-up run before each measured run (default 2s)
#   BENCH_CONNECTIONS  wrk connections (default 64)
#   BENCH_THREADS      wrk threads (default 2)
#   BENCH_HEALTHZ=1    also measure GET /healthz (no store access, no session), for diagnosis
#   PALISADE_BINARY    daemon to measure (default ./.build/release/palisade)
#
# Exit status: 0 when the measurement ran (whether or not the goal was met), non-zero when the
# setup failed (missing binary or tool, daemon or nginx not starting, unexpected answers).
set -euo pipefail

cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
CONNECTIONS=${BENCH_CONNECTIONS:-64}
THREADS=${BENCH_THREADS:-2}
BINARY=${PALISADE_BINARY:-./.build/release/palisade}
GOAL_RPS=10000
GOAL_P99_MS=5
PASSWORD=bench-password
EXTRA_ACCOUNTS=10

die() { echo "api-bench: $*" >&2; exit 1; }

# --- preconditions ----------------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"   # Debian installs nginx in /usr/sbin, not on a user's PATH
[ -x "$BINARY" ] || die "release binary $BINARY not found; build it with 'swift build -c release' (or run 'make bench')"
for tool in wrk nginx curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it with 'make deps-bench' (Debian packages wrk nginx-light curl)"
done

# --- cleanup on every exit --------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/palisade-bench.XXXXXX")
PALISADE_PID=""
NGINX_PID=""
WRK_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "$WRK_PID" "$PALISADE_PID" "$NGINX_PID"; do
        [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
    done
    for pid in "$WRK_PID" "$PALISADE_PID" "$NGINX_PID"; do
        if [ -n "$pid" ]; then
            # Give each a few seconds to stop gracefully, then force it.
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    if command -v python3 >/dev/null 2>&1; then
        python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
    else
        local port
        for _ in $(seq 100); do
            port=$((20000 + RANDOM % 40000))
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || { echo "$port"; return; }
        done
        die "no free port found"
    fi
}

# wait_for URL PID NAME LOG: polls URL until it answers 200 while PID is alive (20 s at most).
wait_for() {
    local url=$1 pid=$2 name=$3 log=$4
    for _ in $(seq 200); do
        kill -0 "$pid" 2>/dev/null || { cat "$log" >&2 || true; die "$name exited during start-up (log above)"; }
        [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ] && return 0
        sleep 0.1
    done
    cat "$log" >&2 || true
    die "$name did not answer 200 on $url within 20 s"
}

# --- palisade ---------------------------------------------------------------------------------
PALISADE_PORT=$(free_port)
PALISADE="http://127.0.0.1:$PALISADE_PORT"
mkdir -p "$WORK/data"
"$BINARY" serve --host 127.0.0.1 --port "$PALISADE_PORT" --data-dir "$WORK/data" --log-level error \
    >"$WORK/palisade.log" 2>&1 &
PALISADE_PID=$!
wait_for "$PALISADE/healthz" "$PALISADE_PID" palisade "$WORK/palisade.log"

reply=$(curl -sS -f -X POST "$PALISADE/api/set-password" -H 'Content-Type: application/json' \
    -d "{\"password\":\"$PASSWORD\"}") || die "POST /api/set-password failed"
TOKEN=$(printf '%s' "$reply" | sed -n 's/.*"access_token" *: *"\([^"]*\)".*/\1/p')
[ -n "$TOKEN" ] || die "POST /api/set-password answered without an access_token: $reply"
AUTH="Authorization: Bearer $TOKEN"

for i in $(seq "$EXTRA_ACCOUNTS"); do
    role=viewer; [ $((i % 3)) -eq 0 ] && role=admin
    curl -sS -f -o /dev/null -X POST "$PALISADE/v1/accounts" -H "$AUTH" -H 'Content-Type: application/json' \
        -d "{\"name\":\"user$i\",\"password\":\"x\",\"role\":\"$role\"}" || die "creating account user$i failed"
done

# The exact bodies palisade answers; nginx returns the same bytes.
STATUS_BODY=$(curl -sS -f "$PALISADE/api/status") || die "GET /api/status failed"
ACCOUNTS_BODY=$(curl -sS -f -H "$AUTH" "$PALISADE/v1/accounts") || die "authenticated GET /v1/accounts failed"
HEALTHZ_BODY=$(curl -sS -f "$PALISADE/healthz") || die "GET /healthz failed"
count=$(printf '%s' "$ACCOUNTS_BODY" | grep -o '"name"' | wc -l)
[ "$count" -ge $((EXTRA_ACCOUNTS + 1)) ] || die "account list has $count accounts, expected $((EXTRA_ACCOUNTS + 1)): $ACCOUNTS_BODY"

# --- nginx reference --------------------------------------------------------------------------
NGINX_VERSION=$(nginx -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p')
NGINX_PORT=$(free_port)
NGINX="http://127.0.0.1:$NGINX_PORT"
mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"

# A body as an nginx single-quoted string: escape \ and ', and route $ through a variable
# (nginx interpolates variables in `return` text and has no escape for $).
nginx_quote() {
    local text=$1
    text=${text//\\/\\\\}
    text=${text//\'/\\\'}
    text=${text//\$/\$\{dollar\}}
    printf "'%s'" "$text"
}

cat >"$WORK/nginx/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    keepalive_requests 1000000;   # palisade does not cap requests per connection either
    keepalive_timeout 75s;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    geo \$dollar { default "\$"; }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        default_type application/json;
        location = /api/status { return 200 $(nginx_quote "$STATUS_BODY"); }
        location = /v1/accounts { return 200 $(nginx_quote "$ACCOUNTS_BODY"); }
        location = /healthz { return 200 $(nginx_quote "$HEALTHZ_BODY"); }
    }
}
EOF
nginx -t -q -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" 2>"$WORK/nginx/check.log" \
    || { cat "$WORK/nginx/check.log" >&2; die "nginx rejected the generated configuration"; }
nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" >"$WORK/nginx/stdout.log" 2>&1 &
NGINX_PID=$!
wait_for "$NGINX/healthz" "$NGINX_PID" nginx "$WORK/nginx/logs/error.log"
[ "$(curl -sS -f -H "$AUTH" "$NGINX/v1/accounts")" = "$ACCOUNTS_BODY" ] || die "nginx does not answer palisade's account list body"
[ "$(curl -sS -f "$NGINX/api/status")" = "$STATUS_BODY" ] || die "nginx does not answer palisade's status body"

# --- measurement ------------------------------------------------------------------------------
# to_ms VALUE: wrk's latency (e.g. 812.00us, 1.23ms, 1.02s, 1.50m) in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000; else if (u == "h") n *= 3600000
        printf "%.2f", n }'
}

# run_wrk OUTPUT ARGS...: wrk in the background, so a signal stops the script at once (bash
# runs traps only after a foreground command ends).
run_wrk() {
    local out=$1; shift
    wrk "$@" >"$out" 2>&1 &
    WRK_PID=$!
    local status=0
    wait "$WRK_PID" || status=$?
    WRK_PID=""
    return "$status"
}

# measure NAME URL [HEADER]: warm-up, then a measured run; sets RPS, P99_MS and NOTE.
measure() {
    local name=$1 url=$2 header=${3:-}
    local args=(-t"$THREADS" -c"$CONNECTIONS" --latency)
    [ -n "$header" ] && args+=(-H "$header")
    local out="$WORK/wrk-$name-$(echo "$url" | tr -c 'a-zA-Z0-9' _).txt"
    run_wrk "$out" "${args[@]}" -d"$WARMUP" "$url" || { cat "$out" >&2; die "wrk warm-up against $name $url failed"; }
    run_wrk "$out" "${args[@]}" -d"$DURATION" "$url" || { cat "$out" >&2; die "wrk against $name $url failed"; }
    RPS=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$out")
    local p99
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    [ -n "$RPS" ] && [ -n "$p99" ] || { cat "$out" >&2; die "could not parse wrk output for $name $url"; }
    P99_MS=$(to_ms "$p99")
    NOTE=""
    local non2xx errors
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    errors=$(sed -n 's/^ *Socket errors: *//p' "$out")
    [ -n "$non2xx" ] && NOTE+=" $name: $non2xx non-2xx responses;"
    [ -n "$errors" ] && NOTE+=" $name socket errors: $errors;"
    return 0
}

ENDPOINTS=("GET /api/status|/api/status|" "GET /v1/accounts (bearer)|/v1/accounts|$AUTH")
[ "${BENCH_HEALTHZ:-0}" = 1 ] && ENDPOINTS=("GET /healthz|/healthz|" "${ENDPOINTS[@]}")

echo "palisade API benchmark: $(nproc) cores, wrk -t$THREADS -c$CONNECTIONS -d$DURATION --latency (warm-up $WARMUP each)"
PALISADE_VERSION=$(curl -s -H "$AUTH" "$PALISADE/v1/status" | sed -n 's/.*"version" *: *"\([^"]*\)".*/\1/p')
echo "palisade: ${PALISADE_VERSION:-version unknown}, $BINARY, --log-level error, $((EXTRA_ACCOUNTS + 1)) accounts"
echo "reference: nginx $NGINX_VERSION static return (worker_processes 2, access_log off), same bodies"
echo "goal: >= $GOAL_RPS requests/s and p99 <= $GOAL_P99_MS ms"
echo

rows=()
notes=()
for entry in "${ENDPOINTS[@]}"; do
    IFS='|' read -r label path header <<<"$entry"
    echo "measuring $label ..." >&2
    measure palisade "$PALISADE$path" "$header"
    p_rps=$RPS p_p99=$P99_MS p_note=$NOTE
    measure nginx "$NGINX$path" "$header"
    n_rps=$RPS n_p99=$P99_MS n_note=$NOTE
    ratio=$(awk -v a="$p_rps" -v b="$n_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    goal=$(awk -v r="$p_rps" -v p="$p_p99" -v gr="$GOAL_RPS" -v gp="$GOAL_P99_MS" \
        'BEGIN { if (r >= gr && p <= gp) print "yes"; else if (r >= gr) print "no (p99)"; else if (p <= gp) print "no (req/s)"; else print "no (both)" }')
    [ -n "$p_note" ] && goal="$goal *"
    rows+=("$label|$p_rps|$p_p99|$n_rps|$n_p99|$ratio|$goal")
    [ -n "$p_note$n_note" ] && notes+=("$label:$p_note$n_note")
done

fmt='%-27s %14s %13s %11s %10s %7s  %s\n'
printf "$fmt" endpoint "palisade req/s" "palisade p99" "nginx req/s" "nginx p99" ratio "goal met"
for row in "${rows[@]}"; do
    IFS='|' read -r label p_rps p_p99 n_rps n_p99 ratio goal <<<"$row"
    printf "$fmt" "$label" "$p_rps" "$p_p99 ms" "$n_rps" "$n_p99 ms" "$ratio" "$goal"
done
echo "ratio = palisade req/s / nginx req/s (reference: nginx $NGINX_VERSION static return); wrk and both servers share the same $(nproc) cores"
for note in "${notes[@]}"; do echo "warning: $note"; done
[ ${#notes[@]} -gt 0 ] && echo "* palisade answered errors during this run; its numbers are not a valid measurement"
exit 0
