//! Secrets at rest that roster must read back (webhook signing secrets, an OIDC client secret), encrypted with a key
//! the operator keeps outside the database (`--secret-key-file`), so a copy of the database alone does not give them
//! away. A sealed value reads `sealed:v1:<key id>:<base64 of nonce and ciphertext>`; XChaCha20-Poly1305 takes a
//! random 24-byte nonce per value, long enough that random nonces do not collide under one key.
//!
//! The key file holds one key per line (32 bytes, base64 or 64 hex characters); blank lines and `#` comments are
//! skipped. The first key seals and every key opens, so a rotation puts the new key first and keeps the old one
//! below it until every value was sealed again ([`SecretKeys::needs_reseal`]). Without a key, values stay in clear,
//! and values written before a key was set are read as they are.
use crate::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
use chacha20poly1305::aead::{Aead, Generate, KeyInit, Payload};
use chacha20poly1305::{Key, XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::fmt;

/// What marks a stored value as sealed; anything else is plain text.
const SEALED: &str = "sealed:";
/// The format this code writes and reads: its header is also the associated data.
const V1: &str = "sealed:v1:";
const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The keys from the secret key file; the first one seals.
#[derive(Clone)]
pub struct SecretKeys {
    keys: Vec<SecretKey>,
}

#[derive(Clone)]
struct SecretKey {
    /// The first 8 hex characters of the key's SHA-256: names the key in sealed values and messages without
    /// giving it away.
    id: String,
    cipher: XChaCha20Poly1305,
}

/// Shows the key ids only, so a logged configuration never leaks a key.
impl fmt::Debug for SecretKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeys").field("ids", &self.keys.iter().map(|k| &k.id).collect::<Vec<_>>()).finish()
    }
}

impl SecretKeys {
    /// No key: secrets are stored in clear.
    pub fn none() -> SecretKeys {
        SecretKeys { keys: Vec::new() }
    }

    /// Reads the key file's contents. The errors name the line, never the key.
    pub fn parse(contents: &str) -> Result<SecretKeys> {
        let mut found: Vec<(usize, SecretKey)> = Vec::new();
        for (n, line) in contents.lines().enumerate().map(|(i, l)| (i + 1, l.trim())) {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| Error::InvalidValue(format!("secret key file, line {n}: {why}"));
            let bytes = decode_key(line).map_err(bad)?;
            let key = SecretKey::new(&bytes);
            if let Some((first, _)) = found.iter().find(|(_, k)| k.id == key.id) {
                return Err(bad(format!("the same key as line {first} (id {}); list each key once", key.id)));
            }
            found.push((n, key));
        }
        if found.is_empty() {
            return Err(Error::InvalidValue(
                "the secret key file holds no key; make one with `roster secret-key generate`".into(),
            ));
        }
        Ok(SecretKeys { keys: found.into_iter().map(|(_, k)| k).collect() })
    }

    /// A new key line for the key file: 32 random bytes from the OS, base64.
    pub fn generate() -> Result<String> {
        let key = Key::try_generate().map_err(Error::internal)?;
        Ok(STANDARD.encode(key))
    }

    /// Whether secrets are sealed.
    pub fn is_set(&self) -> bool {
        !self.keys.is_empty()
    }

    /// The id of the key that seals, for the startup log.
    pub fn current_id(&self) -> Option<&str> {
        self.keys.first().map(|k| k.id.as_str())
    }

    /// Seals with the current key, or returns the text unchanged when there is no key. The header, key id
    /// included, is authenticated too, so a value cannot be relabelled as another key's.
    pub fn seal(&self, plain: &str) -> Result<String> {
        let Some(key) = self.keys.first() else {
            return Ok(plain.to_owned());
        };
        let header = format!("{V1}{}:", key.id);
        let nonce = XNonce::try_generate().map_err(Error::internal)?;
        let sealed = key
            .cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: header.as_bytes() })
            .map_err(Error::internal)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{header}{}", STANDARD.encode(bytes)))
    }

    /// The plain text of a stored value. A value that is not sealed was written before a key was set and is
    /// returned as it is.
    pub fn open(&self, stored: &str) -> Result<String> {
        if !stored.starts_with(SEALED) {
            return Ok(stored.to_owned());
        }
        let Some((id, data)) = stored.strip_prefix(V1).and_then(|rest| rest.split_once(':')) else {
            return Err(Error::Unavailable(
                "this secret is sealed in a format this version of roster cannot read; run a newer roster".into(),
            ));
        };
        let Some(key) = self.keys.iter().find(|k| k.id == id) else {
            let (why, fix) = if self.is_set() {
                ("which is not in the secret key file", "add that key to the file, below the current one")
            } else {
                ("but roster runs without --secret-key-file", "start it with the file that holds that key")
            };
            return Err(Error::Unavailable(format!("this secret was sealed with key {id}, {why}; {fix}")));
        };
        let header = format!("{V1}{id}:");
        let damaged = || {
            Error::InvalidValue(format!(
                "a secret sealed with key {id} could not be opened: it was changed or damaged since; set it again"
            ))
        };
        let bytes = STANDARD.decode(data).map_err(|_| damaged())?;
        let (nonce, sealed) = bytes.split_at_checked(NONCE_LEN).ok_or_else(damaged)?;
        let nonce = XNonce::try_from(nonce).map_err(|_| damaged())?;
        let plain =
            key.cipher.decrypt(&nonce, Payload { msg: sealed, aad: header.as_bytes() }).map_err(|_| damaged())?;
        String::from_utf8(plain).map_err(|_| damaged())
    }

    /// Whether a stored value should be sealed again with the current key: it is in clear, or sealed with an older
    /// key. Drives the rotation at start. A value in a format this version cannot read is left alone.
    pub fn needs_reseal(&self, stored: &str) -> bool {
        let Some(current) = self.current_id() else {
            return false;
        };
        if !stored.starts_with(SEALED) {
            return true;
        }
        stored.strip_prefix(V1).and_then(|rest| rest.split_once(':')).is_some_and(|(id, _)| id != current)
    }
}

