#!/usr/bin/env bash
# Palisade L7 proxy benchmarks (issue 5), each against a named reference in the same run:
#
#   1. iperf3 TCP throughput (10 s per run, first second omitted; 1 stream and 4 streams) through
#      Palisade's proxy with 0, 10 and 100 random 20-character blacklist patterns (mode B)
#      vs HAProxy 2.6 in TCP mode (mode tcp, nbthread 2, no splice)
#                                             goal: 0 patterns >= 1.0x HAProxy, 100 patterns >= 0.8x
#      (also shown: iperf3 straight to the server, no proxy; each Palisade run / the HAProxy run just
#      before it; the proxy process's CPU time per GB, which other load on the machine disturbs less)
#   2. resident memory of the daemon with 10,000 idle connections through the proxy (VmRSS before
#      and after the connections are open, per connection)
#      vs the same through HAProxy                          goal: <= 64 KiB per connection
#   3. added latency of a 64-byte echo, 10,000 round trips on one connection (TCP_NODELAY), p50
#      and p99 through Palisade minus straight to the echo server
#      vs the same through HAProxy                          goal: p99 added <= 1 ms
#
# The reference figure of 1 is the median of the three HAProxy runs of each stream count, one run
# before each Palisade stage. Clients and servers of 2 and 3 are Benchmarks/proxy/netbench.py.
#
# Everything runs inside one network namespace the script creates (pb-px-PID), which has only its
# own loopback: the daemon (API on 127.0.0.1, the proxy's public port on 0.0.0.0 of that
# namespace), HAProxy, the servers and the clients. The host's interfaces, ports and ruleset are
# never touched; the daemon runs with --firewall-backend none. Benchmarks 2 and 3 run with the 100
# patterns of benchmark 1 loaded (all 100 are loaded first when benchmark 1 is skipped). At the
# end a message carrying one of the patterns is sent through the proxy and must be blocked, so the
# figures are known to be those of a filtering proxy. The open-files limit is raised to 65536 for
# every process the script starts (a proxied connection holds two descriptors in the proxy).
#
# Usage: ./Benchmarks/proxy-bench.sh     (as root, after `swift build -c release`; `make bench BENCH=proxy` does both)
# Environment:
#   BENCH_IPERF_SECONDS   length of each iperf3 run (default 10)
#   BENCH_IPERF_STREAMS   parallel-stream counts to run, e.g. "1" (default "1 4")
#   BENCH_CONNECTIONS     benchmark 2 idle connections (default 10000; lowered to what the open-files
#                         limit allows, with a note, when the hard limit is below 65536)
#   BENCH_ROUND_TRIPS     benchmark 3 round trips per path (default 10000)
#   BENCH_ONLY            which benchmarks, e.g. "1" or "2 3" (default "1 2 3")
#   BENCH_LOG_LEVEL       the daemon's --log-level (default error)
#   BENCH_PYTHON          Python 3 interpreter for the helper (default python3)
#   PALISADE_BINARY       daemon (default ./.build/release/palisade)
#
# Exit status: 0 when the measurements ran (whether or not the goals were met), non-zero when the
# setup failed (not root, missing binary or tool, a server not starting, unexpected answers, a
# pattern not blocking). Every namespace, process and temporary file it made is removed on every exit.
set -euo pipefail

cd "$(dirname "$0")/.."

IPERF_SECONDS=${BENCH_IPERF_SECONDS:-10}
IPERF_STREAMS=${BENCH_IPERF_STREAMS:-1 4}
CONNECTIONS=${BENCH_CONNECTIONS:-10000}
ROUND_TRIPS=${BENCH_ROUND_TRIPS:-10000}
ONLY=${BENCH_ONLY:-1 2 3}
LOG_LEVEL=${BENCH_LOG_LEVEL:-error}
BINARY=${PALISADE_BINARY:-./.build/release/palisade}
HELPER=$PWD/Benchmarks/proxy/netbench.py
PASSWORD=bench-password
API_PORT=7878
PUBLIC_PORT=9000      # Palisade's proxy (the service's public port)
HAPROXY_PORT=9001     # HAProxy's frontend
STAGES="0 10 100"     # patterns loaded for the throughput runs
WANT_FDS=65536

