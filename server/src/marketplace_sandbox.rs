//! The marketplace sandbox (`MARKETPLACE_SANDBOX=on`, `serve --demo`): plays Alibaba Cloud
//! Marketplace and Huawei Cloud KooGallery on this server. `/sandbox/marketplace` creates a
//! subscription (by calling this server's own SPI or SaaS interface over HTTP with a correctly
//! signed request, as the marketplace would), ends one (release), and shows the metering
//! records received. `POST /sandbox/aliyun/market` receives `PushMeteringData`; under
//! `/sandbox/huawei` the sandbox answers KooGallery's Query Order and receives usage-data,
//! each checking its signature like the real marketplace. For demos and tests only.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use backend::Store;
use backend::cloud::metering::{ReceivedMetering, verify_rpc};
use serde::Deserialize;
use serde_json::json;

use crate::config::{
    SANDBOX_ALIYUN_ACCESS_KEY_SECRET, SANDBOX_ALIYUN_MARKET_KEY, SANDBOX_ALIYUN_MARKET_PATH,
    SANDBOX_AWS_ACCESS_KEY_ID, SANDBOX_AWS_CERTIFICATE_PATH, SANDBOX_AWS_METERING_PATH,
    SANDBOX_AWS_PRODUCT_CODE, SANDBOX_AWS_SECRET_ACCESS_KEY, SANDBOX_AWS_TOPIC_ARN,
    SANDBOX_HUAWEI_ACCESS_KEY_ID, SANDBOX_HUAWEI_ACCESS_KEY_SECRET, SANDBOX_HUAWEI_ENDPOINT_PATH,
    SANDBOX_HUAWEI_MARKET_KEY,
};
use crate::router::{AppState, Settings};
use backend::cloud::huawei::{QUERY_ORDER_PATH, USAGE_DATA_PATH};
use backend::html::escape;

pub const PAGE_PATH: &str = "/sandbox/marketplace";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE_PATH, get(page))
        .route("/sandbox/marketplace/subscribe", post(subscribe))
        .route("/sandbox/marketplace/end", post(end))
        .route(SANDBOX_ALIYUN_MARKET_PATH, post(receive_metering))
        .route("/sandbox/marketplace/subscribe-aws", post(subscribe_aws))
        .route(SANDBOX_AWS_METERING_PATH, post(aws_metering_service))
        .route(
            SANDBOX_AWS_CERTIFICATE_PATH,
            get(|| async { backend::cloud::aws::SANDBOX_SNS_CERTIFICATE }),
        )
        .route(
            "/sandbox/marketplace/subscribe-huawei",
            post(subscribe_huawei),
        )
        .route(
            &format!("{SANDBOX_HUAWEI_ENDPOINT_PATH}{QUERY_ORDER_PATH}"),
            get(huawei_query_order),
        )
        .route(
            &format!("{SANDBOX_HUAWEI_ENDPOINT_PATH}{USAGE_DATA_PATH}"),
            post(huawei_usage_data),
        )
}

#[derive(Deserialize)]
pub struct Notice {
    created: Option<String>,
    ended: Option<String>,
    error: Option<String>,
}

