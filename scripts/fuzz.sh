#!/usr/bin/env bash
# Builds the libFuzzer entry points with AddressSanitizer and fuzzes one parser.
#   bash scripts/fuzz.sh TARGET SECONDS     e.g. bash scripts/fuzz.sh predict_json 600
#   bash scripts/fuzz.sh list               the targets
# FUZZ_RUNS=N also stops the run after N executions, whichever comes first.
# The corpus lives in Fuzz/corpus/TARGET (FUZZ_CORPUS_DIR overrides; seeded from Fuzz/seeds/TARGET, minimized after the run);
# crashes are written to Fuzz/crashes/TARGET and make the script fail.
set -euo pipefail
cd "$(dirname "$0")/.."

build_path=.build-fuzz
targets="predict_json example_json kserve_infer tensor_proto predict_request grpc_framing config_text http2_session tfrecord_warmup saved_model"
if [ "${1:-}" = list ] || [ $# -lt 2 ]; then
    echo "usage: bash scripts/fuzz.sh TARGET SECONDS; targets: $targets" >&2
    [ "${1:-}" = list ] && exit 0 || exit 2
fi
target="$1" seconds="$2"
case " $targets " in *" $target "*) ;; *) echo "unknown target $target; targets: $targets" >&2; exit 2 ;; esac

MODEL_SERVER_FUZZ=1 swift build --build-path "$build_path" --product ModelServerFuzz \
    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing 2>&1 | grep -v "Cannot export local symbol" >&2
binary="$build_path/debug/ModelServerFuzz"

corpus="${FUZZ_CORPUS_DIR:-Fuzz/corpus/$target}" crashes="Fuzz/crashes/$target"
mkdir -p "$corpus" "$crashes"
seeds=()
[ -d "Fuzz/seeds/$target" ] && seeds=("Fuzz/seeds/$target")

export FUZZ_TARGET="$target" SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1}"
status=0
"$binary" "$corpus" "${seeds[@]}" -max_total_time="$seconds" ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} -rss_limit_mb=2048 -timeout=10 \
    -max_len=65536 -print_final_stats=1 -artifact_prefix="$crashes/" || status=$?
# Keep the corpus small: only inputs that add coverage stay.
minimized="$(mktemp -d)"
"$binary" -merge=1 "$minimized" "$corpus" >/dev/null 2>&1 && rm -rf "$corpus" && mv "$minimized" "$corpus"
exit "$status"
