//! Model-based property test: random sequences of money operations run against the store and
//! against a plain in-memory model of one account. After every step the balances must match the
//! model, the ledger check must pass (postings balance, cached balances equal their postings), and
//! a rejected operation or a replay must leave the database exactly as it was.

mod support;

use std::collections::BTreeMap;

use backend::accounts::instrument_number;
use backend::bills::BillCharge;
use backend::cash::{CashCredit, CashSource};
use backend::prepaid_cards::{PrepaidCardAssignment, PrepaidCardPurchase};
use backend::vouchers::{ActivationCodeBatch, CodeActivation, VoucherIssue};
use backend::{Backend, Clock, IdempotencyKey, LedgerError};
use billing::wallet_rules::{VoucherValidity, gift_discount_voucher, split_top_up};
use billing::{Amount, BillingItem, Charge, Instrument, InstrumentKind, Settlement, Wallet, plan};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use support::TestDb;

const CASES: u32 = 40;
const MIN_OPS: usize = 50;
const MAX_OPS: usize = 60;

#[derive(Debug, Clone)]
enum Op {
    TopUp {
        fen: i64,
    },
    IssueVoucher {
        fen: i64,
        days: u32,
    },
    ActivateNewCode {
        fen: i64,
        days: u32,
    },
    ActivateUsedCode,
    ActivateWrongCode,
    BuyCard {
        hundreds: i64,
        odd: bool,
    },
    AssignCard {
        hundreds: i64,
    },
    ChargeBill {
        charges: Vec<(usize, i64)>,
        cloud: bool,
    },
    RechargeSameDayDifferently,
    Advance {
        hours: i64,
    },
    Expire,
    ReplayLast,
    ReuseLastKeyDifferently,
    CreditLastReceiptAgain,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0i64..=60_000).prop_map(|fen| Op::TopUp { fen }),
        2 => (0i64..=5_000, 0u32..=30).prop_map(|(fen, days)| Op::IssueVoucher { fen, days }),
        2 => (1i64..=5_000, 1u32..=30).prop_map(|(fen, days)| Op::ActivateNewCode { fen, days }),
        1 => Just(Op::ActivateUsedCode),
        1 => Just(Op::ActivateWrongCode),
        3 => (0i64..=120, any::<bool>()).prop_map(|(hundreds, odd)| Op::BuyCard { hundreds, odd }),
        1 => (1i64..=5).prop_map(|hundreds| Op::AssignCard { hundreds }),
        6 => (prop::collection::vec((0..BillingItem::ALL.len(), 0i64..=40_000), 1..=6), prop::bool::weighted(0.2))
            .prop_map(|(charges, cloud)| Op::ChargeBill { charges, cloud }),
        1 => Just(Op::RechargeSameDayDifferently),
        2 => (1i64..=24 * 20).prop_map(|hours| Op::Advance { hours }),
        2 => Just(Op::Expire),
        2 => Just(Op::ReplayLast),
        1 => Just(Op::ReuseLastKeyDifferently),
        1 => Just(Op::CreditLastReceiptAgain),
    ]
}

#[derive(Debug, Clone)]
struct ModelInstrument {
    kind: InstrumentKind,
    balance: Amount,
    valid_from: DateTime<Utc>,
    valid_until: DateTime<Utc>,
    activated_at: DateTime<Utc>,
    expired: bool,
}

#[derive(Debug, Clone)]
enum LastRequest {
    TopUp(CashCredit),
    Voucher(VoucherIssue),
    Activation(CodeActivation),
    Card(PrepaidCardPurchase),
    Assignment(PrepaidCardAssignment),
    Bill(BillCharge),
}

struct Model {
    account_id: i64,
    cash: Amount,
    arrears: Amount,
    instruments: BTreeMap<i64, ModelInstrument>,
    used_codes: Vec<String>,
    receipts: Vec<CashCredit>,
    bills: u32,
    keys: u32,
    last: Option<(IdempotencyKey, LastRequest, Value)>,
}

impl Model {
    fn wallet(&self) -> Wallet {
        let instruments = self
            .instruments
            .iter()
            .filter(|(_, i)| !i.balance.is_zero())
            .map(|(id, i)| Instrument {
                id: instrument_number(i.kind, *id),
                kind: i.kind,
                balance: i.balance,
                valid_from: i.valid_from,
                valid_until: i.valid_until,
                activated_at: i.activated_at,
            })
            .collect();
        Wallet::new(self.cash, self.arrears, instruments).unwrap()
    }