async fn page(State(store): State<Store>, Query(notice): Query<Notice>) -> Response {
    let subscriptions = store.all_subscriptions().await.unwrap_or_default();
    let metering = store.sandbox_metering(100).await.unwrap_or_default();
    let mut body = String::from(
        r#"<p class="brand">Marketplace sandbox · 云市场沙箱</p><p class="warn">Plays Alibaba Cloud Marketplace on this server, for demos and tests. Nothing here is a real subscription.</p>"#,
    );
    if let Some(created) = notice.created {
        body.push_str(&format!(
            r#"<p data-testid="created">Subscribed: instance <code data-testid="instance-id">{}</code>. Give it, with the aliUid, to a workspace's settlement method.</p>"#,
            escape(&created)
        ));
    }
    if let Some(ended) = notice.ended {
        body.push_str(&format!(
            r#"<p data-testid="ended">Ended: {}</p>"#,
            escape(&ended)
        ));
    }
    if let Some(error) = notice.error {
        body.push_str(&format!(
            r#"<p class="error" data-testid="sandbox-error">{}</p>"#,
            escape(&error)
        ));
    }
    body.push_str(
        r#"<h2>Subscribe on Alibaba Cloud Marketplace</h2><form method="post" action="/sandbox/marketplace/subscribe">
<label>aliUid <input name="ali_uid" value="1234567890" data-testid="ali-uid" required></label>
<button type="submit" data-testid="subscribe">Subscribe (createInstance)</button></form>
<h2>Subscribe on Huawei Cloud KooGallery</h2><form method="post" action="/sandbox/marketplace/subscribe-huawei">
<label>customerId <input name="customer_id" value="0a1b2c3d4e5f" data-testid="huawei-customer-id" required></label>
<button type="submit" data-testid="subscribe-huawei">Subscribe (newInstance)</button></form>
<h2>Subscribe on AWS Marketplace</h2><form method="post" action="/sandbox/marketplace/subscribe-aws">
<label>AWS account id <input name="aws_account_id" value="123456789012" data-testid="aws-account-id" required></label>
<button type="submit" data-testid="subscribe-aws">Subscribe (then Set up your account)</button></form>
<h2>Subscriptions</h2><table data-testid="subscriptions"><tr><th>cloud</th><th>account</th><th>instance</th><th>status</th></tr>"#,
    );
    for (cloud, account, instance, status) in &subscriptions {
        body.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            escape(cloud),
            escape(account),
            escape(instance),
            escape(status)
        ));
    }
    body.push_str("</table>");
    // One button per active subscription, below the table (a phone's width has no room beside it).
    for (cloud, account, instance, status) in &subscriptions {
        if status == "active" {
            body.push_str(&format!(
                r#"<form method="post" action="/sandbox/marketplace/end"><input type="hidden" name="cloud" value="{c}"><input type="hidden" name="account" value="{a}"><input type="hidden" name="instance_id" value="{i}"><button class="secondary" name="action" value="releaseInstance" data-testid="release-{i}">Unsubscribe <code>{i}</code> (releaseInstance)</button></form>"#,
                c = escape(cloud),
                a = escape(account),
                i = escape(instance)
            ));
        }
    }
    body.push_str(r#"<h2>Metering received (PushMeteringData, usage-data)</h2><table data-testid="metering"><tr><th>instance</th><th>from</th><th>to</th><th>key</th><th>value</th></tr>"#);
    for m in &metering {
        let at = |t: i64| {
            chrono::DateTime::from_timestamp(t, 0)
                .map(|d| d.to_rfc3339())
                .unwrap_or_default()
        };
        body.push_str(&format!(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&m.instance_id),
            at(m.start_time),
            at(m.end_time),
            escape(&m.key),
            escape(&m.value)
        ));
    }
    body.push_str("</table>");
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Marketplace sandbox</title><style>
body{{font-family:system-ui,sans-serif;background:#eef3fb;margin:0;color:#1a2233}} main{{max-width:48rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem}}
.brand{{color:#1677ff;font-weight:700}} .warn{{background:#fff4e5;padding:.6rem;border-radius:6px}} .error{{color:#b42318}}
table{{border-collapse:collapse;width:100%;font-size:.85rem;display:block;overflow-x:auto}} button{{margin:.3rem 0;max-width:100%;word-break:break-all}} td,th{{border-bottom:1px solid #dde;padding:.3rem;text-align:left}} code{{word-break:break-all}}
</style></head><body><main>{body}</main></body></html>"#
    ))
    .into_response()
}

/// Calls this server's own SPI, as the marketplace would: a GET with the signed query.
async fn call_spi(
    local_url: String,
    params: Vec<(&'static str, String)>,
) -> Result<serde_json::Value, String> {
    let map: BTreeMap<String, String> = params
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    let token = backend::cloud::aliyun::spi_token(&map, SANDBOX_ALIYUN_MARKET_KEY);
    // The serializer is not Send: finished before anything is awaited.
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (k, v) in &params {
            query.append_pair(k, v);
        }
        query.append_pair("token", &token);
        query.finish()
    };
    let url = format!("{local_url}{}?{query}", crate::marketplace::ALIYUN_SPI_PATH);
    let answer = reqwest::Client::new()
        .get(&url)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("the SPI did not answer: {e}"))?;
    let status = answer.status();
    let body: serde_json::Value =
        serde_json::from_str(&answer.text().await.unwrap_or_default()).unwrap_or_default();
    if status.is_success() {
        Ok(body)
    } else {
        Err(format!("the SPI answered {status}: {body}"))
    }
}

#[derive(Deserialize)]
pub struct SubscribeForm {
    ali_uid: String,
}

async fn subscribe(
    State(settings): State<std::sync::Arc<Settings>>,
    Form(form): Form<SubscribeForm>,
) -> Response {
    let order = format!("sandbox-{}", backend::auth::random_token(6));
    let expires = (chrono::Utc::now() + chrono::Duration::days(365))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let params = vec![
        ("action", "createInstance".to_owned()),
        ("aliUid", form.ali_uid.trim().to_owned()),
        ("orderBizId", order.clone()),
        ("orderId", order),
        ("productCode", "cmgj00000000".to_owned()),
        ("skuId", "sandbox-sku".to_owned()),
        ("trial", "false".to_owned()),
        ("expiredOn", expires),
    ];
    let target = match call_spi(settings.local_url.clone(), params).await {
        Ok(body) => format!(
            "{PAGE_PATH}?created={}",
            form_urlencoded::byte_serialize(
                body["instanceId"].as_str().unwrap_or_default().as_bytes()
            )
            .collect::<String>()
        ),
        Err(e) => format!(
            "{PAGE_PATH}?error={}",
            form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
        ),
    };
    Redirect::to(&target).into_response()
}

#[derive(Deserialize)]
pub struct EndForm {
    #[serde(default)]
    cloud: Option<String>,
    #[serde(default)]
    account: Option<String>,
    instance_id: String,
    action: String,
}

async fn end(
    State(settings): State<std::sync::Arc<Settings>>,
    Form(form): Form<EndForm>,
) -> Response {
    if !["expiredInstance", "releaseInstance"].contains(&form.action.as_str()) {
        return (
            StatusCode::BAD_REQUEST,
            "action is expiredInstance or releaseInstance",
        )
            .into_response();
    }
    if form.cloud.as_deref() == Some("aws") {
        let outcome = send_sns(
            settings.local_url.clone(),
            "unsubscribe-success",
            form.account.as_deref().unwrap_or_default(),
        )
        .await;
        return Redirect::to(&match outcome {
            Ok(()) => format!(
                "{PAGE_PATH}?ended={}",
                form_urlencoded::byte_serialize(form.instance_id.as_bytes()).collect::<String>()
            ),
            Err(e) => format!(
                "{PAGE_PATH}?error={}",
                form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
            ),
        })
        .into_response();
    }
    if form.cloud.as_deref() == Some("huawei") {
        let outcome = call_huawei(
            settings.local_url.clone(),
            json!({"activity": "releaseInstance", "instanceId": form.instance_id}),
        )
        .await;
        return Redirect::to(&match outcome {
            Ok(_) => format!(
                "{PAGE_PATH}?ended={}",
                form_urlencoded::byte_serialize(form.instance_id.as_bytes()).collect::<String>()
            ),
            Err(e) => format!(
                "{PAGE_PATH}?error={}",
                form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
            ),
        })
        .into_response();
    }
    let mut params = vec![
        ("action", form.action.clone()),
        ("instanceId", form.instance_id.clone()),
    ];
    if form.action == "releaseInstance" {
        params.push(("isRefund", "false".to_owned()));
    }
    let target = match call_spi(settings.local_url.clone(), params).await {
        Ok(_) => format!(
            "{PAGE_PATH}?ended={}",
            form_urlencoded::byte_serialize(form.instance_id.as_bytes()).collect::<String>()
        ),
        Err(e) => format!(
            "{PAGE_PATH}?error={}",
            form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
        ),
    };
    Redirect::to(&target).into_response()
}

/// `PushMeteringData`, checked as Alibaba checks it: the signature (HMAC-SHA1 v1) under the
/// sandbox's access key, the action and version.
async fn receive_metering(
    State(store): State<Store>,
    Form(params): Form<BTreeMap<String, String>>,
) -> Response {
    let refuse = |code: &str, message: &str| {
        (
            StatusCode::BAD_REQUEST,
            axum::Json(json!({"Code": code, "Message": message, "Success": false})),
        )
            .into_response()
    };
    if !verify_rpc("POST", &params, SANDBOX_ALIYUN_ACCESS_KEY_SECRET) {
        return refuse("SignatureDoesNotMatch", "the signature does not match");
    }
    if params.get("Action").map(String::as_str) != Some("PushMeteringData")
        || params.get("Version").map(String::as_str) != Some("2015-11-01")
    {
        return refuse("InvalidAction", "only PushMeteringData, version 2015-11-01");
    }
    let Ok(records) = serde_json::from_str::<Vec<serde_json::Value>>(
        params.get("Metering").map(String::as_str).unwrap_or(""),
    ) else {
        return refuse("InvalidParameter", "Metering is not a JSON array");
    };
    let mut received = Vec::new();
    for r in &records {
        let number = |v: &serde_json::Value| {
            v.as_i64()
                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        };
        let (Some(instance), Some(start), Some(end)) = (
            r["InstanceId"].as_str(),
            number(&r["StartTime"]),
            number(&r["EndTime"]),
        ) else {
            return refuse(
                "InvalidParameter",
                "each record needs InstanceId, StartTime and EndTime",
            );
        };
        for entity in r["Entities"].as_array().into_iter().flatten() {
            received.push(ReceivedMetering {
                instance_id: instance.to_owned(),
                start_time: start,
                end_time: end,
                key: entity["Key"].as_str().unwrap_or_default().to_owned(),
                value: entity["Value"].as_str().unwrap_or_default().to_owned(),
            });
        }
    }
    let nonce = params.get("SignatureNonce").cloned().unwrap_or_default();
    match store.sandbox_receive_metering(&nonce, &received).await {
        Ok(()) => axum::Json(json!({"RequestId": nonce, "Success": true})).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "sandbox metering");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(json!({"Success": false})),
            )
                .into_response()
        }
    }
}

