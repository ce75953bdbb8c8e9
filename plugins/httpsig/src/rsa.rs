//! RSA-PSS-SHA512 verification (`codecs.md` §6.1, §6.6; `clients.md` §4).
//!
//! A `rsa-pss-sha512` signature is RSA-PSS over SHA-512 with MGF1-SHA-512 under the public key
//! whose modulus is the commitment's `keyid` and whose exponent is 65537 (Arweave keys).
//! HyperBEAM signs with a 64-byte salt, the JS clients with the maximum (446 bytes for a
//! 4096-bit key): verification therefore recovers the salt length from the signature instead
//! of assuming one (OpenSSL's `RSA_PSS_SALTLEN_AUTO`).
//!
//! Only public keys live here. Signing needs the node's private key, which never leaves the
//! node (`host/src/wallet`).

use crate::Error;
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::PKey;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;
use sha2::{Digest, Sha512};

/// The public exponent of every Arweave key.
pub const PUBLIC_EXPONENT: u32 = 65_537;

/// OpenSSL's `RSA_PSS_SALTLEN_AUTO`: on verification, take the salt length the signature has.
const SALT_LENGTH_AUTO: i32 = -2;

/// Smallest modulus accepted for verification, in bytes (2048 bits). Arweave keys have 4096.
const MIN_MODULUS_BYTES: usize = 256;

/// Verifies an RSA-PSS-SHA512 `signature` of `message` by the key with modulus `n` (big-endian
/// bytes, exponent 65537), whatever salt length the signer used.
///
/// `Ok(())` when the signature is valid; [`Error::SignatureMismatch`] when it is not;
/// [`Error::Signature`] when the key or signature cannot be used at all (a modulus shorter than
/// 2048 bits, a signature of the wrong length).
pub fn verify_pss_sha512(n: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
    let n = strip_leading_zeros(n);
    if n.len() < MIN_MODULUS_BYTES {
        return Err(Error::Signature(format!(
            "the key is {} bits; at least {} are required",
            n.len() * 8,
            MIN_MODULUS_BYTES * 8
        )));
    }
    if signature.len() != n.len() {
        return Err(Error::Signature(format!(
            "a signature by a {}-bit key is {} bytes, not {}",
            n.len() * 8,
            n.len(),
            signature.len()
        )));
    }
    let digest = Sha512::digest(message);
    let valid = verify_digest(n, &digest, signature).map_err(openssl_error)?;
    if valid {
        Ok(())
    } else {
        Err(Error::SignatureMismatch)
    }
}

fn verify_digest(
    n: &[u8],
    digest: &[u8],
    signature: &[u8],
) -> Result<bool, openssl::error::ErrorStack> {
    let key =
        Rsa::from_public_components(BigNum::from_slice(n)?, BigNum::from_u32(PUBLIC_EXPONENT)?)?;
    let key = PKey::from_rsa(key)?;
    let mut ctx = PkeyCtx::new(&key)?;
    ctx.verify_init()?;
    ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
    ctx.set_signature_md(Md::sha512())?;
    ctx.set_rsa_mgf1_md(Md::sha512())?;
    ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH_AUTO))?;
    // A malformed signature is an OpenSSL error rather than `false`: both mean "not valid".
    Ok(ctx.verify(digest, signature).unwrap_or(false))
}

fn strip_leading_zeros(n: &[u8]) -> &[u8] {
    let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    &n[start..]
}

fn openssl_error(e: openssl::error::ErrorStack) -> Error {
    Error::Signature(format!("RSA key unusable: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_and_wrong_length_signatures_are_refused() {
        let e = verify_pss_sha512(&[0xff; 128], b"x", &[0; 128]).unwrap_err();
        assert!(matches!(e, Error::Signature(_)), "{e}");
        let e = verify_pss_sha512(&[0xff; 512], b"x", &[0; 100]).unwrap_err();
        assert!(matches!(e, Error::Signature(_)), "{e}");
    }

    #[test]
    fn garbage_is_a_mismatch_not_a_panic() {
        let e = verify_pss_sha512(&[0xc3; 512], b"x", &[0x11; 512]).unwrap_err();
        assert_eq!(e, Error::SignatureMismatch);
    }
}
