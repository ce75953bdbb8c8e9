//! The node's wallet: the RSA-4096 key (an Arweave JWK) the node signs every response with
//! (`spec/codecs.md` §6.1, §10.2).
//!
//! * **Where it comes from.** `ferrobeam serve` takes the wallet file from `--wallet` (or
//!   `FERROBEAM_WALLET`), else `[node] wallet` in `devices.toml`, else
//!   `ferrobeam-wallet.json` next to `devices.toml`. A missing file is created on first start
//!   (mode 0600) and its address logged; `ferrobeam wallet new` makes one explicitly and
//!   `ferrobeam wallet address` prints the address of one.
//! * **What identifies it.** The key ID is base64url of the modulus `n`; the address (the
//!   `committer` of its signatures, the node's `address`) is base64url(sha256(n)).
//! * **What never leaves it.** The private key is held here and used here only. Nothing in this
//!   module logs, formats or returns `d`, `p`, `q` or the JWK, except the one write of a new
//!   wallet file. Devices reach it only through the `sign` host operation, which `devices.toml`
//!   must grant.
//!
//! Signing is RSA-PSS-SHA512 with a 64-byte salt, as HyperBEAM signs. OpenSSL does the
//! private-key operation: on this machine it signs RSA-4096 about 3x faster than the pure-Rust
//! `rsa` crate (`BENCHMARKS.md`), and a pool of prepared signing contexts brings it to the speed
//! of `openssl speed rsa4096`.

mod cache;
mod error;
mod file;
mod jwk;
mod signer;
pub mod speed;

pub use cache::{CacheStats, SignatureCache};
pub use error::WalletError;
pub use signer::{Signer, SigningTotals};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use openssl::md::Md;
use openssl::pkey::{PKey, Private};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::{Padding, Rsa};
use openssl::sign::RsaPssSaltlen;
use sha2::{Digest, Sha256, Sha512};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The file name of the wallet when none is configured, next to `devices.toml`.
pub const DEFAULT_FILE: &str = "ferrobeam-wallet.json";

/// The PSS salt length HyperBEAM signs with: the SHA-512 digest length.
pub const SALT_LENGTH: i32 = 64;

/// Signing contexts kept ready for reuse; more concurrent signers simply make more.
const MAX_POOLED_CONTEXTS: usize = 64;

/// An RSA-4096 wallet able to sign.
pub struct Wallet {
    key: PKey<Private>,
    modulus: Vec<u8>,
    address: String,
    contexts: Mutex<Vec<PkeyCtx<Private>>>,
}

impl fmt::Debug for Wallet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the key: only who it is.
        f.debug_struct("Wallet")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// How [`Wallet::load_or_create`] found the wallet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Read from an existing file.
    Loaded,
    /// Generated now and written to the file.
    Created,
}

impl Wallet {
    /// A wallet from JWK text (see [`jwk`](self) for what is accepted).
    pub fn from_jwk(bytes: &[u8]) -> Result<Wallet, WalletError> {
        Wallet::from_rsa(jwk::parse(bytes)?)
    }

    /// Reads the wallet at `path`.
    pub fn load(path: &Path) -> Result<Wallet, WalletError> {
        let mut bytes = file::read(path)?;
        let wallet = Wallet::from_jwk(&bytes).map_err(|e| e.at(path));
        // The file's text holds the private key: do not leave it in freed memory.
        bytes.fill(0);
        wallet
    }

    /// Generates a new RSA-4096 wallet (e = 65537). Takes about a second.
    pub fn generate() -> Result<Wallet, WalletError> {
        let e = openssl::bn::BigNum::from_u32(jwk::PUBLIC_EXPONENT)?;
        let key = Rsa::generate_with_e(jwk::MODULUS_BITS as u32, &e)?;
        Wallet::from_rsa(key)
    }

    /// Generates a wallet and writes it to `path` (mode 0600); refuses to replace a file.
    pub fn create(path: &Path) -> Result<Wallet, WalletError> {
        if path.exists() {
            return Err(WalletError::Exists(path.to_owned()));
        }
        let wallet = Wallet::generate()?;
        let mut json = jwk::to_json(&wallet.key.rsa()?)?;
        let written = file::write_new(path, &json);
        // The serialised key is not left lying around in freed memory.
        json.fill(0);
        written?;
        Ok(wallet)
    }