/// Calls this server's KooGallery interface, as KooGallery would: the JSON body, signed, with a
/// fresh nonce and the time in milliseconds.
pub async fn call_huawei(
    local_url: String,
    body: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let body = body.to_string();
    let nonce = backend::auth::random_token(32).to_uppercase();
    let timestamp = chrono::Utc::now().timestamp_millis().to_string();
    let signature = backend::cloud::huawei::body_signature(
        SANDBOX_HUAWEI_MARKET_KEY,
        &nonce,
        &timestamp,
        body.as_bytes(),
    )
    .to_uppercase();
    let url = format!(
        "{local_url}{}?signature={signature}&timestamp={timestamp}&nonce={nonce}",
        crate::marketplace::HUAWEI_INTERFACE_PATH
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", "application/json;charset=utf8")
        .body(body)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("the KooGallery interface did not answer: {e}"))?;
    let status = answer.status();
    let body: serde_json::Value =
        serde_json::from_str(&answer.text().await.unwrap_or_default()).unwrap_or_default();
    if status.is_success() && body["resultCode"] == "000000" {
        Ok(body)
    } else {
        Err(format!(
            "the KooGallery interface answered {status}: {body}"
        ))
    }
}

#[derive(Deserialize)]
pub struct HuaweiSubscribeForm {
    customer_id: String,
}

