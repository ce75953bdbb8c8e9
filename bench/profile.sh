#!/bin/sh
# `bench/profile.sh [request 0-4] [top]`: where one codec round trip's time goes, function by
# function, beside where its instructions go.
#
# Two profiles of the same binary (`codec_cpu` built with the `profiling` profile: release, with
# line tables kept):
# - callgrind counts each function's own instructions in the round trips alone (exact, and the
#   same from run to run, but blind to waiting);
# - `perf record -e task-clock` samples where the time is spent (this project's VMs expose no
#   hardware counters; the timer still samples).
# For each function the table gives both shares and their ratio: near 1, the function's time is
# its instructions; well above 1, it waits (a stall, a mispredicted branch, a cache miss) and
# counting instructions misses it. It shows where a core waits, not what the wait costs the
# round trip: waits overlap other work, and session 33 removed two that saved nothing
# (BENCHMARKS.md, Codecs, "Session 33"). Judge a change by `make layouts`.
# SHA-256 is shown apart and the other shares are of what is left: its instructions under
# valgrind (which hides SHA-NI from the program) are a software loop's, many times what the
# hardware runs.
#
# request: 0 = 26 (hbsig sign/send), 1 = 08 (typed headers, the default), 2 = 07 (typed
# multipart), 3 = 13 (schedule), 4 = 22 (spawn Lua). `top`: rows printed (default 25).
# The raw profiles stay for a closer look: $CARGO_TARGET_DIR/profile/callgrind.out
# (`callgrind_annotate --auto=yes`, `--inclusive=yes`) and perf.data (`perf report`,
# `perf annotate -s <function>`).
set -eu
cd "$(dirname "$0")/.."
REQUEST=${1:-1}
TOP=${2:-25}
. bench/codec-env.sh
W=$(codec_work_dir profile)
# Round trips: about a second of CPU for perf; for callgrind (about 50x slower) up to a thousand.
ITERATIONS=$(codec_round_trips "$REQUEST") || exit 2
ITERATIONS=$((ITERATIONS * 3))
CALLGRIND_ITERATIONS=$((ITERATIONS / 1000 < 1000 ? ITERATIONS / 1000 : 1000))

echo "building codec_cpu (the profiling profile: release with line tables)" >&2
${CARGO:-cargo} build -q --profile profiling -p ferrobeam-httpsig --example codec_cpu
BIN="$(codec_work_dir profiling)/examples/codec_cpu"

echo "callgrind: $CALLGRIND_ITERATIONS round trips of request $REQUEST" >&2
valgrind --tool=callgrind --callgrind-out-file="$W/callgrind.out" --toggle-collect='*round_trip*' \
	"$BIN" count "$REQUEST" unsigned "$CALLGRIND_ITERATIONS" 2>"$W/callgrind.log" ||
	{ echo "callgrind failed: $W/callgrind.log says why" >&2 && exit 1; }
echo "perf: $ITERATIONS round trips of request $REQUEST" >&2
# perf would keep the last recording as perf.data.old: one recording is kept, this one.
rm -f "$W/perf.data" "$W/perf.data.old"
perf record -q -e task-clock -F 20000 -o "$W/perf.data" \
	"$BIN" count "$REQUEST" unsigned "$ITERATIONS" 2>"$W/perf.log" >/dev/null ||
	{ echo "perf record failed: $W/perf.log says why (kernel.perf_event_paranoid, for one)" >&2 && exit 1; }

# Both profiles as `share<TAB>function`, with names the two tools spell differently made one:
# glibc's string functions (valgrind and the CPU pick different variants), its `free`, and
# recursion marks.
normalise='
	function name(s) {
		# perf pads the symbol with empty columns (" -   -").
		sub(/^[ \t]+/, "", s); sub(/([ \t]+-)*[ \t]*$/, "", s)
		sub(/'"'"'[0-9]+$/, "", s)
		sub(/@GLIBC.*$/, "", s)
		if (s ~ /^__(memmove|memcpy)/) s = "memcpy/memmove"
		else if (s ~ /^__mem(cmp|set|chr)/) { sub(/^__/, "", s); sub(/_.*/, "", s) }
		else if (s == "cfree") s = "free"
		return s
	}'
callgrind_annotate --auto=no --inclusive=no --threshold=100 "$W/callgrind.out" 2>/dev/null |
	awk "$normalise"'
		/^ *[0-9,]+ +\( *[0-9.]+%\) +/ {
			count = $1; gsub(/,/, "", count)
			line = $0; sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", line); sub(/ \[[^]]*\]$/, "", line)
			fn = line; sub(/^[^:]*:/, "", fn)
			if (line == fn || fn == "") next
			printf "%s\t%s\n", count, name(fn)
		}' >"$W/instructions.tsv"
perf report -i "$W/perf.data" --no-children --stdio --sort symbol 2>/dev/null |
	awk "$normalise"'
		/^ +[0-9.]+% +\[[.k]\] / {
			share = $1; sub(/%/, "", share)
			fn = $0; sub(/^ +[0-9.]+% +\[[.k]\] /, "", fn)
			printf "%s\t%s\n", share, name(fn)
		}' >"$W/time.tsv"

PER_ROUND_TRIP=$(grep -o 'Collected : [0-9]*' "$W/callgrind.log" | awk -v n="$CALLGRIND_ITERATIONS" '{ printf "%d", $3 / n }')
echo "request $REQUEST: $PER_ROUND_TRIP instructions a round trip (callgrind, $CALLGRIND_ITERATIONS round trips)"
# shares summary|rows: the SHA-256 line (`summary`), or each other function's row of the
# table after its time share and a tab (`rows`), from both profiles.
shares() {
	awk -F '\t' -v mode="$1" '
		function sha(fn_name) { return fn_name ~ /sha2::|sha256/ }
		FNR == 1 { file++ }
		file == 1 { instr[$2] += $1; total_instr += $1; if (sha($2)) sha_instr += $1 }
		file == 2 { t[$2] += $1; total_time += $1; if (sha($2)) sha_time += $1 }
		END {
			if (total_time == 0) { print "perf recorded no samples: see perf.log" > "/dev/stderr"; exit 1 }
			if (mode == "summary") {
				if (sha_time > 0 || sha_instr > 0)
					printf "SHA-256: %.1f%% of the time, %.1f%% of the instructions (software under valgrind); the shares below are of the rest\n", \
						sha_time * 100 / total_time, sha_instr * 100 / total_instr
				exit 0
			}
			rest_time = total_time - sha_time; rest_instr = total_instr - sha_instr
			for (f in t) {
				if (sha(f)) continue
				ts = t[f] * 100 / rest_time; is = instr[f] * 100 / rest_instr
				ratio = is > 0 ? sprintf("%.2f", ts / is) : "–"
				printf "%.4f\t| `%s` | %.2f | %.2f | %s |\n", ts, f, ts, is, ratio
			}
		}' "$W/instructions.tsv" "$W/time.tsv"
}
shares summary
echo
echo "| function | time % | instructions % | time ÷ instructions |"
echo "| --- | --- | --- | --- |"
shares rows | sort -rn | head -n "$TOP" | cut -f2-
echo
echo "raw profiles: $W/callgrind.out (callgrind_annotate), $W/perf.data (perf report)"
