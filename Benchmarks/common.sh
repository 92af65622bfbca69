# Shell helpers the benchmark scripts share. Source it after setting BENCH_NAME and ONLY.

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
note() { echo "$*" >&2; }
# Whether benchmark $1 is among those asked for in $ONLY ("1 2 3").
wants() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

# Stops a process started by the script: SIGTERM, up to 10 s, then SIGKILL; reaps it.
stop_pid() {
    local pid=$1
    [ -n "$pid" ] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
