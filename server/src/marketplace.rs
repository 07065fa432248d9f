//! The cloud marketplaces' calls into Billing Center.
//!
//! - Alibaba Cloud Marketplace's SaaS SPI: `GET /marketplace/aliyun?action=…&token=…`,
//!   authenticated by its MD5 token under `ALIYUN_MARKET_KEY` (`backend::cloud::aliyun`).
//! - Huawei Cloud KooGallery's SaaS interface V2: `POST /marketplace/huawei?signature=…&
//!   timestamp=…&nonce=…` with a JSON body naming the `activity`, authenticated by its
//!   HMAC-SHA256 body signature under `HUAWEI_MARKET_KEY`, within 60 s, each nonce once
//!   (`backend::cloud::huawei`); answers carry `resultCode` and a `Body-Sign` header.
//!
//! - AWS Marketplace: the fulfillment URL `POST /marketplace/aws` (the buyer's browser, with
//!   `x-amzn-marketplace-token`, resolved with `ResolveCustomer`), and Amazon SNS's
//!   notifications at `POST /marketplace/aws/notifications` (`backend::cloud::aws`).
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
pub const AWS_FULFILLMENT_PATH: &str = "/marketplace/aws";
pub const AWS_NOTIFICATIONS_PATH: &str = "/marketplace/aws/notifications";

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
                // Nothing was done: the same signed call, sent again, is taken.
                let _ = store
                    .release_marketplace_nonce(
                        backend::cloud::Cloud::Huawei,
                        nonce.unwrap_or_default(),
                    )
                    .await;
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

/// A page for the buyer's browser (the fulfillment URL is opened by a person, not a program).
fn buyer_page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = backend::html::escape;
    (
        status,
        axum::response::Html(format!(
            r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t}</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem"><h1>{t}</h1><p data-testid="aws-message">{x}</p><p><a href="/">Billing Center</a></p></body></html>"#,
            t = escape(title),
            x = escape(text)
        )),
    )
        .into_response()
}

/// AWS Marketplace's fulfillment URL, opened with a GET (a bookmark, a check): where to start.
pub async fn aws_fulfillment_page(State(settings): State<std::sync::Arc<Settings>>) -> Response {
    if settings.aws_marketplace.is_none() {
        return StatusCode::NOT_FOUND.into_response();
    }
    buyer_page(
        StatusCode::OK,
        "AWS Marketplace · Billing Center",
        "Subscribe to Billing Center on AWS Marketplace; AWS brings you back here to finish.",
    )
}

/// The buyer arrives from AWS Marketplace with `x-amzn-marketplace-token`: resolved with
/// `ResolveCustomer`, the subscription is stored, and the buyer goes on to choose the
/// workspaces it pays for (after signing in or up): `/workspaces?aws=ready`, the instance in an
/// HttpOnly cookie.
pub async fn aws_fulfillment(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<Settings>>,
    body: axum::body::Bytes,
) -> Response {
    let Some(aws) = settings.aws_marketplace.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let token = form_urlencoded::parse(&body)
        .find(|(k, _)| k == "x-amzn-marketplace-token")
        .map(|(_, v)| v.into_owned())
        .filter(|t| !t.is_empty() && t.len() <= 4096);
    let Some(token) = token else {
        return buyer_page(
            StatusCode::BAD_REQUEST,
            "No AWS Marketplace registration",
            "This page is opened by AWS Marketplace after you subscribe: open Billing Center's listing on AWS Marketplace and choose Set up your account.",
        );
    };
    let customer = match aws.resolve_customer(&token, store.now()).await {
        Ok(customer) => customer,
        Err(e) if e.is_bad_token() => {
            tracing::warn!(error = %e, "AWS Marketplace: a registration token was refused");
            return buyer_page(
                StatusCode::BAD_REQUEST,
                "This AWS Marketplace link has expired",
                "Open Billing Center's listing on AWS Marketplace again and choose Set up your account (the link AWS gives is good for a few hours).",
            );
        }
        Err(e) => {
            tracing::error!(error = %e, "AWS Marketplace: ResolveCustomer failed");
            return buyer_page(
                StatusCode::BAD_GATEWAY,
                "AWS Marketplace did not answer",
                "Billing Center could not confirm your subscription with AWS just now. Go back and choose Set up your account again in a minute.",
            );
        }
    };
    if customer.product_code != aws.product_code {
        tracing::warn!(product = %customer.product_code, "AWS Marketplace: a registration for another product");
        return buyer_page(
            StatusCode::BAD_REQUEST,
            "Another product",
            "This AWS Marketplace registration is for another product than Billing Center.",
        );
    }
    match store.aws_subscribe(&customer).await {
        Ok(instance) => {
            // The subscription goes to the page in a cookie, never in a URL (a URL is kept in
            // histories and logs; whoever had it could claim the instance first).
            let cookie = format!(
                "{}={instance}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400{}",
                app::workspaces::AWS_OFFER_COOKIE,
                if settings.secure_cookies.0 {
                    "; Secure"
                } else {
                    ""
                }
            );
            (
                [(axum::http::header::SET_COOKIE, cookie)],
                axum::response::Redirect::to("/workspaces?aws=ready"),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "AWS Marketplace: cannot store the subscription");
            buyer_page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Please try again",
                "Billing Center could not record your subscription just now. Go back and choose Set up your account again.",
            )
        }
    }
}

