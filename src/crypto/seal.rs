//! XChaCha20-Poly1305 with a random 24-byte nonce per sealed object.

use super::keys::SecretKey;
use chacha20poly1305::aead::{Aead, AeadInPlace, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

/// Bytes of the random nonce at the start of every sealed object.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag at the end of every sealed object.
pub const TAG_LEN: usize = 16;

/// Why sealed bytes could not be opened or sealed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// Shorter than a nonce and a tag together.
    #[error("too short to be sealed data ({0} bytes)")]
    TooShort(usize),
    /// The tag did not verify: the key is wrong or the bytes (or the associated data) were changed.
    #[error("authentication failed (wrong key or corrupted data)")]
    AuthFailed,
    /// The cipher refused to encrypt (only a message longer than its 256 GiB limit can cause it).
    #[error("cannot encrypt {0} bytes: more than the cipher allows in one message")]
    SealFailed(usize),
}

/// Seals `plaintext` and appends `nonce || ciphertext || tag` to `out`, encrypting in place in
/// `out` (one copy of the plaintext, no temporary buffer). On failure `out` is left as it was.
pub fn seal_into(
    key: &SecretKey,
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    out.reserve(NONCE_LEN + plaintext.len() + TAG_LEN);
    let before = out.len();
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(plaintext);
    // Encryption with a valid key and nonce fails only past the cipher's 256 GiB message limit.
    match cipher.encrypt_in_place_detached(XNonce::from_slice(&nonce), aad, &mut out[start..]) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(_) => {
            out.truncate(before);
            Err(CryptoError::SealFailed(plaintext.len()))
        }
    }
}

/// Returns `nonce || ciphertext || tag`.
pub fn seal(key: &SecretKey, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
    let mut out = Vec::with_capacity(plaintext.len() + NONCE_LEN + TAG_LEN);
    seal_into(key, aad, plaintext, &mut out)?;
    Ok(out)
}

/// Opens `nonce || ciphertext || tag`.
pub fn open(key: &SecretKey, aad: &[u8], sealed: &[u8]) -> Result<Vec<u8>, CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::TooShort(sealed.len()));
    }
    let (nonce, ct) = sealed.split_at(NONCE_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad })
        .map_err(|_| CryptoError::AuthFailed)
}

/// Opens `nonce || ciphertext || tag` in place: decrypts the ciphertext where it lies and returns
/// the plaintext, a part of `sealed` (no allocation, no copy).
pub fn open_in_place<'a>(
    key: &SecretKey,
    aad: &[u8],
    sealed: &'a mut [u8],
) -> Result<&'a mut [u8], CryptoError> {
    if sealed.len() < NONCE_LEN + TAG_LEN {
        return Err(CryptoError::TooShort(sealed.len()));
    }
    let (nonce, rest) = sealed.split_at_mut(NONCE_LEN);
    let (body, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    let cipher = XChaCha20Poly1305::new(key.expose().into());
    cipher
        .decrypt_in_place_detached(
            XNonce::from_slice(nonce),
            aad,
            body,
            chacha20poly1305::Tag::from_slice(tag),
        )
        .map_err(|_| CryptoError::AuthFailed)?;
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn seal_open_round_trip(data in proptest::collection::vec(any::<u8>(), 0..4096), aad in proptest::collection::vec(any::<u8>(), 0..16)) {
            let k = SecretKey::random();
            let s = seal(&k, &aad, &data).unwrap();
            prop_assert_eq!(s.len(), data.len() + 40);
            prop_assert_eq!(open(&k, &aad, &s).unwrap(), data.clone());
            let mut s = s;
            prop_assert_eq!(&*open_in_place(&k, &aad, &mut s).unwrap(), &data[..]);
        }

        #[test]
        fn tampering_is_detected(data in proptest::collection::vec(any::<u8>(), 1..512), pos in any::<usize>()) {
            let k = SecretKey::random();
            let mut s = seal(&k, b"x", &data).unwrap();
            let i = pos % s.len();
            s[i] ^= 1;
            prop_assert_eq!(open(&k, b"x", &s), Err(CryptoError::AuthFailed));
            prop_assert_eq!(open_in_place(&k, b"x", &mut s), Err(CryptoError::AuthFailed));
        }
    }

    #[test]
    fn wrong_aad_or_key_fails() {
        let k = SecretKey::random();
        let s = seal(&k, b"a", b"data").unwrap();
        assert!(open(&k, b"b", &s).is_err());
        assert!(open(&SecretKey::random(), b"a", &s).is_err());
        assert_eq!(open(&k, b"a", &s[..10]), Err(CryptoError::TooShort(10)));
    }
}
