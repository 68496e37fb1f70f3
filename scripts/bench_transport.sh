#!/usr/bin/env bash
# HTTP/2 transport speed: h2load against this server's transport (TransportBench, release build) and
# against nghttpd serving the same bodies, in the same run, over h2c and over h2 with TLS (both
# servers use one self-signed certificate made here by openssl). Every row is measured `runs` times,
# alternating ours and nghttpd; the table shows the median req/s, mean and p99 latency of each side
# and the ratio ours/nghttpd of the medians.
# Usage: bash scripts/bench_transport.sh [requests per run] [runs]
#   SCRATCH_PATH  build directory for `swift build` (default .build-release)
#   THREADS       event loop threads of both servers (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-200000}"
runs="${2:-3}"
scratch="${SCRATCH_PATH:-.build-release}"
threads="${THREADS:-2}"

bash scripts/install-deps.sh
command -v nghttpd >/dev/null || { sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo; $sudo apt-get install -y -qq nghttp2-server >/dev/null; }
swift build -c release --scratch-path "$scratch" --product TransportBench
bench="$scratch/release/TransportBench"

work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; rm -rf "$work"' EXIT
mkdir "$work/docroot"
printf hello > "$work/docroot/small"
head -c 4096 /dev/zero | tr '\0' x > "$work/docroot/4k"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj /CN=localhost \
    -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

"$bench" 0 "$threads" 0 "$work/cert.pem" "$work/key.pem" > "$work/ours.log" 2>/dev/null &
pids+=($!)
free_port() { echo $((20000 + RANDOM % 20000)); }
nghttpd_h2c=$(free_port)
nghttpd_h2=$((nghttpd_h2c + 1))
nghttpd --no-tls -n "$threads" -d "$work/docroot" "$nghttpd_h2c" > /dev/null 2>&1 &
pids+=($!)
nghttpd -n "$threads" -d "$work/docroot" "$nghttpd_h2" "$work/key.pem" "$work/cert.pem" > /dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q "tls listening" "$work/ours.log" && break; sleep 0.1; done
ours_h2c=$(sed -n 's/^transport-bench listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/ours.log")
ours_h2=$(sed -n 's/^transport-bench tls listening on 127.0.0.1:\([0-9]*\)$/\1/p' "$work/ours.log")
[ -n "$ours_h2c" ] && [ -n "$ours_h2" ] || { echo "TransportBench did not start" >&2; exit 1; }
sleep 0.5

# One h2load run; prints "req/s mean_us p99_us failed".
measure() {
    local url=$1 clients=$2 streams=$3 n=$4 timings out
    timings="$work/timings"
    out=$(h2load -n "$n" -c "$clients" -m "$streams" -t 1 --log-file="$timings" "$url" 2>&1 || true)
    local rps mean failed p99
    rps=$(echo "$out" | awk '/finished in/ {print $4}')
    mean=$(echo "$out" | awk '/time for request:/ {
        v = $6; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000
        printf "%.0f", v }')
    failed=$(echo "$out" | awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "failed,") print $i}')
    p99=$(cut -f3 "$timings" 2>/dev/null | sort -n | awk '{v[NR] = $1} END {if (NR) {i = int(NR * 0.99); if (i < 1) i = 1; print v[i]}}')
    rm -f "$timings"
    echo "${rps:-0} ${mean:-0} ${p99:-0} ${failed:-?}"
}

median() { sort -g | awk '{v[NR] = $1} END {if (NR) print v[int((NR + 1) / 2)]; else print 0}'; }
duration() { awk -v v="$1" 'BEGIN {if (v >= 10000) printf "%.1fms", v / 1000; else printf "%dus", v}'; }

echo "load before: $(uptime | sed 's/.*load average: //')"
printf '%-5s %-5s %-9s | %10s %10s %6s | %9s %9s | %9s %9s\n' \
    proto body load "ours r/s" "nghttpd" ratio "ours mean" "nghttpd" "ours p99" "nghttpd"
failures=0
for proto in h2c h2; do
    for body in small 4k; do
        for load in "1 1" "16 32" "100 100"; do
            set -- $load
            n=$requests; [ "$1" = 1 ] && n=$((requests / 10))
            : > "$work/ours.runs"; : > "$work/nghttpd.runs"
            for _ in $(seq "$runs"); do
                for target in ours nghttpd; do
                    case "$proto:$target" in
                        h2c:ours) url="http://127.0.0.1:$ours_h2c/$body" ;;
                        h2c:nghttpd) url="http://127.0.0.1:$nghttpd_h2c/$body" ;;
                        h2:ours) url="https://127.0.0.1:$ours_h2/$body" ;;
                        h2:nghttpd) url="https://127.0.0.1:$nghttpd_h2/$body" ;;
                    esac
                    result=$(measure "$url" "$1" "$2" "$n")
                    echo "$result" >> "$work/$target.runs"
                    failed=$(echo "$result" | cut -d' ' -f4)
                    [ "$failed" = 0 ] || { failures=$((failures + 1)); echo "  $target $proto $body c$1/m$2: $failed failed" >&2; }
                done
            done
            col() { cut -d' ' -f"$2" "$work/$1.runs" | median; }
            ours_rps=$(col ours 1); ng_rps=$(col nghttpd 1)
            ratio=$(awk -v a="$ours_rps" -v b="$ng_rps" 'BEGIN {if (b > 0) printf "%.2f", a / b; else print "n/a"}')
            label=$body; [ "$body" = small ] && label=5B
            printf '%-5s %-5s %-9s | %10.0f %10.0f %6s | %9s %9s | %9s %9s\n' \
                "$proto" "$label" "c$1/m$2" "$ours_rps" "$ng_rps" "$ratio" \
                "$(duration "$(col ours 2)")" "$(duration "$(col nghttpd 2)")" \
                "$(duration "$(col ours 3)")" "$(duration "$(col nghttpd 3)")"
        done
    done
done
echo "load after: $(uptime | sed 's/.*load average: //')"
echo "medians of $runs runs; $requests requests per run ($((requests / 10)) at c1/m1); h2load -t 1; $threads server threads"
[ "$failures" = 0 ] || echo "warning: $failures runs had failed requests" >&2
