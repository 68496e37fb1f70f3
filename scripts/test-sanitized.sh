#!/usr/bin/env bash
# Runs the Swift test suite under a sanitizer: bash scripts/test-sanitized.sh address|thread [swift test args...]
# Each sanitizer builds into its own .build-<sanitizer>/ so the normal build is untouched.
set -euo pipefail
cd "$(dirname "$0")/.."

sanitizer="${1:-address}"
shift || true
case "$sanitizer" in address|thread) ;; *) echo "usage: bash scripts/test-sanitized.sh address|thread [swift test args]" >&2; exit 2 ;; esac
build_path=".build-$sanitizer"
log="$(mktemp)"
if ! swift build --build-tests --build-path "$build_path" --sanitize="$sanitizer" > "$log" 2>&1; then
    grep -v "Cannot export local symbol" "$log" | grep -E "error" | head -40 >&2
    echo "the $sanitizer-sanitized build failed; full log: $log" >&2
    exit 1
fi
rm -f "$log"
binary="$(swift build --build-path "$build_path" --show-bin-path)/model-server"
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$PWD/scripts/lsan-suppressions.txt:print_suppressions=0}"
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
MODEL_SERVER_BINARY="$binary" swift test --skip-build --build-path "$build_path" --sanitize="$sanitizer" "$@"
