//! Prices (PRODUCT.md §4). The catalog is data: versions of a price list, each effective from a
//! date; a day of usage is priced by the newest version in effect on that day. Billable units are
//! `quantity / unit`, truncated to 2 decimals; a line's amount is `units × unit price`, rounded half
//! up to the fen.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::item::BillingItem;
use crate::money::Amount;

/// The catalog shipped with the server: PRODUCT.md §4's prices, in effect from 2024-01-01.
pub const DEFAULT_CATALOG_JSON: &str = include_str!("../prices/catalog.json");

/// The most a usage quantity may be (one record, or one day of one item summed): far above any
/// real meter, low enough that units × price stays exact.
pub const MAX_QUANTITY: i64 = 1_000_000_000_000_000;
/// Decimal places a quantity may carry.
pub const QUANTITY_SCALE: u32 = 6;
/// The most one bill line (one item's day) may charge: beyond it is a metering fault, not usage.
/// The bill refuses such a charge, so usage that would price above it is refused at ingest
/// (`line_too_large`) rather than left to fail its day's settlement for ever.
pub const MAX_LINE_YUAN: i64 = 10_000_000;
/// The most a unit price may be, per unit per day. With [`MIN_UNIT`] and [`MAX_QUANTITY`] it bounds
/// `units × price` (at most 10^24 × 10^6); the arithmetic is checked all the same, and anything
/// above [`MAX_LINE_YUAN`] is refused before it becomes a fen count.
pub const MAX_UNIT_PRICE_YUAN: i64 = 1_000_000;
/// The smallest unit a price may be per.
pub const MIN_UNIT: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

/// The cap of one bill line as an amount.
pub fn max_line_amount() -> Amount {
    Amount::from_yuan(MAX_LINE_YUAN)
}

/// One item's price in one version: per `unit` of quantity, either a flat price or one price per
/// data-retention tier (in days).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPrice {
    /// How much quantity one billable unit is (1,000 data points, 1,000,000 log lines, 1 host...).
    pub unit: Decimal,
    /// What a unit is, for people: "1,000 data points".
    pub unit_name: String,
    /// The price per unit per day when the item has no retention tiers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<Decimal>,
    /// Price per unit per day by retention days, when the item has tiers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub retention_prices: BTreeMap<u32, Decimal>,
}

/// One version of the price list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceList {
    pub version: String,
    /// The first day (in the settlement timezone) this version prices.
    pub effective_from: NaiveDate,
    pub items: BTreeMap<BillingItem, ItemPrice>,
}

/// Every version, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriceCatalog {
    pub versions: Vec<PriceList>,
}

/// Why a catalog document is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("the price catalog is not valid JSON of the expected shape: {0}")]
    Malformed(String),
    #[error("the price catalog has no version")]
    Empty,
    #[error("price version '{0}' appears twice")]
    DuplicateVersion(String),
    #[error("price versions '{0}' and '{1}' take effect on the same day {2}")]
    SameEffectiveDay(String, String, NaiveDate),
    #[error("price version '{version}', item {item}: {problem}")]
    InvalidItem {
        version: String,
        item: BillingItem,
        problem: String,
    },
    #[error("price version '{0}' must have a name of 1 to 64 characters")]
    InvalidVersionName(String),
}

/// Why one usage quantity cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("no price is in effect on {0}")]
    NoPriceList(NaiveDate),
    #[error("{item} has no price in price version '{version}'")]
    ItemNotPriced { item: BillingItem, version: String },
    #[error("{item} is priced by data retention: give retention_days (one of {tiers})")]
    RetentionRequired { item: BillingItem, tiers: String },
    #[error("{item} has no price for a retention of {days} days (priced: {tiers})")]
    RetentionNotPriced {
        item: BillingItem,
        days: u32,
        tiers: String,
    },
    #[error("{item} has no retention tiers: leave retention_days out")]
    RetentionNotApplicable { item: BillingItem },
    #[error(
        "quantity '{0}' is not valid: a decimal of at most {QUANTITY_SCALE} places, 0 to {MAX_QUANTITY}"
    )]
    InvalidQuantity(String),
    #[error(
        "{quantity} of {item} in a day would charge {amount} yuan, above the {MAX_LINE_YUAN} yuan a bill line may charge"
    )]
    LineTooLarge {
        item: BillingItem,
        quantity: Decimal,
        amount: Decimal,
    },
}

