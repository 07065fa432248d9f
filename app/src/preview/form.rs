//! The preview form as data: what the user typed (strings, exactly as typed), how it maps to query
//! parameters, and how it turns into a wallet and a bill for `billing::plan`. Shared by the server
//! render (no-JS form submission) and the browser (live recomputation), so both show the same plan.

use std::collections::BTreeMap;

use billing::{
    Amount, AmountError, BillingItem, Charge, DeductionPlan, Instrument, InstrumentKind,
    Settlement, Wallet, WalletError, plan,
};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, TimeZone, Utc};

use crate::i18n::Msg;

/// Rows shown for vouchers/prepaid cards and for charges; blank rows are ignored.
pub const INSTRUMENT_ROWS: usize = 4;
pub const CHARGE_ROWS: usize = 6;

/// Dates in the form are read in this offset (Asia/Shanghai has no daylight saving time).
pub fn form_offset() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset")
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct InstrumentRow {
    /// An `InstrumentKind` code, or empty for an unused row.
    pub kind: String,
    pub balance: String,
    pub valid_from: String,
    pub valid_until: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ChargeRow {
    pub item: String,
    pub amount: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewForm {
    pub settlement: String,
    pub at: String,
    pub cash: String,
    pub arrears: String,
    pub instruments: Vec<InstrumentRow>,
    pub charges: Vec<ChargeRow>,
}

/// What is wrong with the form: per field (by input name) and for the form as a whole.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormErrors {
    pub fields: BTreeMap<String, Msg>,
    pub form: Option<Msg>,
}

/// The outcome of evaluating the form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evaluation {
    Plan(DeductionPlan),
    NoCharges,
    Invalid(FormErrors),
}

/// The id a row's instrument gets in the plan: `#1`, `#2`, …
pub fn instrument_id(row: usize) -> String {
    format!("#{}", row + 1)
}

fn format_date(at: DateTime<Utc>) -> String {
    at.with_timezone(&form_offset())
        .format("%Y-%m-%d")
        .to_string()
}

/// An input of the form, parsed from its name (`cash`, `i2_until`, `c0_amount`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Settlement,
    At,
    Cash,
    Arrears,
    Instrument(usize, InstrumentPart),
    Charge(usize, ChargePart),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InstrumentPart {
    Kind,
    Balance,
    From,
    Until,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ChargePart {
    Item,
    Amount,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        match name {
            "settlement" => return Some(Field::Settlement),
            "at" => return Some(Field::At),
            "cash" => return Some(Field::Cash),
            "arrears" => return Some(Field::Arrears),
            _ => {}
        }
        let (row, part) = name.get(1..)?.split_once('_')?;
        let row: usize = row.parse().ok()?;
        match (name.as_bytes()[0], part) {
            (b'i', "kind") => Some(Field::Instrument(row, InstrumentPart::Kind)),
            (b'i', "balance") => Some(Field::Instrument(row, InstrumentPart::Balance)),
            (b'i', "from") => Some(Field::Instrument(row, InstrumentPart::From)),
            (b'i', "until") => Some(Field::Instrument(row, InstrumentPart::Until)),
            (b'c', "item") => Some(Field::Charge(row, ChargePart::Item)),
            (b'c', "amount") => Some(Field::Charge(row, ChargePart::Amount)),
            _ => None,
        }
    }
}

impl InstrumentPart {
    fn of(self, row: &InstrumentRow) -> &String {
        match self {
            InstrumentPart::Kind => &row.kind,
            InstrumentPart::Balance => &row.balance,
            InstrumentPart::From => &row.valid_from,
            InstrumentPart::Until => &row.valid_until,
        }
    }

    fn of_mut(self, row: &mut InstrumentRow) -> &mut String {
        match self {
            InstrumentPart::Kind => &mut row.kind,
            InstrumentPart::Balance => &mut row.balance,
            InstrumentPart::From => &mut row.valid_from,
            InstrumentPart::Until => &mut row.valid_until,
        }
    }
}

impl ChargePart {
    fn of(self, row: &ChargeRow) -> &String {
        match self {
            ChargePart::Item => &row.item,
            ChargePart::Amount => &row.amount,
        }
    }

