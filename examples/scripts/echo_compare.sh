#!/usr/bin/env bash
# Compares `echo_server` with `tokio_echo` and `mio_echo` (a hand-written mio loop, the floor of
# any framework's overhead) under one `echo_load` setting: ROUNDS rounds, the three servers
# alternating, each loaded for DURATION seconds from a separate process; prints every round,
# each server's median, and the ratios of the medians (echo_server / tokio_echo, and
# echo_server / mio_echo); then each server's median CPU time (user + system, from /proc) per
# message over the measured window, which tells the servers apart when the load generator is the
# bottleneck (streaming, `--mode churn`); then the median of each round's own ratios, steadier
# than the ratio of medians on a host whose speed drifts.
#
#   examples/scripts/echo_compare.sh [ROUNDS] -- ECHO_LOAD_ARGS...
#   examples/scripts/echo_compare.sh 8 -- --mode rr --size 64 --conns 100
#   examples/scripts/echo_compare.sh 8 -- --mode stream --size 4096 --depth 16 --conns 100
#   examples/scripts/echo_compare.sh 8 -- --mode churn --conns 50
#
# A churn run leaves tens of thousands of sockets in TIME_WAIT for a minute, which slows the
# request/response runs made meanwhile by about 10 %: wait a minute before those.
#
# Environment: DURATION (default 4), PIN=1 to pin each server to CPU 0 and the load to CPU 1
# (on two cores, pinned runs repeat within about 5 %, unpinned ones within about 20 %),
# PORT_BASE (default 7101; the servers use PORT_BASE to PORT_BASE+2).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-6}
shift || true
[ "${1:-}" = "--" ] && shift
LOAD_ARGS=("$@")
[ ${#LOAD_ARGS[@]} -eq 0 ] && LOAD_ARGS=(--mode rr --size 64 --conns 100)
DURATION=${DURATION:-4}
PORT_BASE=${PORT_BASE:-7101}
cargo build --release --quiet --example echo_server --example tokio_echo --example mio_echo --example echo_load
BIN=${CARGO_TARGET_DIR:-target}/release/examples
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if [ "${PIN:-0}" = 1 ]; then SERVER_CPU=(taskset -c 0); LOAD_CPU=(taskset -c 1); else SERVER_CPU=(); LOAD_CPU=(); fi

TICKS=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Waits (bounded) for `line` in file `f`.
wait_line() { for _ in $(seq 1200); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done; return 1; }

run() { # name binary port -> prints "msgs_per_s server_cpu_us_per_msg"
    local name=$1 bin=$2 port=$3 pid lpid outf errf out c0 c1 msgs cpu
    "${SERVER_CPU[@]}" "$BIN/$bin" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
    outf=$(mktemp) errf=$(mktemp)
    "${LOAD_CPU[@]}" "$BIN/echo_load" --addr "127.0.0.1:$port" "${LOAD_ARGS[@]}" \
        --duration "$DURATION" >"$outf" 2>"$errf" &
    lpid=$!
    # The server's CPU time (user + system) over exactly the measured window.
    wait_line "$errf" 'window start' && c0=$(cpu_ticks "$pid") || c0=
    wait_line "$errf" 'window end' && c1=$(cpu_ticks "$pid") || c1=
    wait "$lpid" 2>/dev/null || true
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    out=$(grep '^RESULT' "$outf" || true)
    rm -f "$outf" "$errf"
    msgs=$(echo "$out" | sed -n 's/.*msgs_per_s=\([0-9.]*\).*/\1/p')
    cpu=$(awk -v c0="$c0" -v c1="$c1" -v t="$TICKS" -v m="${msgs:-0}" -v d="$DURATION" \
        'BEGIN {printf "%.2f", (c0 != "" && c1 != "" && m > 0 ? (c1 - c0) / t * 1e6 / (m * d) : 0)}')
    echo "$name $out server_cpu_us_per_msg=$cpu" >&2
    echo "${msgs:-0} $cpu"
}

median() { sort -n | awk '{v[NR]=$1} END {if (NR%2) print v[(NR+1)/2]; else print (v[NR/2]+v[NR/2+1])/2}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", (b > 0 ? a / b : 0)}'; }

axon=(); tokio=(); raw=(); axon_cpu=(); tokio_cpu=(); raw_cpu=()
for _ in $(seq "$ROUNDS"); do
    read -r m c < <(run echo_server echo_server "$PORT_BASE"); axon+=("$m"); axon_cpu+=("$c")
    read -r m c < <(run tokio_echo tokio_echo $((PORT_BASE + 1))); tokio+=("$m"); tokio_cpu+=("$c")
    read -r m c < <(run mio_echo mio_echo $((PORT_BASE + 2))); raw+=("$m"); raw_cpu+=("$c")
done
med() { printf '%s\n' "$@" | median; }
ma=$(med "${axon[@]}") mt=$(med "${tokio[@]}") mm=$(med "${raw[@]}")
echo "MEDIAN args=\"${LOAD_ARGS[*]}\" rounds=$ROUNDS echo_server=$ma tokio_echo=$mt mio_echo=$mm ratio=$(ratio "$ma" "$mt") vs_mio=$(ratio "$ma" "$mm")"
echo "SERVER_CPU_US_PER_MSG echo_server=$(med "${axon_cpu[@]}") tokio_echo=$(med "${tokio_cpu[@]}") mio_echo=$(med "${raw_cpu[@]}")"
# The median of each round's own ratio: the three servers of a round run back to back, so a
# machine whose speed drifts between rounds (a shared host) moves all three together.
rt=$(for i in "${!axon[@]}"; do ratio "${axon[$i]}" "${tokio[$i]}"; echo; done | median)
rmio=$(for i in "${!axon[@]}"; do ratio "${axon[$i]}" "${raw[$i]}"; echo; done | median)
echo "ROUND_RATIO_MEDIAN echo_server/tokio_echo=$rt echo_server/mio_echo=$rmio"
