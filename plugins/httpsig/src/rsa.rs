//! RSA-PSS-SHA512 verification (`codecs.md` §6.1, §6.6; `clients.md` §4).
//!
//! A `rsa-pss-sha512` signature is RSA-PSS over SHA-512 with MGF1-SHA-512 under the public key
//! whose modulus is the commitment's `keyid` and whose exponent is 65537 (Arweave keys).
//! HyperBEAM signs with a 64-byte salt, the JS clients with the maximum (446 bytes for a
//! 4096-bit key): verification therefore recovers the salt length from the signature instead
//! of assuming one (OpenSSL's `RSA_PSS_SALTLEN_AUTO`).
//!
//! The RSA arithmetic is the node's (`ferrobeam_device_api::crypto`): this library links no
//! cryptography library, and neither does a device library built with it. Outside a device call
//! (a test, a tool) the program installs a verifier (`crypto::set_process_verifier`).
//!
//! Only public keys live here. Signing needs the node's private key, which never leaves the
//! node (`host/src/wallet`).

use crate::Error;
use ferrobeam_device_api::crypto::{PssHash, RsaPss};
use sha2::{Digest, Sha512};

/// The public exponent of every Arweave key.
pub const PUBLIC_EXPONENT: u32 = 65_537;

/// Smallest modulus accepted for verification, in bytes (2048 bits). Arweave keys have 4096.
const MIN_MODULUS_BYTES: usize = 256;

/// Verifies an RSA-PSS-SHA512 `signature` of `message` by the key with modulus `n` (big-endian
/// bytes, exponent 65537), whatever salt length the signer used.
///
/// `Ok(())` when the signature is valid; [`Error::SignatureMismatch`] when it is not;
/// [`Error::Signature`] when the key or signature cannot be used at all (a modulus shorter than
/// 2048 bits, a signature of the wrong length), or when there is no one to check it (no device
/// call on this thread and no verifier installed).
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
    let check = RsaPss {
        key: n,
        digest: &digest,
        signature,
        hash: PssHash::Sha512,
    };
    match check.verify() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::SignatureMismatch),
        Err(e) => Err(Error::Signature(format!(
            "RSA verification: {}",
            e.reason()
        ))),
    }
}

fn strip_leading_zeros(n: &[u8]) -> &[u8] {
    let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    &n[start..]
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
        ferrobeam_device_api::crypto::set_process_verifier(ferrobeam::verify::verify_rsa_pss);
        let e = verify_pss_sha512(&[0xc3; 512], b"x", &[0x11; 512]).unwrap_err();
        assert_eq!(e, Error::SignatureMismatch);
    }
}
