//! `POST /api/v1/plan`, black-box through the router.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use support::{example_plan_request, post_json};

#[tokio::test]
async fn the_example_request_returns_the_documented_plan() {
    let response = post_json("/api/v1/plan", example_plan_request().to_string()).await;
    assert_eq!(response.status, StatusCode::OK);
    assert_eq!(response.header("content-type"), Some("application/json"));
    assert_eq!(
        response.json(),
        json!({
            "lines": [{"charge": 0, "item": "logs", "amount": "12.34",
                       "paid": [{"source": "v1", "amount": "10.00"}, {"source": "cash", "amount": "2.34"}]}],
            "totals": {"regular_voucher": "10.00", "discount_voucher": "0.00", "prepaid_card": "0.00",
                       "cash": "2.34", "arrears": "0.00", "cloud": "0.00"},
            "wallet_after": {"cash": "97.66", "arrears": "0.00", "instruments": [{"id": "v1", "balance": "0.00"}]}
        })
    );
}

#[tokio::test]
async fn malformed_json_is_a_400_with_an_error_body() {
    let response = post_json("/api/v1/plan", "{\"settlement\":").await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    let body = response.json();
    assert_eq!(body["error"]["code"], "malformed_json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("malformed JSON")
    );
}

#[tokio::test]
async fn a_body_that_is_not_utf8_or_too_large_gets_a_json_error() {
    use axum::body::Body;
    use axum::http::Request;
    let not_utf8 = Request::post("/api/v1/plan")
        .body(Body::from(vec![0xff, 0xfe, 0x00]))
        .unwrap();
    let response = support::send(not_utf8).await;
    assert_eq!(response.status, StatusCode::BAD_REQUEST);
    assert_eq!(response.json()["error"]["code"], "malformed_json");
    let huge = Request::post("/api/v1/plan")
        .body(Body::from(vec![b' '; 3 * 1024 * 1024]))
        .unwrap();
    let response = support::send(huge).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.json()["error"]["code"], "too_large");
}

#[tokio::test]
async fn invalid_content_is_a_422_naming_the_problem() {
    let cases = [
        (
            json!({"charges": [{"item": "disk", "amount": "1.00"}]}),
            "invalid_request",
            "unknown variant `disk`",
        ),
        (
            json!({"charges": [{"item": "logs", "amount": "-1.00"}]}),
            "invalid_request",
            "negative",
        ),
        (
            json!({"charges": [{"item": "logs", "amount": "0.001"}]}),
            "invalid_request",
            "more than 2 decimal places",
        ),
        (
            json!({"settlement": "barter"}),
            "invalid_request",
            "unknown variant `barter`",
        ),
        (
            json!({"wallet": {"cash": "1.00", "arrears": "1.00"}}),
            "invalid_wallet",
            "cannot both be above zero",
        ),
    ];
    for (patch, code, message) in cases {
        let mut request = example_plan_request();
        for (key, value) in patch.as_object().unwrap() {
            request[key] = value.clone();
        }
        let response = post_json("/api/v1/plan", request.to_string()).await;
        assert_eq!(
            response.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{request}"
        );
        let body = response.json();
        assert_eq!(body["error"]["code"], code, "{request}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(message),
            "{body}"
        );
    }
}

#[tokio::test]
async fn only_post_is_allowed_and_unknown_endpoints_are_json_404s() {
    let response = support::get("/api/v1/plan", &[]).await;
    assert_eq!(response.status, StatusCode::METHOD_NOT_ALLOWED);
    let response = support::get("/api/v1/nothing-here", &[]).await;
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.json()["error"]["code"], "not_found");
}
