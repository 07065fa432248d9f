//! The prepaid-card purchase form. While the customer types, the browser computes what the
//! purchase will do (the gift discount voucher it earns, the cash left, or why it cannot be
//! bought) with `billing::wallet_rules::quote_prepaid_card`, the function the server charges with.

use billing::Amount;
use billing::wallet_rules::{PrepaidCardError, quote_prepaid_card};
use leptos::prelude::*;

use super::page::field_error;
use crate::i18n::{Msg, t};

/// What the preview shows for the text typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CardPreview {
    Empty,
    Quote {
        gift: Option<String>,
        cash_after: String,
    },
    Refused(Msg),
}

pub fn preview(denomination: &str, cash: Amount) -> CardPreview {
    let text = denomination.trim();
    if text.is_empty() {
        return CardPreview::Empty;
    }
    let Ok(amount) = Amount::parse(text) else {
        return CardPreview::Refused(Msg::ErrDenomination);
    };
    match quote_prepaid_card(amount, cash) {
        Ok(quote) => CardPreview::Quote {
            gift: quote.gift_discount_voucher.map(Amount::to_cny),
            cash_after: quote.cash_after.to_cny(),
        },
        Err(PrepaidCardError::InsufficientCash { .. }) => {
            CardPreview::Refused(Msg::ErrInsufficientCash)
        }
        Err(_) => CardPreview::Refused(Msg::ErrDenomination),
    }
}

#[component]
pub fn CardPurchaseForm(
    action: ServerAction<super::actions::BuyPrepaidCard>,
    csrf: String,
    form_token: String,
    cash: Amount,
) -> impl IntoView {
    let last = crate::form::last_error(action);
    let typed = RwSignal::new(String::new());
    let error = crate::form::error_at(last, "denomination");
    let shown = move || {
        match preview(&typed.get(), cash) {
        CardPreview::Empty => ().into_any(),
        CardPreview::Quote { gift, cash_after } => view! {
            <dl class="card-quote" data-testid="card-preview">
                <div><dt>{t(Msg::GiftVoucher)}</dt><dd data-testid="preview-gift">{gift.unwrap_or_else(|| t(Msg::NoGift).to_owned())}</dd></div>
                <div><dt>{t(Msg::CashAfterPurchase)}</dt><dd data-testid="preview-cash-after">{cash_after}</dd></div>
            </dl>
        }
        .into_any(),
        CardPreview::Refused(msg) => view! { <p class="hint warning" data-testid="preview-refused">{t(msg)}</p> }.into_any(),
    }
    };
    view! {
        <ActionForm action attr:class="inline-form" attr:novalidate="">
            <input type="hidden" name="csrf" value=csrf/>
            <input type="hidden" name="idempotency_key" value=form_token/>
            <div class="field" class:has-error=move || error.get().is_some()>
                <label for="f-denomination">{t(Msg::Denomination)}</label>
                <input id="f-denomination" name="denomination" type="text" inputmode="numeric" autocomplete="off" required
                    aria-invalid=move || error.get().map(|_| "true")
                    on:input=move |ev| typed.set(event_target_value(&ev))/>
                {move || field_error(error.get(), "denomination")}
            </div>
            <div aria-live="polite">{shown}</div>
            <crate::form::Submit label=Msg::Buy pending=action.pending() testid="buy-card"/>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preview_is_the_quote_of_the_shared_rules() {
        let cash = Amount::from_yuan(15_000);
        assert_eq!(preview("", cash), CardPreview::Empty);
        assert_eq!(
            preview("10000", cash),
            CardPreview::Quote {
                gift: Some(Amount::from_yuan(1_000).to_cny()),
                cash_after: Amount::from_yuan(5_000).to_cny()
            }
        );
        assert_eq!(
            preview(" 100 ", cash),
            CardPreview::Quote {
                gift: None,
                cash_after: Amount::from_yuan(14_900).to_cny()
            }
        );
        assert_eq!(
            preview("20000", cash),
            CardPreview::Refused(Msg::ErrInsufficientCash)
        );
        assert_eq!(
            preview("150", cash),
            CardPreview::Refused(Msg::ErrDenomination)
        );
        assert_eq!(
            preview("abc", cash),
            CardPreview::Refused(Msg::ErrDenomination)
        );
    }
}