/// A KooGallery purchase: the sandbox records the order (what its Query Order will answer),
/// then calls `newInstance` naming only the order, as KooGallery does.
async fn subscribe_huawei(
    State(store): State<Store>,
    State(settings): State<std::sync::Arc<Settings>>,
    Form(form): Form<HuaweiSubscribeForm>,
) -> Response {
    let order_id = format!("CSSANDBOX{}", backend::auth::random_token(6).to_uppercase());
    let order = backend::cloud::huawei::SandboxOrder {
        order_line_id: format!("{order_id}-000001"),
        order_id,
        customer_id: form.customer_id.trim().to_owned(),
        product_id: "OFFI-SANDBOX-PAYG".to_owned(),
        expire_time: (chrono::Utc::now() + chrono::Duration::days(365))
            .format("%Y%m%d%H%M%S")
            .to_string(),
    };
    if let Err(e) = store
        .sandbox_create_order(backend::cloud::Cloud::Huawei, &order)
        .await
    {
        tracing::error!(error = %e, "sandbox order");
        return Redirect::to(&format!(
            "{PAGE_PATH}?error=the+sandbox+cannot+record+the+order"
        ))
        .into_response();
    }
    let outcome = call_huawei(
        settings.local_url.clone(),
        json!({
            "activity": "newInstance",
            "businessId": backend::auth::random_token(16),
            "orderId": order.order_id,
            "orderLineId": order.order_line_id,
        }),
    )
    .await;
    let target = match outcome {
        Ok(body) => format!(
            "{PAGE_PATH}?created={}",
            form_urlencoded::byte_serialize(
                body["instanceId"].as_str().unwrap_or_default().as_bytes()
            )
            .collect::<String>()
        ),
        Err(e) => format!(
            "{PAGE_PATH}?error={}",
            form_urlencoded::byte_serialize(e.as_bytes()).collect::<String>()
        ),
    };
    Redirect::to(&target).into_response()
}