BENCH_NAME=proxy-bench
# shellcheck source=Benchmarks/common.sh
. Benchmarks/common.sh

# --- preconditions ----------------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || die "needs root (a network namespace); run it as root"
[ -x "$BINARY" ] || die "release binary $BINARY not found; build it with 'swift build -c release' (or run 'make bench BENCH=proxy')"
for tool in ip ss iperf3 haproxy curl jq awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it with 'make deps-bench'"
done
PYTHON=$(command -v "${BENCH_PYTHON:-python3}") || die "'${BENCH_PYTHON:-python3}' not found; install python3 with 'make deps-bench'"
"$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 8))' || die "$PYTHON is older than Python 3.8"
[ -r "$HELPER" ] || die "helper $HELPER not found"
BINARY=$(realpath "$BINARY")
for n in $IPERF_STREAMS "$CONNECTIONS" "$ROUND_TRIPS" "$IPERF_SECONDS"; do
    case $n in ''|*[!0-9]*|0) die "BENCH_IPERF_STREAMS, BENCH_CONNECTIONS, BENCH_ROUND_TRIPS and BENCH_IPERF_SECONDS take positive integers (got '$n')" ;; esac
done

# Open files: each proxied connection holds two descriptors in the proxy (client side, server side).
# Every process started below inherits this limit. Without CAP_SYS_RESOURCE (as in some containers)
# the hard limit cannot be raised; then benchmark 2 opens as many connections as fit, and says so.
if ! ulimit -n "$WANT_FDS" 2>/dev/null; then
    ulimit -Sn "$(ulimit -Hn)"
fi
FD_LIMIT=$(ulimit -n)
[ "$FD_LIMIT" = unlimited ] && FD_LIMIT=$WANT_FDS
MAX_CONNECTIONS=$(( (FD_LIMIT - 512) / 2 ))
CONNECTIONS_RUN=$CONNECTIONS
if [ "$CONNECTIONS" -gt "$MAX_CONNECTIONS" ]; then
    CONNECTIONS_RUN=$MAX_CONNECTIONS
    FD_NOTE="the open-files limit is $FD_LIMIT here and cannot be raised to $WANT_FDS (no CAP_SYS_RESOURCE), so $CONNECTIONS_RUN connections instead of $CONNECTIONS"
fi

# --- cleanup on every exit --------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/palisade-pxbench.XXXXXX")
chmod 755 "$WORK"
NS=pb-px-$$
NS_MADE=""
DAEMON_PID=""
HAPROXY_PID=""
SERVER_PID=""      # the backend of the moment: iperf3 -s, then the hold server, then the echo server
CLIENT_PID=""
CHILD_PID=""       # the foreground job of background()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$status" -ne 0 ] && [ -s "$WORK/palisade.log" ]; then
        echo "proxy-bench: the daemon's log (last 40 lines):" >&2
        tail -n 40 "$WORK/palisade.log" >&2
    fi
    if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null; echo "proxy-bench: the daemon had exited (status $?)" >&2
        DAEMON_PID=""
    fi
    for pid in "$CHILD_PID" "$CLIENT_PID" "$SERVER_PID" "$HAPROXY_PID" "$DAEMON_PID"; do stop_pid "$pid"; done
    if [ -n "$NS_MADE" ]; then
        # Anything still running in the namespace was started by this script.
        for pid in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
        ip netns del "$NS" 2>/dev/null || true
    fi
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { ip netns exec "$NS" "$@"; }

# background OUT CMD...: runs a command in the background and waits for it, so a signal stops
# the script at once (bash runs traps only after a foreground command ends).
background() {
    local out=$1; shift
    "$@" >"$out" 2>&1 &
    CHILD_PID=$!
    local status=0
    wait "$CHILD_PID" || status=$?
    CHILD_PID=""
    return "$status"
}

