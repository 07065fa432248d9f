//! The wallet's server functions (customer + CSRF): open a top-up and go on to pay it, activate
//! a voucher code, buy a prepaid card. Money forms carry the page's idempotency key.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::AppError;

/// What a wallet action made: the voucher's or the card's number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Made {
    pub number: String,
}

/// Where to go after opening a top-up: the gateway's checkout (a page of another site, or the
/// sandbox's: the browser loads it whole) or the top-up's own page in the app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Next {
    pub url: String,
    pub full_page: bool,
}

/// Where a top-up action sends the customer. On a phone, a pending online top-up goes to Alipay's
/// mobile checkout (which hands over to the Alipay app); on a desktop it goes to Alipay's checkout
/// page only when asked to (`to_gateway`: "pay on Alipay's website"), otherwise to the top-up's
/// page, which shows the QR code; inside WeChat, which blocks Alipay, to the top-up's page, which
/// says how to open it in the system browser. A bank transfer goes to its page.
#[cfg(feature = "ssr")]
async fn go_pay(top_up: backend::topups::TopUp, to_gateway: bool) -> Result<Next, AppError> {
    use crate::server_side::{paying_from, plain_post_goes_to, site, store};
    use backend::payments::{PayWith, PayingFrom};
    let (site, store) = (site()?, store()?);
    let gateway = match paying_from() {
        PayingFrom::Phone => match site
            .payments
            .pay_with(&store, &top_up, PayingFrom::Phone)
            .await?
        {
            Some(PayWith::Gateway { url }) => Some(url),
            _ => None,
        },
        PayingFrom::Desktop if to_gateway => site.payments.checkout_url(&store, &top_up).await?,
        PayingFrom::Desktop | PayingFrom::WeChat => None,
    };
    let next = match gateway {
        Some(url) => Next {
            url,
            full_page: true,
        },
        None => Next {
            url: format!("/wallet/top-ups/{}", top_up.id),
            full_page: false,
        },
    };
    plain_post_goes_to(&next.url);
    Ok(next)
}

/// In the app: goes where a top-up action said (the router for its own pages).
pub fn follow(next: Signal<Option<Next>>) {
    let navigate = leptos_router::hooks::use_navigate();
    Effect::new(move |_| {
        if let Some(next) = next.get() {
            if next.full_page {
                let _ = window().location().set_href(&next.url);
            } else {
                navigate(&next.url, Default::default());
            }
        }
    });
}

/// Opens a top-up: from a phone Alipay goes straight to its checkout, from a desktop (or WeChat) to
/// the top-up's page; a bank transfer to the page with the payee and the reference.
#[server(prefix = "/fn", endpoint = "top_up")]
pub async fn top_up(
    #[server(default)] csrf: String,
    #[server(default)] idempotency_key: String,
    #[server(default)] amount: String,
    #[server(default)] method: String,
) -> Result<Next, AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_customer, form_key, site, store};
        use backend::topups::{TopUpMethod, TopUpRequest};
        let me = acting_customer(&csrf).await?;
        let amount = billing::Amount::parse(amount.trim())
            .map_err(|_| AppError::new("amount_invalid").at("amount"))?;
        let method = match method.as_str() {
            "alipay" => TopUpMethod::Alipay,
            "bank_transfer" => TopUpMethod::BankTransfer,
            _ => return Err(AppError::new("method_invalid").at("method")),
        };
        let key = form_key(
            &format!("customer{}", me.account_id),
            "top_up",
            &idempotency_key,
        )?;
        let request = TopUpRequest {
            account_id: me.account_id,
            amount,
            method,
        };
        let top_up = site()?
            .payments
            .open_top_up(&store()?, &key, &request)
            .await?;
        go_pay(top_up, false).await
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}

/// To the gateway for a top-up still waiting for payment (Alipay's checkout page on a desktop,
/// its mobile checkout on a phone).
#[server(prefix = "/fn", endpoint = "pay_top_up")]
pub async fn pay_top_up(#[server(default)] csrf: String, id: i64) -> Result<Next, AppError> {
    use crate::server_side::{acting_customer, store};
    let me = acting_customer(&csrf).await?;
    match store()?.top_up(me.account_id, id).await? {
        Some(top_up) => go_pay(top_up, true).await,
        None => Err(AppError::not_found("top_up_not_found")),
    }
}

/// Activates a code; failed codes are rate limited (apart from sign-ins).
#[server(prefix = "/fn", endpoint = "activate_voucher")]
pub async fn activate_voucher(
    #[server(default)] csrf: String,
    #[server(default)] code: String,
) -> Result<Made, AppError> {
    use crate::server_side::{acting_customer, client, plain_post_goes_to, store};
    let me = acting_customer(&csrf).await?;
    let store = store()?;
    let attempt = store
        .begin_attempt(
            backend::auth::rate_limit::Action::CodeActivation,
            &format!("account#{}", me.account_id),
            &client(),
        )
        .await
        .map_err(|e| match e {
            backend::auth::AuthError::RateLimited { retry_after_secs } => {
                AppError::rate_limited("too_many_attempts", retry_after_secs).at("code")
            }
            other => other.into(),
        })?;
    let key = backend::IdempotencyKey::generated(&format!("customer{}", me.account_id))?;
    let done = store
        .activate_code(
            &key,
            &backend::vouchers::CodeActivation {
                account_id: me.account_id,
                code,
            },
        )
        .await?;
    store.attempt_succeeded(&attempt).await?;
    let number = done.voucher.number;
    plain_post_goes_to(&format!("/wallet?activated={number}#vouchers"));
    Ok(Made { number })
}

/// Buys a prepaid card with cash.
#[server(prefix = "/fn", endpoint = "buy_prepaid_card")]
pub async fn buy_prepaid_card(
    #[server(default)] csrf: String,
    #[server(default)] idempotency_key: String,
    #[server(default)] denomination: String,
) -> Result<Made, AppError> {
    let typed: [(&str, String); 0] = [];
    let result = async move {
        use crate::server_side::{acting_customer, form_key, plain_post_goes_to, store};
        let me = acting_customer(&csrf).await?;
        let denomination = billing::Amount::parse(denomination.trim())
            .map_err(|_| AppError::new("denomination_invalid").at("denomination"))?;
        let key = form_key(
            &format!("customer{}", me.account_id),
            "prepaid_card",
            &idempotency_key,
        )?;
        let done = store()?
            .buy_prepaid_card(
                &key,
                &backend::prepaid_cards::PrepaidCardPurchase {
                    account_id: me.account_id,
                    denomination,
                },
            )
            .await?;
        let number = done.card.number;
        plain_post_goes_to(&format!("/wallet?bought={number}#prepaid-cards"));
        Ok(Made { number })
    }
    .await;
    crate::server_side::keep_typed(result, &typed)
}
