//! How many signatures a second this machine makes with the node's wallet and signing code
//! (`ferrobeam wallet speed`): the bound on the new requests a node answers, since each new
//! answer is signed (`spec/codecs.md` §10.2), as `openssl speed rsa4096` is for the library.

use super::{Wallet, WalletError};
use openssl::pkey::Private;
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use std::time::{Duration, Instant};

/// What the signing threads base their signatures on: the size of a typical response's
/// signature base. RSA's cost does not depend on it; the SHA-512 of it is part of the work.
const BASE: [u8; 512] = [b'a'; 512];

/// Signatures made by `threads` threads signing in a loop for `duration`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Speed {
    /// Threads that signed.
    pub threads: usize,
    /// Signatures made, by all of them.
    pub signatures: u64,
    /// From the first thread's start to the last one's end.
    pub elapsed: Duration,
}

impl Speed {
    /// Signatures per second, all threads together.
    pub fn per_second(&self) -> f64 {
        self.signatures as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Signs with `wallet` on `threads` threads (at least 1) for `duration`, as the node signs its
/// answers ([`Wallet::sign`]: RSA-PSS-SHA512 on pooled contexts). Every thread signs at least
/// once, so an error of the library is returned rather than a speed of zero.
pub fn measure(wallet: &Wallet, threads: usize, duration: Duration) -> Result<Speed, WalletError> {
    let threads = threads.max(1);
    let start = Instant::now();
    let counts: Vec<Result<u64, WalletError>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut signed = 0u64;
                    loop {
                        wallet.sign(&BASE)?;
                        signed += 1;
                        if start.elapsed() >= duration {
                            return Ok(signed);
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or(Ok(0)))
            .collect()
    });
    let elapsed = start.elapsed();
    let mut signatures = 0;
    for count in counts {
        signatures += count?;
    }
    Ok(Speed {
        threads,
        signatures,
        elapsed,
    })
}

/// `openssl speed rsa4096`'s loop, with the wallet's key: one signing context prepared once
/// (PKCS#1 v1.5 padding, no digest), then a 36-byte input signed again and again. What the
/// library alone can do, with none of the node's work around it: the bound the node's own
/// signing ([`Wallet::sign`]) is judged against.
///
/// ```
/// # use ferrobeam::wallet::{speed::LibraryLoop, Wallet};
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors/wallets/test-wallet-1.json");
/// let wallet = Wallet::load(std::path::Path::new(path)).unwrap();
/// let mut library = LibraryLoop::new(&wallet).unwrap();
/// library.sign_once().unwrap();
/// ```
pub struct LibraryLoop {
    ctx: PkeyCtx<Private>,
    signature: Vec<u8>,
}

impl LibraryLoop {
    /// The prepared context.
    pub fn new(wallet: &Wallet) -> Result<LibraryLoop, WalletError> {
        let mut ctx = PkeyCtx::new(&wallet.key)?;
        ctx.sign_init()?;
        ctx.set_rsa_padding(Padding::PKCS1)?;
        Ok(LibraryLoop {
            ctx,
            signature: vec![0; wallet.modulus.len()],
        })
    }

    /// One more signature of the same input.
    pub fn sign_once(&mut self) -> Result<(), WalletError> {
        self.ctx
            .sign(&LIBRARY_INPUT, Some(&mut self.signature))
            .map(|_| ())
            .map_err(WalletError::from)
    }
}

impl std::fmt::Debug for LibraryLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key's context: only that it is one.
        f.debug_struct("LibraryLoop").finish_non_exhaustive()
    }
}

/// The input `openssl speed rsa4096` signs: 36 bytes.
const LIBRARY_INPUT: [u8; 36] = [7; 36];

/// The OpenSSL the node signs with, as it names itself (e.g. `OpenSSL 3.6.3 9 Jun 2026`): the
/// one built into the node, unless it was built with `OPENSSL_NO_VENDOR=1`.
pub fn library() -> &'static str {
    openssl::version::version()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::path::Path;

    #[test]
    fn every_thread_signs_and_each_signature_is_counted() {
        let wallet = Wallet::load(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../shared/vectors/wallets/test-wallet-1.json"),
        )
        .unwrap();
        let speed = measure(&wallet, 2, Duration::ZERO).unwrap();
        // A zero duration still signs once a thread: the first signature is never skipped.
        assert_eq!((speed.threads, speed.signatures), (2, 2));
        assert!(speed.per_second() > 0.0);
        assert_eq!(measure(&wallet, 0, Duration::ZERO).unwrap().threads, 1);
    }

    #[test]
    fn the_library_names_itself() {
        assert!(library().starts_with("OpenSSL "), "{}", library());
    }
}