fn header_pairs(headers: &axum::http::HeaderMap) -> Vec<(String, String)> {
    headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
        .collect()
}

fn huawei_refusal(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error_code": code, "error_msg": message})),
    )
        .into_response()
}

/// KooGallery's Query Order, checked as its API gateway checks it (AK/SK signature).
async fn huawei_query_order(
    State(store): State<Store>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let query: Vec<(String, String)> =
        form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    let authorization = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let received = header_pairs(&headers);
    let request = backend::cloud::huawei::ApigRequest {
        method: "GET",
        path: uri.path(),
        query: &query,
        headers: &received,
        body: b"",
    };
    if !backend::cloud::huawei::apig_verify(
        SANDBOX_HUAWEI_ACCESS_KEY_ID,
        SANDBOX_HUAWEI_ACCESS_KEY_SECRET,
        &request,
        authorization,
    ) {
        return huawei_refusal(
            StatusCode::UNAUTHORIZED,
            "APIGW.0301",
            "incorrect IAM authentication information",
        );
    }
    let get = |name: &str| {
        query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    match store
        .sandbox_order(
            backend::cloud::Cloud::Huawei,
            &get("orderId"),
            &get("orderLineId"),
        )
        .await
    {
        Ok(Some(order)) => axum::Json(order.answer()).into_response(),
        Ok(None) => axum::Json(json!({"resultCode": "MKT.0101", "resultMsg": "no such order"}))
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "sandbox Query Order");
            huawei_refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "MKT.0999",
                "System internal error.",
            )
        }
    }
}