/// Amazon SNS's messages of the subscription topic: verified, each message once, then carried
/// out. A SubscriptionConfirmation is confirmed by visiting its SubscribeURL (an SNS host).
pub async fn aws_notifications(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<Settings>>,
    body: axum::body::Bytes,
) -> Response {
    use backend::cloud::aws::sns::SnsError;
    let Some(aws) = settings.aws_marketplace.clone() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let refuse = |status: StatusCode, message: String| {
        (status, Json(json!({"message": message}))).into_response()
    };
    let verified = match aws
        .notifications
        .verify(&body, &aws.topic_arn, store.now())
        .await
    {
        Ok(verified) => verified,
        Err(e @ (SnsError::Malformed(_) | SnsError::Stale)) => {
            tracing::warn!(error = %e, "AWS SNS: a message was refused");
            return refuse(StatusCode::BAD_REQUEST, e.to_string());
        }
        Err(e @ SnsError::Certificate(_)) => {
            // Only for a message of our topic, of the last hour, naming SNS's own host: a
            // stranger can make this happen, so it is a warning; SNS delivers again on a 503.
            tracing::warn!(error = %e, "AWS SNS: the signing certificate cannot be had");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
        Err(e) => {
            tracing::warn!(error = %e, "AWS SNS: a message that is not Amazon's was refused");
            return refuse(StatusCode::FORBIDDEN, e.to_string());
        }
    };
    match store
        .take_marketplace_nonce(backend::cloud::Cloud::Aws, &verified.message_id)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(message = %verified.message_id, "AWS SNS: a message taken before; nothing to do");
            return Json(json!({"message": "already taken"})).into_response();
        }
        Err(e) => {
            tracing::error!(error = %e, "AWS SNS: cannot record the message");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "try again".into());
        }
    }
    match verified.kind.as_str() {
        "SubscriptionConfirmation" => {
            let region = aws.topic_arn.split(':').nth(3).unwrap_or_default();
            let Some(url) = verified.subscribe_url.filter(|u| {
                aws.notifications
                    .certificates
                    .subscribe_url_allowed(u, region)
            }) else {
                return refuse(
                    StatusCode::FORBIDDEN,
                    "SubscribeURL is not an Amazon SNS address".into(),
                );
            };
            match reqwest::Client::new()
                .get(&url)
                .timeout(std::time::Duration::from_secs(10))
                .send()
                .await
                .and_then(|r| r.error_for_status())
            {
                Ok(_) => {
                    tracing::info!(topic = %verified.topic_arn, "AWS SNS: subscription confirmed");
                    Json(json!({"message": "confirmed"})).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "AWS SNS: cannot confirm the subscription");
                    // Not confirmed: SNS's next delivery of this message is taken.
                    let _ = store
                        .release_marketplace_nonce(backend::cloud::Cloud::Aws, &verified.message_id)
                        .await;
                    refuse(StatusCode::BAD_GATEWAY, "cannot confirm".into())
                }
            }
        }
        "Notification" => {
            let event = match backend::cloud::aws::read_event(&verified.message) {
                Ok(event) => event,
                Err(why) => return refuse(StatusCode::BAD_REQUEST, why),
            };
            if event.product_code != aws.product_code {
                return refuse(StatusCode::BAD_REQUEST, "another product".into());
            }
            match store.aws_event(&event, verified.timestamp).await {
                Ok(done) => {
                    tracing::info!(action = %event.action, outcome = done, "AWS Marketplace notification");
                    Json(json!({"message": done})).into_response()
                }
                Err(e) => {
                    tracing::error!(error = %e, "AWS Marketplace notification failed");
                    // Not taken: SNS delivers it again; the message id is given back.
                    let _ = store
                        .release_marketplace_nonce(backend::cloud::Cloud::Aws, &verified.message_id)
                        .await;
                    refuse(StatusCode::INTERNAL_SERVER_ERROR, "try again".into())
                }
            }
        }
        _ => Json(json!({"message": "noted"})).into_response(),
    }
}