# stats FILE: "median min max" of the numbers in FILE.
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2f %.2f %.2f\n", m, v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
listening() { nsx ss -Hltn "( sport = :$1 )" 2>/dev/null | grep -q .; }
# wait_listening PORT PID NAME: waits until something listens on PORT, while PID lives.
wait_listening() {
    for _ in $(seq 100); do
        listening "$1" && return 0
        kill -0 "$2" 2>/dev/null || { cat "$WORK/$3.log" >&2 2>/dev/null; die "$3 exited during start-up"; }
        sleep 0.1
    done
    cat "$WORK/$3.log" >&2 2>/dev/null; die "$3 does not listen on port $1 after 10 s"
}
# established PORT: established TCP connections whose local port is PORT.
established() { nsx ss -Htn state established "( sport = :$1 )" | wc -l; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# start_server NAME CMD...: replaces the backend on the service's internal port.
start_server() {
    local name=$1; shift
    stop_pid "$SERVER_PID"; SERVER_PID=""
    ip netns exec "$NS" "$@" >"$WORK/$name.log" 2>&1 &
    SERVER_PID=$!
    wait_listening "$INTERNAL_PORT" "$SERVER_PID" "$name"
}

# --- namespace, daemon, service ---------------------------------------------------------------
ip netns add "$NS" || die "cannot create network namespace $NS"
NS_MADE=1
ip -n "$NS" link set lo up

echo "palisade proxy benchmarks: $(nproc) cores, $(date -u +%Y-%m-%dT%H:%M:%SZ), everything on the loopback of namespace $NS"
echo "palisade: $BINARY (built $(date -u -r "$BINARY" +%Y-%m-%dT%H:%M:%SZ)), tree at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (+ uncommitted changes in Sources)')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine affect every figure)"
echo "references: $(haproxy -v | sed -n '1s/ - https.*//p'), $(iperf3 --version | sed -n 1p), $("$PYTHON" --version 2>&1) (clients and servers of 2 and 3)"
echo "open files limit: $FD_LIMIT"
echo

API="http://127.0.0.1:$API_PORT"
mkdir -p "$WORK/data"
ip netns exec "$NS" "$BINARY" serve --host 127.0.0.1 --port "$API_PORT" --data-dir "$WORK/data" \
    --firewall-backend none --bcrypt-cost 4 --log-level "$LOG_LEVEL" >"$WORK/palisade.log" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 600); do
    kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/palisade.log" >&2; die "palisade exited during start-up"; }
    [ "$(nsx curl -s -o /dev/null -w '%{http_code}' "$API/healthz" || true)" = 200 ] && break
    sleep 0.1
done
[ "$(nsx curl -s -o /dev/null -w '%{http_code}' "$API/healthz" || true)" = 200 ] \
    || { cat "$WORK/palisade.log" >&2; die "palisade did not answer /healthz within 60 s"; }
TOKEN=$(nsx curl -sS -f -X POST "$API/api/set-password" -H 'Content-Type: application/json' \
    -d "{\"password\":\"$PASSWORD\"}" | jq -r .access_token) || die "POST /api/set-password failed"
[ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "set-password answered no access_token"
api() { nsx curl -sS -f -H "Authorization: Bearer $TOKEN" "$@"; }
# api_ok PATH [BODY]: a Firegex action; its answer must be {"status":"ok"}.
api_ok() {
    local answer
    if [ $# -gt 1 ]; then
        answer=$(api -X POST -H 'Content-Type: application/json' --data-binary "$2" "$API$1") || die "POST $1 failed"
    else
        answer=$(api "$API$1") || die "GET $1 failed"
    fi
    [ "$(echo "$answer" | jq -r .status)" = ok ] || die "$1 answered $answer"
    echo "$answer"
}

SERVICE=$(api_ok /api/services/add "{\"name\":\"bench\",\"port\":$PUBLIC_PORT}" | jq -r .id)
INTERNAL_PORT=$(api "$API/api/service/$SERVICE" | jq -r .internal_port)
case $INTERNAL_PORT in ''|*[!0-9]*) die "no internal_port for service $SERVICE: $(api "$API/api/service/$SERVICE")" ;; esac
api_ok "/api/service/$SERVICE/start" >/dev/null
for _ in $(seq 100); do
    [ "$(api "$API/api/service/$SERVICE" | jq -r .status)" = active ] && listening "$PUBLIC_PORT" && break
    sleep 0.1
done
[ "$(api "$API/api/service/$SERVICE" | jq -r .status)" = active ] || die "service $SERVICE is not active: $(api "$API/api/service/$SERVICE")"
listening "$PUBLIC_PORT" || die "nothing listens on the service's public port $PUBLIC_PORT"
note "palisade up: service '$SERVICE', public port $PUBLIC_PORT -> 127.0.0.1:$INTERNAL_PORT"

"$PYTHON" "$HELPER" patterns 100 >"$WORK/patterns.txt"
LOADED=0
# load_patterns N: adds patterns until N are loaded, and checks the service counts them.
load_patterns() {
    local pattern
    while [ "$LOADED" -lt "$1" ]; do
        pattern=$(sed -n "$((LOADED + 1))p" "$WORK/patterns.txt")
        api_ok /api/regexes/add "{\"service_id\":\"$SERVICE\",\"regex\":\"$pattern\",\"is_blacklist\":true,\"is_case_sensitive\":true,\"mode\":\"B\"}" >/dev/null
        LOADED=$((LOADED + 1))
    done
    local counted
    counted=$(api "$API/api/service/$SERVICE" | jq -r .n_regex)
    [ "$counted" = "$1" ] || die "service $SERVICE counts $counted patterns, expected $1"
}

# --- HAProxy (the reference) ------------------------------------------------------------------
# One process, two threads, plain TCP relay, no splice (option splice-* is off by default), no
# logging, no health checks. maxconn leaves room for benchmark 2's connections.
mkdir -p "$WORK/haproxy"
cat >"$WORK/haproxy/haproxy.cfg" <<EOF
global
    nbthread 2
    maxconn $((CONNECTIONS_RUN + 100))

defaults
    mode tcp
    maxconn $((CONNECTIONS_RUN + 100))
    timeout connect 5s
    timeout client 10m
    timeout server 10m

frontend bench
    bind 127.0.0.1:$HAPROXY_PORT
    default_backend service

backend service
    server service 127.0.0.1:$INTERNAL_PORT
EOF
haproxy -c -q -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy-check.log" 2>&1 \
    || { cat "$WORK/haproxy-check.log" >&2; die "haproxy rejected the generated configuration"; }
ip netns exec "$NS" haproxy -db -f "$WORK/haproxy/haproxy.cfg" >"$WORK/haproxy.log" 2>&1 &
HAPROXY_PID=$!
for _ in $(seq 100); do
    listening "$HAPROXY_PORT" && break
    kill -0 "$HAPROXY_PID" 2>/dev/null || { cat "$WORK/haproxy.log" >&2; die "haproxy exited during start-up"; }
    sleep 0.1
done
listening "$HAPROXY_PORT" || { cat "$WORK/haproxy.log" >&2; die "haproxy does not listen on $HAPROXY_PORT"; }

ROWS=()
met() { awk -v v="$1" -v op="$2" -v g="$3" 'BEGIN { if (v == "n/a") { print "n/a"; exit }
    ok = (op == ">=") ? (v >= g) : (v <= g); print ok ? "yes" : "no" }'; }

# --- 1. throughput ----------------------------------------------------------------------------
if wants 1; then
    start_server iperf3-server iperf3 -s -B 127.0.0.1 -p "$INTERNAL_PORT"
    mkdir -p "$WORK/b1"
    # cpu_ms PID: user + system CPU time of a process so far, in ms (all its threads).
    cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d\n", ($12 + $13) * 1000 / hz }' "/proc/$1/stat"; }
    # iperf_run LABEL PORT STREAMS [PROXY_PID]: one run; appends "LABEL STREAMS GBITS CPU_MS_PER_GB"
    # to runs.txt (CPU of the proxy over the whole run, per GB sent including the omitted second).
    iperf_run() {
        local out="$WORK/b1/$1.json" cpu0="" cpu1 port gb per_gb=-
        [ -z "${4:-}" ] || cpu0=$(cpu_ms "$4")
        background "$out" ip netns exec "$NS" iperf3 -c 127.0.0.1 -p "$2" -P "$3" -t "$IPERF_SECONDS" -O 1 -J \
            || { cat "$out" >&2; die "iperf3 run $1 failed"; }
        [ -z "${4:-}" ] || cpu1=$(cpu_ms "$4")
        GBITS=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' "$out")
        [ -n "$GBITS" ] && [ "$GBITS" != null ] || { cat "$out" >&2; die "no throughput in iperf3's output ($1)"; }
        port=$(jq -r '.start.connected[0].remote_port' "$out")
        [ "$port" = "$2" ] || die "iperf3 run $1 connected to port $port, expected $2"
        if [ -n "$cpu0" ]; then
            gb=$(jq -r '[.intervals[].sum.bytes] | add / 1e9' "$out")
            per_gb=$(awk -v c=$((cpu1 - cpu0)) -v g="$gb" 'BEGIN { if (g > 0) printf "%.0f", c / g; else print "-" }')
        fi
        echo "$1 $3 $GBITS $per_gb" >>"$WORK/b1/runs.txt"
    }
    declare -A DIRECT=() PAL=() PAIRED=()
    for p in $IPERF_STREAMS; do
        note "benchmark 1: direct, $p stream(s) ..."
        iperf_run direct "$INTERNAL_PORT" "$p"; DIRECT[$p]=$GBITS
    done
    for stage in $STAGES; do
        load_patterns "$stage"
        for p in $IPERF_STREAMS; do
            note "benchmark 1: haproxy, then palisade with $stage patterns, $p stream(s) ..."
            iperf_run haproxy "$HAPROXY_PORT" "$p" "$HAPROXY_PID"; echo "$GBITS" >>"$WORK/b1/haproxy-P$p.txt"
            before=$GBITS
            iperf_run "palisade-$stage" "$PUBLIC_PORT" "$p" "$DAEMON_PID"; PAL[$stage,$p]=$GBITS
            PAIRED[$stage,$p]=$(ratio "$GBITS" "$before")
        done
    done
    blocked=$(api "$API/api/service/$SERVICE" | jq -r .n_packets)
    [ "$blocked" = 0 ] || die "the patterns blocked $blocked connections during the iperf3 runs"

    echo "== 1. iperf3 TCP throughput on loopback, ${IPERF_SECONDS} s per run (first second omitted), one iperf3 server"
    echo "   runs in the order made; 'paired' = palisade / the haproxy run just before it; CPU = the proxy"
    echo "   process's user+system time over the run per GB sent (less sensitive to other load than Gbit/s)"
    fmt1='   %-16s %7s %8s %8s %8s\n'
    printf "$fmt1" run streams Gbit/s paired "CPU ms/GB"
    paired_of() { case $1 in palisade-*) echo "${PAIRED[${1#palisade-},$2]}" ;; *) echo - ;; esac; }
    while read -r label streams gbits per_gb; do
        printf "$fmt1" "$label" "$streams" "$gbits" "$(paired_of "$label" "$streams")" "$per_gb"
    done <"$WORK/b1/runs.txt"
    declare -A HAP=()
    for p in $IPERF_STREAMS; do
        HAP[$p]=$(stats "$WORK/b1/haproxy-P$p.txt" | cut -d' ' -f1)
        echo "   reference, $p stream(s): haproxy median of its 3 runs = ${HAP[$p]} Gbit/s"
    done
    for p in $IPERF_STREAMS; do
        ROWS+=("1 direct, no proxy, -P $p|${DIRECT[$p]} Gbit/s|haproxy: ${HAP[$p]} Gbit/s|$(ratio "${DIRECT[$p]}" "${HAP[$p]}")|(none)|-")
        for stage in $STAGES; do
            r=$(ratio "${PAL[$stage,$p]}" "${HAP[$p]}")
            case $stage in
                0) goal=">= 1.0x"; m=$(met "$r" ">=" 1.0) ;;
                100) goal=">= 0.8x"; m=$(met "$r" ">=" 0.8) ;;
                *) goal="(none)"; m="-" ;;
            esac
            ROWS+=("1 palisade $stage patterns, -P $p|${PAL[$stage,$p]} Gbit/s|haproxy: ${HAP[$p]} Gbit/s|$r|$goal|$m")
        done
    done
    echo
