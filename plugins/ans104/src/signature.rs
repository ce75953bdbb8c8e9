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
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;
use sha2::{Digest, Sha256, Sha384};

/// The public exponent of every Arweave key.
const PUBLIC_EXPONENT: u32 = 65_537;
/// OpenSSL's `RSA_PSS_SALTLEN_AUTO`.
const SALT_LENGTH_AUTO: i32 = -2;
/// OpenSSL's `RSA_PSS_SALTLEN_MAX`: what `arbundles` signs with.
const SALT_LENGTH_MAX: i32 = -3;

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

    /// Checks the signature against `owner`.
    pub fn verify(&self) -> Result<(), Error> {
        if self.owner.len() != RSA_4096_BYTES || self.signature.len() != RSA_4096_BYTES {
            return Err(Error::SignatureMismatch);
        }
        let digest = Sha256::digest(self.signature_data());
        let key = Rsa::from_public_components(
            BigNum::from_slice(&self.owner)?,
            BigNum::from_u32(PUBLIC_EXPONENT)?,
        )?;
        let key = PKey::from_rsa(key)?;
        let mut ctx = PkeyCtx::new(&key)?;
        ctx.verify_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
        ctx.set_signature_md(Md::sha256())?;
        ctx.set_rsa_mgf1_md(Md::sha256())?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH_AUTO))?;
        // A malformed signature is an OpenSSL error rather than `false`: both mean "not valid".
        if ctx.verify(&digest, &self.signature).unwrap_or(false) {
            Ok(())
        } else {
            Err(Error::SignatureMismatch)
        }
    }

    /// Signs the item with an RSA-4096 private key, as `arbundles` does (PSS-SHA256, maximum
    /// salt): sets `owner` to the key's modulus and `signature`.
    pub fn sign(&mut self, key: &PKey<Private>) -> Result<(), Error> {
        let rsa = key.rsa()?;
        let owner = rsa.n().to_vec_padded(RSA_4096_BYTES as i32)?;
        self.owner = owner;
        let digest = Sha256::digest(self.signature_data());
        let mut ctx = PkeyCtx::new(key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
        ctx.set_signature_md(Md::sha256())?;
        ctx.set_rsa_mgf1_md(Md::sha256())?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH_MAX))?;
        let mut signature = Vec::with_capacity(RSA_4096_BYTES);
        ctx.sign_to_vec(&digest, &mut signature)?;
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
