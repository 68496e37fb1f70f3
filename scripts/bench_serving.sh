#!/usr/bin/env bash
# Serving speed end to end: h2load against the release server on the bench models, every protocol,
# several loads, batching off and on, with the runtime alone (`model-server bench`) beside it.
# Usage: bash scripts/bench_serving.sh [requests per row]   (default 20000; a tenth of that at c1)
#   MODELS_DIR   bench SavedModels from scripts/bench_models.sh (default /tmp/bench-models)
#   MODELS       models to run (default "mlp cnn")
#   PROTOCOLS    any of grpc rest_row rest_columnar kserve_json kserve_binary kserve_grpc (default all)
#   LOADS        "clients:streams" pairs (default "1:1 16:1 64:1 4:16")
#   MODES        any of off on timeout target (default "off on"): on = --enable_batching with max_batch_size 64
#                and the default (adaptive) scheduling; timeout = TF Serving's 1 ms batch_timeout_micros;
#                target = on with --batching_latency_target_micros=$LATENCY_TARGET_MICROS (default 1000)
#   SCRATCH_PATH build directory (default .build)
#   PLOT         also draw latency against throughput into this PNG (scripts/plot_bench.sh)
# Prints one row per (model, mode, protocol, load): req/s, mean, p50, p99 (µs), failed requests (h2load
# failures plus answers that were not OK, from the server's metrics), server CPU µs per request, and the
# mean executed batch size from the metrics. REST and KServe JSON/binary go over HTTP/1.1, gRPC over h2c.
set -euo pipefail
cd "$(dirname "$0")/.."
# PLOT=file.png: run as usual, then draw the printed figures.
if [ -n "${PLOT:-}" ] && [ -z "${PLOTTING_RUN:-}" ]; then
    PLOTTING_RUN=1 exec bash scripts/plot_bench.sh --after serving "$PLOT" bash "scripts/$(basename "$0")" "$@"
fi
requests="${1:-20000}"
models_dir="${MODELS_DIR:-/tmp/bench-models}"
models="${MODELS:-mlp cnn}"
protocols="${PROTOCOLS:-grpc rest_row rest_columnar kserve_json kserve_binary kserve_grpc}"
loads="${LOADS:-1:1 16:1 64:1 4:16}"
modes="${MODES:-off on}"
scratch="${SCRATCH_PATH:-.build}"

bash scripts/install-deps.sh
swift build -c release --scratch-path "$scratch" --product model-server
server="$scratch/release/model-server"
for model in $models; do
    [ -f "$models_dir/$model/1/saved_model.pb" ] || { echo "no $models_dir/$model: run scripts/bench_models.sh $models_dir" >&2; exit 1; }
done

work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
printf 'prometheus_config { enable: true path: "/metrics" }\n' > "$work/monitoring.txt"
printf 'max_batch_size { value: 64 }\nmax_enqueued_batches { value: 1000 }\n' > "$work/batching_on.txt"
printf 'max_batch_size { value: 64 }\nbatch_timeout_micros { value: 1000 }\nmax_enqueued_batches { value: 1000 }\n' > "$work/batching_timeout.txt"