    fn next_key(&mut self) -> IdempotencyKey {
        self.keys += 1;
        IdempotencyKey::new(format!("acct-{}-op-{}", self.account_id, self.keys)).unwrap()
    }

    fn add(
        &mut self,
        record: &backend::accounts::InstrumentRecord,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) {
        assert_eq!(record.balance, record.face_value);
        assert_eq!(
            (record.valid_from, record.valid_until, record.activated_at),
            (now, until, now)
        );
        self.instruments.insert(
            record.id,
            ModelInstrument {
                kind: record.kind,
                balance: record.balance,
                valid_from: now,
                valid_until: until,
                activated_at: now,
                expired: false,
            },
        );
    }
}

fn json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap()
}

/// Runs one operation on the store and the model; returns whether the store was expected to change.
async fn step(db: &TestDb, model: &mut Model, op: &Op) -> bool {
    let store = &db.store;
    let now = db.clock.now();
    let account_id = model.account_id;
    match op {
        Op::TopUp { fen } => {
            let request = CashCredit {
                account_id,
                amount: Amount::from_fen(*fen),
                source: CashSource::BankTransfer,
                reference: format!("receipt-{account_id}-{}", model.keys),
            };
            let key = model.next_key();
            let result = store.credit_cash(&key, &request).await;
            if *fen == 0 {
                assert!(matches!(result, Err(LedgerError::TopUp(_))), "{result:?}");
                return false;
            }
            let done = result.unwrap();
            let split = split_top_up(model.arrears, request.amount);
            model.arrears = model.arrears.saturating_sub(split.to_arrears);
            model.cash = model.cash + split.to_cash;
            assert_eq!(
                (done.cash_after, done.arrears_after),
                (model.cash, model.arrears)
            );
            model.receipts.push(request.clone());
            model.last = Some((key, LastRequest::TopUp(request), json(&done)));
            true
        }
        Op::IssueVoucher { fen, days } => {
            let request = VoucherIssue {
                account_id,
                face_value: Amount::from_fen(*fen),
                validity: VoucherValidity::DaysFromActivation(*days),
            };
            let key = model.next_key();
            let result = store.issue_voucher(&key, &request).await;
            if *fen == 0 {
                assert!(
                    matches!(result, Err(LedgerError::InvalidFaceValue { .. })),
                    "{result:?}"
                );
                return false;
            }
            if *days == 0 {
                assert!(
                    matches!(result, Err(LedgerError::VoucherValidity(_))),
                    "{result:?}"
                );
                return false;
            }
            let done = result.unwrap();
            model.add(&done.voucher, now, now + Duration::days((*days).into()));
            model.last = Some((key, LastRequest::Voucher(request), json(&done)));
            true
        }
        Op::ActivateNewCode { fen, days } => {
            let batch = ActivationCodeBatch {
                face_value: Amount::from_fen(*fen),
                validity: VoucherValidity::DaysFromActivation(*days),
                count: 1,
                redeem_by: now + Duration::days(1),
            };
            let code = store
                .generate_activation_codes(&model.next_key(), &batch)
                .await
                .unwrap()
                .codes
                .remove(0);
            let request = CodeActivation {
                account_id,
                code: code.clone(),
            };
            let key = model.next_key();
            let done = store.activate_code(&key, &request).await.unwrap();
            assert_eq!(done.voucher.face_value, batch.face_value);
            model.add(&done.voucher, now, now + Duration::days((*days).into()));
            model.used_codes.push(code);
            model.last = Some((key, LastRequest::Activation(request), json(&done)));
            true
        }
        Op::ActivateUsedCode => {
            let Some(code) = model.used_codes.last().cloned() else {
                return false;
            };
            let result = store
                .activate_code(&model.next_key(), &CodeActivation { account_id, code })
                .await;
            assert!(
                matches!(result, Err(LedgerError::CodeAlreadyUsed(_))),
                "{result:?}"
            );
            false
        }
        Op::ActivateWrongCode => {
            let request = CodeActivation {
                account_id,
                code: "2222-3333-4444-5555".into(),
            };
            let result = store.activate_code(&model.next_key(), &request).await;
            assert!(
                matches!(result, Err(LedgerError::CodeNotFound(_))),
                "{result:?}"
            );
            false
        }
        Op::BuyCard { hundreds, odd } => {
            let fen = hundreds * 10_000 + if *odd { 5_000 } else { 0 };
            let request = PrepaidCardPurchase {
                account_id,
                denomination: Amount::from_fen(fen),
            };
            let key = model.next_key();
            let result = store.buy_prepaid_card(&key, &request).await;
            if *hundreds == 0 || *odd || request.denomination > model.cash {
                assert!(
                    matches!(result, Err(LedgerError::PrepaidCard(_))),
                    "{result:?}"
                );
                return false;
            }
            let done = result.unwrap();
            let until = now + Duration::days(365);
            model.cash = model.cash.saturating_sub(request.denomination);
            assert_eq!(done.cash_after, model.cash);
            model.add(&done.card, now, until);
            let gift = gift_discount_voucher(request.denomination);
            assert_eq!(
                done.gift_discount_voucher.as_ref().map(|v| v.face_value),
                gift
            );
            if let Some(voucher) = &done.gift_discount_voucher {
                assert_eq!(voucher.kind, InstrumentKind::DiscountVoucher);
                model.add(voucher, now, until);
            }
            model.last = Some((key, LastRequest::Card(request), json(&done)));
            true
        }
        Op::AssignCard { hundreds } => {
            let request = PrepaidCardAssignment {
                account_id,
                denomination: Amount::from_yuan(hundreds * 100),
                assigned_by: "operator:7".into(),
            };
            let key = model.next_key();
            let done = store.assign_prepaid_card(&key, &request).await.unwrap();
            model.add(&done.card, now, now + Duration::days(365));
            model.last = Some((key, LastRequest::Assignment(request), json(&done)));
            true
        }
        Op::ChargeBill { charges, cloud } => {
            model.bills += 1;
            let request = BillCharge {
                usage: Vec::new(),
                account_id,
                workspace_id: format!("ws-{account_id}"),
                day: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()
                    + Duration::days(model.bills.into()),
                cloud_subscription: None,
                settlement: if *cloud {
                    Settlement::Cloud
                } else {
                    Settlement::Account
                },
                charges: charges
                    .iter()
                    .map(|&(item, fen)| Charge {
                        item: BillingItem::ALL[item],
                        amount: Amount::from_fen(fen),
                    })
                    .collect(),
            };
            let key = model.next_key();
            let done = store.charge_bill(&key, &request).await.unwrap();
            let expected = plan(request.settlement, now, &model.wallet(), &request.charges);
            assert_eq!(done.totals, expected.totals);
            assert_eq!(done.charged_at, now);
            for (line, planned) in done.lines.iter().zip(&expected.lines) {
                let paid: Vec<_> = line
                    .paid
                    .iter()
                    .map(|p| (p.source.as_str(), p.amount))
                    .collect();
                let planned: Vec<_> = planned
                    .paid
                    .iter()
                    .map(|p| (p.source.name(), p.amount))
                    .collect();
                assert_eq!(paid, planned);
            }
            let after = &expected.wallet_after;
            model.cash = after.cash();
            model.arrears = after.arrears();
            for instrument in after.instruments() {
                let id: i64 = instrument.id[2..].parse().unwrap();
                model.instruments.get_mut(&id).unwrap().balance = instrument.balance;
            }
            model.last = Some((key, LastRequest::Bill(request), json(&done)));
            true
        }
        Op::RechargeSameDayDifferently => {
            let Some((_, LastRequest::Bill(previous), _)) = model.last.clone() else {
                return false;
            };
            let mut request = previous;
            request.charges.push(Charge {
                item: BillingItem::Network,
                amount: Amount::from_fen(1),
            });
            let result = store.charge_bill(&model.next_key(), &request).await;
            assert!(
                matches!(result, Err(LedgerError::BillConflict { .. })),
                "{result:?}"
            );
            false
        }
        Op::Advance { hours } => {
            db.clock.advance(Duration::hours(*hours));
            false
        }
        Op::Expire => {
            let sweep = store.expire_instruments().await.unwrap();
            let mine: BTreeMap<i64, Amount> = sweep
                .expired
                .iter()
                .filter(|e| e.account_id == account_id)
                .map(|e| (e.instrument_id, e.breakage))
                .collect();
            let mut expected = BTreeMap::new();
            for (id, instrument) in model.instruments.iter_mut() {
                if !instrument.expired && instrument.valid_until <= now {
                    expected.insert(*id, instrument.balance);
                    instrument.expired = true;
                    instrument.balance = Amount::ZERO;
                }
            }
            assert_eq!(mine, expected);
            // The sweep is global: earlier sequences' accounts in the same database expire too.
            !sweep.expired.is_empty()
        }
        Op::ReplayLast => {
            let Some((key, request, first)) = model.last.clone() else {
                return false;
            };
            let again = match request {
                LastRequest::TopUp(r) => json(&store.credit_cash(&key, &r).await.unwrap()),
                LastRequest::Voucher(r) => json(&store.issue_voucher(&key, &r).await.unwrap()),
                LastRequest::Activation(r) => json(&store.activate_code(&key, &r).await.unwrap()),
                LastRequest::Card(r) => json(&store.buy_prepaid_card(&key, &r).await.unwrap()),
                LastRequest::Assignment(r) => {
                    json(&store.assign_prepaid_card(&key, &r).await.unwrap())
                }
                LastRequest::Bill(r) => json(&store.charge_bill(&key, &r).await.unwrap()),
            };
            assert_eq!(again, first, "a replay returns the first result");
            false
        }
        Op::CreditLastReceiptAgain => {
            let Some(receipt) = model.receipts.last().cloned() else {
                return false;
            };
            let result = store.credit_cash(&model.next_key(), &receipt).await;
            assert!(
                matches!(result, Err(LedgerError::DuplicateReceipt { .. })),
                "{result:?}"
            );
            false
        }
        Op::ReuseLastKeyDifferently => {
            let Some((key, _, _)) = model.last.clone() else {
                return false;
            };
            let request = CashCredit {
                account_id,
                amount: Amount::from_fen(1),
                source: CashSource::OnlinePayment,
                reference: "not-the-first-request".into(),
            };
            let result = store.credit_cash(&key, &request).await;
            assert!(
                matches!(result, Err(LedgerError::IdempotencyKeyReused { .. })),
                "{result:?}"
            );
            false
        }
    }
}

