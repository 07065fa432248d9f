//! Prepaid cards: bought with cash (with the gift discount voucher of the tier reached, in the same
//! transaction), or assigned by an operator or partner without payment (PRODUCT.md §2).

use billing::wallet_rules::{prepaid_card_validity, quote_prepaid_card};
use billing::{Amount, InstrumentKind};
use serde::{Deserialize, Serialize};

use crate::accounts::{self, InstrumentOrigin, InstrumentRecord, NewInstrument, fen};
use crate::auth::audit::{OperatorAct, record_act};
use crate::cash::check_reference;
use crate::error::LedgerError;
use crate::idempotency::{self, IdempotencyKey};
use crate::ledger::{self, LedgerAccount, Posting, TransactionKind};
use crate::store::{Store, retry_after_conflict};
use crate::time::to_micros;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaidCardPurchase {
    pub account_id: i64,
    pub denomination: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaidCardBought {
    pub transaction_id: i64,
    pub card: InstrumentRecord,
    pub gift_discount_voucher: Option<InstrumentRecord>,
    pub cash_after: Amount,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaidCardAssignment {
    pub account_id: i64,
    pub denomination: Amount,
    /// Who gives the card (partner or operator), kept on the ledger transaction.
    pub assigned_by: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrepaidCardAssigned {
    pub transaction_id: i64,
    pub card: InstrumentRecord,
}

/// A prepaid card of `denomination`, valid for `window`, starting now.
fn card(
    origin: InstrumentOrigin,
    denomination: Amount,
    window: (chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::Utc>),
    now: chrono::DateTime<chrono::Utc>,
) -> NewInstrument {
    NewInstrument {
        kind: InstrumentKind::PrepaidCard,
        origin,
        face_value_fen: denomination.fen(),
        valid_from: window.0,
        valid_until: window.1,
        activated_at: now,
    }
}

impl Store {
    pub async fn buy_prepaid_card(
        &self,
        key: &IdempotencyKey,
        request: &PrepaidCardPurchase,
    ) -> Result<PrepaidCardBought, LedgerError> {
        retry_after_conflict(|| self.buy_prepaid_card_once(key, request)).await
    }

    async fn buy_prepaid_card_once(
        &self,
        key: &IdempotencyKey,
        request: &PrepaidCardPurchase,
    ) -> Result<PrepaidCardBought, LedgerError> {
        const OPERATION: &str = "buy_prepaid_card";
        // The denomination rules do not depend on the balance: refuse a bad one before locking.
        quote_prepaid_card(request.denomination, request.denomination)?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let quote = quote_prepaid_card(request.denomination, fen(account.cash_fen)?)?;
        let now = self.now();
        let (valid_from, valid_until) =
            prepaid_card_validity(now, self.prepaid_card_validity_days());
        let transaction_id = ledger::open_transaction(
            &mut tx,
            account.id,
            TransactionKind::PrepaidCardPurchase,
            "",
            to_micros(now),
        )
        .await?;
        let new_card = card(
            InstrumentOrigin::Purchased,
            quote.denomination,
            (valid_from, valid_until),
            now,
        );
        let card =
            accounts::insert_instrument(&mut tx, account.id, transaction_id, &new_card).await?;
        let mut postings = vec![
            Posting::new(LedgerAccount::CustomerCash, -quote.denomination.fen()),
            Posting::instrument(card.id, card.kind, quote.denomination.fen()),
        ];
        let gift_discount_voucher = match quote.gift_discount_voucher {
            Some(gift) => {
                let voucher = accounts::insert_instrument(
                    &mut tx,
                    account.id,
                    transaction_id,
                    &NewInstrument {
                        kind: InstrumentKind::DiscountVoucher,
                        origin: InstrumentOrigin::CardGift,
                        face_value_fen: gift.fen(),
                        valid_from,
                        valid_until,
                        activated_at: now,
                    },
                )
                .await?;
                postings.push(Posting::instrument(voucher.id, voucher.kind, gift.fen()));
                postings.push(Posting::new(LedgerAccount::Promotion, -gift.fen()));
                Some(voucher)
            }
            None => None,
        };
        ledger::post(&mut tx, transaction_id, account.id, &postings).await?;
        accounts::set_balances(
            &mut tx,
            account.id,
            quote.cash_after.fen(),
            account.arrears_fen,
        )
        .await?;
        let done = PrepaidCardBought {
            transaction_id,
            card,
            gift_discount_voucher,
            cash_after: quote.cash_after,
        };
        idempotency::remember(&mut tx, key, OPERATION, request, &done, to_micros(now)).await?;
        tx.commit().await?;
        Ok(done)
    }

    pub async fn assign_prepaid_card(
        &self,
        key: &IdempotencyKey,
        request: &PrepaidCardAssignment,
    ) -> Result<PrepaidCardAssigned, LedgerError> {
        retry_after_conflict(|| self.assign_prepaid_card_once(key, request, None)).await
    }

    /// An operator assigns a card; the audit row is part of the assignment.
    pub async fn assign_prepaid_card_by(
        &self,
        by: &OperatorAct,
        key: &IdempotencyKey,
        request: &PrepaidCardAssignment,
    ) -> Result<PrepaidCardAssigned, LedgerError> {
        retry_after_conflict(|| self.assign_prepaid_card_once(key, request, Some(by))).await
    }

    async fn assign_prepaid_card_once(
        &self,
        key: &IdempotencyKey,
        request: &PrepaidCardAssignment,
        by: Option<&OperatorAct>,
    ) -> Result<PrepaidCardAssigned, LedgerError> {
        const OPERATION: &str = "assign_prepaid_card";
        quote_prepaid_card(request.denomination, request.denomination)?;
        check_reference(&request.assigned_by)?;
        let mut tx = self.begin_write().await?;
        let account = accounts::lock(self, &mut tx, request.account_id).await?;
        if let Some(done) = idempotency::replay(&mut tx, key, OPERATION, request).await? {
            return Ok(done);
        }
        let now = self.now();
        let (valid_from, valid_until) =
            prepaid_card_validity(now, self.prepaid_card_validity_days());
        let transaction_id = ledger::open_transaction(
            &mut tx,
            account.id,
            TransactionKind::PrepaidCardAssignment,
            &request.assigned_by,
            to_micros(now),
        )
        .await?;
        let new_card = card(
            InstrumentOrigin::Assigned,
            request.denomination,
            (valid_from, valid_until),
            now,
        );
        let card =
            accounts::insert_instrument(&mut tx, account.id, transaction_id, &new_card).await?;
        ledger::post(
            &mut tx,
            transaction_id,
            account.id,
            &[
                Posting::new(LedgerAccount::PartnerClearing, -request.denomination.fen()),
                Posting::instrument(card.id, card.kind, request.denomination.fen()),
            ],
        )
        .await?;
        let done = PrepaidCardAssigned {
            transaction_id,
            card,
        };
        let detail = format!(
            "assigned card {} of {}",
            done.card.number, request.denomination
        );
        record_act(
            &mut tx,
            by,
            "prepaid_card.assign",
            Some(account.id),
            &detail,
            to_micros(now),
        )
        .await?;
        idempotency::remember(&mut tx, key, OPERATION, request, &done, to_micros(now)).await?;
        tx.commit().await?;
        Ok(done)
    }
}