    fn of_mut(self, row: &mut ChargeRow) -> &mut String {
        match self {
            ChargePart::Item => &mut row.item,
            ChargePart::Amount => &mut row.amount,
        }
    }
}

impl PreviewForm {
    /// A worked example around `today` (a date in UTC+8), so the page explains itself.
    pub fn example(today: NaiveDate) -> PreviewForm {
        let day = |offset: i64| {
            (today + Duration::days(offset))
                .format("%Y-%m-%d")
                .to_string()
        };
        let mut instruments = vec![
            InstrumentRow {
                kind: "regular_voucher".into(),
                balance: "50.00".into(),
                valid_from: day(-30),
                valid_until: day(30),
            },
            InstrumentRow {
                kind: "prepaid_card".into(),
                balance: "200.00".into(),
                valid_from: day(-100),
                valid_until: day(265),
            },
        ];
        instruments.resize(INSTRUMENT_ROWS, InstrumentRow::default());
        let mut charges = vec![
            ChargeRow {
                item: "logs".into(),
                amount: "120.50".into(),
            },
            ChargeRow {
                item: "time_series".into(),
                amount: "30.00".into(),
            },
            ChargeRow {
                item: "sms".into(),
                amount: "12.00".into(),
            },
        ];
        charges.resize(
            CHARGE_ROWS,
            ChargeRow {
                item: "logs".into(),
                amount: String::new(),
            },
        );
        PreviewForm {
            settlement: "account".into(),
            at: format!("{}T00:00", today.format("%Y-%m-%d")),
            cash: "100.00".into(),
            arrears: "0.00".into(),
            instruments,
            charges,
        }
    }

    /// The form a customer's own wallet starts from (the wallet page links to it).
    pub fn from_wallet(wallet: &Wallet, at: DateTime<Utc>) -> PreviewForm {
        let mut form = PreviewForm::example(at.with_timezone(&form_offset()).date_naive());
        form.cash = wallet.cash().to_string();
        form.arrears = wallet.arrears().to_string();
        form.instruments = wallet
            .instruments()
            .iter()
            .take(INSTRUMENT_ROWS)
            .map(|i| InstrumentRow {
                kind: i.kind.code().into(),
                balance: i.balance.to_string(),
                valid_from: format_date(i.valid_from),
                valid_until: format_date(i.valid_until),
            })
            .collect();
        form.instruments
            .resize(INSTRUMENT_ROWS, InstrumentRow::default());
        form
    }

    /// Every input name of the form, in display order.
    pub fn field_names() -> Vec<String> {
        let mut names: Vec<String> = ["settlement", "at", "cash", "arrears"]
            .map(String::from)
            .to_vec();
        for i in 0..INSTRUMENT_ROWS {
            for part in ["kind", "balance", "from", "until"] {
                names.push(format!("i{i}_{part}"));
            }
        }
        for c in 0..CHARGE_ROWS {
            names.push(format!("c{c}_item"));
            names.push(format!("c{c}_amount"));
        }
        names
    }

    /// The value of an input by name (empty for unknown names).
    pub fn get(&self, name: &str) -> String {
        let Some(field) = Field::parse(name) else {
            return String::new();
        };
        let value = match field {
            Field::Settlement => Some(&self.settlement),
            Field::At => Some(&self.at),
            Field::Cash => Some(&self.cash),
            Field::Arrears => Some(&self.arrears),
            Field::Instrument(row, part) => self.instruments.get(row).map(|r| part.of(r)),
            Field::Charge(row, part) => self.charges.get(row).map(|r| part.of(r)),
        };
        value.cloned().unwrap_or_default()
    }

    /// Sets an input by name; unknown names are ignored.
    pub fn set(&mut self, name: &str, value: String) {
        let Some(field) = Field::parse(name) else {
            return;
        };
        let slot = match field {
            Field::Settlement => Some(&mut self.settlement),
            Field::At => Some(&mut self.at),
            Field::Cash => Some(&mut self.cash),
            Field::Arrears => Some(&mut self.arrears),
            Field::Instrument(row, part) => self.instruments.get_mut(row).map(|r| part.of_mut(r)),
            Field::Charge(row, part) => self.charges.get_mut(row).map(|r| part.of_mut(r)),
        };
        if let Some(slot) = slot {
            *slot = value;
        }
    }

