//! The cloud marketplaces' calls into Billing Center.
//!
//! - Alibaba Cloud Marketplace's SaaS SPI: `GET /marketplace/aliyun?action=…&token=…`,
//!   authenticated by its MD5 token under `ALIYUN_MARKET_KEY` (`backend::cloud::aliyun`).
//! - Huawei Cloud KooGallery's SaaS interface V2: `POST /marketplace/huawei?signature=…&
//!   timestamp=…&nonce=…` with a JSON body naming the `activity`, authenticated by its
//!   HMAC-SHA256 body signature under `HUAWEI_MARKET_KEY`, within 60 s, each nonce once
//!   (`backend::cloud::huawei`); answers carry `resultCode` and a `Body-Sign` header.
//!
//! A bad or missing signature is 403 and changes nothing; without keys configured an endpoint
//! is 404, as if it did not exist. Query strings (they carry the signature) are never logged.

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
pub const HUAWEI_INTERFACE_PATH: &str = "/marketplace/huawei";

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

/// KooGallery's answer: `resultCode`, `resultMsg` (and what the activity answers), signed in
/// `Body-Sign` under the same key.
fn huawei_answer(
    key: &str,
    code: backend::cloud::huawei::ResultCode,
    message: &str,
    extra: serde_json::Value,
) -> Response {
    let mut body = json!({"resultCode": code.code(), "resultMsg": message});
    if let (Some(body), serde_json::Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    let body = body.to_string();
    let sign = backend::cloud::huawei::answer_body_sign(key, body.as_bytes());
    (
        StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/json;charset=utf-8".to_owned(),
            ),
            (axum::http::HeaderName::from_static("body-sign"), sign),
        ],
        body,
    )
        .into_response()
}

pub async fn huawei_interface(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<Settings>>,
    RawQuery(raw): RawQuery,
    body: axum::body::Bytes,
) -> Response {
    use backend::cloud::huawei::{HuaweiAnswer, HuaweiError, ResultCode, parse, verify};
    let Some(market) = settings.huawei_market.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let key = market.market_key.as_str();
    let params = match query_params(raw.as_deref()) {
        Ok(params) => params,
        Err(why) => return huawei_answer(key, ResultCode::InvalidParameter, &why, json!({})),
    };
    let nonce = params.get("nonce").map(String::as_str);
    if let Err(e) = verify(
        key,
        params.get("signature").map(String::as_str),
        params.get("timestamp").map(String::as_str),
        nonce,
        &body,
        store.now(),
    ) {
        tracing::warn!(reason = %e, "KooGallery: a call was refused");
        return huawei_answer(key, e.result_code(), &e.to_string(), json!({}));
    }
    match store
        .take_marketplace_nonce(backend::cloud::Cloud::Huawei, nonce.unwrap_or_default())
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::warn!("KooGallery: a replayed call (nonce already taken) was refused");
            let e = HuaweiError::Replayed;
            return huawei_answer(key, e.result_code(), &e.to_string(), json!({}));
        }
        Err(e) => {
            tracing::error!(error = %e, "KooGallery: cannot record the nonce");
            return huawei_answer(key, ResultCode::Internal, "try again", json!({}));
        }
    }
    let call = match parse(&body) {
        Ok(call) => call,
        Err(e) => return huawei_answer(key, e.result_code(), &e.to_string(), json!({})),
    };
    match store.huawei_activity(&call, &market).await {
        Ok(HuaweiAnswer::Instance(instance_id)) => huawei_answer(
            key,
            ResultCode::Success,
            "success",
            json!({"instanceId": instance_id}),
        ),
        Ok(HuaweiAnswer::Done) => huawei_answer(key, ResultCode::Success, "success", json!({})),
        Ok(HuaweiAnswer::Instances(ids)) => {
            let info: Vec<serde_json::Value> = ids
                .iter()
                .map(|id| {
                    json!({"instanceId": id, "appInfo": {
                        "frontEndUrl": format!("{}/workspaces", settings.public_url),
                        "memo": "Settle a workspace through this instance: Billing Center > Workspaces > Settlement method, with your Huawei Cloud account id and this instance id."
                    }})
                })
                .collect();
            huawei_answer(key, ResultCode::Success, "success", json!({"info": info}))
        }
        Err(e) => {
            let code = e.result_code();
            if code == ResultCode::Internal {
                tracing::error!(error = %e, "KooGallery call failed");
            }
            huawei_answer(
                key,
                code,
                &e.to_string().chars().take(200).collect::<String>(),
                json!({}),
            )
        }
    }
}
