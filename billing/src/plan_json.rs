//! The JSON contract of a deduction plan, shared by `billing-center plan` and `POST /api/v1/plan`.
//!
//! Input:  `{"settlement","at","wallet":{"cash","arrears","instruments":[..]},"charges":[..]}`
//! Output: `{"lines":[..],"totals":{..},"wallet_after":{"cash","arrears","instruments":[{"id","balance"}]}}`

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::instrument::{Instrument, InstrumentKind, Wallet, WalletError};
use crate::money::Amount;
use crate::waterfall::{Charge, DeductionPlan, PlanLine, Settlement, Totals, plan};

/// Limits that keep one request cheap to evaluate.
pub const MAX_CHARGES: usize = 10_000;
pub const MAX_INSTRUMENTS: usize = 1_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanRequest {
    pub settlement: Settlement,
    pub at: DateTime<Utc>,
    pub wallet: WalletInput,
    pub charges: Vec<Charge>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WalletInput {
    pub cash: Amount,
    pub arrears: Amount,
    #[serde(default)]
    pub instruments: Vec<InstrumentInput>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstrumentInput {
    pub id: String,
    pub kind: InstrumentKind,
    pub balance: Amount,
    pub valid_from: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// Defaults to `valid_from`.
    #[serde(default)]
    pub activated_at: Option<DateTime<Utc>>,
}

/// Why a plan request was refused. The message is one line, fit for stderr or an API error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanRequestError {
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid plan request: {0}")]
    Invalid(String),
    #[error("invalid wallet: {0}")]
    Wallet(#[from] WalletError),
    #[error("too many charges: {0} (at most {MAX_CHARGES})")]
    TooManyCharges(usize),
    #[error("too many instruments: {0} (at most {MAX_INSTRUMENTS})")]
    TooManyInstruments(usize),
}

impl PlanRequestError {
    /// A stable machine-readable code for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            PlanRequestError::MalformedJson(_) => "malformed_json",
            PlanRequestError::Invalid(_) => "invalid_request",
            PlanRequestError::Wallet(_) => "invalid_wallet",
            PlanRequestError::TooManyCharges(_) | PlanRequestError::TooManyInstruments(_) => {
                "too_large"
            }
        }
    }
}

impl PlanRequest {
    pub fn from_json(input: &str) -> Result<PlanRequest, PlanRequestError> {
        serde_json::from_str(input).map_err(|e| match e.classify() {
            serde_json::error::Category::Data => PlanRequestError::Invalid(e.to_string()),
            _ => PlanRequestError::MalformedJson(e.to_string()),
        })
    }

    /// Builds the validated wallet this request describes.
    pub fn wallet(&self) -> Result<Wallet, PlanRequestError> {
        if self.wallet.instruments.len() > MAX_INSTRUMENTS {
            return Err(PlanRequestError::TooManyInstruments(
                self.wallet.instruments.len(),
            ));
        }
        let instruments = self
            .wallet
            .instruments
            .iter()
            .map(|i| Instrument {
                id: i.id.clone(),
                kind: i.kind,
                balance: i.balance,
                valid_from: i.valid_from,
                valid_until: i.valid_until,
                activated_at: i.activated_at.unwrap_or(i.valid_from),
            })
            .collect();
        Ok(Wallet::new(
            self.wallet.cash,
            self.wallet.arrears,
            instruments,
        )?)
    }

