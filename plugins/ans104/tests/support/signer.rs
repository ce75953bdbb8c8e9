//! Test wallets signing ANS-104 data items as aoconnect (`arbundles`) signs them: RSA-PSS over
//! SHA-256, MGF1-SHA-256, the largest salt. The library leaves the private-key operation to
//! whoever holds the key (`DataItem::sign_with`); these tests hold the test wallets'. Shared by
//! `plugins/ans104/tests` and the end-to-end tests (`tests/it/ans104.rs`).
#![allow(dead_code)] // each user takes what it needs

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ferrobeam_ans104::DataItem;
use openssl::bn::BigNum;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;
use std::path::Path;

/// OpenSSL's `RSA_PSS_SALTLEN_MAX`: what `arbundles` signs with.
const SALT_LENGTH_MAX: i32 = -3;

/// The private key of the JWK at `path` (a test wallet: every CRT number present).
pub fn key(path: &Path) -> PKey<Private> {
    let jwk: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let part = |k: &str| {
        BigNum::from_slice(&URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap()).unwrap()
    };
    let rsa = Rsa::from_private_components(
        part("n"),
        part("e"),
        part("d"),
        part("p"),
        part("q"),
        part("dp"),
        part("dq"),
        part("qi"),
    )
    .unwrap();
    PKey::from_rsa(rsa).unwrap()
}

/// Signs `item` with `key`, as aoconnect does.
pub fn sign(item: &mut DataItem, key: &PKey<Private>) {
    let owner = key.rsa().unwrap().n().to_vec_padded(512).unwrap();
    item.sign_with(owner, |digest| {
        let mut ctx = PkeyCtx::new(key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
        ctx.set_signature_md(Md::sha256())?;
        ctx.set_rsa_mgf1_md(Md::sha256())?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH_MAX))?;
        let mut signature = Vec::with_capacity(512);
        ctx.sign_to_vec(digest, &mut signature)?;
        Ok::<_, openssl::error::ErrorStack>(signature)
    })
    .unwrap();
}
