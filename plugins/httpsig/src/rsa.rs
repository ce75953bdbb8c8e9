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

/// Verifies an RSA-PSS-SHA512 `signature` of `message` by the key with modulus `n` (big-endian
/// bytes, exponent 65537), whatever salt length the signer used.
///
/// `Ok(())` when the signature is valid; [`Error::SignatureMismatch`] when it is not;
/// [`Error::Signature`] when the check cannot be made: the node refuses a modulus shorter than
/// 2048 bits or a signature of the wrong length (`ferrobeam::verify`), and there is no one to
/// ask with no device call on this thread and no verifier installed.
pub fn verify_pss_sha512(n: &[u8], message: &[u8], signature: &[u8]) -> Result<(), Error> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_and_wrong_length_signatures_are_refused() {
        ferrobeam::verify::install();
        // The node's reasons, so the check was made and refused, not left unasked.
        let e = verify_pss_sha512(&[0xff; 128], b"x", &[0; 128]).unwrap_err();
        assert!(
            matches!(&e, Error::Signature(r) if r.contains("at least 2048")),
            "{e}"
        );
        let e = verify_pss_sha512(&[0xff; 512], b"x", &[0; 100]).unwrap_err();
        assert!(
            matches!(&e, Error::Signature(r) if r.contains("512 bytes, not 100")),
            "{e}"
        );
    }

    #[test]
    fn garbage_is_a_mismatch_not_a_panic() {
        ferrobeam::verify::install();
        let e = verify_pss_sha512(&[0xc3; 512], b"x", &[0x11; 512]).unwrap_err();
        assert_eq!(e, Error::SignatureMismatch);
    }
}