/// A priced quantity of one item: what a bill line shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PricedUsage {
    pub item: BillingItem,
    pub retention_days: Option<u32>,
    pub quantity: Decimal,
    /// Billable units: quantity / unit, truncated to 2 decimals.
    pub units: Decimal,
    pub unit_price: Decimal,
    pub amount: Amount,
    pub price_version: String,
}

/// Parses and checks a usage quantity: non-negative, at most 6 decimals, at most [`MAX_QUANTITY`].
pub fn parse_quantity(text: &str) -> Result<Decimal, PricingError> {
    let invalid = || PricingError::InvalidQuantity(text.to_owned());
    let plain = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && text.bytes().filter(|b| *b == b'.').count() <= 1
        && !text.starts_with('.')
        && !text.ends_with('.');
    if !plain {
        return Err(invalid());
    }
    let quantity = Decimal::from_str(text).map_err(|_| invalid())?;
    check_quantity(quantity).map_err(|_| invalid())?;
    Ok(quantity.normalize())
}

fn check_quantity(quantity: Decimal) -> Result<(), PricingError> {
    if quantity.is_sign_negative()
        || quantity.normalize().scale() > QUANTITY_SCALE
        || quantity > Decimal::from(MAX_QUANTITY)
    {
        return Err(PricingError::InvalidQuantity(quantity.to_string()));
    }
    Ok(())
}

