//! Erlang map iteration order (OTP 26+), `codecs.md` §1.5.
//!
//! Wherever HyperBEAM writes "the entries of a map" (fields of a multipart part, `ao-ids`
//! members, flat@1.0 lines, JSON object members) the bytes depend on Erlang's order:
//! a map of up to 32 keys (a "flatmap") iterates in ascending key order; a larger map (a HAMT)
//! iterates in an order given by the 64-bit internal hash of each key. Signatures over such
//! bytes only verify if the order is reproduced exactly.

/// The largest map Erlang keeps sorted; larger maps iterate in hash order.
pub const FLATMAP_MAX_KEYS: usize = 32;

const C1: u64 = 0x87C3_7B91_1142_53D5;
const C2: u64 = 0x4CF5_AD43_2745_937F;
/// Erlang's internal type tag for binaries in `make_internal_hash`.
const BINARY_TYPE_TAG: u64 = 11;

/// OTP 26+ internal hash (`erts_map_hash`, salt 0) of a binary key.
///
/// ```
/// use ferrobeam_structured::map_order::erlang_hash;
/// assert_eq!(erlang_hash(b""), 0xb7bab74dc2414312);
/// assert_eq!(erlang_hash(b"content-disposition"), 0xbba378afe499725b);
/// ```
pub fn erlang_hash(bytes: &[u8]) -> u64 {
    let mut st = HashState {
        a: 0,
        b: 0,
        ticks: 0,
    };
    st.mix_a(BINARY_TYPE_TAG);
    // Size in bits; a binary longer than 2^61 bytes cannot exist in memory.
    st.mix_b((bytes.len() as u64).wrapping_mul(8));
    let mut chunks = bytes.chunks_exact(16);
    for chunk in &mut chunks {
        st.mix_a(u64_le(&chunk[..8]));
        st.mix_b(u64_le(&chunk[8..]));
    }
    let tail = chunks.remainder();
    if tail.len() > 8 {
        let k = u64_le(&tail[8..])
            .wrapping_mul(C2)
            .rotate_left(33)
            .wrapping_mul(C1);
        st.b ^= k;
    }
    if !tail.is_empty() {
        let k = u64_le(&tail[..tail.len().min(8)])
            .wrapping_mul(C1)
            .rotate_left(31)
            .wrapping_mul(C2);
        st.a ^= k;
    }
    let (mut a, mut b) = (st.a ^ st.ticks, st.b ^ st.ticks);
    a = a.wrapping_add(b);
    b = b.wrapping_add(a);
    a = fmix64(a);
    b = fmix64(b);
    a = a.wrapping_add(b);
    b = b.wrapping_add(a);
    a ^ b
}

struct HashState {
    a: u64,
    b: u64,
    ticks: u64,
}

impl HashState {
    fn mix_a(&mut self, x: u64) {
        let x = x.wrapping_mul(C1).rotate_left(31).wrapping_mul(C2);
        self.a = (self.a ^ x)
            .rotate_left(27)
            .wrapping_add(self.b)
            .wrapping_mul(5)
            .wrapping_add(0x52DC_E729);
        self.ticks += 1;
    }

    fn mix_b(&mut self, x: u64) {
        let x = x.wrapping_mul(C2).rotate_left(33).wrapping_mul(C1);
        self.b = (self.b ^ x)
            .rotate_left(31)
            .wrapping_add(self.a)
            .wrapping_mul(5)
            .wrapping_add(0x3849_5AB5);
        self.ticks += 1;
    }
}

fn fmix64(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    h ^= h >> 33;
    h = h.wrapping_mul(0xC4CE_B9FE_1A85_EC53);
    h ^ (h >> 33)
}

/// Little-endian u64 of up to 8 bytes (missing high bytes are zero).
fn u64_le(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// The hash with its nibbles reversed: the HAMT walks the hash from the least significant
/// nibble, so comparing nibble tuples `(h & 0xF, (h >> 4) & 0xF, …)` is comparing these.
fn hamt_position(bytes: &[u8]) -> u64 {
    let h = erlang_hash(bytes);
    (0..16).fold(0u64, |acc, i| (acc << 4) | ((h >> (4 * i)) & 0xF))
}

/// Sorts `items` into Erlang map order of the keys `key` returns: ascending bytes for up to 32
/// items, otherwise HAMT order (`maps:to_list`: ascending hash-nibble order, reversed).
///
/// ```
/// use ferrobeam_structured::map_order::sort_in_map_order;
/// let mut keys = vec!["b", "a", "c"];
/// sort_in_map_order(&mut keys, |k| k.as_bytes());
/// assert_eq!(keys, ["a", "b", "c"]);
/// ```
pub fn sort_in_map_order<T, F>(items: &mut [T], key: F)
where
    F: Fn(&T) -> &[u8],
{
    if items.len() <= FLATMAP_MAX_KEYS {
        items.sort_unstable_by(|x, y| key(x).cmp(key(y)));
    } else {
        // Descending position = ascending then reversed. Equal 64-bit hashes (never seen in
        // practice) fall back to byte order.
        items.sort_by_cached_key(|x| (std::cmp::Reverse(hamt_position(key(x))), key(x).to_vec()));
    }
}

/// `keys` in Erlang map order (see [`sort_in_map_order`]).
pub fn map_order<'a, I, K>(keys: I) -> Vec<&'a K>
where
    I: IntoIterator<Item = &'a K>,
    K: AsRef<[u8]> + ?Sized + 'a,
{
    let mut v: Vec<&'a K> = keys.into_iter().collect();
    sort_in_map_order(&mut v, |k| k.as_ref());
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_check_values() {
        assert_eq!(erlang_hash(b""), 0xb7ba_b74d_c241_4312);
        assert_eq!(erlang_hash(b"a"), 0x0cc3_4952_02b8_8f4f);
        assert_eq!(erlang_hash(b"abc"), 0x2e29_c37d_35b2_6ecf);
        assert_eq!(erlang_hash(b"content-disposition"), 0xbba3_78af_e499_725b);
        assert_eq!(erlang_hash(b"0123456789abcdef"), 0x004d_465d_79b9_a028);
        assert_eq!(erlang_hash(b"0123456789abcdefX"), 0xb77e_b4ae_a20e_3743);
    }

    #[test]
    fn small_maps_sort_large_maps_hash() {
        let mut small: Vec<String> = (0..32).map(|i| format!("k{i}")).collect();
        sort_in_map_order(&mut small, |k| k.as_bytes());
        let mut sorted = small.clone();
        sorted.sort();
        assert_eq!(small, sorted);
        let mut large: Vec<String> = (0..33).map(|i| format!("k{i}")).collect();
        sort_in_map_order(&mut large, |k| k.as_bytes());
        assert_ne!(large, {
            let mut s = large.clone();
            s.sort();
            s
        });
    }
}
