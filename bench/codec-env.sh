# Sourced by bench/layouts.sh and bench/profile.sh, from the repository's root: what a run of
# `codec_cpu` (plugins/httpsig/examples/codec_cpu.rs) needs.

# The vectors the binaries read, wherever their sources are.
FERROBEAM_VECTORS=${FERROBEAM_VECTORS:-$(cd .. && pwd)/shared/vectors}
export FERROBEAM_VECTORS
# The node's allocator settings (ferrobeam_device_api::allocator), which codec_cpu keeps.
GLIBC_TUNABLES=glibc.malloc.tcache_count=64
export GLIBC_TUNABLES

# codec_round_trips <request 0-4>: how many round trips of the request take about 0.3 s of CPU:
# 0 = 26 (hbsig sign/send), 1 = 08 (typed headers), 2 = 07 (typed multipart), 3 = 13
# (schedule), 4 = 22 (spawn Lua). Exits with 2 for any other request.
codec_round_trips() {
	case $1 in
	0) echo 1000000 ;;
	1) echo 300000 ;;
	2) echo 100000 ;;
	3) echo 40000 ;;
	4) echo 4000 ;;
	*) echo "request is 0 to 4" >&2 && exit 2 ;;
	esac
}

# codec_work_dir <name>: the folder <name> of cargo's target folder (CARGO_TARGET_DIR, else
# target), made when missing, as an absolute path.
codec_work_dir() {
	mkdir -p "${CARGO_TARGET_DIR:-target}/$1" && (cd "${CARGO_TARGET_DIR:-target}/$1" && pwd)
}