async fn assert_matches_model(db: &TestDb, model: &Model) {
    let snapshot = db.store.account(model.account_id).await.unwrap();
    assert_eq!(
        (snapshot.cash, snapshot.arrears),
        (model.cash, model.arrears),
        "cash and arrears"
    );
    assert!(snapshot.cash.is_zero() || snapshot.arrears.is_zero());
    let stored: BTreeMap<i64, (Amount, bool)> = snapshot
        .instruments
        .iter()
        .map(|i| (i.id, (i.balance, i.expired_at.is_some())))
        .collect();
    let modelled: BTreeMap<i64, (Amount, bool)> = model
        .instruments
        .iter()
        .map(|(id, i)| (*id, (i.balance, i.expired)))
        .collect();
    assert_eq!(stored, modelled, "instrument balances");
    let report = db.store.check_ledger().await.unwrap();
    assert!(report.is_clean(), "{report}");
}

async fn run_case(db: &TestDb, ops: &[Op]) {
    db.clock.set(support::start());
    let account_id = db.store.create_billing_account("Model").await.unwrap();
    let mut model = Model {
        account_id,
        cash: Amount::ZERO,
        arrears: Amount::ZERO,
        instruments: BTreeMap::new(),
        used_codes: Vec::new(),
        receipts: Vec::new(),
        bills: 0,
        keys: 0,
        last: None,
    };
    for op in ops {
        let before = db.fingerprint().await;
        let changes = step(db, &mut model, op).await;
        if !changes {
            assert_eq!(db.fingerprint().await, before, "{op:?} must change nothing");
        }
        assert_matches_model(db, &model).await;
    }
}