/// KooGallery's usage-data push, checked as KooGallery checks it: the body signature under the
/// seller's key; each `metering_sn` counted once.
async fn huawei_usage_data(
    State(store): State<Store>,
    headers: axum::http::HeaderMap,
    body: String,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let expected = backend::cloud::huawei::usage_signature(
        SANDBOX_HUAWEI_MARKET_KEY,
        &header("ts"),
        &header("nonce"),
        &body,
    );
    if !backend::auth::constant_time_eq(header("signature").as_bytes(), expected.as_bytes()) {
        return huawei_refusal(StatusCode::BAD_REQUEST, "MKT.0102", "Invalid body sign");
    }
    let Ok(parsed) = serde_json::from_str::<serde_json::Value>(&body) else {
        return huawei_refusal(StatusCode::BAD_REQUEST, "MKT.0101", "Invalid parameter");
    };
    let records = parsed["usage_records"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if records.is_empty() || records.len() > 1000 {
        return huawei_refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "MKT.9003",
            "Usage records extends size limit.",
        );
    }
    let time = |v: &serde_json::Value| {
        v.as_str()
            .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y%m%dT%H%M%SZ").ok())
            .map(|t| t.and_utc().timestamp())
    };
    let mut by_serial: Vec<(String, ReceivedMetering)> = Vec::new();
    for r in &records {
        let (Some(instance), Some(start), Some(end), Some(value), Some(serial)) = (
            r["instance_id"].as_str(),
            time(&r["begin_time"]),
            time(&r["end_time"]),
            r["usage_value"].as_str(),
            r["metering_sn"].as_str(),
        ) else {
            return huawei_refusal(StatusCode::BAD_REQUEST, "MKT.0101", "Invalid parameter");
        };
        by_serial.push((
            serial.to_owned(),
            ReceivedMetering {
                instance_id: instance.to_owned(),
                start_time: start,
                end_time: end,
                key: "usage_value".to_owned(),
                value: value.to_owned(),
            },
        ));
    }
    for (serial, record) in by_serial {
        if let Err(e) = store
            .sandbox_receive_metering(&serial, std::slice::from_ref(&record))
            .await
        {
            tracing::error!(error = %e, "sandbox usage-data");
            return huawei_refusal(
                StatusCode::INTERNAL_SERVER_ERROR,
                "MKT.0999",
                "System internal error.",
            );
        }
    }
    axum::Json(json!({"error_code": "MKT.0000", "error_msg": "success"})).into_response()
}

/// Delivers a subscription-topic message to this server as Amazon SNS does: signed with the
/// sandbox's key, its certificate served at this server's sandbox address.
pub async fn send_sns(local_url: String, action: &str, aws_account_id: &str) -> Result<(), String> {
    let mut message = json!({
        "Type": "Notification",
        "MessageId": format!("sandbox-{}", backend::auth::random_token(12)),
        "TopicArn": SANDBOX_AWS_TOPIC_ARN,
        "Message": json!({
            "action": action,
            "customer-aws-account-id": aws_account_id,
            "product-code": SANDBOX_AWS_PRODUCT_CODE,
        }).to_string(),
        "Timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "SigningCertURL": format!("{local_url}{SANDBOX_AWS_CERTIFICATE_PATH}"),
        "UnsubscribeURL": format!("{local_url}/sandbox/aws/unsubscribe"),
    });
    backend::cloud::aws::sns::sandbox_sign(&mut message).map_err(|e| e.to_string())?;
    let answer = reqwest::Client::new()
        .post(format!(
            "{local_url}{}",
            crate::marketplace::AWS_NOTIFICATIONS_PATH
        ))
        .header("Content-Type", "text/plain; charset=UTF-8")
        .header("x-amz-sns-message-type", "Notification")
        .body(message.to_string())
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("the notification endpoint did not answer: {e}"))?;
    if answer.status().is_success() {
        Ok(())
    } else {
        Err(format!(
            "the notification endpoint answered {}: {}",
            answer.status(),
            answer.text().await.unwrap_or_default()
        ))
    }
}

#[derive(Deserialize)]
pub struct AwsSubscribeForm {
    aws_account_id: String,
}