    /// Validates the request and runs the waterfall.
    pub fn evaluate(&self) -> Result<PlanResponse, PlanRequestError> {
        if self.charges.len() > MAX_CHARGES {
            return Err(PlanRequestError::TooManyCharges(self.charges.len()));
        }
        let wallet = self.wallet()?;
        Ok(PlanResponse::from(plan(
            self.settlement,
            self.at,
            &wallet,
            &self.charges,
        )))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlanResponse {
    pub lines: Vec<PlanLine>,
    pub totals: Totals,
    pub wallet_after: WalletAfter,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalletAfter {
    pub cash: Amount,
    pub arrears: Amount,
    pub instruments: Vec<InstrumentBalance>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstrumentBalance {
    pub id: String,
    pub balance: Amount,
}

impl From<DeductionPlan> for PlanResponse {
    fn from(plan: DeductionPlan) -> Self {
        let after = &plan.wallet_after;
        let wallet_after = WalletAfter {
            cash: after.cash(),
            arrears: after.arrears(),
            instruments: after
                .instruments()
                .iter()
                .map(|i| InstrumentBalance {
                    id: i.id.clone(),
                    balance: i.balance,
                })
                .collect(),
        };
        PlanResponse {
            lines: plan.lines,
            totals: plan.totals,
            wallet_after,
        }
    }
}

/// Parses a JSON plan request and returns the plan as JSON: the whole `plan` command in one call.
pub fn evaluate_json(input: &str) -> Result<String, PlanRequestError> {
    let response = PlanRequest::from_json(input)?.evaluate()?;
    Ok(serde_json::to_string(&response).expect("a plan always serialises"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn request(wallet: Value, charges: Value) -> String {
        json!({"settlement":"account","at":"2026-11-23T00:00:00+08:00","wallet":wallet,"charges":charges}).to_string()
    }

    #[test]
    fn the_documented_example_produces_the_documented_shape() {
        let input = request(
            json!({"cash":"100.00","arrears":"0.00","instruments":[{"id":"v1","kind":"regular_voucher","balance":"10.00",
                "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}]}),
            json!([{"item":"logs","amount":"12.34"}]),
        );
        let out: Value = serde_json::from_str(&evaluate_json(&input).unwrap()).unwrap();
        assert_eq!(
            out,
            json!({
                "lines":[{"charge":0,"item":"logs","amount":"12.34","paid":[{"source":"v1","amount":"10.00"},{"source":"cash","amount":"2.34"}]}],
                "totals":{"regular_voucher":"10.00","discount_voucher":"0.00","prepaid_card":"0.00","cash":"2.34","arrears":"0.00","cloud":"0.00"},
                "wallet_after":{"cash":"97.66","arrears":"0.00","instruments":[{"id":"v1","balance":"0.00"}]}
            })
        );
    }

    #[test]
    fn activated_at_defaults_to_valid_from() {
        let input = request(
            json!({"cash":"0","arrears":"0","instruments":[{"id":"v1","kind":"prepaid_card","balance":"1",
                "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}]}),
            json!([]),
        );
        let wallet = PlanRequest::from_json(&input).unwrap().wallet().unwrap();
        assert_eq!(
            wallet.instruments()[0].activated_at,
            wallet.instruments()[0].valid_from
        );
    }

    #[test]
    fn each_kind_of_bad_input_is_refused_with_a_clear_message() {
        let wallet = json!({"cash":"1.00","arrears":"0.00"});
        let cases = [
            ("{not json".to_owned(), "malformed JSON"),
            (String::new(), "malformed JSON"),
            (request(wallet.clone(), json!([{"item":"disk","amount":"1.00"}])), "unknown variant `disk`"),
            (request(wallet.clone(), json!([{"item":"logs","amount":"-1.00"}])), "negative"),
            (request(wallet.clone(), json!([{"item":"logs","amount":"1.001"}])), "more than 2 decimal places"),
            (request(wallet.clone(), json!([{"item":"logs","amount":1.5}])), "decimal string"),
            (request(json!({"cash":"1.00","arrears":"2.00"}), json!([])), "cannot both be above zero"),
            (
                request(json!({"cash":"0","arrears":"0","instruments":[{"id":"x","kind":"gift_card","balance":"1",
                    "valid_from":"2026-01-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z"}]}), json!([])),
                "unknown variant `gift_card`",
            ),
            (
                json!({"settlement":"barter","at":"2026-11-23T00:00:00Z","wallet":wallet,"charges":[]}).to_string(),
                "unknown variant `barter`",
            ),
            (
                json!({"settlement":"account","at":"yesterday","wallet":wallet,"charges":[]}).to_string(),
                "invalid plan request",
            ),
            (
                json!({"settlement":"account","at":"2026-11-23T00:00:00Z","wallet":wallet,"charges":[],"extra":1}).to_string(),
                "unknown field `extra`",
            ),
            (request(wallet.clone(), json!([{"item":"logs","amount":"1.00","qty":5}])), "unknown field `qty`"),
        ];
        for (input, expected) in cases {
            let message = evaluate_json(&input).unwrap_err().to_string();
            assert!(message.contains(expected), "{input}\n  -> {message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
}
