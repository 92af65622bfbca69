#!/usr/bin/env bash
# Palisade firewall benchmarks (issue 3), each against a named reference in the same run:
#
#   1. compile + apply a 10,000-rule policy (in-process, palisade-bench compile)
#      vs raw `nft -j -f` of the same ruleset                   goal: <= 1.5x raw and <= 1 s
#   2. one rule changed in a 10,000-rule policy, API request to kernel (PUT, 20 times)
#      vs `nft replace rule` of the same kernel rule             goal: <= 100 ms
#   3. iperf3 throughput client -> gateway -> server with the daemon's 10,000 forward rules
#      vs the same topology with no palisade table               goal: >= 0.9x
#   4. GET of the 10,000-rule forward section through the API (20 times)
#      vs nginx serving the identical bytes as a static file     goal: <= 100 ms
#
# Everything happens inside network namespaces this script creates (pb-fw-PID, pb-gw-PID,
# pb-cli-PID, pb-srv-PID), with addresses in 10.240.0.0/16 and the daemon on the gateway
# namespace's loopback; the host's interfaces, addresses and ruleset are never touched.
#
# Usage: ./Benchmarks/firewall-bench.sh     (as root, after `swift build -c release`; `make bench` does both)
# Environment:
#   BENCH_RULES           policy rules (default 10000)
#   BENCH_REPETITIONS     benchmark 1 repetitions after one warm-up (default 7)
#   BENCH_CHANGES         benchmark 2 changes, and as many raw replacements (default 20)
#   BENCH_LISTS           benchmark 4 requests per server (default 20)
#   BENCH_IPERF_SECONDS   length of each iperf3 run (default 10)
#   BENCH_ONLY            which benchmarks, e.g. "1" or "2 4" (default "1 2 3 4")
#   PALISADE_BINARY       daemon (default ./.build/release/palisade)
#   PALISADE_BENCH_BINARY helper (default ./.build/release/palisade-bench)
#
# Exit status: 0 when the measurements ran (whether or not the goals were met), non-zero when the
# setup failed (not root, missing binary or tool, a server not starting, unexpected answers).
# Every namespace, process and temporary file it made is removed on every exit.
set -euo pipefail

cd "$(dirname "$0")/.."

RULES=${BENCH_RULES:-10000}
REPETITIONS=${BENCH_REPETITIONS:-7}
CHANGES=${BENCH_CHANGES:-20}
LISTS=${BENCH_LISTS:-20}
IPERF_SECONDS=${BENCH_IPERF_SECONDS:-10}
ONLY=${BENCH_ONLY:-1 2 3 4}
BINARY=${PALISADE_BINARY:-./.build/release/palisade}
BENCH_BINARY=${PALISADE_BENCH_BINARY:-./.build/release/palisade-bench}
PASSWORD=bench-password
API_PORT=7878
NGINX_PORT=8080
CLIENT=10.240.1.2
SERVER=10.240.2.2

BENCH_NAME=firewall-bench
# shellcheck source=Benchmarks/common.sh
. Benchmarks/common.sh

# --- preconditions ----------------------------------------------------------------------------
export PATH="$PATH:/usr/sbin:/sbin"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces and nftables); run it as root"
[ -x "$BINARY" ] || die "release binary $BINARY not found; build it with 'swift build -c release' (or run 'make bench')"
[ -x "$BENCH_BINARY" ] || die "helper $BENCH_BINARY not found; build it with 'swift build -c release --product palisade-bench'"
for tool in ip nft iperf3 nginx curl jq awk; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found; install it with 'make deps-bench'"
done
BINARY=$(realpath "$BINARY")
BENCH_BINARY=$(realpath "$BENCH_BINARY")

