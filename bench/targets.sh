#!/bin/sh
# `make targets`: every performance target of the project measured in one run on this machine,
# each against its baseline measured in the same run, then one table of verdicts.
#
# Each step prints its own `target: <target> | <measured> | met|MISSED` line; this script runs
# them one after the other (never two at once: they would share the cores), keeps each step's
# whole output in $OUT/<step>.log, and prints the collected lines at the end. Expects what
# `make targets` builds and installs first (the release node, the plugins, wrk, the npm
# packages). Exits 1 when a step fails, not when a target is missed.
set -u
cd "$(dirname "$0")/.."
CARGO=${CARGO:-cargo}
TARGET_DIR=${CARGO_TARGET_DIR:-target}
OUT=$TARGET_DIR/targets
mkdir -p "$OUT"
rm -f "$OUT"/*.log
failed=""
steps=""

step() {
	name=$1
	shift
	steps="$steps $name"
	echo "== $name: $*"
	if ! "$@" >"$OUT/$name.log" 2>&1; then
		failed="$failed $name"
		echo "   failed; see $OUT/$name.log"
	fi
	grep '^target: ' "$OUT/$name.log" | sed 's/^/   /'
}

step load "$TARGET_DIR/release/ferrobeam-load" --duration 10 --only mydev --rounds 3
step abi "$CARGO" bench -p ferrobeam --bench abi
step rsa "$CARGO" bench -p ferrobeam --bench identity -- sign_fresh
step codecs sh -c "$CARGO bench -p ferrobeam-httpsig --bench codec -- 'decode.encode|floor' && cd tests/npm && node bench-hbsig.mjs 1"
step transfers "$CARGO" bench -p ferrobeam-tests --bench lua
step now env FERROBEAM_BENCH=now "$CARGO" bench -p ferrobeam-tests --bench processes

echo
echo "| target | measured in this run | verdict |"
echo "| --- | --- | --- |"
for name in $steps; do
	grep '^target: ' "$OUT/$name.log" | sed 's/^target: /| /; s/$/ |/'
done
if [ -n "$failed" ]; then
	echo "steps that failed:$failed (logs in $OUT)"
	exit 1
fi
