//! Regular vouchers: issued straight to an account, or as one-time activation codes that a
//! customer redeems. A voucher is funded by promotion: issuing one posts its face value from
//! promotion to the voucher.

use billing::wallet_rules::{VoucherValidity, VoucherValidityError};
use billing::{Amount, InstrumentKind};
use chrono::{DateTime, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Row, Transaction};

use crate::accounts::{self, InstrumentOrigin, InstrumentRecord, NewInstrument};
use crate::auth::audit::{OperatorAct, record_act};
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::{Backend, Store, retry_after_conflict};
use crate::time::{from_micros, to_micros};

pub use billing::wallet_rules::MAX_VOUCHER_FACE_VALUE_YUAN;
/// The most activation codes one batch may generate.
pub const MAX_CODES_PER_BATCH: u32 = 10_000;
/// Code characters: no 0/O, 1/I, so codes survive being read aloud or typed from paper.
pub(crate) const CODE_ALPHABET: &[u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
const CODE_LEN: usize = 16;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherIssue {
    pub account_id: i64,
    pub face_value: Amount,
    pub validity: VoucherValidity,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoucherIssued {
    pub transaction_id: i64,
    pub voucher: InstrumentRecord,
}

/// The codes of one generated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivationCodeBatchCodes {
    pub batch_id: i64,
    /// The operator who generated it (none for batches made outside an operator's session).
    pub operator_id: Option<i64>,
    pub face_value: Amount,
    pub validity: VoucherValidity,
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationCodeBatch {
    pub face_value: Amount,
    pub validity: VoucherValidity,
    pub count: u32,
    /// After this moment the codes can no longer be activated.
    pub redeem_by: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivationCodesGenerated {
    pub batch_id: i64,
    /// Shown once to the operator, grouped as `XXXX-XXXX-XXXX-XXXX`.
    pub codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeActivation {
    pub account_id: i64,
    pub code: String,
}

fn check_face_value(face_value: Amount) -> Result<(), LedgerError> {
    billing::wallet_rules::check_voucher_face_value(face_value)
        .map(|_| ())
        .map_err(|e| LedgerError::InvalidFaceValue {
            asked: e.asked,
            max: e.max,
        })
}

/// `abcd-efgh ijkl mnop` → `ABCDEFGHIJKLMNOP`: what customers type is forgiven its case, dashes and spaces.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

fn display_code(code: &str) -> String {
    code.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

fn new_code(rng: &mut impl Rng) -> String {
    (0..CODE_LEN)
        .map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())]))
        .collect()
}

/// Credits a new regular voucher: promotion pays for it.
async fn credit_voucher(
    tx: &mut Transaction<'static, Any>,
    account_id: i64,
    kind: TransactionKind,
    origin: InstrumentOrigin,
    face_value: Amount,
    window: (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> Result<(i64, InstrumentRecord), LedgerError> {
    let transaction_id = ledger::open_transaction(tx, account_id, kind, "", to_micros(now)).await?;
    let new = NewInstrument {
        kind: InstrumentKind::RegularVoucher,
        origin,
        face_value_fen: face_value.fen(),
        valid_from: window.0,
        valid_until: window.1,
        activated_at: now,
    };
    let voucher = accounts::insert_instrument(tx, account_id, transaction_id, &new).await?;
    ledger::post(
        tx,
        transaction_id,
        account_id,
        &[
            Posting::instrument(voucher.id, voucher.kind, face_value.fen()),
            Posting::new(LedgerAccount::Promotion, -face_value.fen()),
        ],
    )
    .await?;
    Ok((transaction_id, voucher))
}

impl Store {
    pub async fn issue_voucher(
        &self,
        key: &IdempotencyKey,
        request: &VoucherIssue,
    ) -> Result<VoucherIssued, LedgerError> {
        retry_after_conflict(|| self.issue_voucher_once(key, request, None)).await
    }

    /// An operator issues a regular voucher; the audit row is part of the issue.
    pub async fn issue_voucher_by(
        &self,
        by: &OperatorAct,
        key: &IdempotencyKey,
        request: &VoucherIssue,
    ) -> Result<VoucherIssued, LedgerError> {
        retry_after_conflict(|| self.issue_voucher_once(key, request, Some(by))).await
    }

    async fn issue_voucher_once(
        &self,
        key: &IdempotencyKey,
        request: &VoucherIssue,
        by: Option<&OperatorAct>,
    ) -> Result<VoucherIssued, LedgerError> {
        const OPERATION: &str = "issue_voucher";
        check_face_value(request.face_value)?;
        request.validity.check()?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let now = self.now();
        let window = request.validity.window(now)?;
        let (transaction_id, voucher) = credit_voucher(
            &mut tx,
            account.id,
            TransactionKind::VoucherIssue,
            InstrumentOrigin::Issued,
            request.face_value,
            window,
            now,
        )
        .await?;
        let done = VoucherIssued {
            transaction_id,
            voucher,
        };
        let detail = format!(
            "issued voucher {} of {}",
            done.voucher.number, request.face_value
        );
        record_act(
            &mut tx,
            by,
            "voucher.issue",
            Some(account.id),
            &detail,
            to_micros(now),
        )
        .await?;
        idempotency::remember(&mut tx, key, OPERATION, request, &done, to_micros(now)).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn generate_activation_codes(
        &self,
        key: &IdempotencyKey,
        request: &ActivationCodeBatch,
    ) -> Result<ActivationCodesGenerated, LedgerError> {
        retry_after_conflict(|| self.generate_activation_codes_once(key, request, None)).await
    }

    /// An operator generates activation codes; the audit row is part of the batch.
    pub async fn generate_activation_codes_by(
        &self,
        by: &OperatorAct,
        key: &IdempotencyKey,
        request: &ActivationCodeBatch,
    ) -> Result<ActivationCodesGenerated, LedgerError> {
        retry_after_conflict(|| self.generate_activation_codes_once(key, request, Some(by))).await
    }

    async fn generate_activation_codes_once(
        &self,
        key: &IdempotencyKey,
        request: &ActivationCodeBatch,
        by: Option<&OperatorAct>,
    ) -> Result<ActivationCodesGenerated, LedgerError> {
        const OPERATION: &str = "generate_activation_codes";
        check_face_value(request.face_value)?;
        request.validity.check()?;
        if request.count == 0 || request.count > MAX_CODES_PER_BATCH {
            return Err(LedgerError::InvalidCodeCount {
                asked: request.count,
                max: MAX_CODES_PER_BATCH,
            });
        }
        let now = self.now();
        if request.redeem_by <= now {
            return Err(LedgerError::RedeemByInPast(request.redeem_by));
        }
        if let VoucherValidity::Fixed { valid_until, .. } = request.validity
            && valid_until <= now
        {
            return Err(VoucherValidityError::AlreadyExpired(valid_until).into());
        }
        let mut tx = self.begin_write().await?;
        if self.backend() == Backend::Postgres {
            // No account to lock: serialise concurrent requests under the same key instead.
            sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))::text")
                .bind(key.as_str())
                .fetch_one(&mut *tx)
                .await?;
        }
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let validity = serde_json::to_string(&request.validity)
            .map_err(|e| LedgerError::Corrupt(e.to_string()))?;
        let batch_id: i64 = sqlx::query_scalar(
            "INSERT INTO activation_code_batches (face_value_fen, validity, redeem_by, code_count, created_at, operator_id) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(request.face_value.fen())
        .bind(validity)
        .bind(to_micros(request.redeem_by))
        .bind(i64::from(request.count))
        .bind(to_micros(now))
        .bind(by.map(|by| by.operator_id))
        .fetch_one(&mut *tx)
        .await?;
        let codes: Vec<String> = {
            let mut rng = rand::rng();
            (0..request.count).map(|_| new_code(&mut rng)).collect()
        };
        for code in &codes {
            sqlx::query("INSERT INTO activation_codes (batch_id, code) VALUES ($1, $2)")
                .bind(batch_id)
                .bind(code)
                .execute(&mut *tx)
                .await?;
        }
        let done = ActivationCodesGenerated {
            batch_id,
            codes: codes.iter().map(|c| display_code(c)).collect(),
        };
        let detail = format!(
            "generated {} codes of {} (batch {batch_id})",
            done.codes.len(),
            request.face_value
        );
        record_act(
            &mut tx,
            by,
            "voucher.generate_codes",
            None,
            &detail,
            to_micros(now),
        )
        .await?;
        idempotency::remember(&mut tx, key, OPERATION, request, &done, to_micros(now)).await?;
        tx.commit().await?;
        Ok(done)
    }

    /// A batch of activation codes as generated (for the operators' CSV download), or none.
    pub async fn activation_code_batch(
        &self,
        batch_id: i64,
    ) -> Result<Option<ActivationCodeBatchCodes>, LedgerError> {
        let Some(batch) = sqlx::query(
            "SELECT face_value_fen, validity, operator_id FROM activation_code_batches WHERE id = $1",
        )
        .bind(batch_id)
        .fetch_optional(self.pool())
        .await?
        else {
            return Ok(None);
        };
        let validity: VoucherValidity =
            serde_json::from_str(&batch.try_get::<String, _>("validity")?)
                .map_err(|e| LedgerError::Corrupt(format!("batch {batch_id} validity: {e}")))?;
        let stored: Vec<String> =
            sqlx::query_scalar("SELECT code FROM activation_codes WHERE batch_id = $1 ORDER BY id")
                .bind(batch_id)
                .fetch_all(self.pool())
                .await?;
        // As generation showed them: XXXX-XXXX-XXXX-XXXX.
        let codes = stored.iter().map(|code| display_code(code)).collect();
        Ok(Some(ActivationCodeBatchCodes {
            batch_id,
            operator_id: batch.try_get("operator_id")?,
            face_value: Amount::from_fen(batch.try_get("face_value_fen")?),
            validity,
            codes,
        }))
    }

    /// Redeems a one-time code into a regular voucher of the account. Wrong, used and expired
    /// codes are distinct errors; a code is used once, by one account, whatever the key.
    pub async fn activate_code(
        &self,
        key: &IdempotencyKey,
        request: &CodeActivation,
    ) -> Result<VoucherIssued, LedgerError> {
        retry_after_conflict(|| self.activate_code_once(key, request)).await
    }

    async fn activate_code_once(
        &self,
        key: &IdempotencyKey,
        request: &CodeActivation,
    ) -> Result<VoucherIssued, LedgerError> {
        const OPERATION: &str = "activate_code";
        if request.code.chars().count() > 64 {
            return Err(LedgerError::CodeTooLong { max: 64 });
        }
        let code = normalise_code(&request.code);
        // Codes are letters and digits: anything else is no code (and never reaches the database,
        // where PostgreSQL would refuse a NUL in the stored request).
        if code.is_empty() || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(LedgerError::CodeNotFound(
                request.code.escape_default().to_string(),
            ));
        }
        let request = CodeActivation {
            account_id: request.account_id,
            code: code.clone(),
        };
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, &request).await? {
            return Ok(done);
        }
        let shown = display_code(&code);
        let row = sqlx::query(
            "SELECT c.id, c.redeemed_by, b.face_value_fen, b.validity, b.redeem_by \
             FROM activation_codes c JOIN activation_code_batches b ON b.id = c.batch_id WHERE c.code = $1",
        )
        .bind(&code)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| LedgerError::CodeNotFound(request.code.clone()))?;
        if row.try_get::<Option<i64>, _>("redeemed_by")?.is_some() {
            return Err(LedgerError::CodeAlreadyUsed(shown));
        }
        let now = self.now();
        let redeem_by = from_micros(row.try_get("redeem_by")?);
        if now >= redeem_by {
            return Err(LedgerError::CodeExpired {
                code: shown,
                at: redeem_by,
            });
        }
        let validity: VoucherValidity =
            serde_json::from_str(&row.try_get::<String, _>("validity")?).map_err(|e| {
                LedgerError::Corrupt(format!("activation code batch validity: {e}"))
            })?;
        let window = match validity.window(now) {
            Ok(window) => window,
            Err(VoucherValidityError::AlreadyExpired(at)) => {
                return Err(LedgerError::CodeExpired { code: shown, at });
            }
            Err(e) => return Err(e.into()),
        };
        let face_value = accounts::fen(row.try_get("face_value_fen")?)?;
        let code_id: i64 = row.try_get("id")?;
        let (transaction_id, voucher) = credit_voucher(
            &mut tx,
            account.id,
            TransactionKind::VoucherActivation,
            InstrumentOrigin::ActivationCode,
            face_value,
            window,
            now,
        )
        .await?;
        // Guarded: under PostgreSQL two accounts may race for one code; the loser updates nothing.
        let claimed = sqlx::query(
            "UPDATE activation_codes SET redeemed_by = $1, redeemed_at = $2, instrument_id = $3 \
             WHERE id = $4 AND redeemed_by IS NULL",
        )
        .bind(account.id)
        .bind(to_micros(now))
        .bind(voucher.id)
        .bind(code_id)
        .execute(&mut *tx)
        .await?;
        if claimed.rows_affected() != 1 {
            return Err(LedgerError::CodeAlreadyUsed(shown));
        }
        let done = VoucherIssued {
            transaction_id,
            voucher,
        };
        idempotency::remember(&mut tx, key, OPERATION, &request, &done, to_micros(now)).await?;
        tx.commit().await?;
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_forgiving_to_type_and_unambiguous_to_read() {
        assert_eq!(normalise_code(" abcd-efgh ijkl-mnpq\n"), "ABCDEFGHIJKLMNPQ");
        let code = new_code(&mut rand::rng());
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert!(!code.contains(['0', 'O', '1', 'I']));
        assert_eq!(display_code("ABCDEFGHJKLMNPQR"), "ABCD-EFGH-JKLM-NPQR");
    }
}