fi
load_patterns 100

# --- 2. memory per idle connection ------------------------------------------------------------
if wants 2; then
    start_server hold-server "$PYTHON" "$HELPER" hold-server "$INTERNAL_PORT"
    mkdir -p "$WORK/b2"
    # hold NAME PID PORT: opens CONNECTIONS_RUN connections to PORT, each sending 64 bytes, and
    # reads PID's VmRSS before, with them open, and after they are closed. Sets KIB_PER, and
    # appends a report line to $WORK/b2/report.txt.
    hold() {
        local name=$1 pid=$2 port=$3 before during after ready line backend leftover fds
        before=$(rss_kib "$pid")
        ip netns exec "$NS" "$PYTHON" "$HELPER" hold-clients "$port" "$CONNECTIONS_RUN" >"$WORK/b2/$name.log" 2>&1 &
        CLIENT_PID=$!
        ready=""
        for _ in $(seq 3000); do
            line=$(grep '^ready ' "$WORK/b2/$name.log" || true)
            [ -n "$line" ] && { ready=1; break; }
            kill -0 "$CLIENT_PID" 2>/dev/null || { cat "$WORK/b2/$name.log" >&2; die "the client of $name exited"; }
            kill -0 "$pid" 2>/dev/null || die "$name exited while the connections were opening"
            sleep 0.1
        done
        [ -n "$ready" ] || die "$name: the client did not open its connections within 300 s"
        sleep 2
        during=$(rss_kib "$pid")
        fds=$(ls "/proc/$pid/fd" | wc -l)
        backend=$(established "$INTERNAL_PORT")
        stop_pid "$CLIENT_PID"; CLIENT_PID=""
        for _ in $(seq 300); do
            leftover=$(established "$INTERNAL_PORT")
            [ "$leftover" -eq 0 ] && break
            sleep 0.1
        done
        sleep 1
        after=$(rss_kib "$pid")
        KIB_PER=$(awk -v a="$before" -v b="$during" -v n="$CONNECTIONS_RUN" 'BEGIN { printf "%.1f", (b - a) / n }')
        printf '%-9s VmRSS %7d KiB before, %7d KiB with the connections open, %7d KiB after they closed: %s KiB per connection\n' \
            "$name" "$before" "$during" "$after" "$KIB_PER" >>"$WORK/b2/report.txt"
        printf '          client: %s; the backend held %s connections, %s had %s open files; %s still open at the backend after the clients closed\n' \
            "${line#ready }" "$backend" "$name" "$fds" "$leftover" >>"$WORK/b2/report.txt"
    }
    note "benchmark 2: $CONNECTIONS_RUN idle connections through palisade ..."
    hold palisade "$DAEMON_PID" "$PUBLIC_PORT"; KIB_PAL=$KIB_PER
    note "benchmark 2: $CONNECTIONS_RUN idle connections through haproxy ..."
    hold haproxy "$HAPROXY_PID" "$HAPROXY_PORT"; KIB_HAP=$KIB_PER
    echo "== 2. resident memory (VmRSS) with $CONNECTIONS_RUN idle connections, each sent 64 bytes once (palisade with $LOADED patterns)"
    [ -z "${FD_NOTE:-}" ] || echo "   note: $FD_NOTE"
    sed 's/^/   /' "$WORK/b2/report.txt"
    grep -E 'WARNING|ALERT' "$WORK/haproxy.log" | sed 's/^/   haproxy said: /' || true
    [ ! -s "$WORK/palisade.log" ] || { echo "   palisade's log (last 5 lines):"; tail -n 5 "$WORK/palisade.log" | sed 's/^/     /'; }
    r=$(ratio "$KIB_PAL" "$KIB_HAP")
    ROWS+=("2 RSS per idle connection ($CONNECTIONS_RUN)|$KIB_PAL KiB|haproxy: $KIB_HAP KiB|$r|<= 64 KiB|$(met "$KIB_PAL" "<=" 64)")
    echo