# --- cleanup on every exit --------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/palisade-fwbench.XXXXXX")
NS_FW=pb-fw-$$
NS_GW=pb-gw-$$
NS_CLI=pb-cli-$$
NS_SRV=pb-srv-$$
NAMESPACES=()
DAEMON_PID=""
NGINX_PID=""
IPERF_SERVER_PID=""
CHILD_PID=""
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$status" -ne 0 ] && [ -s "$WORK/palisade.log" ]; then
        echo "firewall-bench: the daemon's log (last 40 lines):" >&2
        tail -n 40 "$WORK/palisade.log" >&2
    fi
    if [ -n "$DAEMON_PID" ] && ! kill -0 "$DAEMON_PID" 2>/dev/null; then
        wait "$DAEMON_PID" 2>/dev/null; echo "firewall-bench: the daemon had exited (status $?)" >&2
        DAEMON_PID=""
    fi
    for pid in "$CHILD_PID" "$DAEMON_PID" "$NGINX_PID" "$IPERF_SERVER_PID"; do stop_pid "$pid"; done
    for ns in "${NAMESPACES[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$WORK"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# nsx NS CMD...: runs a command inside a namespace (in the foreground; background jobs call
# `ip netns exec` themselves, so that $! is the process itself and not a subshell).
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

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

# stats FILE: "median p95 min max" of the numbers in FILE (nearest-rank p95).
stats() {
    sort -g "$1" | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        r = int(0.95 * NR); if (r < 0.95 * NR) r++
        printf "%.1f %.1f %.1f %.1f\n", m, v[r], v[1], v[NR] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }
elapsed_ms() { awk -v s="$1" -v e="$2" 'BEGIN { printf "%.2f\n", (e - s) * 1000 }'; }

# --- namespaces -------------------------------------------------------------------------------
add_ns() {
    ip netns add "$1" || die "cannot create network namespace $1"
    NAMESPACES+=("$1")
    ip -n "$1" link set lo up
}
add_ns "$NS_FW"
if wants 2 || wants 3 || wants 4; then
    add_ns "$NS_GW"; add_ns "$NS_CLI"; add_ns "$NS_SRV"
    # client (10.240.1.2) -- (10.240.1.1) gateway (10.240.2.1) -- (10.240.2.2) server; the veth
    # pairs are created inside the namespaces, never in the host's.
    ip -n "$NS_CLI" link add cli0 type veth peer name gw-cli netns "$NS_GW"
    ip -n "$NS_SRV" link add srv0 type veth peer name gw-srv netns "$NS_GW"
    ip -n "$NS_CLI" addr add "$CLIENT/24" dev cli0
    ip -n "$NS_GW" addr add 10.240.1.1/24 dev gw-cli
    ip -n "$NS_GW" addr add 10.240.2.1/24 dev gw-srv
    ip -n "$NS_SRV" addr add "$SERVER/24" dev srv0
    for pair in "$NS_CLI cli0" "$NS_GW gw-cli" "$NS_GW gw-srv" "$NS_SRV srv0"; do
        set -- $pair; ip -n "$1" link set "$2" up
    done
    ip -n "$NS_CLI" route add default via 10.240.1.1
    ip -n "$NS_SRV" route add default via 10.240.2.1
    nsx "$NS_GW" sysctl -qw net.ipv4.ip_forward=1
fi

echo "palisade firewall benchmarks: $(nproc) cores, $RULES rules, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
echo "palisade: $BINARY (built $(date -u -r "$BINARY" +%Y-%m-%dT%H:%M:%SZ)), tree at commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet HEAD -- Sources 2>/dev/null || echo ' (+ uncommitted changes in Sources)')"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (other processes on the machine affect every figure)"
echo "references: $(nft --version), $(iperf3 --version | head -1), nginx $(nginx -v 2>&1 | sed -n 's|.*nginx/\([^ ]*\).*|\1|p'), $(curl --version | head -1 | cut -d' ' -f1-2)"
echo

ROWS=()