/// An AWS Marketplace subscription: the sandbox mints a registration token (what its
/// ResolveCustomer will answer for) and sends the buyer's browser to the fulfillment URL with
/// it, as AWS's "Set up your account" button does (a form POST; it submits itself with
/// JavaScript, and is a button without).
async fn subscribe_aws(State(store): State<Store>, Form(form): Form<AwsSubscribeForm>) -> Response {
    let account = form.aws_account_id.trim().to_owned();
    if account.is_empty() || account.len() > 32 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Redirect::to(&format!("{PAGE_PATH}?error=an+AWS+account+id+is+digits"))
            .into_response();
    }
    let token = format!(
        "sandbox+{}/{}=",
        backend::auth::random_token(24),
        backend::auth::random_token(4)
    );
    let order = backend::cloud::huawei::SandboxOrder {
        order_id: token.clone(),
        order_line_id: String::new(),
        customer_id: account,
        product_id: SANDBOX_AWS_PRODUCT_CODE.to_owned(),
        expire_time: String::new(),
    };
    if let Err(e) = store
        .sandbox_create_order(backend::cloud::Cloud::Aws, &order)
        .await
    {
        tracing::error!(error = %e, "sandbox AWS registration");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "the sandbox cannot record the registration",
        )
            .into_response();
    }
    Html(format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>AWS Marketplace sandbox</title></head><body style="font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem">
<p>Marketplace sandbox · AWS Marketplace: you subscribed. Set up your account with the seller.</p>
<form method="post" action="{action}" id="fulfil"><input type="hidden" name="x-amzn-marketplace-token" value="{token}"><button type="submit" data-testid="set-up-account">Set up your account</button></form>
</body></html>"#,
        action = crate::marketplace::AWS_FULFILLMENT_PATH,
        token = escape(&token)
    ))
    .into_response()
}

fn aws_error(kind: &str, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        [(
            axum::http::header::CONTENT_TYPE,
            "application/x-amz-json-1.1",
        )],
        json!({"__type": kind, "message": message}).to_string(),
    )
        .into_response()
}