start_server() { # model mode
    local args=(--port=0 --host=127.0.0.1 --model_name="$1" --model_base_path="$models_dir/$1"
                --monitoring_config_file="$work/monitoring.txt" --file_system_poll_wait_seconds=0)
    case "$2" in
        on) args+=(--batching_parameters_file="$work/batching_on.txt") ;;
        timeout) args+=(--batching_parameters_file="$work/batching_timeout.txt") ;;
        target) args+=(--batching_parameters_file="$work/batching_on.txt"
                       --batching_latency_target_micros="${LATENCY_TARGET_MICROS:-1000}") ;;
    esac
    "$server" "${args[@]}" > "$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 300); do
        port=$(sed -n 's/.*listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$work/server.log" | head -1)
        [ -n "$port" ] && curl -sf "http://127.0.0.1:$port/v1/models/$1" | grep -q AVAILABLE && return 0
        sleep 0.1
    done
    echo "server did not start:" >&2; cat "$work/server.log" >&2; exit 1
}
stop_server() { kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true; pid=""; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
# One scrape; prints: OK answers, all answers, executed rows, executions.
counters() {
    curl -s "http://127.0.0.1:$port/metrics" | awk -v ok=":tensorflow:serving:request_count{model_name=\"$1\",status=\"OK\"}" '
        index($0, ok) == 1 {o += $NF}
        index($0, ":tensorflow:serving:request_count{") == 1 {t += $NF}
        index($0, ":tensorflow:serving:batching_session:processed_batch_size_sum") == 1 {r += $NF}
        index($0, ":tensorflow:serving:batching_session:processed_batch_size_count") == 1 {b += $NF}
        END {printf "%.0f %.0f %.0f %.0f\n", o, t, r, b}'
}

# One h2load row; prints "req/s mean p50 p99 failed cpu_us_per_request mean_batch".
measure() { # model protocol clients streams
    local model=$1 protocol=$2 c=$3 m=$4 url flags=() body
    case "$protocol" in
        grpc) url="http://127.0.0.1:$port/tensorflow.serving.PredictionService/Predict"; body=grpc_predict.bin
              flags=(-H "content-type: application/grpc" -H "te: trailers") ;;
        kserve_grpc) url="http://127.0.0.1:$port/inference.GRPCInferenceService/ModelInfer"; body=grpc_kserve.bin
              flags=(-H "content-type: application/grpc" -H "te: trailers") ;;
        rest_row|rest_columnar) url="http://127.0.0.1:$port/v1/models/$model:predict"; body="$protocol.json"
              flags=(--h1 -H "content-type: application/json") ;;
        kserve_json) url="http://127.0.0.1:$port/v2/models/$model/infer"; body=kserve.json
              flags=(--h1 -H "content-type: application/json") ;;
        kserve_binary) url="http://127.0.0.1:$port/v2/models/$model/infer"; body=kserve.bin
              flags=(--h1 -H "content-type: application/octet-stream"
                     -H "inference-header-content-length: $(cat "$work/$model/kserve.bin.header_length")") ;;
    esac
    local n=$requests
    [ "$((c * m))" -le 1 ] && n=$((requests / 10))
    # Warm-up: a short run whose figures are not kept.
    h2load -n "$((n / 10 + c * m))" -c "$c" -m "$m" -t 1 -d "$work/$model/$body" "${flags[@]}" "$url" > /dev/null 2>&1 || true
    local before after cpu_before cpu_after out ok total rows batches
    read -r -a before < <(counters "$model")
    cpu_before=$(cpu_ticks)
    out=$(h2load -n "$n" -c "$c" -m "$m" -t 1 -d "$work/$model/$body" "${flags[@]}" \
        --log-file="$work/timings" "$url" 2>&1 || true)
    cpu_after=$(cpu_ticks)
    read -r -a after < <(counters "$model")
    ok=$((after[0] - before[0])); total=$((after[1] - before[1]))
    rows=$((after[2] - before[2])); batches=$((after[3] - before[3]))
    local rps failed p50 p99 mean
    rps=$(echo "$out" | awk '/finished in/ {print $4}')
    failed=$(echo "$out" | awk '/^requests:/ {for (i = 1; i <= NF; i++) if ($(i + 1) == "failed,") print $i}')
    failed=$(( ${failed:-0} + total - ok ))
    read -r mean p50 p99 < <(awk -F'\t' '$2 == 200 {print $3}' "$work/timings" | sort -n |
        awk '{v[NR] = $1; s += $1} END {if (NR) {i = int(NR * 0.99); if (i < 1) i = 1
             printf "%.0f %d %d\n", s / NR, v[int((NR + 1) / 2)], v[i]} else print "0 0 0"}')
    rm -f "$work/timings"
    local cpu_us batch
    cpu_us=$(awk -v t=$((cpu_after - cpu_before)) -v n="$total" -v hz="$(getconf CLK_TCK)" \
        'BEGIN {if (n > 0) printf "%.1f", t * 1e6 / hz / n; else print "-"}')
    batch=$(awk -v r="$rows" -v b="$batches" 'BEGIN {if (b > 0) printf "%.1f", r / b; else print "-"}')
    echo "${rps:-0} $mean $p50 $p99 $failed $cpu_us $batch"
}

echo "load before: $(uptime | sed 's/.*load average: //'); $(nproc) cores; $requests requests per row"
failures=0
for model in $models; do
    mkdir -p "$work/$model"
    python3 scripts/bench_serving_bodies.py "$models_dir/$model.json" "$model" "$work/$model"
    echo
    echo "== $model: runtime alone ($server bench --threads 1 and 2)"
    for threads in 1 2; do
        "$server" bench "$models_dir/$model/1" --threads "$threads" --batch 1,8,64 --seconds 2 2>/dev/null |
            awk -v t="$threads" '/^batch=/ {print "  threads=" t " " $0}'
    done
    "$server" bench "$models_dir/$model/1" --batch 1 --seconds 0.2 --json_body "$work/$model/rest_row.json" 2>/dev/null |
        awk '/^json_decode/ {print "  REST row body decode alone: " $0}'
    printf '%-8s %-14s %-6s | %9s %8s %8s %8s %6s %9s %6s\n' \
        batching protocol load "req/s" "mean_us" "p50_us" "p99_us" failed "cpu_us/req" batch
    for mode in $modes; do
        start_server "$model" "$mode"
        for protocol in $protocols; do
            for load in $loads; do
                c=${load%%:*}; m=${load##*:}
                # shellcheck disable=SC2046
                set -- $(measure "$model" "$protocol" "$c" "$m")
                printf '%-8s %-14s %-6s | %9s %8s %8s %8s %6s %9s %6s\n' "$mode" "$protocol" "c$c-m$m" "$@"
                [ "$5" = 0 ] || failures=$((failures + $5))
            done
        done
        stop_server
    done
done
echo
echo "failed requests in all rows: $failures"
[ "$failures" = 0 ]