# --- 1. compile + apply -----------------------------------------------------------------------
if wants 1; then
    echo "== 1. compile and apply $RULES rules (in-process) vs raw nft -j -f of the same ruleset"
    mkdir -p "$WORK/b1"
    background "$WORK/b1/out.txt" ip netns exec "$NS_FW" "$BENCH_BINARY" compile --namespace "$NS_FW" --rules "$RULES" \
        --repetitions "$REPETITIONS" --work-dir "$WORK/b1" \
        || { cat "$WORK/b1/out.txt" >&2; die "benchmark 1 failed"; }
    grep -v '^result\.' "$WORK/b1/out.txt"
    r1() { sed -n "s/^result\.$1=//p" "$WORK/b1/out.txt"; }
    B1_P=$(r1 palisade_ms); B1_R=$(r1 raw_ms)
    B1_RATIO=$(ratio "$B1_P" "$B1_R")
    B1_MET=$(awk -v p="$B1_P" -v q="$B1_RATIO" 'BEGIN { a = (q <= 1.5); b = (p <= 1000)
        print (a && b) ? "yes" : (!a && !b) ? "no (both)" : !a ? "no (ratio)" : "no (time)" }')
    ROWS+=("1 compile+apply $(r1 policy_rules) rules ($(r1 kernel_rules) kernel)|median $B1_P ms|nft -j -f: $B1_R ms|$B1_RATIO|<= 1.5x and <= 1000 ms|$B1_MET")
    echo
fi

