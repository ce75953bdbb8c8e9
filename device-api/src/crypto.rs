//! Signature checks for device code: RSA-PSS, done by the node.
//!
//! A device that checks signatures (commitments, ANS-104 data items) asks the node to do the
//! RSA arithmetic ([`operation::VERIFY_RSA_PSS`]), which links the process's one OpenSSL. So a
//! device library carries no cryptography library of its own: one was ~5 MB of each library
//! that verified, read, hashed and copied on every load and reload, and one more copy to patch.
//!
//! [`RsaPss::verify`] reaches the node of the device call running on this thread
//! ([`Host::current`]). A program that uses device libraries outside a node (a test, a
//! command-line tool) installs a verifier for itself instead ([`set_process_verifier`]).
//!
//! ```
//! use ferrobeam_device_api::crypto::{PssHash, RsaPss};
//! use ferrobeam_device_api::testing::{TestDevice, TestHost};
//! # use ferrobeam_device_api::{device_methods, Device, DeviceError, InitContext, Message, Opts};
//! # struct Checker;
//! # impl Device for Checker {
//! #     const NAME: &'static str = "checker@1.0";
//! #     fn init(_: InitContext) -> Result<Self, DeviceError> { Ok(Checker) }
//! # }
//! impl Checker {
//!     /// Whether `signature` signs `digest` (SHA-512) under the key `n`.
//!     fn check(&self, _base: &Message, req: &Message, _opts: &Opts) -> Result<bool, DeviceError> {
//!         let field = |k: &str| req.get(k).and_then(|v| v.as_bytes()).unwrap_or_default();
//!         RsaPss { key: field("n"), digest: field("digest"), signature: field("signature"),
//!                  hash: PssHash::Sha512 }
//!             .verify()
//!     }
//! }
//! # device_methods!(Checker { check });
//! // In a unit test the stand-in node answers with the process's verifier, here one that
//! // takes every signature of 512 bytes:
//! ferrobeam_device_api::crypto::set_process_verifier(|c| Ok(c.signature.len() == 512));
//! let dev = TestDevice::<Checker>::new().unwrap();
//! let req = Message::new().with("n", vec![1u8; 512]).with("digest", vec![2u8; 64])
//!     .with("signature", vec![3u8; 512]);
//! assert_eq!(dev.call("check", &Message::new(), &req).unwrap().as_bool(), Some(true));
//! ```
//!
//! [`operation::VERIFY_RSA_PSS`]: crate::host::operation::VERIFY_RSA_PSS

use crate::host::operation;
use crate::{DeviceError, Host, Message, Value};
use std::sync::OnceLock;

/// The hash of an RSA-PSS signature, for the digest and for MGF1 alike.
///
/// ```
/// use ferrobeam_device_api::crypto::PssHash;
/// assert_eq!(PssHash::from_name("sha512"), Some(PssHash::Sha512));
/// assert_eq!(PssHash::Sha256.name(), "sha256");
/// assert_eq!(PssHash::Sha512.digest_len(), 64);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PssHash {
    /// SHA-256: ANS-104 data items.
    Sha256,
    /// SHA-512: HTTP message signatures (`rsa-pss-sha512`).
    Sha512,
}

impl PssHash {
    /// Its name in a [`operation::VERIFY_RSA_PSS`] payload.
    pub fn name(self) -> &'static str {
        match self {
            PssHash::Sha256 => "sha256",
            PssHash::Sha512 => "sha512",
        }
    }

    /// The hash named `name`.
    pub fn from_name(name: &str) -> Option<PssHash> {
        match name {
            "sha256" => Some(PssHash::Sha256),
            "sha512" => Some(PssHash::Sha512),
            _ => None,
        }
    }

    /// The length of its digests in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            PssHash::Sha256 => 32,
            PssHash::Sha512 => 64,
        }
    }
}

/// One RSA-PSS check: whether `signature` signs a message whose hash is `digest`, under the
/// key whose modulus is `key` (big-endian bytes; the exponent is 65537, as for every Arweave
/// key), whatever salt length the signer used (HyperBEAM signs with 64 bytes, the JS clients
/// with the most the key allows).
///
/// ```
/// use ferrobeam_device_api::crypto::{PssHash, RsaPss};
/// let check = RsaPss { key: &[0xc5; 512], digest: &[7; 64], signature: &[9; 512],
///                      hash: PssHash::Sha512 };
/// let payload = check.to_payload();
/// assert_eq!(payload.get_str("hash"), Some("sha512"));
/// assert_eq!(RsaPss::from_payload(&payload).unwrap().digest, &[7; 64][..]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsaPss<'a> {
    /// The modulus `n`, big-endian.
    pub key: &'a [u8],
    /// The hash of the signed message.
    pub digest: &'a [u8],
    /// The signature.
    pub signature: &'a [u8],
    /// The hash the signer used.
    pub hash: PssHash,
}

