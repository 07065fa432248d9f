//! Trust between the SaaS console and Billing Center (docs/INTEGRATION.md). The console shares a
//! secret, `CONSOLE_SIGNING_KEY`, and vouches for a person in a workspace with a JWT signed HS256
//! with it: `iss` "console", `aud` "billing-center", `sub` (the console's user id), `ws` (the
//! workspace), `role`, optional `name` and `lang`, `iat` and `exp`.
//!
//! Only what this contract allows is accepted: the header's `alg` must be `HS256` (never `none`,
//! never another algorithm whatever the key), the signature is checked in constant time before any
//! claim is read, `exp` and `iat` are required, a token issued more than a minute in the future or
//! living longer than fifteen minutes is refused. Written out here rather than with a general JWT
//! library: the rules are few and exact, and every one of them has its own test.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The fewest bytes a console key may have (HS256 wants at least the hash's 32).
pub const MIN_KEY_BYTES: usize = 32;
/// The longest a token may live, from `iat` to `exp`.
pub const MAX_LIFETIME_SECS: i64 = 15 * 60;
/// How far in the future `iat` may be (clocks differ).
pub const MAX_CLOCK_SKEW_SECS: i64 = 60;
/// The issuer and audience the contract names.
pub const ISSUER: &str = "console";
pub const AUDIENCE: &str = "billing-center";
/// A token longer than this is refused before anything is decoded.
const MAX_TOKEN_BYTES: usize = 4096;

/// What the console says a person is in a workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConsoleRole {
    Owner,
    Administrator,
    Member,
    /// The console itself (reporting usage, asking a workspace's status), not a person.
    Service,
}

impl ConsoleRole {
    pub fn code(self) -> &'static str {
        match self {
            ConsoleRole::Owner => "owner",
            ConsoleRole::Administrator => "administrator",
            ConsoleRole::Member => "member",
            ConsoleRole::Service => "service",
        }
    }
}

/// The language the console asks the panel to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ConsoleLanguage {
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// A verified token's claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleClaims {
    pub iss: String,
    pub aud: String,
    /// The console's user id.
    pub sub: String,
    /// The workspace the token is for.
    pub ws: String,
    pub role: ConsoleRole,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<ConsoleLanguage>,
    pub iat: i64,
    pub exp: i64,
}

impl ConsoleClaims {
    /// Claims for `ws` as `role`, issued `now` and living `lifetime_secs` (for the demo console
    /// and tests; a real console signs its own).
    pub fn new(
        sub: &str,
        ws: &str,
        role: ConsoleRole,
        now: DateTime<Utc>,
        lifetime_secs: i64,
    ) -> ConsoleClaims {
        ConsoleClaims {
            iss: ISSUER.to_owned(),
            aud: AUDIENCE.to_owned(),
            sub: sub.to_owned(),
            ws: ws.to_owned(),
            role,
            name: None,
            lang: None,
            iat: now.timestamp(),
            exp: now.timestamp() + lifetime_secs,
        }
    }

    /// The token opens this workspace only (another one: 403).
    pub fn for_workspace(&self, workspace_id: &str) -> Result<&ConsoleClaims, ConsoleTokenError> {
        if self.ws == workspace_id {
            Ok(self)
        } else {
            Err(ConsoleTokenError::OtherWorkspace {
                token: self.ws.clone(),
                asked: workspace_id.to_owned(),
            })
        }
    }

    /// The token's role is one of `allowed` (else 403 `forbidden_role`).
    pub fn with_role(&self, allowed: &[ConsoleRole]) -> Result<&ConsoleClaims, ConsoleTokenError> {
        if allowed.contains(&self.role) {
            Ok(self)
        } else {
            Err(ConsoleTokenError::ForbiddenRole(self.role))
        }
    }
}

/// Why a console token was refused. Every variant but the last two is "not a valid token" (401);
/// `OtherWorkspace` and `ForbiddenRole` are valid tokens that do not open what was asked (403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsoleTokenError {
    #[error("the console token is not a JWT (three base64url parts of JSON)")]
    Malformed,
    #[error("the console token's algorithm must be HS256 (got '{0}')")]
    Algorithm(String),
    #[error("the console token's signature is not valid")]
    Signature,
    #[error("the console token's claims are missing or of the wrong type: {0}")]
    Claims(String),
    #[error("the console token's issuer must be 'console' (got '{0}')")]
    Issuer(String),
    #[error("the console token's audience must be 'billing-center' (got '{0}')")]
    Audience(String),
    #[error("the console token has expired")]
    Expired,
    #[error("the console token is issued in the future (check the console's clock)")]
    IssuedInFuture,
    #[error("a console token may live at most 15 minutes (this one: {0} s)")]
    TooLongLived(i64),
    #[error("this console token is for workspace '{token}', not '{asked}'")]
    OtherWorkspace { token: String, asked: String },
    #[error("a console {} may not do this", .0.code())]
    ForbiddenRole(ConsoleRole),
}

/// `CONSOLE_SIGNING_KEY`: the UTF-8 bytes of its text are the HMAC key.
#[derive(Clone)]
pub struct ConsoleKey(Vec<u8>);

