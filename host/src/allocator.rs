//! The C allocator's settings the node runs with: `glibc.malloc.tcache_count=64`, set by the
//! node executing itself again at start. They are defined in `device-api`
//! ([`ferrobeam_device_api::allocator`]), where a plugin's benchmarks find them too.

pub use ferrobeam_device_api::allocator::{tuned_or_reexec, with_tcache_count, TCACHE_COUNT};

/// Returns the heap's free memory to the system (glibc's `malloc_trim`); elsewhere, nothing.
///
/// Loading libraries reads each one whole (to hash it and write the private copy from the
/// same bytes), megabytes each: glibc raises its `mmap` threshold after the first such block
/// is freed, so the next ones come from the heap and stay there once freed, counted in the
/// node's resident memory. The registry calls this after each sync.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks the allocator's own free lists; it may be called at any
    // time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
