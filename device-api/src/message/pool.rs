//! Entry buffers of messages too large for glibc's per-thread cache, kept on each thread for the
//! next message.
//!
//! glibc hands out and takes back blocks of up to 1,032 bytes from a per-thread cache, in a few
//! dozen instructions ([`allocator`](crate::allocator) keeps 64 of each size). A message of 15
//! entries or more needs a larger block (an entry is 72 bytes), which glibc takes from its shared
//! bins and, when freed, merges with its neighbours, on every request that carries 15 headers:
//! keeping two such blocks saved a codec round trip of 15 headers some 640 instructions and
//! 7–15% of its time (BENCHMARKS.md, Codecs, "Session 28"). So a message's buffer of that size
//! is kept here when the message is dropped, [`MAX_KEPT`] of them per thread, each of at most
//! [`MAX_CAPACITY`] entries, and the next message on the thread that fits it ([`take_kept`])
//! takes one.
//!
//! The buffers are glibc's blocks, as any `Vec`'s: a buffer kept by one library's copy of this
//! module (each plugin links its own) holds no state of that library, and whichever copy drops
//! it frees it to glibc. A thread's buffers are freed when the thread ends.

use super::{Key, Value};
use std::cell::RefCell;
use std::mem::size_of;

/// Type of the entries vectors handled here.
type Entries = Vec<(Key, Value)>;

/// The largest request glibc serves from its per-thread cache (64 sizes of 16 bytes from 24).
const CACHED_BYTES: usize = 1032;

/// The fewest entries whose buffer glibc does not cache: the smallest buffer kept here.
pub(super) const MIN_CAPACITY: usize = CACHED_BYTES / size_of::<(Key, Value)>() + 1;

/// The most entries of a buffer kept here (4.6 KB), so that the buffers a thread keeps stay a
/// few pages.
pub(super) const MAX_CAPACITY: usize = 64;

/// How many buffers a thread keeps: as many as a request's messages hold at once (the request,
/// its TABM, the answer and its encoding).
pub(super) const MAX_KEPT: usize = 4;

thread_local! {
    static KEPT: RefCell<[Entries; MAX_KEPT]> = const {
        RefCell::new([Vec::new(), Vec::new(), Vec::new(), Vec::new()])
    };
}

/// Whether a buffer of `capacity` entries is one this module handles.
#[inline(always)]
pub(super) fn in_range(capacity: usize) -> bool {
    (MIN_CAPACITY..=MAX_CAPACITY).contains(&capacity)
}

/// An empty vector with room for at least `capacity` entries: a buffer kept on this thread when
/// one fits ([`take_kept`]), else a new one.
#[inline]
pub(super) fn take(capacity: usize) -> Entries {
    if in_range(capacity) {
        if let Some(kept) = take_kept(capacity) {
            return kept;
        }
    }
    Vec::with_capacity(capacity)
}

/// A kept buffer of `capacity` to twice `capacity` entries, if this thread has one: a message
/// may live long (in a cache), and a buffer taken is at most as much larger than it needs as
/// a vector that grew by doubling.
#[inline(never)]
fn take_kept(capacity: usize) -> Option<Entries> {
    KEPT.try_with(|kept| {
        let mut kept = kept.try_borrow_mut().ok()?;
        let fits = |v: &Entries| (capacity..=2 * capacity).contains(&v.capacity());
        let slot = kept.iter_mut().find(|v| fits(v))?;
        Some(std::mem::take(slot))
    })
    .ok()
    .flatten()
}

/// Keeps the buffer of `entries`, which must be empty and [`in_range`], in an empty slot of
/// this thread's, or frees it when there is none.
#[inline(never)]
pub(super) fn keep(entries: Entries) {
    debug_assert!(entries.is_empty() && in_range(entries.capacity()));
    // Not kept while the thread's slots are being dropped (its end) or borrowed.
    let _ = KEPT.try_with(|kept| {
        if let Ok(mut kept) = kept.try_borrow_mut() {
            if let Some(slot) = kept.iter_mut().find(|v| v.capacity() == 0) {
                *slot = entries;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Message;

    /// Whether this thread keeps a buffer at `ptr`.
    fn is_kept(ptr: *const (Key, Value)) -> bool {
        KEPT.with(|kept| kept.borrow().iter().any(|v| v.as_ptr() == ptr))
    }

    /// A message of room for `capacity` entries, holding one, and where its entries are.
    fn message(capacity: usize) -> (Message, *const (Key, Value)) {
        let mut m = Message::with_capacity(capacity);
        m.insert("a", "1");
        let ptr = m.entries().as_ptr();
        (m, ptr)
    }

    /// The bounds follow from glibc's cache and the entry's size: a buffer one entry smaller
    /// than the smallest kept is one glibc caches.
    #[test]
    fn buffers_glibc_does_not_cache_are_the_ones_kept() {
        assert!(MIN_CAPACITY * size_of::<(Key, Value)>() > CACHED_BYTES);
        assert!((MIN_CAPACITY - 1) * size_of::<(Key, Value)>() <= CACHED_BYTES);
    }

    /// A dropped message's buffer is taken by the next message of at most its size, and only
    /// once; one out of range is never kept.
    #[test]
    fn a_dropped_messages_buffer_is_taken_by_the_next() {
        std::thread::spawn(|| {
            let (m, ptr) = message(MIN_CAPACITY + 2);
            drop(m);
            assert!(is_kept(ptr));
            let (again, again_ptr) = message(MIN_CAPACITY);
            assert_eq!(again_ptr, ptr);
            assert_eq!(again.len(), 1, "the message holds only its own entry");
            assert!(!is_kept(ptr));
            let (_other, other_ptr) = message(MIN_CAPACITY);
            assert_ne!(other_ptr, ptr);

            // Not taken by a message of less than half its size.
            let (m, ptr) = message(2 * MIN_CAPACITY + 1);
            drop(m);
            let (_smaller, smaller) = message(MIN_CAPACITY);
            assert_ne!(smaller, ptr);
            assert!(is_kept(ptr));

            for capacity in [MIN_CAPACITY - 1, MAX_CAPACITY + 1] {
                let (m, ptr) = message(capacity);
                drop(m);
                assert!(!is_kept(ptr), "capacity {capacity}");
            }
        })
        .join()
        .unwrap();
    }

    /// At most `MAX_KEPT` buffers are kept; a message larger than any kept takes none of them.
    #[test]
    fn a_thread_keeps_at_most_max_kept_buffers() {
        std::thread::spawn(|| {
            let messages: Vec<_> = (0..MAX_KEPT + 2).map(|_| message(MIN_CAPACITY)).collect();
            let ptrs: Vec<_> = messages.iter().map(|(_, p)| *p).collect();
            drop(messages);
            let kept = ptrs.iter().filter(|&&p| is_kept(p)).count();
            assert_eq!(kept, MAX_KEPT);
            // Larger than any kept buffer: none is taken.
            let (_larger, _) = message(MAX_CAPACITY);
            let still_kept = ptrs.iter().filter(|&&p| is_kept(p)).count();
            assert_eq!(still_kept, MAX_KEPT);
        })
        .join()
        .unwrap();
    }
}
