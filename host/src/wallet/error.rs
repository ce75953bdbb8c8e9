//! Why a wallet could not be read, made or used.

use std::path::PathBuf;

/// A wallet failure. Messages never include key material.
#[derive(Debug, thiserror::Error)]
pub enum WalletError {
    /// The wallet file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// `wallet new` (or a first start) would replace an existing wallet.
    #[error("{0} already exists; refusing to replace a wallet")]
    Exists(PathBuf),
    /// The file is not a JWK this node can use.
    #[error("{path}: not a usable Arweave JWK: {reason}")]
    BadJwk {
        /// The file (empty when parsed from memory).
        path: PathBuf,
        /// What is wrong (never a key value).
        reason: String,
    },
    /// The cryptographic library failed.
    #[error("RSA operation failed: {0}")]
    Crypto(#[from] openssl::error::ErrorStack),
}

impl WalletError {
    /// Attaches the file a JWK came from.
    pub(crate) fn at(self, file: &std::path::Path) -> Self {
        match self {
            WalletError::BadJwk { reason, .. } => WalletError::BadJwk {
                path: file.to_owned(),
                reason,
            },
            other => other,
        }
    }

    pub(crate) fn bad(reason: impl Into<String>) -> Self {
        WalletError::BadJwk {
            path: PathBuf::new(),
            reason: reason.into(),
        }
    }
}
