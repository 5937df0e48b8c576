//! Secrets encrypted at rest, in kube-apiserver's `aesgcm` provider format:
//! `k8s:enc:aesgcm:v1:{key name}:{12-byte nonce}{ciphertext and tag}`. The first key
//! encrypts; every key decrypts, so a key is rotated by adding a new first key: every
//! write re-encrypts with it, and old values stay readable until rewritten.

use aes_gcm::aead::{Aead, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};

const PREFIX: &[u8] = b"k8s:enc:aesgcm:v1:";
/// AES-GCM's standard nonce. Nonces come from the host's randomness: 96 random bits make
/// a repeat under one key negligible for far more writes than a cluster makes.
const NONCE_BYTES: usize = 12;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EncryptionKey {
    pub name: String,
    pub secret: [u8; 32],
}

impl std::fmt::Debug for EncryptionKey {
    // The key itself never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EncryptionKey({})", self.name)
    }
}

/// The keys, newest first. No keys: values are stored as they are (the `identity`
/// provider).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Encryption {
    pub keys: Vec<EncryptionKey>,
}

impl Encryption {
    pub fn seal(&self, plaintext: &[u8], entropy: u128) -> Vec<u8> {
        let Some(key) = self.keys.first() else {
            return plaintext.to_vec();
        };
        let cipher = Aes256Gcm::new(&key.secret.into());
        let nonce_bytes = &entropy.to_le_bytes()[..NONCE_BYTES];
        let nonce = Nonce::from_slice(nonce_bytes);
        let sealed = cipher
            .encrypt(nonce, plaintext)
            .expect("AES-GCM encrypts any message under 64 GiB");
        let mut out = PREFIX.to_vec();
        out.extend_from_slice(key.name.as_bytes());
        out.push(b':');
        out.extend_from_slice(nonce_bytes);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of a stored value; a value without the prefix was stored before
    /// encryption was turned on and is returned as it is.
    pub fn open(&self, stored: &[u8]) -> Result<Vec<u8>, String> {
        let Some(rest) = stored.strip_prefix(PREFIX) else {
            return Ok(stored.to_vec());
        };
        let colon = rest
            .iter()
            .position(|b| *b == b':')
            .ok_or("encrypted value without a key name")?;
        let (name, sealed) = (&rest[..colon], &rest[colon + 1..]);
        let key = self
            .keys
            .iter()
            .find(|k| k.name.as_bytes() == name)
            .ok_or_else(|| {
                format!(
                    "no encryption key named {:?} (was it removed before every value was rewritten?)",
                    String::from_utf8_lossy(name)
                )
            })?;
        if sealed.len() < NONCE_BYTES {
            return Err("encrypted value is truncated".into());
        }
        let (nonce, ciphertext) = sealed.split_at(NONCE_BYTES);
        Aes256Gcm::new(&key.secret.into())
            .decrypt(Nonce::from_slice(nonce), ciphertext)
            .map_err(|_| "encrypted value fails authentication".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str, byte: u8) -> EncryptionKey {
        EncryptionKey {
            name: name.into(),
            secret: [byte; 32],
        }
    }

    #[test]
    fn sealed_values_hide_the_plaintext_and_open_after_rotation() {
        let old = Encryption {
            keys: vec![key("k1", 1)],
        };
        let sealed = old.seal(b"{\"data\":{\"password\":\"aHVudGVyMg==\"}}", 7);
        assert!(sealed.starts_with(b"k8s:enc:aesgcm:v1:k1:"));
        assert!(!sealed.windows(8).any(|w| w == b"aHVudGVy"));
        let rotated = Encryption {
            keys: vec![key("k2", 2), key("k1", 1)],
        };
        assert_eq!(rotated.open(&sealed).unwrap(), old.open(&sealed).unwrap());
        assert!(rotated.seal(b"x", 8).starts_with(b"k8s:enc:aesgcm:v1:k2:"));
        let forgot = Encryption {
            keys: vec![key("k2", 2)],
        };
        assert!(forgot.open(&sealed).is_err());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(old.open(&tampered).is_err());
        assert_eq!(Encryption::default().open(b"plain").unwrap(), b"plain");
    }
}