    /// Reads a submitted form (query parameters). Without any of the form's parameters the worked
    /// example is shown instead of an empty form.
    pub fn from_query(get: impl Fn(&str) -> Option<String>, today: NaiveDate) -> PreviewForm {
        let mut form = PreviewForm::example(today);
        let names = PreviewForm::field_names();
        if !names.iter().any(|n| get(n).is_some()) {
            return form;
        }
        for row in &mut form.instruments {
            *row = InstrumentRow::default();
        }
        for row in &mut form.charges {
            row.amount.clear();
        }
        for name in names {
            if let Some(value) = get(&name) {
                form.set(&name, value);
            }
        }
        form
    }

    /// The form as a query string, so a preview can be linked to and reloaded.
    pub fn to_query(&self) -> String {
        PreviewForm::field_names()
            .into_iter()
            .map(|name| {
                let value = self.get(&name);
                format!("{name}={}", crate::url::percent_encode(&value, false))
            })
            .collect::<Vec<_>>()
            .join("&")
    }

    /// Validates every field and, when all are valid, runs the waterfall.
    pub fn evaluate(&self) -> Evaluation {
        let mut errors = FormErrors::default();
        let settlement = match self.settlement.as_str() {
            "cloud" => Settlement::Cloud,
            "account" => Settlement::Account,
            _ => {
                errors
                    .fields
                    .insert("settlement".into(), Msg::ErrUnknownChoice);
                Settlement::Account
            }
        };
        let at = parse_datetime(&self.at).ok_or(Msg::ErrDateTime);
        let at = record(&mut errors, "at", at);
        let cash = record(&mut errors, "cash", parse_amount(&self.cash));
        let arrears = record(&mut errors, "arrears", parse_amount(&self.arrears));

        let mut instruments = Vec::new();
        for (row, input) in self.instruments.iter().enumerate() {
            if input.kind.is_empty() {
                continue;
            }
            let Some(kind) = InstrumentKind::ALL
                .into_iter()
                .find(|k| k.code() == input.kind)
            else {
                errors
                    .fields
                    .insert(format!("i{row}_kind"), Msg::ErrUnknownChoice);
                continue;
            };
            let balance = record(
                &mut errors,
                &format!("i{row}_balance"),
                parse_amount(&input.balance),
            );
            let from = record(
                &mut errors,
                &format!("i{row}_from"),
                parse_date(&input.valid_from),
            );
            let until = record(
                &mut errors,
                &format!("i{row}_until"),
                parse_date(&input.valid_until),
            );
            if let (Some(balance), Some(valid_from), Some(valid_until)) = (balance, from, until) {
                if valid_until <= valid_from {
                    errors
                        .fields
                        .insert(format!("i{row}_until"), Msg::ErrEmptyValidity);
                    continue;
                }
                instruments.push(Instrument {
                    id: instrument_id(row),
                    kind,
                    balance,
                    valid_from,
                    valid_until,
                    activated_at: valid_from,
                });
            }
        }

        let mut charges = Vec::new();
        for (row, input) in self.charges.iter().enumerate() {
            if input.amount.trim().is_empty() {
                continue;
            }
            let item = record(
                &mut errors,
                &format!("c{row}_item"),
                input
                    .item
                    .parse::<BillingItem>()
                    .map_err(|_| Msg::ErrUnknownChoice),
            );
            let amount = record(
                &mut errors,
                &format!("c{row}_amount"),
                parse_amount(&input.amount),
            );
            if let (Some(item), Some(amount)) = (item, amount) {
                charges.push(Charge { item, amount });
            }
        }

        if !errors.fields.is_empty() {
            errors.form = Some(Msg::FixErrors);
            return Evaluation::Invalid(errors);
        }
        let (Some(at), Some(cash), Some(arrears)) = (at, cash, arrears) else {
            unreachable!("no field errors means every required field parsed")
        };
        let wallet = match Wallet::new(cash, arrears, instruments) {
            Ok(wallet) => wallet,
            Err(WalletError::CashAndArrears { .. }) => {
                errors
                    .fields
                    .insert("arrears".into(), Msg::ErrCashAndArrears);
                errors.form = Some(Msg::ErrCashAndArrears);
                return Evaluation::Invalid(errors);
            }
            Err(_) => unreachable!("row ids are unique, unreserved and windows are checked above"),
        };
        if charges.is_empty() {
            return Evaluation::NoCharges;
        }
        Evaluation::Plan(plan(settlement, at, &wallet, &charges))
    }
}