    /// Reads the wallet at `path`, creating it first when there is no such file.
    pub fn load_or_create(path: &Path) -> Result<(Wallet, Origin), WalletError> {
        if path.exists() {
            return Ok((Wallet::load(path)?, Origin::Loaded));
        }
        match Wallet::create(path) {
            Ok(w) => Ok((w, Origin::Created)),
            // Another process created it meanwhile.
            Err(WalletError::Exists(_)) => Ok((Wallet::load(path)?, Origin::Loaded)),
            Err(e) => Err(e),
        }
    }

    fn from_rsa(key: Rsa<Private>) -> Result<Wallet, WalletError> {
        let modulus = key.n().to_vec();
        let address = URL_SAFE_NO_PAD.encode(Sha256::digest(&modulus));
        Ok(Wallet {
            key: PKey::from_rsa(key)?,
            modulus,
            address,
            contexts: Mutex::new(Vec::new()),
        })
    }

    /// The address: base64url(sha256(n)), 43 characters (`§6.1`).
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The key ID: base64url(n), 683 characters (`§6.1`).
    pub fn keyid(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.modulus)
    }

    /// The public modulus `n`, big-endian.
    pub fn modulus(&self) -> &[u8] {
        &self.modulus
    }

    /// A fresh RSA-PSS-SHA512 signature of `data` (MGF1-SHA-512, 64-byte salt).
    pub fn sign(&self, data: &[u8]) -> Result<Vec<u8>, WalletError> {
        let digest = Sha512::digest(data);
        let mut ctx = match self.pool().pop() {
            Some(ctx) => ctx,
            None => self.signing_context()?,
        };
        let mut signature = Vec::with_capacity(self.modulus.len());
        let signed = ctx.sign_to_vec(&digest, &mut signature);
        if signed.is_ok() {
            let mut pool = self.pool();
            if pool.len() < MAX_POOLED_CONTEXTS {
                pool.push(ctx);
            }
        }
        signed?;
        Ok(signature)
    }

    /// Does on this thread, now, what its first signature would otherwise do while a client
    /// waits: OpenSSL computes a key's Montgomery contexts on its first private-key operation,
    /// and (since 3.6) a blinding for each thread on that thread's first, ~1 ms for RSA-4096.
    /// Signs once and keeps the signing context for reuse. `serve` calls it before it listens,
    /// and the edge on each call thread that starts with it (`CallPool::prepared`).
    pub fn prepare_thread(&self) -> Result<(), WalletError> {
        self.sign(b"prepare").map(drop)
    }

    fn signing_context(&self) -> Result<PkeyCtx<Private>, WalletError> {
        let mut ctx = PkeyCtx::new(&self.key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
        ctx.set_signature_md(Md::sha512())?;
        ctx.set_rsa_mgf1_md(Md::sha512())?;
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(SALT_LENGTH))?;
        Ok(ctx)
    }

    fn pool(&self) -> std::sync::MutexGuard<'_, Vec<PkeyCtx<Private>>> {
        self.contexts.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where `serve` and the `wallet` commands look for the wallet: `explicit` (from `--wallet` or
/// `FERROBEAM_WALLET`), else `configured` (`[node] wallet`, already resolved against the
/// config's folder), else [`DEFAULT_FILE`] next to the config file.
pub fn resolve_path(
    explicit: Option<&Path>,
    configured: Option<&Path>,
    config_file: &Path,
) -> PathBuf {
    if let Some(p) = explicit.or(configured) {
        return p.to_owned();
    }
    config_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(DEFAULT_FILE)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::Value as Json;

    /// Asserts that `signature` is `w`'s RSA-PSS-SHA512 signature of `data`, as a device's check
    /// through the node finds it.
    fn assert_verifies(w: &Wallet, data: &[u8], signature: &[u8]) {
        use ferrobeam_device_api::crypto::{PssHash, RsaPss};
        let digest = Sha512::digest(data);
        let check = RsaPss {
            key: w.modulus(),
            digest: &digest,
            signature,
            hash: PssHash::Sha512,
        };
        assert!(crate::verify::verify_rsa_pss(&check).unwrap());
    }

    fn vectors() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors")
    }

    fn wallet_json(n: usize) -> Json {
        let text = std::fs::read(vectors().join(format!("wallets/test-wallet-{n}.json"))).unwrap();
        serde_json::from_slice(&text).unwrap()
    }

    fn expected_address(n: usize) -> String {
        let all: Json =
            serde_json::from_slice(&std::fs::read(vectors().join("wallets/wallets.json")).unwrap())
                .unwrap();
        all["wallets"][n - 1]["address"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn a_test_wallet_loads_with_its_address_and_keyid() {
        let w = Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap();
        assert_eq!(w.address(), expected_address(1));
        assert_eq!(w.keyid(), wallet_json(1)["n"].as_str().unwrap());
        assert_eq!(w.modulus().len(), 512);
    }

    #[test]
    fn a_jwk_with_only_n_e_d_loads_and_signs_like_the_full_one() {
        let full = wallet_json(2);
        let mut short = serde_json::Map::new();
        for k in ["kty", "n", "e", "d"] {
            short.insert(k.to_owned(), full[k].clone());
        }
        let w = Wallet::from_jwk(&serde_json::to_vec(&short).unwrap()).unwrap();
        assert_eq!(w.address(), expected_address(2));
        let sig = w.sign(b"base").unwrap();
        assert_verifies(&w, b"base", &sig);
        // The primes were recovered, so the key re-serialises with its CRT parameters.
        let again = jwk::to_json(&w.key.rsa().unwrap()).unwrap();
        let again: Json = serde_json::from_slice(&again).unwrap();
        let primes = |j: &Json| {
            let mut v = vec![
                j["p"].as_str().unwrap().to_owned(),
                j["q"].as_str().unwrap().to_owned(),
            ];
            v.sort();
            v
        };
        assert_eq!(primes(&again), primes(&full));
        for k in ["dp", "dq", "qi"] {
            assert!(again[k].is_string(), "{k} missing");
        }
    }

    #[test]
    fn a_prepared_thread_leaves_a_signing_context_ready() {
        let w = Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap();
        assert_eq!(w.pool().len(), 0);
        w.prepare_thread().unwrap();
        assert_eq!(w.pool().len(), 1);
        let sig = w.sign(b"data").unwrap();
        assert_eq!(w.pool().len(), 1, "the prepared context was reused");
        assert_verifies(&w, b"data", &sig);
    }

    #[test]
    fn signatures_are_pss_sha512_with_a_64_byte_salt_and_fresh_each_time() {
        let w = Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap();
        let a = w.sign(b"data").unwrap();
        let b = w.sign(b"data").unwrap();
        assert_eq!(a.len(), 512);
        assert_ne!(a, b, "PSS salts are random");
        for sig in [&a, &b] {
            assert_verifies(&w, b"data", sig);
        }
        // Salt length 64: recover it with OpenSSL's fixed-length check.
        let public = Rsa::from_public_components(
            openssl::bn::BigNum::from_slice(w.modulus()).unwrap(),
            openssl::bn::BigNum::from_u32(65537).unwrap(),
        )
        .unwrap();
        let public = PKey::from_rsa(public).unwrap();
        let mut ctx = PkeyCtx::new(&public).unwrap();
        ctx.verify_init().unwrap();
        ctx.set_rsa_padding(Padding::PKCS1_PSS).unwrap();
        ctx.set_signature_md(Md::sha512()).unwrap();
        ctx.set_rsa_mgf1_md(Md::sha512()).unwrap();
        ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(64)).unwrap();
        assert!(ctx.verify(&Sha512::digest(b"data"), &a).unwrap());
    }

    #[test]
    fn unusable_jwks_are_refused_without_echoing_key_material() {
        let full = wallet_json(1);
        let d = full["d"].as_str().unwrap().to_owned();
        let mut wrong_e = full.clone();
        wrong_e["e"] = Json::from("Aw"); // 3
        let mut public_only = full.clone();
        public_only.as_object_mut().unwrap().remove("d");
        let mut other_d = full.clone();
        other_d["d"] = wallet_json(2)["d"].clone();
        other_d.as_object_mut().unwrap().remove("p");
        other_d.as_object_mut().unwrap().remove("q");
        for bad in [wrong_e, public_only, other_d] {
            let e = Wallet::from_jwk(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
            let text = e.to_string();
            assert!(matches!(e, WalletError::BadJwk { .. }), "{text}");
            assert!(!text.contains(&d[..16]), "key material in {text}");
        }
        assert!(Wallet::from_jwk(b"not json").is_err());
    }

    /// A key whose numbers agree (n = p·q, d·e ≡ 1 mod p − 1 and q − 1) but whose q is not a
    /// prime signs nothing that verifies, and is refused when loaded.
    #[test]
    fn a_key_with_a_composite_factor_is_refused() {
        use openssl::bn::{BigNum, BigNumContext};
        let full = wallet_json(1);
        let number = |name: &str| {
            let text = full[name].as_str().unwrap();
            BigNum::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
        };
        let b64 = |n: &BigNum| Json::from(URL_SAFE_NO_PAD.encode(n.to_vec()));
        let mut ctx = BigNumContext::new().unwrap();
        let (p, e) = (number("p"), number("e"));
        let one = BigNum::from_u32(1).unwrap();
        // q' = 3·t (odd, as long as q): composite, and n' = p·q' still 4096 bits.
        let mut q = BigNum::new().unwrap();
        q.checked_div(&number("q"), &BigNum::from_u32(3).unwrap(), &mut ctx)
            .unwrap();
        let mut composite = BigNum::new().unwrap();
        loop {
            composite
                .checked_mul(&q, &BigNum::from_u32(3).unwrap(), &mut ctx)
                .unwrap();
            let mut q1 = BigNum::new().unwrap();
            q1.checked_sub(&composite, &one).unwrap();
            let mut gcd = BigNum::new().unwrap();
            gcd.gcd(&e, &q1, &mut ctx).unwrap();
            if composite.is_bit_set(0) && gcd == one {
                break;
            }
            q.add_word(1).unwrap();
        }
        let mut n = BigNum::new().unwrap();
        n.checked_mul(&p, &composite, &mut ctx).unwrap();
        // d = e⁻¹ mod (p − 1)(q' − 1): then d·e ≡ 1 modulo each of p − 1 and q' − 1.
        let (mut p1, mut q1, mut phi, mut d) = (
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
            BigNum::new().unwrap(),
        );
        p1.checked_sub(&p, &one).unwrap();
        q1.checked_sub(&composite, &one).unwrap();
        phi.checked_mul(&p1, &q1, &mut ctx).unwrap();
        d.mod_inverse(&e, &phi, &mut ctx).unwrap();
        assert_eq!(n.num_bits(), 4096);
        let bad = serde_json::json!({
            "kty": "RSA", "n": b64(&n), "e": b64(&e), "d": b64(&d),
            "p": b64(&p), "q": b64(&composite),
        });
        let err = Wallet::from_jwk(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
        assert!(err.to_string().contains("inconsistent"), "{err}");
    }

    #[test]
    fn debug_output_names_the_address_only() {
        let w = Wallet::load(&vectors().join("wallets/test-wallet-1.json")).unwrap();
        let text = format!("{w:?}");
        assert!(text.contains(w.address()), "{text}");
        let d = wallet_json(1)["d"].as_str().unwrap().to_owned();
        assert!(
            !text.contains(&d[..16]) && !text.contains(&w.keyid()[..16]),
            "{text}"
        );
    }

    #[test]
    fn the_wallet_path_is_flag_then_config_then_next_to_the_config() {
        let cfg = Path::new("/etc/fb/devices.toml");
        let flag = Path::new("/a/w.json");
        let conf = Path::new("/b/w.json");
        assert_eq!(resolve_path(Some(flag), Some(conf), cfg), flag);
        assert_eq!(resolve_path(None, Some(conf), cfg), conf);
        assert_eq!(
            resolve_path(None, None, cfg),
            Path::new("/etc/fb").join(DEFAULT_FILE)
        );
        assert_eq!(
            resolve_path(None, None, Path::new("devices.toml")),
            Path::new(".").join(DEFAULT_FILE)
        );
    }
}
