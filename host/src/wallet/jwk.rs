//! Arweave JWKs: RSA-4096 keys with e = 65537 as JSON Web Keys (RFC 7517/7518), every number
//! base64url without padding (`spec/codecs.md` §6.1).
//!
//! Arweave's own `ar_wallet` writes only `kty`, `n`, `e` and `d`. Such a key loads too: the
//! primes are recovered from `n`, `e` and `d` (NIST SP 800-56B rev. 2, appendix C.2), so the
//! node always signs with the Chinese-remainder form, which is about 4x faster.

use super::WalletError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openssl::bn::{BigNum, BigNumContext, BigNumRef};
use openssl::pkey::Private;
use openssl::rsa::{Padding, Rsa};
use serde_json::{Map, Value as Json};

/// The modulus size of every Arweave key.
pub const MODULUS_BITS: i32 = 4096;
/// The public exponent of every Arweave key.
pub const PUBLIC_EXPONENT: u32 = 65_537;

/// Reads a JWK: `kty` RSA (when given), `n`, `e` = 65537, `d`, and optionally `p`, `q`, `dp`,
/// `dq`, `qi`. The key must be 4096 bits and consistent ([`consistent`]).
pub fn parse(bytes: &[u8]) -> Result<Rsa<Private>, WalletError> {
    let json: Json = serde_json::from_slice(bytes).map_err(|e| {
        WalletError::bad(format!(
            "not JSON (line {}, column {})",
            e.line(),
            e.column()
        ))
    })?;
    let obj = json
        .as_object()
        .ok_or_else(|| WalletError::bad("not a JSON object"))?;
    if let Some(kty) = obj.get("kty") {
        if kty.as_str() != Some("RSA") {
            return Err(WalletError::bad("kty is not \"RSA\""));
        }
    }
    let n = number(obj, "n")?.ok_or_else(|| WalletError::bad("no n"))?;
    let e = number(obj, "e")?.ok_or_else(|| WalletError::bad("no e"))?;
    let d = number(obj, "d")?.ok_or_else(|| WalletError::bad("no d (not a private key)"))?;
    if n.num_bits() != MODULUS_BITS {
        return Err(WalletError::bad(format!(
            "the key is {} bits; Arweave keys are {MODULUS_BITS}",
            n.num_bits()
        )));
    }
    if e != BigNum::from_u32(PUBLIC_EXPONENT)? {
        return Err(WalletError::bad(format!(
            "e is not {PUBLIC_EXPONENT}; Arweave keys use {PUBLIC_EXPONENT}"
        )));
    }
    let (p, q) = match (number(obj, "p")?, number(obj, "q")?) {
        (Some(p), Some(q)) => (p, q),
        (None, None) => recover_primes(&n, &e, &d)?,
        _ => return Err(WalletError::bad("has one of p and q but not the other")),
    };
    let mut ctx = BigNumContext::new()?;
    let one = BigNum::from_u32(1)?;
    let mut p1 = BigNum::new()?;
    p1.checked_sub(&p, &one)?;
    let mut q1 = BigNum::new()?;
    q1.checked_sub(&q, &one)?;
    let mut dp = BigNum::new()?;
    dp.nnmod(&d, &p1, &mut ctx)?;
    let mut dq = BigNum::new()?;
    dq.nnmod(&d, &q1, &mut ctx)?;
    let mut qi = BigNum::new()?;
    qi.mod_inverse(&q, &p, &mut ctx)?;
    let key = Rsa::from_private_components(n, e, d, p, q, dp, dq, qi)?;
    if !consistent(&key, &p1, &q1, &mut ctx).unwrap_or(false) {
        return Err(WalletError::bad("the key's numbers are inconsistent"));
    }
    Ok(key)
}

/// Whether `key` (with p − 1 and q − 1 given) is a working RSA key: p·q = n, d·e ≡ 1 (mod p − 1)
/// and (mod q − 1), and its private operation undoes its public one on a test value.
///
/// `RSA_check_key` tests the primality of p and q instead of the last: 64 Miller–Rabin rounds
/// on each 2048-bit prime, ~200 ms, every time a node or a `wallet` command starts. A key with
/// a composite factor that passes the first two checks fails the last (its private operation
/// does not invert the public one), which costs one signature, ~1.5 ms.
fn consistent(
    key: &Rsa<Private>,
    p1: &BigNumRef,
    q1: &BigNumRef,
    ctx: &mut BigNumContext,
) -> Result<bool, openssl::error::ErrorStack> {
    let (Some(p), Some(q)) = (key.p(), key.q()) else {
        return Ok(false);
    };
    let mut n = BigNum::new()?;
    n.checked_mul(p, q, ctx)?;
    if n != *key.n() {
        return Ok(false);
    }
    let mut de = BigNum::new()?;
    de.checked_mul(key.d(), key.e(), ctx)?;
    let one = BigNum::from_u32(1)?;
    for m in [p1, q1] {
        let mut rem = BigNum::new()?;
        rem.nnmod(&de, m, ctx)?;
        if rem != one {
            return Ok(false);
        }
    }
    // A value below n (a leading zero byte) through the private operation and back.
    let size = key.size() as usize;
    let mut value = vec![0x5a; size];
    value[0] = 0;
    let mut signed = vec![0; size];
    let mut back = vec![0; size];
    let signed_len = key.private_encrypt(&value, &mut signed, Padding::NONE)?;
    let back_len = key.public_decrypt(&signed[..signed_len], &mut back, Padding::NONE)?;
    Ok(back[..back_len] == value[..])
}