fn record<T>(errors: &mut FormErrors, field: &str, result: Result<T, Msg>) -> Option<T> {
    result
        .map_err(|msg| errors.fields.insert(field.to_owned(), msg))
        .ok()
}

fn parse_amount(input: &str) -> Result<Amount, Msg> {
    let input = input.trim();
    if input.is_empty() {
        return Err(Msg::ErrRequired);
    }
    Amount::parse(input).map_err(|e| match e {
        AmountError::NotANumber(_) => Msg::ErrNotANumber,
        AmountError::Negative(_) => Msg::ErrNegative,
        AmountError::TooPrecise(_) => Msg::ErrTooPrecise,
        AmountError::TooLarge(_) => Msg::ErrTooLarge,
    })
}

fn parse_date(input: &str) -> Result<DateTime<Utc>, Msg> {
    let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| Msg::ErrDate)?;
    local_to_utc(date.and_hms_opt(0, 0, 0).expect("midnight exists")).ok_or(Msg::ErrDate)
}

fn parse_datetime(input: &str) -> Option<DateTime<Utc>> {
    let input = input.trim();
    let naive = NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(input, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    local_to_utc(naive)
}

/// Years a billing date can sensibly have; chrono's own range is far wider and its edges overflow
/// when moved between offsets.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn local_to_utc(naive: NaiveDateTime) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    if !YEARS.contains(&naive.year()) {
        return None;
    }
    form_offset()
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn plan_of(form: &PreviewForm) -> DeductionPlan {
        match form.evaluate() {
            Evaluation::Plan(plan) => plan,
            other => panic!("expected a plan, got {other:?}"),
        }
    }

    #[test]
    fn the_example_is_a_valid_bill_paid_by_voucher_card_and_cash() {
        let plan = plan_of(&PreviewForm::example(today()));
        assert_eq!(plan.totals.regular_voucher, Amount::parse("50.00").unwrap());
        assert_eq!(plan.totals.prepaid_card, Amount::parse("112.50").unwrap());
        assert_eq!(plan.totals.total(), Amount::parse("162.50").unwrap());
        // 2026-11-23T00:00 in UTC+8.
        assert_eq!(plan.at.to_rfc3339(), "2026-11-22T16:00:00+00:00");
    }

    #[test]
    fn a_submitted_query_replaces_the_example_and_blank_rows_are_ignored() {
        let query: HashMap<&str, &str> = HashMap::from([
            ("settlement", "cloud"),
            ("at", "2026-11-23T00:00"),
            ("cash", "5"),
            ("arrears", "0"),
            ("c0_item", "sms"),
            ("c0_amount", "3.5"),
        ]);
        let form = PreviewForm::from_query(|k| query.get(k).map(|v| v.to_string()), today());
        let plan = plan_of(&form);
        assert_eq!(plan.settlement, Settlement::Cloud);
        assert_eq!(plan.lines.len(), 1);
        assert_eq!(plan.totals.cloud, Amount::parse("3.50").unwrap());
    }

    #[test]
    fn field_errors_name_the_field_and_the_problem() {
        let mut form = PreviewForm::example(today());
        form.set("cash", "-1".into());
        form.set("c1_amount", "1.234".into());
        form.set("i0_until", "nope".into());
        form.set("at", "".into());
        let Evaluation::Invalid(errors) = form.evaluate() else {
            panic!("expected errors")
        };
        assert_eq!(errors.fields["cash"], Msg::ErrNegative);
        assert_eq!(errors.fields["c1_amount"], Msg::ErrTooPrecise);
        assert_eq!(errors.fields["i0_until"], Msg::ErrDate);
        assert_eq!(errors.fields["at"], Msg::ErrDateTime);
        assert_eq!(errors.form, Some(Msg::FixErrors));
    }

    #[test]
    fn dates_outside_the_supported_years_are_field_errors_not_panics() {
        let mut form = PreviewForm::example(today());
        form.set("at", "-262143-01-01T00:00".into());
        form.set("i0_from", "-262143-01-01".into());
        form.set("i1_until", "+262142-12-31".into());
        let Evaluation::Invalid(errors) = form.evaluate() else {
            panic!("expected errors")
        };
        assert_eq!(errors.fields["at"], Msg::ErrDateTime);
        assert_eq!(errors.fields["i0_from"], Msg::ErrDate);
        assert_eq!(errors.fields["i1_until"], Msg::ErrDate);
    }

    #[test]
    fn cash_and_arrears_together_and_empty_windows_are_refused() {
        let mut form = PreviewForm::example(today());
        form.set("arrears", "1".into());
        let Evaluation::Invalid(errors) = form.evaluate() else {
            panic!()
        };
        assert_eq!(errors.fields["arrears"], Msg::ErrCashAndArrears);

        let mut form = PreviewForm::example(today());
        form.set("i0_until", form.get("i0_from"));
        let Evaluation::Invalid(errors) = form.evaluate() else {
            panic!()
        };
        assert_eq!(errors.fields["i0_until"], Msg::ErrEmptyValidity);
    }

    #[test]
    fn unknown_or_out_of_range_field_names_are_ignored() {
        let mut form = PreviewForm::example(today());
        let before = form.clone();
        for name in [
            "",
            "x",
            "i9_kind",
            "c99_amount",
            "i0_colour",
            "c_amount",
            "z0_kind",
            "ié_kind",
        ] {
            form.set(name, "1".into());
            assert_eq!(form.get(name), "", "{name}");
        }
        assert_eq!(form, before);
    }

    #[test]
    fn unknown_choices_are_field_errors_not_silent_defaults() {
        let mut form = PreviewForm::example(today());
        form.set("settlement", "barter".into());
        form.set("c0_item", "SMS".into());
        form.set("i0_kind", "gift_card".into());
        let Evaluation::Invalid(errors) = form.evaluate() else {
            panic!("expected errors")
        };
        assert_eq!(errors.fields["settlement"], Msg::ErrUnknownChoice);
        assert_eq!(errors.fields["c0_item"], Msg::ErrUnknownChoice);
        assert_eq!(errors.fields["i0_kind"], Msg::ErrUnknownChoice);
    }

    #[test]
    fn no_charges_is_its_own_outcome() {
        let mut form = PreviewForm::example(today());
        for c in 0..CHARGE_ROWS {
            form.set(&format!("c{c}_amount"), String::new());
        }
        assert_eq!(form.evaluate(), Evaluation::NoCharges);
    }

    #[test]
    fn the_query_string_round_trips() {
        let mut form = PreviewForm::example(today());
        form.set("c4_amount", "7 & 8".into());
        let query = form.to_query();
        let pairs: HashMap<String, String> = query
            .split('&')
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap();
                let bytes = v.as_bytes();
                let mut decoded = Vec::new();
                let mut i = 0;
                while i < bytes.len() {
                    if bytes[i] == b'%' {
                        decoded.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        decoded.push(bytes[i]);
                        i += 1;
                    }
                }
                (k.to_owned(), String::from_utf8(decoded).unwrap())
            })
            .collect();
        let back = PreviewForm::from_query(|k| pairs.get(k).cloned(), today());
        assert_eq!(back, form);
    }

    #[test]
    fn a_wallet_fills_the_wallet_fields() {
        let at = Utc.with_ymd_and_hms(2026, 11, 22, 16, 0, 0).unwrap();
        let wallet = Wallet::new(
            Amount::ZERO,
            Amount::from_yuan(3),
            vec![Instrument {
                id: "card-1".into(),
                kind: InstrumentKind::PrepaidCard,
                balance: Amount::from_yuan(9),
                valid_from: at,
                valid_until: at + Duration::days(365),
                activated_at: at,
            }],
        )
        .unwrap();
        let form = PreviewForm::from_wallet(&wallet, at);
        assert_eq!(
            (form.cash.as_str(), form.arrears.as_str()),
            ("0.00", "3.00")
        );
        assert_eq!(form.instruments[0].kind, "prepaid_card");
        assert_eq!(form.instruments[0].valid_from, "2026-11-23");
        assert_eq!(form.instruments[1], InstrumentRow::default());
    }
}
