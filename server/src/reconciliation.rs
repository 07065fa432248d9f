//! Reconciling online top-ups with the gateway (see `backend::reconciliation`): every scheduler
//! tick asks `alipay.trade.query` about pending top-ups old enough, credits the paid ones through
//! the same path a notification takes, closes the ones unpaid for a day, and flags what
//! contradicts the books. Alipay is asked over https; the sandbox over plain HTTP on this
//! process's own address, like its notifications.

use std::time::Duration;

use backend::Store;
use backend::payments::AlipayMerchant;
use backend::payments::alipay::{self, TradeQuery};
use backend::topups::{OnlinePayment, PaymentError, PaymentOutcome};

use crate::payments::{OnlinePayments, SANDBOX_GATEWAY_PATH};

/// What reconciliation needs besides the store.
#[derive(Clone)]
pub struct Reconciler {
    pub online_payments: OnlinePayments,
    pub public_url: String,
    pub local_url: String,
    client: reqwest::Client,
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    pub asked: usize,
    pub credited: usize,
    pub closed: usize,
    pub flagged: usize,
    pub errors: usize,
}

impl Reconciler {
    pub fn new(online_payments: OnlinePayments, public_url: String, local_url: String) -> Self {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default();
        Reconciler {
            online_payments,
            public_url,
            local_url,
            client,
        }
    }

    /// The merchant and where its gateway answers API calls, or `None` without online payments.
    async fn merchant(&self, store: &Store) -> Result<Option<(AlipayMerchant, String)>, String> {
        match &self.online_payments {
            OnlinePayments::Alipay(merchant) => {
                Ok(Some((merchant.clone(), merchant.gateway_url.clone())))
            }
            OnlinePayments::Sandbox => {
                let gateway = format!("{}{SANDBOX_GATEWAY_PATH}", self.public_url);
                let sandbox = store
                    .sandbox_alipay(&gateway)
                    .await
                    .map_err(|e| e.to_string())?;
                let merchant = sandbox.merchant().clone();
                let local =
                    self.online_payments
                        .api_url(&merchant, &self.public_url, &self.local_url)?;
                Ok(Some((merchant, local)))
            }
            OnlinePayments::Unavailable => Ok(None),
        }
    }

    async fn query(
        &self,
        merchant: &AlipayMerchant,
        gateway: &str,
        out_trade_no: &str,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<TradeQuery, String> {
        let params = alipay::trade_query_params(
            &merchant.app_id,
            out_trade_no,
            &backend::payments::alipay_timestamp(now),
            &merchant.merchant_key,
        );
        let body = backend::payments::call_gateway(&self.client, gateway, &params).await?;
        alipay::verify_trade_query(&body, out_trade_no, &merchant.alipay_key)
            .map_err(|e| e.to_string())
    }

    /// One pass over the top-ups due for a question.
    pub async fn reconcile(&self, store: &Store) -> Reconciled {
        let mut done = Reconciled::default();
        let (merchant, gateway) = match self.merchant(store).await {
            Ok(Some(found)) => found,
            Ok(None) => return done,
            Err(e) => {
                tracing::error!(error = %e, "cannot reconcile top-ups");
                done.errors += 1;
                return done;
            }
        };
        let due = match store.top_ups_to_reconcile().await {
            Ok(due) => due,
            Err(e) => {
                tracing::error!(error = %e, "cannot list the top-ups to reconcile");
                done.errors += 1;
                return done;
            }
        };
        for top_up in due {
            done.asked += 1;
            let answer = self
                .query(&merchant, &gateway, &top_up.reference, store.now())
                .await;
            let unpaid = match answer {
                Ok(TradeQuery::Found {
                    trade_no,
                    total_amount,
                    trade_status,
                    ..
                }) if trade_status.is_paid() => {
                    let payment = OnlinePayment {
                        out_trade_no: top_up.reference.clone(),
                        provider_trade_no: trade_no,
                        total_amount,
                    };
                    match settle_paid_trade(store, &payment).await {
                        Ok(true) => {
                            done.credited += 1;
                            tracing::warn!(top_up = top_up.id, trade = %top_up.reference,
                                "a paid top-up whose notification never arrived was credited by reconciliation");
                        }
                        Ok(false) => done.flagged += 1,
                        Err(e) => {
                            done.errors += 1;
                            tracing::error!(top_up = top_up.id, error = %e, "reconciliation could not credit a paid trade");
                        }
                    }
                    false
                }
                Ok(TradeQuery::Found { .. }) | Ok(TradeQuery::NotFound) => true,
                Err(e) => {
                    done.errors += 1;
                    tracing::warn!(top_up = top_up.id, trade = %top_up.reference, error = %e,
                        "alipay.trade.query failed; asking again later");
                    false
                }
            };
            match store.top_up_checked(top_up.id, unpaid).await {
                Ok(true) => done.closed += 1,
                Ok(false) => {}
                Err(e) => {
                    done.errors += 1;
                    tracing::error!(top_up = top_up.id, error = %e, "cannot record the reconciliation");
                }
            }
        }
        done
    }
}

/// Credits a trade the gateway says is paid. Returns false when its amount is not the top-up's
/// (the store has flagged it for an operator). Already paid is fine (true).
async fn settle_paid_trade(store: &Store, payment: &OnlinePayment) -> Result<bool, PaymentError> {
    match store.settle_online_payment(payment).await {
        Ok(PaymentOutcome::Credited { .. } | PaymentOutcome::AlreadyPaid(_)) => Ok(true),
        Err(PaymentError::AmountMismatch { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}