/// A verifier a program installs for itself with [`set_process_verifier`]: `Ok(false)` for a
/// signature that does not verify, an error for a check that cannot be made. The node's own,
/// `ferrobeam::verify::verify_rsa_pss`, is one.
///
/// ```
/// use ferrobeam_device_api::crypto::{PssHash, RsaPss, Verifier};
/// use ferrobeam_device_api::DeviceError;
/// let refuse_short_keys: Verifier = |c| match c.key.len() {
///     n if n < 256 => Err(DeviceError::bad_request("the key is under 2048 bits")),
///     _ => Ok(false),
/// };
/// let check = RsaPss { key: &[1; 128], digest: &[0; 64], signature: &[2; 128],
///                      hash: PssHash::Sha512 };
/// assert_eq!(refuse_short_keys(&check).unwrap_err().kind().status(), 400);
/// ```
pub type Verifier = fn(&RsaPss<'_>) -> Result<bool, DeviceError>;

static PROCESS_VERIFIER: OnceLock<Verifier> = OnceLock::new();

/// Installs `verifier` for the checks made on threads that run no device call (a test, a
/// command-line tool using a codec library); the first one installed stays. Returns whether
/// `verifier` is the one installed. The node installs none: device calls use the node.
///
/// ```
/// use ferrobeam_device_api::crypto::{set_process_verifier, PssHash, RsaPss};
/// fn none_verify(_: &RsaPss<'_>) -> Result<bool, ferrobeam_device_api::DeviceError> {
///     Ok(false)
/// }
/// assert!(set_process_verifier(none_verify));
/// let check = RsaPss { key: &[1; 512], digest: &[0; 32], signature: &[2; 512],
///                      hash: PssHash::Sha256 };
/// assert_eq!(check.verify().unwrap(), false);
/// ```
pub fn set_process_verifier(verifier: Verifier) -> bool {
    let installed = *PROCESS_VERIFIER.get_or_init(|| verifier);
    std::ptr::fn_addr_eq(installed, verifier)
}

impl<'a> RsaPss<'a> {
    /// Whether the signature verifies: asked of the node of the device call running on this
    /// thread, else of the process's verifier ([`set_process_verifier`]). An error when
    /// neither is there, or when the node cannot make the check (a key under 2048 bits, a
    /// signature whose length is not the key's: 400).
    ///
    /// ```
    /// use ferrobeam_device_api::crypto::{PssHash, RsaPss};
    /// let check = RsaPss { key: &[1; 512], digest: &[0; 64], signature: &[2; 512],
    ///                      hash: PssHash::Sha512 };
    /// // No device call runs on this thread and this program installed no verifier:
    /// let e = check.verify().unwrap_err();
    /// assert!(e.reason().contains("needs the node"), "{e}");
    /// ```
    pub fn verify(&self) -> Result<bool, DeviceError> {
        match Host::current() {
            Some(host) => {
                let answer = host.call(operation::VERIFY_RSA_PSS, &self.to_payload())?;
                answer.as_bool().ok_or_else(|| {
                    DeviceError::failure(format!(
                        "{}: the node answered a {}, not true or false",
                        operation::VERIFY_RSA_PSS,
                        answer.type_name()
                    ))
                })
            }
            None => self.verify_in_process(),
        }
    }

    /// The check by the process's verifier only (what a stand-in node answers with).
    pub(crate) fn verify_in_process(&self) -> Result<bool, DeviceError> {
        let verifier = PROCESS_VERIFIER.get().ok_or_else(|| {
            DeviceError::failure(
                "RSA-PSS verification needs the node: no device call is running on this \
                 thread, and no verifier is installed (crypto::set_process_verifier)",
            )
        })?;
        verifier(self)
    }

    /// The [`operation::VERIFY_RSA_PSS`] payload: `{key, digest, signature, hash}` (see
    /// [`RsaPss`] for an example).
    pub fn to_payload(&self) -> Message {
        Message::with_capacity(4)
            .with("key", self.key)
            .with("digest", self.digest)
            .with("signature", self.signature)
            .with("hash", self.hash.name())
    }

    /// The check a [`operation::VERIFY_RSA_PSS`] payload asks for; a 400 error when a field is
    /// missing or `hash` is neither `sha256` nor `sha512`.
    ///
    /// ```
    /// use ferrobeam_device_api::crypto::RsaPss;
    /// use ferrobeam_device_api::Message;
    /// let payload = Message::new().with("key", vec![1u8; 512]).with("digest", vec![0u8; 64])
    ///     .with("signature", vec![2u8; 512]).with("hash", "md5");
    /// let e = RsaPss::from_payload(&payload).unwrap_err();
    /// assert_eq!(e.kind().status(), 400);
    /// assert!(e.reason().contains("sha256 or sha512"), "{e}");
    /// ```
    pub fn from_payload(payload: &'a Message) -> Result<RsaPss<'a>, DeviceError> {
        let bytes = |key: &str| {
            payload.get(key).and_then(Value::as_bytes).ok_or_else(|| {
                DeviceError::bad_request(format!(
                    "{} needs bytes `{key}`",
                    operation::VERIFY_RSA_PSS
                ))
            })
        };
        let hash = payload
            .get_str("hash")
            .and_then(PssHash::from_name)
            .ok_or_else(|| {
                DeviceError::bad_request(format!(
                    "{} needs `hash`: sha256 or sha512",
                    operation::VERIFY_RSA_PSS
                ))
            })?;
        Ok(RsaPss {
            key: bytes("key")?,
            digest: bytes("digest")?,
            signature: bytes("signature")?,
            hash,
        })
    }
}
