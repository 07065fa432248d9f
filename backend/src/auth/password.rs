//! Password rules and hashing: argon2id (m = 19456 KiB, t = 2, p = 1), always off the async runtime.

use std::collections::HashSet;
use std::sync::LazyLock;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

pub const MIN_PASSWORD_CHARS: usize = 8;
pub const MAX_PASSWORD_CHARS: usize = 128;

static COMMON_PASSWORDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("common-passwords.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("password must be at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("password may be at most {MAX_PASSWORD_CHARS} characters")]
    TooLong,
    #[error("password must not be the username")]
    SameAsUsername,
    #[error("this password is one of the most common passwords; choose another")]
    TooCommon,
}

pub fn check_new_password(username: &str, password: &str) -> Result<(), PasswordRule> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(PasswordRule::TooShort);
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(PasswordRule::TooLong);
    }
    if password.eq_ignore_ascii_case(username) {
        return Err(PasswordRule::SameAsUsername);
    }
    if COMMON_PASSWORDS.contains(password.to_lowercase().as_str()) {
        return Err(PasswordRule::TooCommon);
    }
    Ok(())
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(19_456, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_blocking(password: &str) -> String {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).expect("16 bytes encode as a salt");
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

/// A hash of a password nobody has, verified when the login is unknown so that an unknown login
/// costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_blocking("no account has this password"));

pub async fn hash_password(password: String) -> String {
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .expect("the hashing task finishes")
}

/// Verifies `password` against `stored`, or against a dummy hash when there is no stored hash
/// (then always false).
pub async fn verify_password(stored: Option<String>, password: String) -> bool {
    tokio::task::spawn_blocking(move || {
        let (hash, real) = match &stored {
            Some(hash) => (hash.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(hash) else {
            return false;
        };
        argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    })
    .await
    .expect("the verifying task finishes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_passwords_follow_the_rules() {
        assert_eq!(
            check_new_password("alice", "short"),
            Err(PasswordRule::TooShort)
        );
        assert_eq!(
            check_new_password("alice", &"x".repeat(129)),
            Err(PasswordRule::TooLong)
        );
        assert_eq!(
            check_new_password("alice_1234", "ALICE_1234"),
            Err(PasswordRule::SameAsUsername)
        );
        assert_eq!(
            check_new_password("alice", "password1"),
            Err(PasswordRule::TooCommon)
        );
        assert_eq!(
            check_new_password("alice", "Qwerty123"),
            Err(PasswordRule::TooCommon),
            "case does not help"
        );
        assert_eq!(check_new_password("alice", "correct horse battery"), Ok(()));
        assert_eq!(COMMON_PASSWORDS.len(), 10_000);
    }

    #[tokio::test]
    async fn hashes_are_argon2id_with_the_required_cost_and_verify() {
        let hash = hash_password("correct horse battery".into()).await;
        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
        assert!(verify_password(Some(hash.clone()), "correct horse battery".into()).await);
        assert!(!verify_password(Some(hash), "correct horse batterY".into()).await);
        assert!(
            !verify_password(None, "no account has this password".into()).await,
            "the dummy never admits"
        );
    }
}