fn tiers_text(tiers: &BTreeMap<u32, Decimal>) -> String {
    tiers
        .keys()
        .map(|d| format!("{d}d"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl ItemPrice {
    fn check(&self) -> Result<(), String> {
        if self.unit < MIN_UNIT || self.unit > Decimal::from(MAX_QUANTITY) {
            return Err(format!(
                "unit must be from {MIN_UNIT} to {MAX_QUANTITY} (got {})",
                self.unit
            ));
        }
        if self.unit_name.trim().is_empty() {
            return Err("unit_name must not be empty".into());
        }
        match (self.price, self.retention_prices.is_empty()) {
            (Some(_), false) => {
                return Err("give either price or retention_prices, not both".into());
            }
            (None, true) => return Err("give price or retention_prices".into()),
            _ => {}
        }
        let prices = self.price.iter().chain(self.retention_prices.values());
        for price in prices {
            if price.is_sign_negative()
                || price.scale() > 6
                || *price > Decimal::from(MAX_UNIT_PRICE_YUAN)
            {
                return Err(format!(
                    "a unit price must be 0 to {MAX_UNIT_PRICE_YUAN} with at most 6 decimals (got {price})"
                ));
            }
        }
        if self.retention_prices.contains_key(&0) {
            return Err("a retention tier must be at least 1 day".into());
        }
        Ok(())
    }

    /// The unit price for a retention, or why there is none.
    pub fn unit_price(
        &self,
        item: BillingItem,
        retention_days: Option<u32>,
    ) -> Result<Decimal, PricingError> {
        match (self.price, retention_days) {
            (Some(price), None) => Ok(price),
            (Some(_), Some(_)) => Err(PricingError::RetentionNotApplicable { item }),
            (None, None) => Err(PricingError::RetentionRequired {
                item,
                tiers: tiers_text(&self.retention_prices),
            }),
            (None, Some(days)) => self.retention_prices.get(&days).copied().ok_or_else(|| {
                PricingError::RetentionNotPriced {
                    item,
                    days,
                    tiers: tiers_text(&self.retention_prices),
                }
            }),
        }
    }
}

impl PriceList {
    /// Checks that `item` at `retention_days` has a price, without pricing anything.
    pub fn check_priced(
        &self,
        item: BillingItem,
        retention_days: Option<u32>,
    ) -> Result<(), PricingError> {
        self.item(item)?
            .unit_price(item, retention_days)
            .map(|_| ())
    }

    fn item(&self, item: BillingItem) -> Result<&ItemPrice, PricingError> {
        self.items
            .get(&item)
            .ok_or_else(|| PricingError::ItemNotPriced {
                item,
                version: self.version.clone(),
            })
    }

    /// Prices a day's quantity of one item. Total: every quantity and every price list gets a
    /// price or an error, never a panic (checked arithmetic; a list not checked by the catalog
    /// loader is still safe). A line above [`MAX_LINE_YUAN`] is [`PricingError::LineTooLarge`].
    pub fn price(
        &self,
        item: BillingItem,
        retention_days: Option<u32>,
        quantity: Decimal,
    ) -> Result<PricedUsage, PricingError> {
        check_quantity(quantity)?;
        let price = self.item(item)?;
        let unit_price = price.unit_price(item, retention_days)?;
        let too_large = |amount: Decimal| PricingError::LineTooLarge {
            item,
            quantity: quantity.normalize(),
            amount,
        };
        let units = quantity
            .checked_div(price.unit)
            .filter(|_| price.unit > Decimal::ZERO)
            .ok_or_else(|| too_large(Decimal::MAX))?
            .round_dp_with_strategy(2, RoundingStrategy::ToZero);
        let amount = units
            .checked_mul(unit_price)
            .ok_or_else(|| too_large(Decimal::MAX))?
            .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        if amount > Decimal::from(MAX_LINE_YUAN) || amount.is_sign_negative() {
            return Err(too_large(amount));
        }
        // At most MAX_LINE_YUAN × 100 fen: always an i64.
        let fen = (amount * Decimal::ONE_HUNDRED)
            .trunc()
            .to_string()
            .parse::<i64>()
            .map_err(|_| too_large(amount))?;
        Ok(PricedUsage {
            item,
            retention_days,
            quantity: quantity.normalize(),
            units: units.normalize(),
            unit_price: unit_price.normalize(),
            amount: Amount::from_fen(fen),
            price_version: self.version.clone(),
        })
    }
}

impl PriceCatalog {
    /// Parses and checks a catalog document (JSON), sorting versions by effective date.
    pub fn from_json(json: &str) -> Result<PriceCatalog, CatalogError> {
        let mut catalog: PriceCatalog =
            serde_json::from_str(json).map_err(|e| CatalogError::Malformed(e.to_string()))?;
        catalog
            .versions
            .sort_by_key(|v| (v.effective_from, v.version.clone()));
        catalog.check()?;
        Ok(catalog)
    }

    /// The catalog the server ships with (a unit test proves it parses; were it ever broken, an
    /// empty catalog prices nothing and every record is refused with the reason, instead of a
    /// panic in the server).
    pub fn default_catalog() -> PriceCatalog {
        PriceCatalog::from_json(DEFAULT_CATALOG_JSON).unwrap_or(PriceCatalog {
            versions: Vec::new(),
        })
    }

    pub fn check(&self) -> Result<(), CatalogError> {
        if self.versions.is_empty() {
            return Err(CatalogError::Empty);
        }
        let mut names = std::collections::BTreeSet::new();
        for list in &self.versions {
            let name_ok = (1..=64).contains(&list.version.chars().count())
                && !list.version.chars().any(char::is_control);
            if !name_ok {
                return Err(CatalogError::InvalidVersionName(list.version.clone()));
            }
            if !names.insert(list.version.clone()) {
                return Err(CatalogError::DuplicateVersion(list.version.clone()));
            }
            for (item, price) in &list.items {
                price.check().map_err(|problem| CatalogError::InvalidItem {
                    version: list.version.clone(),
                    item: *item,
                    problem,
                })?;
            }
        }
        for pair in self.versions.windows(2) {
            if pair[0].effective_from == pair[1].effective_from {
                return Err(CatalogError::SameEffectiveDay(
                    pair[0].version.clone(),
                    pair[1].version.clone(),
                    pair[0].effective_from,
                ));
            }
        }
        Ok(())
    }

    /// The version in effect on `day`: the newest whose `effective_from` is not after it.
    pub fn for_day(&self, day: NaiveDate) -> Result<&PriceList, PricingError> {
        self.versions
            .iter()
            .rev()
            .find(|v| v.effective_from <= day)
            .ok_or(PricingError::NoPriceList(day))
    }

    /// Adds `list` as a new version (an operator loading prices), keeping the catalog valid.
    pub fn with_version(&self, list: PriceList) -> Result<PriceCatalog, CatalogError> {
        let mut versions = self.versions.clone();
        versions.push(list);
        versions.sort_by_key(|v| (v.effective_from, v.version.clone()));
        let catalog = PriceCatalog { versions };
        catalog.check()?;
        Ok(catalog)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn priced(item: BillingItem, retention: Option<u32>, quantity: &str) -> PricedUsage {
        PriceCatalog::default_catalog()
            .for_day(day("2026-11-22"))
            .unwrap()
            .price(item, retention, parse_quantity(quantity).unwrap())
            .unwrap()
    }

    /// Every item and tier of PRODUCT.md §4: (item, retention, quantity of exactly 1 unit... x3,
    /// expected amount).
    #[test]
    fn every_catalog_item_and_tier_is_priced_as_product_md_says() {
        use BillingItem::*;
        let cases: &[(BillingItem, Option<u32>, &str, &str)] = &[
            (TimeSeries, Some(3), "3000", "1.80"),
            (TimeSeries, Some(7), "3000", "2.10"),
            (TimeSeries, Some(14), "3000", "2.40"),
            (TimeSeries, Some(30), "3000", "3.00"),
            (TimeSeries, Some(180), "3000", "12.00"),
            (TimeSeries, Some(360), "3000", "21.00"),
            (Logs, Some(3), "3000000", "3.00"),
            (Logs, Some(7), "3000000", "3.60"),
            (Logs, Some(14), "3000000", "4.50"),
            (Logs, Some(30), "3000000", "6.00"),
            (Logs, Some(60), "3000000", "7.50"),
            (BackupLogs, None, "3", "0.02"),
            (Network, None, "3", "6.00"),
            (ApmTrace, Some(3), "3000000", "6.00"),
            (ApmTrace, Some(7), "3000000", "9.00"),
            (ApmTrace, Some(14), "3000000", "18.00"),
            (ApmTrace, Some(30), "3000000", "32.40"),
            (ApmTrace, Some(60), "3000000", "58.32"),
            (ApmProfile, Some(3), "30000", "0.60"),
            (ApmProfile, Some(7), "30000", "0.90"),
            (ApmProfile, Some(14), "30000", "1.50"),
            (RumPv, Some(3), "30000", "2.10"),
            (RumPv, Some(7), "30000", "3.00"),
            (RumPv, Some(14), "30000", "6.00"),
            (RumPv, Some(30), "30000", "10.80"),
            (RumPv, Some(60), "30000", "19.44"),
            (SessionReplay, None, "3000", "7.50"),
            (DialTesting, None, "30000", "3.00"),
            (TaskCalls, None, "30000", "3.00"),
            (Sms, None, "30", "3.00"),
            (Datakit, None, "3", "9.00"),
        ];
        for (item, retention, quantity, expected) in cases {
            let line = priced(*item, *retention, quantity);
            assert_eq!(
                line.amount,
                Amount::parse(expected).unwrap(),
                "{item} {retention:?} {quantity}"
            );
            assert_eq!(line.units, dec!(3), "{item}");
        }
        let covered: std::collections::BTreeSet<_> = cases.iter().map(|c| c.0).collect();
        assert_eq!(
            covered.len(),
            BillingItem::ALL.len(),
            "every item has a case"
        );
    }

    #[test]
    fn units_are_truncated_to_two_decimals_before_pricing() {
        // 1,234,567 log lines = 1.234567 million → 1.23 units (not 1.24) × 1.2 = 1.476 → 1.48.
        let line = priced(BillingItem::Logs, Some(7), "1234567");
        assert_eq!(line.units, dec!(1.23));
        assert_eq!(line.amount, Amount::parse("1.48").unwrap());
        // 9,999 data points = 9.999 thousand → 9.99 units.
        let line = priced(BillingItem::TimeSeries, Some(3), "9999");
        assert_eq!(line.units, dec!(9.99));
        assert_eq!(line.amount, Amount::parse("5.99").unwrap()); // 5.994 → 5.99
        // Below one hundredth of a unit costs nothing.
        assert_eq!(
            priced(BillingItem::Logs, Some(7), "9999").amount,
            Amount::ZERO
        );
    }

    #[test]
    fn amounts_round_half_up_to_the_fen() {
        // 0.5 GB of backup logs: 0.5 × 0.007 = 0.0035 → 0.00; 1.5 GB: 0.0105 → 0.01;
        // 0.72 GB: 0.00504 → 0.01; 5 units of 0.007 = 0.035 → 0.04 (half up, not to even).
        assert_eq!(
            priced(BillingItem::BackupLogs, None, "0.5").amount,
            Amount::ZERO
        );
        assert_eq!(
            priced(BillingItem::BackupLogs, None, "1.5").amount,
            Amount::from_fen(1)
        );
        assert_eq!(
            priced(BillingItem::BackupLogs, None, "0.72").amount,
            Amount::from_fen(1)
        );
        assert_eq!(
            priced(BillingItem::BackupLogs, None, "5").amount,
            Amount::from_fen(4)
        );
        // 0.25 of a 10,000-PV unit at 0.7 = 0.175 → 0.18.
        assert_eq!(
            priced(BillingItem::RumPv, Some(3), "2500").amount,
            Amount::from_fen(18)
        );
    }

    #[test]
    fn retention_must_match_the_item() {
        let list = PriceCatalog::default_catalog();
        let list = list.for_day(day("2026-11-22")).unwrap();
        assert!(matches!(
            list.price(BillingItem::Logs, Some(5), dec!(1)),
            Err(PricingError::RetentionNotPriced { days: 5, .. })
        ));
        assert!(matches!(
            list.price(BillingItem::Logs, None, dec!(1)),
            Err(PricingError::RetentionRequired { .. })
        ));
        assert!(matches!(
            list.price(BillingItem::Sms, Some(7), dec!(1)),
            Err(PricingError::RetentionNotApplicable { .. })
        ));
        assert_eq!(
            list.price(BillingItem::Logs, Some(5), dec!(1))
                .unwrap_err()
                .to_string(),
            "logs has no price for a retention of 5 days (priced: 3d, 7d, 14d, 30d, 60d)"
        );
    }

    #[test]
    fn quantities_are_plain_non_negative_decimals() {
        assert_eq!(parse_quantity("1500000").unwrap(), dec!(1500000));
        assert_eq!(parse_quantity("0.000001").unwrap(), dec!(0.000001));
        for bad in [
            "",
            "-1",
            "1e6",
            " 1",
            "1,000",
            "0.0000001",
            ".5",
            "5.",
            "1.2.3",
            "+1",
            "NaN",
            "10000000000000000000",
        ] {
            assert!(parse_quantity(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn the_version_in_effect_on_a_day_prices_it() {
        let base = PriceCatalog::default_catalog();
        let mut cheaper = base.versions[0].clone();
        cheaper.version = "2027-promo".into();
        cheaper.effective_from = day("2027-01-01");
        cheaper.items.get_mut(&BillingItem::Network).unwrap().price = Some(dec!(1));
        let catalog = base.with_version(cheaper).unwrap();
        let network = |d: &str| {
            catalog
                .for_day(day(d))
                .unwrap()
                .price(BillingItem::Network, None, dec!(1))
                .unwrap()
        };
        assert_eq!(network("2026-12-31").amount, Amount::from_yuan(2));
        assert_eq!(network("2027-01-01").amount, Amount::from_yuan(1));
        assert_eq!(network("2027-01-01").price_version, "2027-promo");
        assert_eq!(
            catalog.for_day(day("2000-01-01")).unwrap_err(),
            PricingError::NoPriceList(day("2000-01-01"))
        );
    }

    #[test]
    fn bad_catalogs_are_refused_with_the_reason() {
        let base = PriceCatalog::default_catalog();
        let mut same_day = base.versions[0].clone();
        same_day.version = "again".into();
        assert!(matches!(
            base.with_version(same_day),
            Err(CatalogError::SameEffectiveDay(..))
        ));
        let mut dup = base.versions[0].clone();
        dup.effective_from = day("2030-01-01");
        assert!(matches!(
            base.with_version(dup),
            Err(CatalogError::DuplicateVersion(_))
        ));
        let mut negative = base.versions[0].clone();
        negative.version = "neg".into();
        negative.effective_from = day("2030-01-01");
        negative.items.get_mut(&BillingItem::Sms).unwrap().price = Some(dec!(-1));
        assert!(matches!(
            base.with_version(negative),
            Err(CatalogError::InvalidItem {
                item: BillingItem::Sms,
                ..
            })
        ));
        assert!(matches!(
            PriceCatalog::from_json("{\"versions\": []}"),
            Err(CatalogError::Empty)
        ));
        assert!(matches!(
            PriceCatalog::from_json(
                "{\"versions\": [{\"version\": \"x\", \"effective_from\": \"2026-01-01\", \"items\": {\"disk\": {}}}]}"
            ),
            Err(CatalogError::Malformed(_))
        ));
    }

    #[test]
    fn the_shipped_catalog_is_valid() {
        let catalog = PriceCatalog::from_json(DEFAULT_CATALOG_JSON).unwrap();
        assert_eq!(catalog, PriceCatalog::default_catalog());
        assert!(!catalog.versions.is_empty());
    }

    #[test]
    fn a_line_above_the_cap_is_refused_not_charged() {
        let catalog = PriceCatalog::default_catalog();
        let list = catalog.for_day(day("2026-11-22")).unwrap();
        // Network: 2.00 per host per day; 5,000,000 hosts are exactly the cap.
        let at_cap = list
            .price(BillingItem::Network, None, dec!(5000000))
            .unwrap();
        assert_eq!(at_cap.amount, max_line_amount());
        let above = list
            .price(BillingItem::Network, None, dec!(5000000.5))
            .unwrap_err();
        assert!(
            matches!(
                above,
                PricingError::LineTooLarge {
                    item: BillingItem::Network,
                    ..
                }
            ),
            "{above}"
        );
        let huge = list
            .price(BillingItem::Network, None, Decimal::from(MAX_QUANTITY))
            .unwrap_err();
        assert!(matches!(huge, PricingError::LineTooLarge { .. }));
    }

    #[test]
    fn pricing_is_total_even_for_a_list_the_loader_never_checked() {
        let mut list = PriceCatalog::default_catalog().versions[0].clone();
        let network = list.items.get_mut(&BillingItem::Network).unwrap();
        network.price = Some(Decimal::MAX);
        network.unit = Decimal::from_parts(1, 0, 0, false, 28);
        assert!(matches!(
            list.price(BillingItem::Network, None, Decimal::from(MAX_QUANTITY)),
            Err(PricingError::LineTooLarge { .. })
        ));
        list.items.get_mut(&BillingItem::Network).unwrap().unit = Decimal::ZERO;
        assert!(list.price(BillingItem::Network, None, dec!(1)).is_err());
    }

    #[test]
    fn the_loader_refuses_units_and_prices_that_could_overflow() {
        let base = PriceCatalog::default_catalog().versions[0].clone();
        let with = |unit: Decimal, price: Decimal| {
            let mut list = base.clone();
            let network = list.items.get_mut(&BillingItem::Network).unwrap();
            network.unit = unit;
            network.price = Some(price);
            PriceCatalog {
                versions: vec![list],
            }
            .check()
        };
        assert!(with(dec!(1), dec!(2)).is_ok());
        assert!(
            with(dec!(0.0000001), dec!(2)).is_err(),
            "a unit below 0.000001"
        );
        assert!(
            with(dec!(1), dec!(1000000.01)).is_err(),
            "a price above 1,000,000"
        );
        assert!(with(dec!(1), dec!(1000000)).is_ok());
    }

    proptest::proptest! {
        /// Any quantity the parser accepts, priced by any list the loader accepts, is a price or
        /// an error: never a panic, never above the cap.
        #[test]
        fn any_accepted_quantity_and_price_list_prices_without_panicking(
            quantity in 0u64..=(MAX_QUANTITY as u64),
            quantity_scale in 0u32..=QUANTITY_SCALE,
            unit_mantissa in 1u64..=1_000_000_000_000u64,
            unit_scale in 0u32..=6,
            price_mantissa in 0u64..=1_000_000_000_000u64,
            price_scale in 0u32..=6,
        ) {
            let quantity = Decimal::from(quantity) / Decimal::from(10u64.pow(quantity_scale));
            let unit = Decimal::from(unit_mantissa) / Decimal::from(10u64.pow(unit_scale));
            let price = Decimal::from(price_mantissa) / Decimal::from(10u64.pow(price_scale));
            let mut list = PriceCatalog::default_catalog().versions[0].clone();
            let network = list.items.get_mut(&BillingItem::Network).unwrap();
            network.unit = unit;
            network.price = Some(price);
            let catalog = PriceCatalog { versions: vec![list] };
            if catalog.check().is_ok() && check_quantity(quantity).is_ok() {
                let priced = catalog.versions[0].price(BillingItem::Network, None, quantity);
                if let Ok(priced) = priced {
                    proptest::prop_assert!(priced.amount <= max_line_amount());
                }
            }
        }
    }
}
