#!/bin/sh
# `bench/layouts.sh <base commit> [request 0-4] [layouts] [rounds]`: whether the working tree's
# codec round trip takes less CPU time than <base>'s, measured over several link layouts.
#
# Where a function lands in the binary moves its time: on this project's machines, one build
# of unchanged code linked in six orders ran 08's round trip between 471 and 500 µs per 400
# (6%). A change that saves 1-3% of the instructions can therefore read slower or faster in a
# single pair of builds depending on where the linker put things. This script links each
# side `layouts` times with its function sections shuffled (lld's --shuffle-sections, one seed
# per layout, the same seeds on both sides), runs `codec_cpu time` on every binary `rounds`
# times (interleaved, so drift in the machine's load hits both sides alike), and prints each
# layout's fastest run on both sides and the mean of those. Other work on the machine still
# shows: when the layouts disagree by more than the change claimed, run it again.
#
# request: 0 = 26 (hbsig sign/send), 1 = 08 (typed headers, the default), 2 = 07 (typed
# multipart), 3 = 13 (schedule), 4 = 22 (spawn Lua). Builds go to
# $CARGO_TARGET_DIR/layouts (default target/layouts), two release builds of `ferrobeam-httpsig`
# the first time (a few minutes each), relinks only after that.
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BASE=${1:?usage: bench/layouts.sh <base commit> [request 0-4] [layouts] [rounds]}
REQUEST=${2:-1}
LAYOUTS=${3:-6}
ROUNDS=${4:-10}
. bench/codec-env.sh
W=$(codec_work_dir layouts)
# Round trips per run: about 0.3 s of CPU each.
ITERATIONS=$(codec_round_trips "$REQUEST") || exit 2

# The C compiler driver as the linker, with the layout's seed added when one is set.
cat >"$W/cc-shuffle" <<'EOF'
#!/bin/sh
if [ -n "${LAYOUT_SEED:-}" ]; then exec cc "$@" "-Wl,--shuffle-sections=*=$LAYOUT_SEED"; fi
exec cc "$@"
EOF
chmod +x "$W/cc-shuffle"

rm -rf "$W/base-src"
git worktree prune
git worktree add --detach "$W/base-src" "$BASE" >/dev/null
trap 'git -C "$ROOT" worktree remove --force "$W/base-src"' EXIT
# Both sides timed by the working tree's harness (which `time` needs), around each side's codec.
cp plugins/httpsig/examples/codec_cpu.rs "$W/base-src/plugins/httpsig/examples/"
cp plugins/httpsig/benches/support/mod.rs "$W/base-src/plugins/httpsig/benches/support/"

# link <side> <source dir>: the side's codec_cpu once per layout, as $W/<side>-<seed>.
link() {
	for seed in $(seq "$LAYOUTS"); do
		touch "$2/plugins/httpsig/examples/codec_cpu.rs"
		(cd "$2" && LAYOUT_SEED=$seed \
			CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_LINKER="$W/cc-shuffle" \
			CARGO_TARGET_DIR="$W/target-$1" \
			cargo build -q --release -p ferrobeam-httpsig --example codec_cpu)
		cp "$W/target-$1/release/examples/codec_cpu" "$W/$1-$seed"
	done
}
echo "linking $LAYOUTS layouts of $BASE and of the working tree" >&2
link base "$W/base-src"
link head "$ROOT"

echo "running request $REQUEST, $ITERATIONS round trips a run, $ROUNDS rounds" >&2
for round in $(seq "$ROUNDS"); do
	for seed in $(seq "$LAYOUTS"); do
		# Alternate which side runs first.
		if [ $(((round + seed) % 2)) = 0 ]; then sides="base head"; else sides="head base"; fi
		for side in $sides; do
			echo "$side $seed $("$W/$side-$seed" time "$REQUEST" unsigned "$ITERATIONS")"
		done
	done
done | awk -v base="$BASE" '
	{ key = $1 " " $2; if (!(key in best) || $3 < best[key]) best[key] = $3; if ($2 > seeds) seeds = $2 }
	END {
		print "| layout | " base " ns | working tree ns | change |"
		print "| --- | --- | --- | --- |"
		for (s = 1; s <= seeds; s++) {
			b = best["base " s]; h = best["head " s]
			printf "| %s | %.1f | %.1f | %+.1f%% |\n", s, b, h, (h / b - 1) * 100
			sb += b; sh += h; n++
		}
		printf "| mean of the fastest runs | %.1f | %.1f | %+.1f%% |\n", sb / n, sh / n, (sh / sb - 1) * 100
	}'
