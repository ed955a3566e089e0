//! Key material, password-based key derivation and authenticated encryption.

pub mod kdf;
pub mod keys;
pub mod seal;

pub use keys::MasterKeys;
pub use seal::{open, open_in_place, seal, CryptoError, NONCE_LEN, TAG_LEN};