impl SecretKey {
    fn new(bytes: &[u8; KEY_LEN]) -> SecretKey {
        let digest = Sha256::digest(bytes);
        let id = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
        SecretKey { id, cipher: XChaCha20Poly1305::new(&Key::from(*bytes)) }
    }
}

/// 64 hex characters, or base64 with or without padding. The message never quotes the line.
fn decode_key(line: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes = if line.len().is_multiple_of(2) && line.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex_decode(line)
    } else {
        STANDARD.decode(line).or_else(|_| STANDARD_NO_PAD.decode(line)).map_err(|_| {
            "a key is 32 bytes written as base64 or as 64 hex characters; this line is neither".to_owned()
        })?
    };
    <[u8; KEY_LEN]>::try_from(bytes.as_slice())
        .map_err(|_| format!("a key is 32 bytes (44 base64 or 64 hex characters); this one is {} bytes", bytes.len()))
}

/// The caller checked the digits and their count, so nothing is lost to the fallback.
fn hex_decode(hex: &str) -> Vec<u8> {
    let digit = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
    hex.as_bytes().chunks(2).map(|pair| pair.iter().fold(0, |acc, &b| (acc << 4) | digit(b))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    const B_HEX: &str = "0101010101010101010101010101010101010101010101010101010101010101";
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    fn keys(file: &str) -> SecretKeys {
        SecretKeys::parse(file).unwrap()
    }

    fn message(e: Error) -> String {
        e.to_string()
    }

    #[test]
    fn key_id_is_the_start_of_the_sha256() {
        // SHA-256 of 32 zero bytes is 66687aad…
        assert_eq!(keys(A).current_id(), Some("66687aad"));
        assert_eq!(keys(&B_HEX.to_uppercase()).current_id(), keys(B_HEX).current_id());
    }

    #[test]
    fn round_trip() {
        let keys = keys(A);
        assert!(keys.is_set());
        let sealed = keys.seal(SECRET).unwrap();
        assert!(sealed.starts_with("sealed:v1:66687aad:"), "{sealed}");
        assert!(!sealed.contains(SECRET) && !sealed.contains("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert_eq!(keys.open(&sealed).unwrap(), SECRET);
        assert_eq!(keys.open(&keys.seal("").unwrap()).unwrap(), "");
        assert_eq!(keys.open(&keys.seal("ünïcødé ✓").unwrap()).unwrap(), "ünïcødé ✓");
    }

    #[test]
    fn each_seal_has_its_own_nonce() {
        let keys = keys(A);
        let (one, two) = (keys.seal(SECRET).unwrap(), keys.seal(SECRET).unwrap());
        assert_ne!(one, two);
        assert_eq!(keys.open(&one).unwrap(), keys.open(&two).unwrap());
    }

    #[test]
    fn plain_text_passes_through() {
        for keys in [keys(A), SecretKeys::none()] {
            assert_eq!(keys.open(SECRET).unwrap(), SECRET);
            assert_eq!(keys.open("").unwrap(), "");
        }
        let none = SecretKeys::none();
        assert!(!none.is_set());
        assert_eq!(none.current_id(), None);
        assert_eq!(none.seal(SECRET).unwrap(), SECRET);
        assert!(!none.needs_reseal(SECRET));
    }

    #[test]
    fn a_tampered_value_does_not_open() {
        let keys = keys(A);
        let sealed = keys.seal(SECRET).unwrap();
        let (header, data) = sealed.split_at("sealed:v1:66687aad:".len());
        let bytes = STANDARD.decode(data).unwrap();
        // A byte of the nonce, of the ciphertext and of the tag.
        for i in [0, NONCE_LEN + 3, bytes.len() - 1] {
            let mut changed = bytes.clone();
            changed[i] ^= 0x01;
            let err = message(keys.open(&format!("{header}{}", STANDARD.encode(&changed))).unwrap_err());
            assert!(err.contains("could not be opened"), "{err}");
        }
        for broken in [
            format!("{header}{}", STANDARD.encode(&bytes[..bytes.len() - 1])),
            format!("{header}{}", STANDARD.encode(&bytes[..10])),
            format!("{header}not base64!"),
            header.to_owned(),
        ] {
            assert!(matches!(keys.open(&broken), Err(Error::InvalidValue(m)) if m.contains("could not be opened")));
        }
    }

    #[test]
    fn a_value_cannot_move_to_another_key() {
        let both = keys(&format!("{A}\n{B_HEX}"));
        let sealed = both.seal(SECRET).unwrap();
        let b_id = keys(B_HEX).current_id().unwrap().to_owned();
        let moved = sealed.replace("66687aad", &b_id);
        assert!(matches!(both.open(&moved), Err(Error::InvalidValue(_))));
    }

    #[test]
    fn rotation() {
        let old = keys(A);
        let sealed = old.seal(SECRET).unwrap();
        assert!(!old.needs_reseal(&sealed));
        assert!(old.needs_reseal(SECRET));

        let rotated = keys(&format!("# new key first\n{B_HEX}\n\n# the old one until every value is resealed\n{A}\n"));
        assert_eq!(rotated.current_id(), keys(B_HEX).current_id());
        assert_eq!(rotated.open(&sealed).unwrap(), SECRET);
        assert!(rotated.needs_reseal(&sealed));
        let resealed = rotated.seal(&rotated.open(&sealed).unwrap()).unwrap();
        assert!(!rotated.needs_reseal(&resealed));
        assert_eq!(keys(B_HEX).open(&resealed).unwrap(), SECRET);
    }

    #[test]
    fn unknown_key() {
        let sealed = keys(A).seal(SECRET).unwrap();
        match keys(B_HEX).open(&sealed) {
            Err(Error::Unavailable(m)) => {
                assert!(m.contains("sealed with key 66687aad, which is not in the secret key file"), "{m}")
            }
            other => panic!("{other:?}"),
        }
        match SecretKeys::none().open(&sealed) {
            Err(Error::Unavailable(m)) => assert!(m.contains("66687aad") && m.contains("--secret-key-file"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(!SecretKeys::none().needs_reseal(&sealed));
    }

    #[test]
    fn unknown_format() {
        let keys = keys(A);
        for stored in ["sealed:v2:66687aad:AAAA", "sealed:", "sealed:v1:66687aad"] {
            assert!(matches!(keys.open(stored), Err(Error::Unavailable(m)) if m.contains("format")), "{stored}");
        }
        assert!(!keys.needs_reseal("sealed:v2:66687aad:AAAA"));
    }

    #[test]
    fn parse_errors() {
        let sixteen = STANDARD.encode([7u8; 16]);
        let short_hex = "ab".repeat(31);
        for (file, says) in [
            ("", "holds no key"),
            ("# only a comment\n\n   \n", "holds no key"),
            ("not a key at all", "line 1: a key is 32 bytes written as base64 or as 64 hex characters"),
            (
                &format!("# comment\n{sixteen}"),
                "line 2: a key is 32 bytes (44 base64 or 64 hex characters); this one is 16",
            ),
            (short_hex.as_str(), "this one is 31 bytes"),
            (&format!("{A}\n\n{B_HEX}\n{}", "00".repeat(32)), "line 4: the same key as line 1 (id 66687aad)"),
        ] {
            match SecretKeys::parse(file) {
                Err(Error::InvalidValue(m)) => assert!(m.contains(says), "{file:?}: {m}"),
                other => panic!("{file:?}: {other:?}"),
            }
        }
        // The message never repeats the line, which may be a real key with a typo.
        let typo = format!("{}*", &A[..43]);
        let m = message(SecretKeys::parse(&typo).unwrap_err());
        assert!(!m.contains(&A[..20]), "{m}");
    }

    #[test]
    fn parse_accepts_both_encodings() {
        let crlf = format!("  {B_HEX}  \r\n{}\r\n", A.trim_end_matches('='));
        let keys = keys(&crlf);
        assert_eq!(keys.keys.len(), 2);
        assert_eq!(keys.keys.get(1).map(|k| k.id.as_str()), Some("66687aad"));
    }

    #[test]
    fn generated_keys_parse_and_differ() {
        let (one, two) = (SecretKeys::generate().unwrap(), SecretKeys::generate().unwrap());
        assert_ne!(one, two);
        assert_eq!(one.len(), 44);
        let keys = keys(&format!("{one}\n{two}"));
        assert_eq!(keys.open(&keys.seal(SECRET).unwrap()).unwrap(), SECRET);
    }

    #[test]
    fn debug_shows_ids_not_keys() {
        let keys = keys(&format!("{B_HEX}\n{A}"));
        let shown = format!("{keys:?} {keys:#?}");
        assert!(shown.contains("66687aad"), "{shown}");
        for secret in [B_HEX, &B_HEX[..16], A, "AAAAAAAA"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
