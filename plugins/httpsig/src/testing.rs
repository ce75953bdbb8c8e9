//! What the unit tests share.

/// A small deterministic generator for randomised tests: `next(n)` is a number below `n`, the
/// same sequence for the same `seed` on every run (a linear congruential generator).
pub(crate) fn numbers(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (seed >> 33) % n
    }
}