if wants 2 || wants 3 || wants 4; then
    # --- the gateway daemon -------------------------------------------------------------------
    iperf_run() { # iperf_run LABEL: one run client -> server; sets GBITS
        local out="$WORK/iperf-$1.json"
        background "$out" ip netns exec "$NS_CLI" iperf3 -c "$SERVER" -t "$IPERF_SECONDS" -O 1 -J \
            || { cat "$out" >&2; die "iperf3 run $1 failed"; }
        GBITS=$(jq -r '.end.sum_received.bits_per_second / 1e9 | . * 100 | round / 100' "$out")
        [ -n "$GBITS" ] && [ "$GBITS" != null ] || { cat "$out" >&2; die "no throughput in iperf3's output ($1)"; }
    }
    if wants 3; then
        ip netns exec "$NS_SRV" iperf3 -s -B "$SERVER" >"$WORK/iperf-server.log" 2>&1 &
        IPERF_SERVER_PID=$!
        for _ in $(seq 50); do
            nsx "$NS_SRV" ss -ltn 2>/dev/null | grep -q ":5201 " && break
            kill -0 "$IPERF_SERVER_PID" 2>/dev/null || { cat "$WORK/iperf-server.log" >&2; die "iperf3 server exited"; }
            sleep 0.1
        done
        nsx "$NS_CLI" timeout 5 bash -c "exec 3<>/dev/tcp/$SERVER/5201" 2>/dev/null \
            || die "the client cannot reach the iperf3 server through the gateway namespace"
        nsx "$NS_GW" nft list table inet palisade >/dev/null 2>&1 && die "table inet palisade exists in $NS_GW before the reference run"
        note "benchmark 3: reference run 1 (no palisade table) ..."
        iperf_run ref1; REF_RUNS=("$GBITS")
    fi

    mkdir -p "$WORK/data"
    "$BENCH_BINARY" seed --data-dir "$WORK/data" --rules "$RULES" --client "$CLIENT" --server 10.240.2.0/24 \
        --admin-password "$PASSWORD" >"$WORK/seed.txt" 2>&1 || { cat "$WORK/seed.txt" >&2; die "seeding the data directory failed"; }
    note "$(cat "$WORK/seed.txt")"
    API="http://127.0.0.1:$API_PORT"
    start=$EPOCHREALTIME
    ip netns exec "$NS_GW" "$BINARY" serve --data-dir "$WORK/data" --host 127.0.0.1 --port "$API_PORT" \
        --firewall-backend nftables --log-level error >"$WORK/palisade.log" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 600); do
        kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$WORK/palisade.log" >&2; die "palisade exited during start-up"; }
        [ "$(nsx "$NS_GW" curl -s -o /dev/null -w '%{http_code}' "$API/healthz" || true)" = 200 ] && break
        sleep 0.1
    done
    [ "$(nsx "$NS_GW" curl -s -o /dev/null -w '%{http_code}' "$API/healthz" || true)" = 200 ] \
        || { cat "$WORK/palisade.log" >&2; die "palisade did not answer /healthz within 60 s"; }
    STARTUP_MS=$(elapsed_ms "$start" "$EPOCHREALTIME")
    TOKEN=$(nsx "$NS_GW" curl -sS -f -X POST "$API/v1/auth/login" -H 'Content-Type: application/json' \
        -d "{\"name\":\"admin\",\"password\":\"$PASSWORD\"}" | jq -r .token) || die "login failed"
    [ -n "$TOKEN" ] && [ "$TOKEN" != null ] || die "login answered no token"
    AUTH="Authorization: Bearer $TOKEN"
    api() { nsx "$NS_GW" curl -sS -f -H "$AUTH" "$@"; }
    state=$(api "$API/v1/firewall/status" | jq -r '.[] | select(.name == "rules-in-kernel") | .status')
    [ "$state" = active ] || die "firewall status is '$state' after start-up, expected active: $(api "$API/v1/firewall/status")"
    nsx "$NS_GW" nft list table inet palisade >"$WORK/table.txt" || die "no table inet palisade in $NS_GW"
    note "palisade up in $NS_GW after $STARTUP_MS ms (seeded policy applied: $(grep -c 'comment "rule:' "$WORK/table.txt") kernel rules)"
    api "$API/v1/firewall/rules/forward" >"$WORK/forward.json" || die "GET /v1/firewall/rules/forward failed"
    count=$(jq '.items | length' "$WORK/forward.json")
    [ "$count" -eq "$RULES" ] || die "forward section holds $count rules, expected $RULES"

    if wants 3; then
        note "benchmark 3: palisade run 1 ..."
        iperf_run pal1; PAL_RUNS=("$GBITS")
    fi

    # --- 2. one rule change -------------------------------------------------------------------
    if wants 2; then
        echo "== 2. one rule changed in a $RULES-rule policy: PUT through the API until it is in the kernel, vs nft replace rule"
        mkdir -p "$WORK/b2"
        jq -c --argjson min $((RULES / 2)) \
            '[.items[] | select(.position >= $min and .protocol == "tcp" and (.destination_ports | length) == 1)][0]' \
            "$WORK/forward.json" >"$WORK/b2/rule.json"
        ID=$(jq -r .id "$WORK/b2/rule.json"); POSITION=$(jq -r .position "$WORK/b2/rule.json")
        [ "$ID" != null ] || die "no single-port TCP rule in the second half of the section"
        for i in $(seq "$CHANGES"); do
            jq -c --arg port $((20000 + i)) 'del(.id, .position) | .destination_ports = [$port]' "$WORK/b2/rule.json" >"$WORK/b2/body-$i.json"
        done
        # cpu_ms PID: user and system CPU time of a process so far, in ms.
        cpu_ms() { awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%d %d\n", $12 * 1000 / hz, $13 * 1000 / hz }' "/proc/$1/stat"; }
        read -r CPU_USER0 CPU_SYS0 < <(cpu_ms "$DAEMON_PID")
        for i in $(seq "$CHANGES"); do
            result=$(nsx "$NS_GW" curl -sS -o "$WORK/b2/answer.json" -w '%{http_code} %{time_total}' -X PUT \
                -H "$AUTH" -H 'Content-Type: application/json' --data-binary "@$WORK/b2/body-$i.json" \
                "$API/v1/firewall/rules/forward/$ID") || die "PUT of rule $ID failed"
            set -- $result
            [ "$1" = 200 ] || die "PUT of rule $ID answered $1: $(cat "$WORK/b2/answer.json")"
            awk -v t="$2" 'BEGIN { printf "%.2f\n", t * 1000 }' >>"$WORK/b2/api.txt"
        done
        read -r CPU_USER1 CPU_SYS1 < <(cpu_ms "$DAEMON_PID")
        LAST_PORT=$((20000 + CHANGES))
        # kernel_rule: "CHAIN RULE # handle N" for the kernel rule of policy rule $ID (the compiler
        # may put forward rules in chains other than forward itself).
        kernel_rule() {
            nsx "$NS_GW" nft -a list table inet palisade | awk -v tag="comment \"rule:$ID\"" '
                $1 == "chain" { chain = $2 }
                index($0, tag) { sub(/^[ \t]+/, ""); print chain " " $0; found = 1 }
                END { exit !found }'
        }
        line=$(kernel_rule) || die "rule $ID is not in the kernel"
        [ "$(echo "$line" | wc -l)" -eq 1 ] || die "rule $ID became several kernel rules: $line"
        echo "$line" | grep -q "dport $LAST_PORT " || die "the kernel does not have the last change of rule $ID: $line"
        echo "verified in the kernel (chain, rule): $(echo "$line" | sed 's/ counter packets [0-9]* bytes [0-9]*/ counter/')"

        # Reference: the same change by hand, on the same kernel table. The daemon's reconciler
        # sees these edits and may restore its table meanwhile (new handles): an attempt that
        # finds its handle gone is retried with the new one and not counted.
        RETRIES=0
        for i in $(seq "$CHANGES"); do
            for attempt in 1 2 3 4; do
                [ "$attempt" -lt 4 ] || die "nft replace rule kept failing: $chain $new"
                line=$(kernel_rule) || die "rule $ID vanished from the kernel"
                chain=${line%% *}; handle=${line##* # handle }
                text=$(echo "${line#* }" | sed -E 's/ # handle [0-9]+$//; s/counter packets [0-9]+ bytes [0-9]+/counter/')
                new=$(echo "$text" | sed -E "s/dport [0-9]+ /dport $((30000 + i)) /")
                if times=$(nsx "$NS_GW" bash -c 's=$EPOCHREALTIME; nft "$1" 2>/dev/null || exit 1; echo "$s $EPOCHREALTIME"' _ \
                    "replace rule inet palisade $chain handle $handle $new"); then
                    break
                fi
                RETRIES=$((RETRIES + 1))
            done
            set -- $times
            elapsed_ms "$1" "$2" >>"$WORK/b2/raw.txt"
        done
        [ "$RETRIES" -eq 0 ] || echo "($RETRIES raw attempts found their handle replaced by the daemon restoring its table, and were retried)"
        kernel_rule | grep -q "dport $((30000 + CHANGES)) " || die "nft replace rule did not reach the kernel"
        # Put back what the daemon applied, so its reconciler finds its own table again.
        line=$(kernel_rule); chain=${line%% *}; handle=${line##* # handle }
        text=$(echo "${line#* }" | sed -E "s/ # handle [0-9]+\$//; s/counter packets [0-9]+ bytes [0-9]+/counter/; s/dport [0-9]+ /dport $LAST_PORT /")
        # (If the daemon restored its table meanwhile, the handle is gone and the rule already right.)
        nsx "$NS_GW" nft "replace rule inet palisade $chain handle $handle $text" 2>/dev/null || true

        read -r B2_MED B2_P95 B2_MIN B2_MAX < <(stats "$WORK/b2/api.txt")
        read -r B2R_MED B2R_P95 B2R_MIN B2R_MAX < <(stats "$WORK/b2/raw.txt")
        echo "rule $ID (position $POSITION of $RULES), destination port changed $CHANGES times"
        echo "palisade PUT (curl time_total):   median $B2_MED ms, p95 $B2_P95 ms [$B2_MIN–$B2_MAX]"
        echo "daemon CPU per change (libnftables runs in the daemon): user $(( (CPU_USER1 - CPU_USER0) / CHANGES )) ms, system $(( (CPU_SYS1 - CPU_SYS0) / CHANGES )) ms"
        echo "nft replace rule (process, same table): median $B2R_MED ms, p95 $B2R_P95 ms [$B2R_MIN–$B2R_MAX]"
        B2_RATIO=$(ratio "$B2_MED" "$B2R_MED")
        B2_MET=$(awk -v m="$B2_MED" 'BEGIN { print (m <= 100) ? "yes" : "no" }')
        ROWS+=("2 one-rule change, API to kernel|median $B2_MED ms, p95 $B2_P95|nft replace: $B2R_MED ms|$B2_RATIO|<= 100 ms|$B2_MET")
        echo
    fi

    # --- 4. listing ---------------------------------------------------------------------------
    if wants 4; then
        echo "== 4. GET /v1/firewall/rules/forward ($RULES rules, one request: the API does not page rules) vs nginx static file"
        mkdir -p "$WORK/b4/www/v1/firewall/rules" "$WORK/b4/logs" "$WORK/b4/tmp"
        api "$API/v1/firewall/rules/forward" >"$WORK/b4/www/v1/firewall/rules/forward" || die "GET of the section failed"
        BYTES=$(stat -c %s "$WORK/b4/www/v1/firewall/rules/forward")
        chmod a+rx "$WORK" "$WORK/b4" "$WORK/b4/www" "$WORK/b4/www/v1" "$WORK/b4/www/v1/firewall" "$WORK/b4/www/v1/firewall/rules"
        chmod a+r "$WORK/b4/www/v1/firewall/rules/forward"
        cat >"$WORK/b4/nginx.conf" <<EOF
daemon off;
master_process on;
worker_processes 2;
pid $WORK/b4/nginx.pid;
error_log $WORK/b4/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    server_tokens off;
    sendfile on;
    client_body_temp_path $WORK/b4/tmp/body;
    proxy_temp_path $WORK/b4/tmp/proxy;
    fastcgi_temp_path $WORK/b4/tmp/fastcgi;
    uwsgi_temp_path $WORK/b4/tmp/uwsgi;
    scgi_temp_path $WORK/b4/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $WORK/b4/www;
        default_type application/json;
    }
}
EOF
        nsx "$NS_GW" nginx -t -q -p "$WORK/b4" -c "$WORK/b4/nginx.conf" 2>"$WORK/b4/check.log" \
            || { cat "$WORK/b4/check.log" >&2; die "nginx rejected the generated configuration"; }
        ip netns exec "$NS_GW" nginx -p "$WORK/b4" -c "$WORK/b4/nginx.conf" >"$WORK/b4/stdout.log" 2>&1 &
        NGINX_PID=$!
        NGINX="http://127.0.0.1:$NGINX_PORT"
        for _ in $(seq 100); do
            kill -0 "$NGINX_PID" 2>/dev/null || { cat "$WORK/b4/logs/error.log" >&2; die "nginx exited during start-up"; }
            [ "$(nsx "$NS_GW" curl -s -o /dev/null -w '%{http_code}' "$NGINX/v1/firewall/rules/forward" || true)" = 200 ] && break
            sleep 0.1
        done
        cmp -s <(nsx "$NS_GW" curl -sS -f "$NGINX/v1/firewall/rules/forward") "$WORK/b4/www/v1/firewall/rules/forward" \
            || die "nginx does not serve palisade's exact bytes"
        get() { # get NAME URL: one timed request, appends ms to NAME.txt
            local result
            result=$(nsx "$NS_GW" curl -sS -o /dev/null -w '%{http_code} %{time_total} %{size_download}' -H "$AUTH" "$2") \
                || die "GET $2 failed"
            set -- "$1" $result
            [ "$2" = 200 ] && [ "$4" = "$BYTES" ] || die "GET from $1 answered status $2 with $4 bytes, expected 200 with $BYTES"
            awk -v t="$3" 'BEGIN { printf "%.2f\n", t * 1000 }' >>"$WORK/b4/$1.txt"
        }
        for _ in 1 2; do get warm "$API/v1/firewall/rules/forward"; get warm "$NGINX/v1/firewall/rules/forward"; done
        for _ in $(seq "$LISTS"); do
            get palisade "$API/v1/firewall/rules/forward"
            get nginx "$NGINX/v1/firewall/rules/forward"
        done
        stop_pid "$NGINX_PID"; NGINX_PID=""
        read -r B4_MED B4_P95 B4_MIN B4_MAX < <(stats "$WORK/b4/palisade.txt")
        read -r B4N_MED B4N_P95 B4N_MIN B4N_MAX < <(stats "$WORK/b4/nginx.txt")
        echo "body: $BYTES bytes, $LISTS requests each (alternating, after 2 warm-ups), curl time_total, new connection each"
        echo "palisade: median $B4_MED ms, p95 $B4_P95 ms [$B4_MIN–$B4_MAX]"
        echo "nginx static file: median $B4N_MED ms, p95 $B4N_P95 ms [$B4N_MIN–$B4N_MAX]"
        B4_RATIO=$(ratio "$B4_MED" "$B4N_MED")
        B4_MET=$(awk -v m="$B4_MED" 'BEGIN { print (m <= 100) ? "yes" : "no" }')
        ROWS+=("4 GET $RULES-rule section|median $B4_MED ms, p95 $B4_P95|nginx file: $B4N_MED ms|$B4_RATIO|<= 100 ms|$B4_MET")
        echo
    fi

    # --- 3. throughput ------------------------------------------------------------------------
    if wants 3; then
        note "benchmark 3: palisade run 2 ..."
        iperf_run pal2; PAL_RUNS+=("$GBITS")
        packets=$(api "$API/v1/firewall/counters/forward" | jq --argjson id "$(jq '.items[-1].id' "$WORK/forward.json")" \
            '.items[] | select(.id == $id) | .packets')
        [ "${packets:-0}" -gt 0 ] || die "the client's accept rule (last of $RULES) counted no packets: traffic did not go through the rules"
        stop_pid "$DAEMON_PID"; DAEMON_PID=""
        nsx "$NS_GW" nft delete table inet palisade || die "cannot delete table inet palisade in $NS_GW"
        note "benchmark 3: reference run 2 (no palisade table) ..."
        iperf_run ref2; REF_RUNS+=("$GBITS")
        PAL_G=$(printf '%s\n' "${PAL_RUNS[@]}" >"$WORK/pal.txt"; stats "$WORK/pal.txt" | cut -d' ' -f1)
        REF_G=$(printf '%s\n' "${REF_RUNS[@]}" >"$WORK/ref.txt"; stats "$WORK/ref.txt" | cut -d' ' -f1)
        echo "== 3. iperf3 TCP client -> gateway -> server, ${IPERF_SECONDS} s per run (first second omitted), runs in order ref, pal, pal, ref"
        echo "palisade ($RULES forward rules, forward default drop, the client's accept last): ${PAL_RUNS[*]} Gbit/s (mean $PAL_G)"
        echo "no palisade table (forwarding only):                 ${REF_RUNS[*]} Gbit/s (mean $REF_G)"
        echo "the client's accept rule counted $packets packets (new connections only: established traffic skips the rules)"
        B3_RATIO=$(ratio "$PAL_G" "$REF_G")
        B3_MET=$(awk -v r="$B3_RATIO" 'BEGIN { print (r >= 0.9) ? "yes" : "no" }')
        ROWS+=("3 iperf3 through the gateway|$PAL_G Gbit/s|no table: $REF_G Gbit/s|$B3_RATIO|>= 0.9x|$B3_MET")
        echo
    fi
fi

# --- summary ----------------------------------------------------------------------------------
fmt='%-42s %-26s %-24s %6s  %-22s %s\n'
printf "$fmt" benchmark palisade reference ratio goal "goal met"
for row in "${ROWS[@]}"; do
    IFS='|' read -r name value reference r goal met <<<"$row"
    printf "$fmt" "$name" "$value" "$reference" "$r" "$goal" "$met"
done
echo "ratio = palisade / reference (for 3: throughput, higher is better; for 1, 2, 4: time, lower is better)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
exit 0
