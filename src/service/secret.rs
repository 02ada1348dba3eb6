//! Secrets: argon2id for admin passwords (run off the async runtime), SHA-256 for high-entropy bearer tokens.
use crate::{Error, Result};
use argon2::Argon2;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sha2::{Digest, Sha256};

/// A new random token: 32 bytes from the OS, hex, with a prefix that says what it is when found in a config file.
pub fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex(&bytes))
}

/// Bearer tokens carry 256 bits of entropy, so a fast hash is enough and keeps every SCIM request cheap.
pub fn sha256_hex(s: &str) -> String {
    hex(&Sha256::digest(s.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// How many argon2 runs may be in progress at once. Each takes about 19 MiB and a core for tens of milliseconds;
/// more at once would only queue on the two cores and add their memory.
pub const MAX_CONCURRENT_HASHES: usize = 2;
/// How long a password check waits for its turn before answering "busy".
const HASH_QUEUE_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// argon2id, on the blocking pool so sign-ins never stall other requests, at most [`MAX_CONCURRENT_HASHES`] at once.
#[derive(Clone)]
pub struct Hasher {
    permits: std::sync::Arc<tokio::sync::Semaphore>,
}

impl Default for Hasher {
    fn default() -> Self {
        Hasher { permits: std::sync::Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_HASHES)) }
    }
}

impl Hasher {
    async fn run<T: Send + 'static>(&self, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let permit = tokio::time::timeout(HASH_QUEUE_WAIT, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| Error::Unavailable("roster is busy checking passwords; try again in a moment".into()))?
            .map_err(Error::internal)?;
        tokio::task::spawn_blocking(move || {
            let out = work();
            drop(permit);
            out
        })
        .await
        .map_err(Error::internal)?
    }

    /// argon2id with a random salt.
    pub async fn hash(&self, password: String) -> Result<String> {
        self.run(move || {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(Error::internal_display)
        })
        .await
    }

    /// Verifies against `hash`, or against a dummy hash when there is no such admin, so timing does not reveal which
    /// emails exist.
    pub async fn verify(&self, password: String, hash: Option<String>) -> Result<bool> {
        self.run(move || {
            let hash = hash.unwrap_or_else(|| DUMMY_HASH.to_owned());
            let parsed = PasswordHash::new(&hash).map_err(Error::internal_display)?;
            Ok(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        })
        .await
    }
}

/// The argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$0H7zHP6X4BEkGm4OuFeyO7WJq0ZYQnOZG7GJkx8Cw7M";

impl Error {
    fn internal_display(e: impl std::fmt::Display) -> Error {
        Error::Internal(e.to_string().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn argon2id_round_trip_and_dummy() {
        let hasher = Hasher::default();
        let h = hasher.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(hasher.verify("correct horse".into(), Some(h.clone())).await.unwrap());
        assert!(!hasher.verify("wrong".into(), Some(h)).await.unwrap());
        assert!(!hasher.verify("anything".into(), None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn at_most_a_few_hashes_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let hasher = Hasher::default();
        let (running, most) = (std::sync::Arc::new(AtomicUsize::new(0)), std::sync::Arc::new(AtomicUsize::new(0)));
        let jobs = (0..8).map(|_| {
            let (hasher, running, most) = (hasher.clone(), running.clone(), most.clone());
            tokio::spawn(async move {
                hasher
                    .run(move || {
                        let n = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                        Ok(())
                    })
                    .await
            })
        });
        for j in jobs.collect::<Vec<_>>() {
            j.await.unwrap().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= MAX_CONCURRENT_HASHES);
    }

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = random_token("x_");
        assert_ne!(a, random_token("x_"));
        assert_eq!(a.len(), 2 + 64);
        assert_eq!(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