/// The JWK of `key`: `kty`, `n`, `e`, `d`, `p`, `q`, `dp`, `dq`, `qi`.
pub fn to_json(key: &Rsa<Private>) -> Result<Vec<u8>, WalletError> {
    let missing = || WalletError::bad("the key has no CRT parameters");
    let mut obj = Map::new();
    obj.insert("kty".to_owned(), Json::from("RSA"));
    let fields: [(&str, Option<&BigNumRef>); 8] = [
        ("n", Some(key.n())),
        ("e", Some(key.e())),
        ("d", Some(key.d())),
        ("p", key.p()),
        ("q", key.q()),
        ("dp", key.dmp1()),
        ("dq", key.dmq1()),
        ("qi", key.iqmp()),
    ];
    for (name, value) in fields {
        let value = value.ok_or_else(missing)?;
        obj.insert(
            name.to_owned(),
            Json::from(URL_SAFE_NO_PAD.encode(value.to_vec())),
        );
    }
    serde_json::to_vec_pretty(&Json::Object(obj))
        .map_err(|e| WalletError::bad(format!("cannot serialise ({:?})", e.classify())))
}

/// A base64url number member, if present.
fn number(obj: &Map<String, Json>, name: &str) -> Result<Option<BigNum>, WalletError> {
    let Some(value) = obj.get(name) else {
        return Ok(None);
    };
    let text = value
        .as_str()
        .ok_or_else(|| WalletError::bad(format!("{name} is not a string")))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(text.trim_end_matches('='))
        .map_err(|_| WalletError::bad(format!("{name} is not base64url")))?;
    Ok(Some(BigNum::from_slice(&bytes)?))
}

/// Factors `n` knowing `e` and `d` (SP 800-56B rev. 2, C.2): with k = d·e − 1 = 2^t·r, r odd,
/// for a base g some g^(r·2^i) is a non-trivial square root of 1 mod n, and
/// gcd(that − 1, n) is a prime factor. Each base succeeds with probability ≥ 1/2.
fn recover_primes(n: &BigNum, e: &BigNum, d: &BigNum) -> Result<(BigNum, BigNum), WalletError> {
    let mut ctx = BigNumContext::new()?;
    let one = BigNum::from_u32(1)?;
    let mut k = BigNum::new()?;
    k.checked_mul(d, e, &mut ctx)?;
    let mut k_minus_1 = BigNum::new()?;
    k_minus_1.checked_sub(&k, &one)?;
    let k = k_minus_1;
    let mut t = 0;
    while t < k.num_bits() && !k.is_bit_set(t) {
        t += 1;
    }
    if t == 0 {
        return Err(WalletError::bad(
            "d·e − 1 is odd: d does not belong to n and e",
        ));
    }
    let mut r = BigNum::new()?;
    r.rshift(&k, t)?;
    let mut n_minus_1 = BigNum::new()?;
    n_minus_1.checked_sub(n, &one)?;
    for g in SMALL_PRIMES {
        let g = BigNum::from_u32(g)?;
        let mut y = BigNum::new()?;
        y.mod_exp(&g, &r, n, &mut ctx)?;
        if y == one || y == n_minus_1 {
            continue;
        }
        for _ in 0..t {
            let mut x = BigNum::new()?;
            x.mod_sqr(&y, n, &mut ctx)?;
            if x == one {
                let mut y_minus_1 = BigNum::new()?;
                y_minus_1.checked_sub(&y, &one)?;
                let mut p = BigNum::new()?;
                p.gcd(&y_minus_1, n, &mut ctx)?;
                let mut q = BigNum::new()?;
                q.checked_div(n, &p, &mut ctx)?;
                return Ok((p, q));
            }
            if x == n_minus_1 {
                break;
            }
            y = x;
        }
    }
    Err(WalletError::bad(
        "cannot recover p and q: d does not belong to n and e",
    ))
}

/// Bases tried when factoring; a wrong d fails them all, a right one almost surely succeeds
/// on the first few.
const SMALL_PRIMES: [u32; 25] = [
    2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97,
];
