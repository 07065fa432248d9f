//! The cloud marketplaces' calls into Billing Center. Alibaba Cloud Marketplace's SaaS SPI:
//! `GET /marketplace/aliyun?action=…&token=…`, authenticated by its MD5 token under
//! `ALIYUN_MARKET_KEY` (`backend::cloud::aliyun`). A bad or missing token is 403 and changes
//! nothing; without a key configured the endpoint is 404, as if it did not exist.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use backend::Store;
use backend::cloud::aliyun::{SpiAnswer, SpiError, parse};
use serde_json::json;

use crate::router::Settings;

pub const ALIYUN_SPI_PATH: &str = "/marketplace/aliyun";

/// The query as the marketplace signed it: every parameter, URL-decoded; a repeated one is
/// refused (the marketplace never repeats one, a forger might).
fn query_params(raw: Option<&str>) -> Result<BTreeMap<String, String>, String> {
    let mut params = BTreeMap::new();
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        if params
            .insert(name.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(format!("parameter '{name}' is repeated"));
        }
    }
    Ok(params)
}

pub async fn aliyun_spi(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<Settings>>,
    RawQuery(raw): RawQuery,
) -> Response {
    let Some(key) = settings.aliyun_market_key.as_deref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let refuse = |status: StatusCode, message: String| {
        (status, Json(json!({"success": false, "message": message}))).into_response()
    };
    let params = match query_params(raw.as_deref()) {
        Ok(params) => params,
        Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
    };
    let call = match parse(&params, key) {
        Ok(call) => call,
        Err(SpiError::BadToken) => {
            tracing::warn!("aliyun SPI: a call with a bad or missing token was refused");
            return refuse(StatusCode::FORBIDDEN, SpiError::BadToken.to_string());
        }
        Err(e) => return refuse(StatusCode::BAD_REQUEST, e.to_string()),
    };
    match store.aliyun_spi(&call).await {
        Ok(SpiAnswer::Instance(instance_id)) => {
            Json(json!({"instanceId": instance_id})).into_response()
        }
        Ok(SpiAnswer::Done) => Json(json!({"success": true})).into_response(),
        Err(backend::cloud::CloudError::InstanceNotFound(id)) => refuse(
            StatusCode::NOT_FOUND,
            format!("no instance '{}'", id.chars().take(64).collect::<String>()),
        ),
        Err(backend::cloud::CloudError::InvalidField { field }) => refuse(
            StatusCode::BAD_REQUEST,
            format!("{field} must be 1 to 128 visible characters"),
        ),
        Err(e) => {
            tracing::error!(error = %e, "aliyun SPI failed");
            // Not success: the marketplace retries.
            refuse(StatusCode::INTERNAL_SERVER_ERROR, "try again".into())
        }
    }
}