fn run_on(backend: Backend) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let db = runtime.block_on(TestDb::of(backend));
    let config = Config {
        cases: CASES,
        failure_persistence: None,
        ..Config::default()
    };
    // A new seed every run (printed, and settable with LEDGER_MODEL_SEED to replay a failure).
    let seed: u64 = std::env::var("LEDGER_MODEL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand_seed);
    eprintln!("ledger model on {backend:?}: seed {seed} (LEDGER_MODEL_SEED={seed} replays it)");
    let mut seed_bytes = [0u8; 32];
    seed_bytes[..8].copy_from_slice(&seed.to_le_bytes());
    let rng = TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes);
    let mut runner = TestRunner::new_with_rng(config, rng);
    let operations = std::sync::atomic::AtomicUsize::new(0);
    let result = runner.run(&prop::collection::vec(op(), MIN_OPS..=MAX_OPS), |ops| {
        runtime.block_on(run_case(&db, &ops));
        operations.fetch_add(ops.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    });
    runtime.block_on(db.finish());
    let operations = operations.into_inner();
    if let Err(e) = result {
        panic!("{e}");
    }
    eprintln!(
        "ledger model on {backend:?}: {operations} operations in {CASES} sequences, all consistent"
    );
    assert!(operations >= 2_000, "only {operations} operations ran");
}

fn rand_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
}

#[test]
fn the_store_follows_the_model_on_sqlite() {
    run_on(Backend::Sqlite);
}

#[test]
fn the_store_follows_the_model_on_postgres() {
    run_on(Backend::Postgres);
}