impl std::fmt::Debug for ConsoleKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleKey(..)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CONSOLE_SIGNING_KEY must be at least {MIN_KEY_BYTES} bytes (got {0})")]
pub struct ConsoleKeyTooShort(pub usize);

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// `aud` may be one string or a list holding it (RFC 7519 §4.1.3).
#[derive(Deserialize)]
#[serde(untagged)]
enum AudienceClaim {
    One(String),
    Many(Vec<String>),
}

#[derive(Deserialize)]
struct RawClaims {
    iss: String,
    aud: AudienceClaim,
    sub: String,
    ws: String,
    role: ConsoleRole,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    lang: Option<ConsoleLanguage>,
    iat: i64,
    exp: i64,
}

impl ConsoleKey {
    pub fn from_text(text: &str) -> Result<ConsoleKey, ConsoleKeyTooShort> {
        if text.len() < MIN_KEY_BYTES {
            return Err(ConsoleKeyTooShort(text.len()));
        }
        Ok(ConsoleKey(text.as_bytes().to_vec()))
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this cannot fail.
        Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!())
    }

    /// Signs claims as the console would (the demo console and tests).
    pub fn sign(&self, claims: &ConsoleClaims) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap_or_default());
        let signing_input = format!("{header}.{payload}");
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let signature = URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
        format!("{signing_input}.{signature}")
    }

    /// The claims of a token the console signed, valid at `now`, or why not.
    pub fn verify(
        &self,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<ConsoleClaims, ConsoleTokenError> {
        use ConsoleTokenError::*;
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Malformed);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Malformed);
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| Malformed);
        let header: Header = serde_json::from_slice(&decode(header)?).map_err(|_| Malformed)?;
        if header.alg != "HS256" {
            return Err(Algorithm(header.alg));
        }
        let mut mac = self.mac();
        mac.update(&token.as_bytes()[..token.len() - signature.len() - 1]);
        mac.verify_slice(&decode(signature)?)
            .map_err(|_| Signature)?;
        let claims: RawClaims =
            serde_json::from_slice(&decode(payload)?).map_err(|e| Claims(e.to_string()))?;
        if claims.iss != ISSUER {
            return Err(Issuer(claims.iss));
        }
        let aud = match claims.aud {
            AudienceClaim::One(aud) if aud == AUDIENCE => aud,
            AudienceClaim::Many(list) if list.iter().any(|a| a == AUDIENCE) => AUDIENCE.to_owned(),
            AudienceClaim::One(aud) => return Err(Audience(aud)),
            AudienceClaim::Many(list) => return Err(Audience(list.join(","))),
        };
        let now = now.timestamp();
        if claims.exp <= now {
            return Err(Expired);
        }
        if claims.iat > now + MAX_CLOCK_SKEW_SECS {
            return Err(IssuedInFuture);
        }
        let lifetime = claims.exp.saturating_sub(claims.iat);
        if lifetime > MAX_LIFETIME_SECS {
            return Err(TooLongLived(lifetime));
        }
        if claims.sub.is_empty() || claims.sub.len() > 200 {
            return Err(Claims("sub must be 1 to 200 bytes".into()));
        }
        if claims
            .name
            .as_ref()
            .is_some_and(|n| n.chars().count() > 100)
        {
            return Err(Claims("name must be at most 100 characters".into()));
        }
        Ok(ConsoleClaims {
            iss: claims.iss,
            aud,
            sub: claims.sub,
            ws: claims.ws,
            role: claims.role,
            name: claims.name,
            lang: claims.lang,
            iat: claims.iat,
            exp: claims.exp,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn key() -> ConsoleKey {
        ConsoleKey::from_text("a console signing key of at least 32 bytes").unwrap()
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap()
    }

    fn owner() -> ConsoleClaims {
        ConsoleClaims::new("u-1", "ws-prod", ConsoleRole::Owner, now(), 300)
    }

    /// A token of any header and claims, signed with `key` (what an attacker or a buggy console
    /// could send).
    fn raw_token(key: &ConsoleKey, header: &str, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut mac = key.mac();
        mac.update(input.as_bytes());
        format!(
            "{input}.{}",
            URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
        )
    }

    fn claims_json() -> serde_json::Value {
        serde_json::to_value(owner()).unwrap()
    }

    #[test]
    fn a_token_the_console_signed_opens_its_workspace() {
        let mut claims = owner();
        claims.name = Some("Li Lei".into());
        claims.lang = Some(ConsoleLanguage::En);
        let verified = key().verify(&key().sign(&claims), now()).unwrap();
        assert_eq!(verified, claims);
        assert!(verified.for_workspace("ws-prod").is_ok());
    }

    #[test]
    fn a_key_shorter_than_32_bytes_is_refused() {
        assert_eq!(
            ConsoleKey::from_text("short").unwrap_err(),
            ConsoleKeyTooShort(5)
        );
        assert!(ConsoleKey::from_text(&"k".repeat(32)).is_ok());
    }

    #[test]
    fn a_forged_signature_is_refused() {
        let other = ConsoleKey::from_text("another key, also at least 32 bytes long").unwrap();
        assert_eq!(
            key().verify(&other.sign(&owner()), now()),
            Err(ConsoleTokenError::Signature)
        );
        // Claims changed after signing: the same signature no longer matches.
        let token = key().sign(&owner());
        let parts: Vec<&str> = token.split('.').collect();
        let mut forged = claims_json();
        forged["role"] = "owner".into();
        forged["ws"] = "ws-other".into();
        let tampered = format!(
            "{}.{}.{}",
            parts[0],
            URL_SAFE_NO_PAD.encode(forged.to_string()),
            parts[2]
        );
        assert_eq!(
            key().verify(&tampered, now()),
            Err(ConsoleTokenError::Signature)
        );
    }

    #[test]
    fn alg_none_and_other_algorithms_are_refused() {
        let claims = URL_SAFE_NO_PAD.encode(claims_json().to_string());
        let none = format!("{}.{claims}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        assert_eq!(
            key().verify(&none, now()),
            Err(ConsoleTokenError::Algorithm("none".into()))
        );
        let hs512 = raw_token(&key(), r#"{"alg":"HS512"}"#, &claims_json());
        assert_eq!(
            key().verify(&hs512, now()),
            Err(ConsoleTokenError::Algorithm("HS512".into()))
        );
    }

    #[test]
    fn an_expired_token_or_one_without_exp_is_refused() {
        let token = key().sign(&owner());
        assert_eq!(
            key().verify(&token, now() + chrono::Duration::seconds(300)),
            Err(ConsoleTokenError::Expired)
        );
        assert!(
            key()
                .verify(&token, now() + chrono::Duration::seconds(299))
                .is_ok()
        );
        let mut no_exp = claims_json();
        no_exp.as_object_mut().unwrap().remove("exp");
        assert!(matches!(
            key().verify(&raw_token(&key(), r#"{"alg":"HS256"}"#, &no_exp), now()),
            Err(ConsoleTokenError::Claims(_))
        ));
    }

    #[test]
    fn a_token_issued_more_than_a_minute_ahead_is_refused() {
        let ahead = |secs| {
            ConsoleClaims::new(
                "u-1",
                "ws-prod",
                ConsoleRole::Owner,
                now() + chrono::Duration::seconds(secs),
                300,
            )
        };
        assert!(key().verify(&key().sign(&ahead(60)), now()).is_ok());
        assert_eq!(
            key().verify(&key().sign(&ahead(61)), now()),
            Err(ConsoleTokenError::IssuedInFuture)
        );
    }

    #[test]
    fn a_token_living_longer_than_15_minutes_is_refused() {
        let living = |secs| ConsoleClaims::new("u-1", "ws-prod", ConsoleRole::Owner, now(), secs);
        assert!(key().verify(&key().sign(&living(900)), now()).is_ok());
        assert_eq!(
            key().verify(&key().sign(&living(901)), now()),
            Err(ConsoleTokenError::TooLongLived(901))
        );
    }

    #[test]
    fn a_wrong_issuer_or_audience_is_refused() {
        let mut claims = owner();
        claims.iss = "someone".into();
        assert_eq!(
            key().verify(&key().sign(&claims), now()),
            Err(ConsoleTokenError::Issuer("someone".into()))
        );
        let mut claims = owner();
        claims.aud = "another-service".into();
        assert_eq!(
            key().verify(&key().sign(&claims), now()),
            Err(ConsoleTokenError::Audience("another-service".into()))
        );
        let mut listed = claims_json();
        listed["aud"] = serde_json::json!(["other", "billing-center"]);
        assert!(
            key()
                .verify(&raw_token(&key(), r#"{"alg":"HS256"}"#, &listed), now())
                .is_ok()
        );
    }

    #[test]
    fn an_unknown_role_or_language_is_refused() {
        for (claim, value) in [("role", "root"), ("lang", "fr")] {
            let mut claims = claims_json();
            claims[claim] = value.into();
            assert!(matches!(
                key().verify(&raw_token(&key(), r#"{"alg":"HS256"}"#, &claims), now()),
                Err(ConsoleTokenError::Claims(_))
            ));
        }
    }

    #[test]
    fn garbage_is_malformed() {
        for garbage in ["", "a.b", "a.b.c.d", "!!!.???.###", &"x".repeat(5000)] {
            assert!(key().verify(garbage, now()).is_err(), "{garbage}");
        }
    }

    #[test]
    fn a_token_opens_only_its_workspace_and_roles() {
        let claims = owner();
        assert!(matches!(
            claims.for_workspace("ws-other"),
            Err(ConsoleTokenError::OtherWorkspace { .. })
        ));
        let member = ConsoleClaims::new("u-2", "ws-prod", ConsoleRole::Member, now(), 60);
        assert_eq!(
            member.with_role(&[ConsoleRole::Owner, ConsoleRole::Administrator]),
            Err(ConsoleTokenError::ForbiddenRole(ConsoleRole::Member))
        );
    }
}
