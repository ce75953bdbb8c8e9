//! RSA-PSS signature checks for devices: the host operation `verify/rsa-pss`
//! ([`operation::VERIFY_RSA_PSS`]).
//!
//! Devices check commitments through the node, whose OpenSSL does the arithmetic, so no device
//! library links a cryptography library of its own (`ferrobeam_device_api::crypto`). The
//! exponent is 65537, as for every Arweave key; the salt length is read from the signature
//! (OpenSSL's `RSA_PSS_SALTLEN_AUTO`), since HyperBEAM signs with 64 bytes and the JS clients
//! with the most the key allows.
//!
//! [`verify_rsa_pss`] is also the verifier a program using device libraries outside a node
//! installs (`crypto::set_process_verifier`): the tests and `ferrobeam-verify` do.
//!
//! [`operation::VERIFY_RSA_PSS`]: ferrobeam_device_api::host::operation::VERIFY_RSA_PSS

use ferrobeam_device_api::crypto::{PssHash, RsaPss};
use ferrobeam_device_api::DeviceError;
use openssl::bn::BigNum;
use openssl::md::{Md, MdRef};
use openssl::pkey::PKey;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;

/// The public exponent of every Arweave key.
const PUBLIC_EXPONENT: u32 = 65_537;

/// OpenSSL's `RSA_PSS_SALTLEN_AUTO`: on verification, take the salt length the signature has.
const SALT_LENGTH_AUTO: i32 = -2;

/// The smallest modulus checked, in bytes (2048 bits). Arweave keys have 4096.
pub const MIN_KEY_BYTES: usize = 256;

/// Installs [`verify_rsa_pss`] as this process's verifier (`crypto::set_process_verifier`), for
/// a program that uses device libraries outside a node: a test, a tool, a fuzz target. A node
/// needs none: device calls ask it. Idempotent.
///
/// ```
/// use ferrobeam_device_api::crypto::{PssHash, RsaPss};
/// ferrobeam::verify::install();
/// let garbage = RsaPss { key: &[0xc3; 512], digest: &[1; 64], signature: &[0x11; 512],
///                        hash: PssHash::Sha512 };
/// assert_eq!(garbage.verify().unwrap(), false); // checked by OpenSSL, not refused
/// ```
pub fn install() {
    ferrobeam_device_api::crypto::set_process_verifier(verify_rsa_pss);
}

/// Whether `check.signature` is a valid RSA-PSS signature of `check.digest` under
/// `check.key`: `Ok(false)` when it is not (a malformed signature included); a 400 error when
/// the check cannot be made (a key under 2048 bits, a signature whose length is not the
/// key's, a digest of the wrong length for its hash).
///
/// ```
/// use ferrobeam::verify::verify_rsa_pss;
/// use ferrobeam_device_api::crypto::{PssHash, RsaPss};
/// let garbage = RsaPss { key: &[0xc3; 512], digest: &[1; 64], signature: &[0x11; 512],
///                        hash: PssHash::Sha512 };
/// assert_eq!(verify_rsa_pss(&garbage).unwrap(), false);
/// let short = RsaPss { key: &[0xff; 128], ..garbage };
/// assert_eq!(verify_rsa_pss(&short).unwrap_err().kind().status(), 400);
/// ```
pub fn verify_rsa_pss(check: &RsaPss<'_>) -> Result<bool, DeviceError> {
    let key = strip_leading_zeros(check.key);
    if key.len() < MIN_KEY_BYTES {
        return Err(DeviceError::bad_request(format!(
            "the key is {} bits; at least {} are required",
            key.len() * 8,
            MIN_KEY_BYTES * 8
        )));
    }
    if check.signature.len() != key.len() {
        return Err(DeviceError::bad_request(format!(
            "a signature by a {}-bit key is {} bytes, not {}",
            key.len() * 8,
            key.len(),
            check.signature.len()
        )));
    }
    if check.digest.len() != check.hash.digest_len() {
        return Err(DeviceError::bad_request(format!(
            "a {} digest is {} bytes, not {}",
            check.hash.name(),
            check.hash.digest_len(),
            check.digest.len()
        )));
    }
    let md = match check.hash {
        PssHash::Sha256 => Md::sha256(),
        PssHash::Sha512 => Md::sha512(),
    };
    verify_digest(key, check.digest, check.signature, md)
        .map_err(|e| DeviceError::bad_request(format!("the RSA key is unusable: {e}")))
}

fn verify_digest(
    n: &[u8],
    digest: &[u8],
    signature: &[u8],
    md: &MdRef,
) -> Result<bool, openssl::error::ErrorStack> {
    let key =
        Rsa::from_public_components(BigNum::from_slice(n)?, BigNum::from_u32(PUBLIC_EXPONENT)?)?;
    let key = PKey::from_rsa(key)?;
    let mut ctx = PkeyCtx::new(&key)?;
    ctx.verify_init()?;
    ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
    ctx.set_signature_md(md)?;
    ctx.set_rsa_mgf1_md(md)?;
    ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH_AUTO))?;
    // A malformed signature is an OpenSSL error rather than `false`: both mean "not valid".
    Ok(ctx.verify(digest, signature).unwrap_or(false))
}

fn strip_leading_zeros(n: &[u8]) -> &[u8] {
    let start = n.iter().position(|&b| b != 0).unwrap_or(n.len());
    &n[start..]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::wallet::Wallet;
    use sha2::{Digest, Sha512};

    fn wallet() -> Wallet {
        let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors");
        Wallet::load(&vectors.join("wallets/test-wallet-1.json")).unwrap()
    }

    #[test]
    fn the_nodes_own_signatures_verify_and_altered_ones_do_not() {
        let w = wallet();
        let signature = w.sign(b"base").unwrap();
        let mut altered = signature.clone();
        altered[100] ^= 1;
        let digest = Sha512::digest(b"base");
        let other = Sha512::digest(b"other");
        let check = RsaPss {
            key: w.modulus(),
            digest: &digest,
            signature: &signature,
            hash: PssHash::Sha512,
        };
        assert!(verify_rsa_pss(&check).unwrap());
        for bad in [
            RsaPss {
                digest: &other,
                ..check
            },
            RsaPss {
                hash: PssHash::Sha256,
                digest: &digest[..32],
                ..check
            },
            RsaPss {
                signature: &altered,
                ..check
            },
        ] {
            assert!(!verify_rsa_pss(&bad).unwrap(), "{bad:?}");
        }
    }

    #[test]
    fn checks_that_cannot_be_made_are_bad_requests() {
        let w = wallet();
        let digest = [0u8; 64];
        let sig = [1u8; 512];
        let check = RsaPss {
            key: w.modulus(),
            digest: &digest,
            signature: &sig,
            hash: PssHash::Sha512,
        };
        for bad in [
            RsaPss {
                signature: &sig[..100],
                ..check
            },
            RsaPss {
                digest: &digest[..32],
                ..check
            },
            RsaPss {
                key: &w.modulus()[..128],
                signature: &sig[..128],
                ..check
            },
        ] {
            assert_eq!(
                verify_rsa_pss(&bad).unwrap_err().kind().status(),
                400,
                "{bad:?}"
            );
        }
    }
}