fi

# --- 3. latency -------------------------------------------------------------------------------
start_server echo-server "$PYTHON" "$HELPER" echo-server "$INTERNAL_PORT"
if wants 3; then
    note "benchmark 3: $ROUND_TRIPS round trips on each path ..."
    background "$WORK/rtt.txt" ip netns exec "$NS" "$PYTHON" "$HELPER" rtt direct="$INTERNAL_PORT" \
        haproxy="$HAPROXY_PORT" palisade="$PUBLIC_PORT" --count "$ROUND_TRIPS" --size 64 --warmup 500 \
        || { cat "$WORK/rtt.txt" >&2; die "the round-trip client failed"; }
    read -r _ D50 D99 DMEAN DMAX _ < <(grep '^direct ' "$WORK/rtt.txt")
    read -r _ H50 H99 HMEAN HMAX _ < <(grep '^haproxy ' "$WORK/rtt.txt")
    read -r _ P50 P99 PMEAN PMAX _ < <(grep '^palisade ' "$WORK/rtt.txt")
    added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a - b }'; }
    echo "== 3. 64-byte echo round trips, $ROUND_TRIPS per path on one connection each (TCP_NODELAY), taken in turn"
    echo "   on the three paths; Python client and echo server; microseconds"
    fmt3='   %-24s %9s %9s %9s %9s %13s %13s\n'
    printf "$fmt3" "" p50 p99 mean max "added p50" "added p99"
    printf "$fmt3" "direct (no proxy)" "$D50" "$D99" "$DMEAN" "$DMAX" - -
    printf "$fmt3" "haproxy" "$H50" "$H99" "$HMEAN" "$HMAX" "$(added "$H50" "$D50")" "$(added "$H99" "$D99")"
    printf "$fmt3" "palisade ($LOADED patterns)" "$P50" "$P99" "$PMEAN" "$PMAX" "$(added "$P50" "$D50")" "$(added "$P99" "$D99")"
    PA99=$(added "$P99" "$D99"); HA99=$(added "$H99" "$D99")
    r=$(awk -v a="$PA99" -v b="$HA99" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    ROWS+=("3 added latency p99 (p50)|+$PA99 us (+$(added "$P50" "$D50"))|haproxy: +$HA99 us (+$(added "$H50" "$D50"))|$r|p99 <= 1000 us|$(met "$PA99" "<=" 1000)")
    echo
fi

# --- the patterns were live -------------------------------------------------------------------
blocked_before=$(api "$API/api/service/$SERVICE" | jq -r .n_packets)
control=$(nsx "$PYTHON" "$HELPER" probe "$PUBLIC_PORT" "a message without any of the patterns")
[ "$control" = echoed ] || die "a message without patterns did not come back through the proxy ($control)"
LAST=$(sed -n "${LOADED}p" "$WORK/patterns.txt")
verdict=$(nsx "$PYTHON" "$HELPER" probe "$PUBLIC_PORT" "GET /?q=$LAST HTTP/1.0")
[ "$verdict" = closed ] || die "a message with pattern $LOADED ($LAST) came back through the proxy: the patterns are not applied"
sleep 0.2
blocked_after=$(api "$API/api/service/$SERVICE" | jq -r .n_packets)
[ "$blocked_after" -gt "$blocked_before" ] || die "the proxy closed the probe but counted no block ($blocked_before -> $blocked_after)"
echo "check: with $LOADED patterns loaded, a message carrying the last one was blocked (service n_packets $blocked_before -> $blocked_after); one without came back"
kill -0 "$DAEMON_PID" 2>/dev/null || die "the daemon exited during the run"
echo

# --- summary ----------------------------------------------------------------------------------
fmt='%-40s %-24s %-26s %6s  %-15s %s\n'
printf "$fmt" benchmark palisade reference ratio goal "goal met"
for row in "${ROWS[@]}"; do
    IFS='|' read -r name value reference r goal m <<<"$row"
    printf "$fmt" "$name" "$value" "$reference" "$r" "$goal" "$m"
done
echo "ratio = palisade / haproxy (1: throughput, higher is better; 2: KiB per connection and 3: added p99, lower is better)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
