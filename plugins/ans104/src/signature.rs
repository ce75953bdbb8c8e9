//! What an item's signature covers (the deep hash), verifying it, signing, and the item ID.
//!
//! The signed data is `deepHash(["dataitem", "1", "1", owner, target, anchor, tags, data])`,
//! where `tags` is the encoded tag block and absent target/anchor are empty; the deep hash is
//! Arweave's SHA-384 construction. The signature is RSA-PSS over SHA-256 (MGF1-SHA-256) under
//! the key whose modulus is `owner` and whose exponent is 65537. Clients sign with the maximum
//! salt (478 bytes for RSA-4096), so verification recovers the salt length from the signature.
//! The item's ID is `sha256(signature)`.

use crate::item::{DataItem, RSA_4096_BYTES};
use crate::{avro, Error};
use ferrobeam_device_api::crypto::{PssHash, RsaPss};
use sha2::{Digest, Sha256, Sha384};

/// Arweave's deep hash of a list of byte strings (each leaf a `blob`).
pub fn deep_hash(leaves: &[&[u8]]) -> [u8; 48] {
    let mut acc: [u8; 48] = Sha384::digest(format!("list{}", leaves.len())).into();
    for leaf in leaves {
        let tag = Sha384::digest(format!("blob{}", leaf.len()));
        let body = Sha384::digest(leaf);
        let leaf_hash = Sha384::new()
            .chain_update(tag)
            .chain_update(body)
            .finalize();
        acc = Sha384::new()
            .chain_update(acc)
            .chain_update(leaf_hash)
            .finalize()
            .into();
    }
    acc
}

impl DataItem {
    /// The 48 bytes the signature signs.
    pub fn signature_data(&self) -> [u8; 48] {
        let tags = avro::encode(&self.tags);
        let target: &[u8] = self.target.as_ref().map_or(&[], |t| t.as_slice());
        let anchor: &[u8] = self.anchor.as_ref().map_or(&[], |a| a.as_slice());
        deep_hash(&[
            b"dataitem",
            b"1",
            b"1",
            &self.owner,
            target,
            anchor,
            &tags,
            &self.data,
        ])
    }

    /// The item's raw ID: `sha256(signature)`.
    pub fn raw_id(&self) -> [u8; 32] {
        Sha256::digest(&self.signature).into()
    }

    /// The ID as text (base64url, 43 characters).
    pub fn id(&self) -> String {
        crate::b64(&self.raw_id())
    }

    /// The signer's address: base64url(sha256(owner)).
    pub fn owner_address(&self) -> String {
        crate::b64(&Sha256::digest(&self.owner))
    }

    /// Whether the item is signed at all (a zero signature is "unsigned").
    pub fn is_signed(&self) -> bool {
        self.signature.iter().any(|&b| b != 0)
    }

    /// Checks the signature against `owner`. The RSA arithmetic is the node's
    /// (`ferrobeam_device_api::crypto`): this library links no cryptography library.
    pub fn verify(&self) -> Result<(), Error> {
        if self.owner.len() != RSA_4096_BYTES || self.signature.len() != RSA_4096_BYTES {
            return Err(Error::SignatureMismatch);
        }
        let digest = Sha256::digest(self.signature_data());
        let check = RsaPss {
            key: &self.owner,
            digest: &digest,
            signature: &self.signature,
            hash: PssHash::Sha256,
        };
        match check.verify() {
            Ok(true) => Ok(()),
            Ok(false) => Err(Error::SignatureMismatch),
            Err(e) => Err(Error::Crypto(e.reason().to_owned())),
        }
    }

    /// Signs the item as `owner` (the signer's 512-byte modulus): `sign` makes the RSA-PSS-SHA256
    /// signature (MGF1-SHA-256; `arbundles` uses the largest salt) of the digest it is given,
    /// SHA-256 of the deep hash, with the private key this library never sees.
    ///
    /// ```
    /// use ferrobeam_ans104::DataItem;
    /// let mut item = DataItem::unsigned(Vec::new(), b"hi".to_vec());
    /// item.sign_with(vec![0xc5; 512], |digest| {
    ///     assert_eq!(digest.len(), 32);
    ///     Ok::<_, String>(vec![7; 512]) // a real signer signs `digest` here
    /// }).unwrap();
    /// assert!(item.is_signed());
    /// ```
    pub fn sign_with<E: std::fmt::Display>(
        &mut self,
        owner: Vec<u8>,
        sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, E>,
    ) -> Result<(), Error> {
        if owner.len() != RSA_4096_BYTES {
            return Err(Error::Crypto(format!(
                "the owner is {} bytes, not {RSA_4096_BYTES}",
                owner.len()
            )));
        }
        self.owner = owner;
        let digest = Sha256::digest(self.signature_data());
        let signature = sign(&digest).map_err(|e| Error::Crypto(e.to_string()))?;
        if signature.len() != RSA_4096_BYTES {
            return Err(Error::Crypto(format!(
                "the signature is {} bytes, not {RSA_4096_BYTES}",
                signature.len()
            )));
        }
        self.signature = signature;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_hash_of_nothing_is_the_hash_of_its_list_tag() {
        assert_eq!(
            deep_hash(&[]).as_slice(),
            Sha384::digest(b"list0").as_slice()
        );
    }

    #[test]
    fn unsigned_items_do_not_verify() {
        let item = DataItem::unsigned(Vec::new(), b"x".to_vec());
        assert!(!item.is_signed());
        assert!(item.verify().is_err());
    }
}
