//! The price catalog in force: the versions shipped with the server (`billing/prices/catalog.json`)
//! plus the versions operators have loaded since, kept in the database so every process prices
//! alike.

use billing::PriceCatalog;
use billing::pricing::{CatalogError, PriceList};
use sqlx::Row;

use crate::store::Store;
use crate::time::to_micros;

#[derive(Debug, thiserror::Error)]
pub enum PriceLoadError {
    #[error("{0}")]
    Catalog(#[from] CatalogError),
    #[error(
        "price version '{version}' would take effect on {effective_from}, but usage of {day} is reported and not settled yet: it was accepted at the prices in force, and repricing it could make its day unbillable. Let the day settle first, or choose a later effective day"
    )]
    RepricesReportedUsage {
        version: String,
        effective_from: chrono::NaiveDate,
        day: String,
    },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

impl Store {
    /// The shipped catalog with every loaded version on top.
    pub async fn price_catalog(&self) -> Result<PriceCatalog, sqlx::Error> {
        let rows =
            sqlx::query("SELECT version, price_list FROM price_versions ORDER BY effective_from")
                .fetch_all(self.pool())
                .await?;
        let mut catalog = PriceCatalog::default_catalog();
        for row in rows {
            let version: String = row.try_get("version")?;
            let text: String = row.try_get("price_list")?;
            let list: PriceList = serde_json::from_str(&text).map_err(|e| {
                sqlx::Error::Decode(format!("stored price version '{version}': {e}").into())
            })?;
            catalog = catalog.with_version(list).map_err(|e| {
                sqlx::Error::Decode(format!("stored price version '{version}': {e}").into())
            })?;
        }
        Ok(catalog)
    }

    /// Adds price versions (a catalog document's `versions`) that take effect on their dates. The
    /// whole document is refused if any version is invalid or clashes with one in force.
    pub async fn load_prices(&self, document: &str) -> Result<Vec<String>, PriceLoadError> {
        let new = PriceCatalog::from_json(document)?;
        let mut tx = self.begin_write().await?;
        let mut catalog = self.price_catalog().await?;
        let mut loaded = Vec::new();
        for list in new.versions {
            catalog = catalog.with_version(list.clone())?;
            // Usage is checked against the line cap at the prices in force when it is reported;
            // a version may not reprice a day already reported and still to settle.
            let unsettled: Option<String> = sqlx::query_scalar(
                "SELECT MIN(u.usage_day) FROM usage_records u WHERE u.usage_day >= $1 AND u.voided_at IS NULL \
                 AND NOT EXISTS (SELECT 1 FROM settlement_runs r WHERE r.usage_day = u.usage_day AND r.status = 'done')",
            )
            .bind(list.effective_from.to_string())
            .fetch_one(&mut *tx)
            .await?;
            if let Some(day) = unsettled {
                return Err(PriceLoadError::RepricesReportedUsage {
                    version: list.version.clone(),
                    effective_from: list.effective_from,
                    day,
                });
            }
            let text =
                serde_json::to_string(&list).map_err(|e| CatalogError::Malformed(e.to_string()))?;
            sqlx::query(
                "INSERT INTO price_versions (version, effective_from, price_list, loaded_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&list.version)
            .bind(list.effective_from.to_string())
            .bind(text)
            .bind(to_micros(self.now()))
            .execute(&mut *tx)
            .await?;
            loaded.push(list.version);
        }
        tx.commit().await?;
        Ok(loaded)
    }
}