/// The AWS Marketplace Metering Service, checked as AWS checks it (SigV4 under the sandbox's
/// key, signing name `aws-marketplace`, a fresh `X-Amz-Date`): `ResolveCustomer` and
/// `BatchMeterUsage` (at most 25 records; a record with the same customer, dimension and time
/// is counted once).
async fn aws_metering_service(
    State(store): State<Store>,
    headers: axum::http::HeaderMap,
    uri: axum::http::Uri,
    body: axum::body::Bytes,
) -> Response {
    use backend::cloud::aws::sigv4;
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let Some((access_key_id, scope, signed, signature)) =
        sigv4::parse_authorization(&header("authorization"))
    else {
        return aws_error(
            "MissingAuthenticationTokenException",
            "Request is missing Authentication Token",
        );
    };
    let amz_date = header("x-amz-date");
    let fresh = chrono::NaiveDateTime::parse_from_str(&amz_date, "%Y%m%dT%H%M%SZ")
        .is_ok_and(|t| (chrono::Utc::now() - t.and_utc()).num_minutes().abs() <= 5);
    let received = header_pairs(&headers);
    let picked: Option<Vec<(String, String)>> = signed
        .iter()
        .map(|name| {
            received
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .cloned()
        })
        .collect();
    let expected_scope = sigv4::scope(&amz_date, "us-east-1", backend::cloud::aws::SIGNING_NAME);
    let valid = picked.is_some_and(|picked| {
        let canonical = sigv4::canonical_request("POST", uri.path(), &[], &picked, &body);
        let expected = sigv4::signature(
            SANDBOX_AWS_SECRET_ACCESS_KEY,
            "us-east-1",
            backend::cloud::aws::SIGNING_NAME,
            &sigv4::string_to_sign(&amz_date, &expected_scope, &canonical),
        );
        backend::auth::constant_time_eq(expected.as_bytes(), signature.as_bytes())
    });
    if access_key_id != SANDBOX_AWS_ACCESS_KEY_ID || scope != expected_scope || !fresh || !valid {
        return aws_error(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let Ok(request) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return aws_error("SerializationException", "the body is not JSON");
    };
    match header("x-amz-target").as_str() {
        "AWSMPMeteringService.ResolveCustomer" => {
            let token = request["RegistrationToken"].as_str().unwrap_or_default();
            match store
                .sandbox_order(backend::cloud::Cloud::Aws, token, "")
                .await
            {
                Ok(Some(order)) => axum::Json(json!({
                    "CustomerAWSAccountId": order.customer_id,
                    "ProductCode": order.product_id,
                    "LicenseArn": format!("arn:aws:license-manager::{}:license:l-sandbox{}", order.customer_id, order.customer_id),
                }))
                .into_response(),
                Ok(None) => aws_error("InvalidTokenException", "Registration token is invalid."),
                Err(e) => {
                    tracing::error!(error = %e, "sandbox ResolveCustomer");
                    (StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({"__type": "InternalServiceErrorException"}))).into_response()
                }
            }
        }
        "AWSMPMeteringService.BatchMeterUsage" => {
            let records = request["UsageRecords"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if records.len() > 25 {
                return aws_error("ValidationException", "UsageRecords: at most 25");
            }
            // AWS: the two ways of naming a customer never share a call.
            let by_account = records
                .iter()
                .any(|r| r.get("CustomerAWSAccountId").is_some());
            let by_identifier = records
                .iter()
                .any(|r| r.get("CustomerIdentifier").is_some());
            if by_account && by_identifier {
                return aws_error(
                    "ValidationException",
                    "CustomerIdentifier and CustomerAWSAccountId are mutually exclusive",
                );
            }
            let mut results = Vec::new();
            for record in &records {
                let customer = record["CustomerAWSAccountId"]
                    .as_str()
                    .or(record["CustomerIdentifier"].as_str())
                    .unwrap_or_default()
                    .to_owned();
                let (Some(timestamp), Some(dimension), Some(quantity)) = (
                    record["Timestamp"].as_i64(),
                    record["Dimension"].as_str(),
                    record["Quantity"].as_i64(),
                ) else {
                    return aws_error(
                        "ValidationException",
                        "each record needs Timestamp, Dimension and Quantity",
                    );
                };
                if customer.is_empty() {
                    return aws_error("InvalidCustomerIdentifierException", "no customer");
                }
                if (chrono::Utc::now().timestamp() - timestamp) > 6 * 3600 {
                    return aws_error(
                        "TimestampOutOfBoundsException",
                        "a record is outside the 6-hour window",
                    );
                }
                let received = ReceivedMetering {
                    instance_id: customer.clone(),
                    start_time: timestamp,
                    end_time: timestamp,
                    key: dimension.to_owned(),
                    value: quantity.to_string(),
                };
                let serial = format!("aws:{dimension}");
                // The same customer, dimension and time: the same record (counted once), or,
                // with another quantity, a DuplicateRecord.
                match store
                    .sandbox_metering_value(&serial, &customer, timestamp)
                    .await
                {
                    Ok(Some(value)) if value != quantity.to_string() => {
                        results.push(json!({"UsageRecord": record, "Status": "DuplicateRecord"}));
                        continue;
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::error!(error = %e, "sandbox BatchMeterUsage");
                        return (
                            StatusCode::INTERNAL_SERVER_ERROR,
                            axum::Json(json!({"__type": "InternalServiceErrorException"})),
                        )
                            .into_response();
                    }
                }
                if let Err(e) = store
                    .sandbox_receive_metering(&serial, std::slice::from_ref(&received))
                    .await
                {
                    tracing::error!(error = %e, "sandbox BatchMeterUsage");
                    return (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({"__type": "InternalServiceErrorException"})),
                    )
                        .into_response();
                }
                results.push(json!({
                    "UsageRecord": record,
                    "MeteringRecordId": format!("sandbox-{customer}-{timestamp}"),
                    "Status": "Success",
                }));
            }
            axum::Json(json!({"Results": results, "UnprocessedRecords": []})).into_response()
        }
        other => aws_error(
            "UnknownOperationException",
            &format!("unknown operation {other}"),
        ),
    }
}
