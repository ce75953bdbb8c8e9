//! The C allocator's settings the node runs with: `glibc.malloc.tcache_count=64`, set by the
//! node executing itself again at start. They are defined in `device-api`
//! ([`ferrobeam_device_api::allocator`]), where a plugin's benchmarks find them too.

pub use ferrobeam_device_api::allocator::{tuned_or_reexec, with_tcache_count, TCACHE_COUNT};
