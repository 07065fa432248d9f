//! The OpenAPI document of /api/v1 (`GET /api/v1/openapi.json`): OpenAPI 3.1, every route of
//! `api::routes()` in it and every documented operation served, every reference resolved, every
//! refusal in the error shape, the security of each kind of caller; and real answers of every
//! operation, on both databases, valid against the schemas the document declares for them.

mod support;

use std::collections::{BTreeSet, HashSet};

use axum::http::StatusCode;
use backend::reconciliation::FlagKind;
use serde_json::{Value, json};
use support::app::{Reply, TestApp, cookie};

/// Every route of `api::routes()`, by hand: a route added there must be added here, and it can
/// only be added there with its `#[utoipa::path]` (the router is built from them).
const ROUTES: &[(&str, &str)] = &[
    ("get", "/openapi.json"),
    ("post", "/plan"),
    ("post", "/accounts"),
    ("get", "/accounts/{id}"),
    ("post", "/session"),
    ("delete", "/session"),
    ("get", "/me"),
    ("post", "/password-reset"),
    ("post", "/password-reset/confirm"),
    ("post", "/email-confirmation"),
    ("post", "/email-confirmation/confirm"),
    ("get", "/notifications"),
    ("put", "/notifications"),
    ("put", "/workspaces/{id}/daily-cost-alert"),
    ("put", "/workspaces/{id}/settlement"),
    ("get", "/cloud-accounts"),
    ("get", "/enterprise"),
    ("post", "/enterprise"),
    ("post", "/ops/enterprise/{id}/review"),
    ("get", "/ops/mail"),
    ("post", "/ops/metering/{id}/resolve"),
    ("get", "/wallet"),
    ("get", "/movements"),
    ("get", "/vouchers"),
    ("get", "/prepaid-cards"),
    ("post", "/prepaid-cards"),
    ("post", "/vouchers/activate"),
    ("get", "/topups"),
    ("post", "/topups"),
    ("get", "/topups/{id}"),
    ("get", "/workspaces"),
    ("post", "/workspaces"),
    ("post", "/workspaces/{id}/key"),
    ("delete", "/workspaces/{id}"),
    ("post", "/usage"),
    ("get", "/console/workspaces/{ws}"),
    ("get", "/panel/workspaces/{ws}"),
    ("get", "/bills"),
    ("get", "/consumption"),
    ("get", "/transactions"),
    ("get", "/ops/settlements"),
    ("post", "/ops/settlements"),
    ("post", "/ops/usage/void"),
    ("get", "/ops/payment-flags"),
    ("post", "/ops/payment-flags/{id}/resolve"),
    ("get", "/ops/audit"),
    ("get", "/ops/tokens"),
    ("delete", "/ops/tokens/{id}"),
    ("post", "/ops/bank-transfers"),
    ("post", "/ops/vouchers"),
    ("post", "/ops/prepaid-cards"),
    ("post", "/workspaces/{id}/binding"),
    ("get", "/workspaces/moves"),
    ("get", "/ops/enterprise/{id}"),
    ("post", "/attachments"),
    ("get", "/attachments/{id}"),
    ("get", "/tickets"),
    ("post", "/tickets"),
    ("get", "/tickets/{id}"),
    ("post", "/tickets/{id}/replies"),
    ("post", "/tickets/{id}/withdraw"),
    ("post", "/tickets/{id}/close"),
    ("post", "/tickets/{id}/rating"),
    ("get", "/ops/queue"),
    ("get", "/ops/tickets"),
    ("get", "/ops/tickets/{id}"),
    ("post", "/ops/tickets/{id}/assign"),
    ("post", "/ops/tickets/{id}/replies"),
    ("post", "/ops/attachments"),
    ("get", "/ops/attachments/{id}"),
    ("get", "/ops/accounts"),
    ("post", "/enterprise/withdraw"),
    ("get", "/ops/accounts/{id}"),
];

/// The first bytes of a PNG: what an upload's type is found from.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR a licence";

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn document() -> Value {
    server::api::openapi_document().clone()
}

/// Every (method, path) of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut all = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in METHODS {
            if item.get(method).is_some() {
                all.insert((method.to_owned(), path.clone()));
            }
        }
    }
    all
}

#[tokio::test]
async fn the_document_is_openapi_3_1_served_to_anyone() {
    let response = support::get("/api/v1/openapi.json", &[]).await;
    assert_eq!(response.status, StatusCode::OK);
    assert!(
        response
            .header("content-type")
            .is_some_and(|t| t.starts_with("application/json")),
        "{:?}",
        response.headers
    );
    let doc = response.json();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1."),
        "{}",
        doc["openapi"]
    );
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc,
        document(),
        "the served document is api::openapi_document()"
    );
}

#[test]
fn every_route_is_in_the_document_and_nothing_else() {
    let expected: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(expected.len(), ROUTES.len(), "a route listed twice");
    assert_eq!(operations(&document()), expected);
    // The router is built only from documented handlers: no plain `.route(` in api::routes().
    let source = include_str!("../src/api/mod.rs");
    assert!(
        !source.contains(".route("),
        "api/mod.rs registers a route without its #[utoipa::path]; use .routes(routes!(handler))"
    );
}

#[tokio::test]
async fn every_documented_operation_is_served() {
    let app = TestApp::sqlite().await;
    for (method, path) in operations(&document()) {
        let uri = format!("/api/v1{}", path.replace("{id}", "1"));
        let body = (method == "post").then(|| json!({}));
        let reply = app
            .call(&method.to_uppercase(), &uri, body, &[], "10.0.0.1")
            .await;
        assert_ne!(
            reply.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {uri}"
        );
        assert_ne!(
            reply.body["error"]["message"], "no such API endpoint",
            "{method} {uri}"
        );
    }
    app.finish().await;
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r.clone());
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

/// Every string value of a key `name` in `value`.
fn strings_named(name: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(s)) = map.get(name) {
                out.push(s.clone());
            }
            map.values().for_each(|v| strings_named(name, v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| strings_named(name, v, out)),
        _ => {}
    }
}

fn resolve<'a>(doc: &'a Value, reference: &str) -> Option<&'a Value> {
    doc.pointer(reference.strip_prefix('#')?)
}

#[test]
fn every_reference_resolves_and_every_schema_is_used() {
    let doc = document();
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in &all {
        assert!(resolve(&doc, r).is_some(), "unresolved {r}");
    }
    let mut patterns = Vec::new();
    strings_named("pattern", &doc, &mut patterns);
    assert!(patterns.len() > 10);
    for pattern in patterns {
        assert!(
            pattern.starts_with('^') && pattern.ends_with('$'),
            "an unanchored pattern: {pattern}"
        );
        regex::Regex::new(&pattern).unwrap_or_else(|e| panic!("{pattern}: {e}"));
    }
    let used: HashSet<&str> = all.iter().map(String::as_str).collect();
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            used.contains(format!("#/components/schemas/{name}").as_str()),
            "schema {name} is never used"
        );
    }
}

#[test]
fn every_operation_has_its_callers_security_and_the_error_shape() {
    let doc = document();
    let anonymous = [
        ("get", "/openapi.json"),
        ("post", "/plan"),
        ("post", "/accounts"),
        ("post", "/session"),
        ("post", "/password-reset"),
        ("post", "/password-reset/confirm"),
        ("post", "/email-confirmation/confirm"),
    ];
    for (method, path) in operations(&doc) {
        let operation = &doc["paths"][&path][&method];
        let what = format!("{method} {path}");
        let schemes: BTreeSet<String> = operation["security"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|r| r.as_object().unwrap().keys().cloned())
            .collect();
        let expected: &[&str] = if anonymous.contains(&(method.as_str(), path.as_str())) {
            &[]
        } else if path.starts_with("/ops/") {
            &["operator_token"]
        } else if path == "/usage" {
            &["console_token", "workspace_key"]
        } else if path.starts_with("/console/") || path.starts_with("/panel/") {
            &["console_token"]
        } else if method == "get" {
            &["session"]
        } else {
            &["csrf", "session"]
        };
        let expected: BTreeSet<String> = expected.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(schemes, expected, "{what}");
        for scheme in &schemes {
            assert!(
                doc["components"]["securitySchemes"].get(scheme).is_some(),
                "{what}: {scheme}"
            );
        }
        let responses = operation["responses"].as_object().unwrap();
        assert!(
            responses.keys().any(|s| s.starts_with('2')),
            "{what}: no success"
        );
        assert!(responses.contains_key("500"), "{what}: no 500");
        if !schemes.is_empty() {
            assert!(responses.contains_key("401"), "{what}: no 401");
        }
        if schemes.contains("csrf") {
            assert!(responses.contains_key("403"), "{what}: no 403");
        }
        if operation.get("requestBody").is_some() {
            for status in ["400", "413", "422"] {
                assert!(responses.contains_key(status), "{what}: no {status}");
            }
            assert_eq!(operation["requestBody"]["required"], true, "{what}");
        }
        for (status, response) in responses {
            let description = response["description"].as_str().unwrap_or_default();
            assert!(!description.is_empty(), "{what} {status}: no description");
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ApiErrorBody",
                    "{what} {status}"
                );
            }
        }
    }
}

#[test]
fn money_is_a_string_with_two_decimals_everywhere() {
    let doc = document();
    let schemas = &doc["components"]["schemas"];
    for name in ["Money", "SignedMoney", "MoneyInput"] {
        assert_eq!(schemas[name]["type"], "string", "{name}");
        assert!(schemas[name]["pattern"].is_string(), "{name}");
    }
    let money = regex::Regex::new(schemas["Money"]["pattern"].as_str().unwrap()).unwrap();
    assert!(money.is_match("12.34") && money.is_match("0.00"));
    assert!(!money.is_match("12.3") && !money.is_match("-1.00") && !money.is_match("12"));
    // No amount is a number: every property named like an amount refers to a money schema.
    for (name, schema) in schemas.as_object().unwrap() {
        for (field, property) in schema["properties"].as_object().into_iter().flatten() {
            let amount_like = [
                "amount",
                "cash",
                "arrears",
                "balance",
                "face_value",
                "denomination",
                "total",
            ]
            .iter()
            .any(|w| field == w || field.ends_with(&format!("_{w}")))
                || field.ends_with("_after");
            // A page's `total` counts rows; `wallet_after` is an object of amounts.
            let is_object = property["$ref"]
                .as_str()
                .and_then(|r| resolve(&doc, r))
                .is_some_and(|s| s["type"] == "object");
            // An alert switch named after what it is about (`alerts.arrears`) is a flag.
            let is_flag = property["type"] == "boolean";
            let page_count = name.ends_with("Page") && field == "total";
            let amount_like = amount_like && !is_object && !is_flag && !page_count;
            if amount_like {
                let reference = property["$ref"].as_str().unwrap_or_default();
                assert!(
                    reference.ends_with("Money")
                        || reference.ends_with("MoneyInput")
                        || reference.ends_with("TopUpAmount")
                        || reference.ends_with("CardDenomination"),
                    "{name}.{field} is not money: {property}"
                );
            }
        }
    }
}

// ---- real answers against the document ----

/// Why `value` does not match `schema` (empty: it does). Enough of JSON Schema 2020-12 for the
/// document utoipa writes: $ref, allOf/oneOf/anyOf, type, enum, properties, required,
/// additionalProperties: false, items, pattern, lengths, minimum/maximum, date and date-time.
fn mismatches(doc: &Value, schema: &Value, value: &Value, at: &str) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(reference) = schema["$ref"].as_str() {
        let target = resolve(doc, reference).expect("a resolvable reference");
        out.extend(mismatches(doc, target, value, at));
    }
    if let Some(all) = schema["allOf"].as_array() {
        for s in all {
            out.extend(mismatches(doc, s, value, at));
        }
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let matching = one
            .iter()
            .filter(|s| mismatches(doc, s, value, at).is_empty())
            .count();
        if matching != 1 {
            out.push(format!("{at}: matches {matching} of oneOf: {value}"));
        }
    }
    if let Some(any) = schema["anyOf"].as_array()
        && !any.iter().any(|s| mismatches(doc, s, value, at).is_empty())
    {
        out.push(format!("{at}: matches none of anyOf: {value}"));
    }
    if let Some(types) = match &schema["type"] {
        Value::String(t) => Some(vec![t.as_str()]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).collect()),
        _ => None,
    } {
        let is = |t: &str| match t {
            "object" => value.is_object(),
            "array" => value.is_array(),
            "string" => value.is_string(),
            "integer" => value.is_i64() || value.is_u64(),
            "number" => value.is_number(),
            "boolean" => value.is_boolean(),
            "null" => value.is_null(),
            _ => false,
        };
        if !types.iter().any(|t| is(t)) {
            out.push(format!("{at}: {value} is not {types:?}"));
            return out;
        }
    }
    if let Some(choices) = schema["enum"].as_array()
        && !choices.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {choices:?}"));
    }
    if let Value::String(text) = value {
        if let Some(pattern) = schema["pattern"].as_str()
            && !regex::Regex::new(pattern).unwrap().is_match(text)
        {
            out.push(format!("{at}: '{text}' does not match {pattern}"));
        }
        let length = text.chars().count() as u64;
        if schema["maxLength"].as_u64().is_some_and(|m| length > m)
            || schema["minLength"].as_u64().is_some_and(|m| length < m)
        {
            out.push(format!("{at}: '{text}' has a length out of bounds"));
        }
        match schema["format"].as_str() {
            Some("date-time") if chrono::DateTime::parse_from_rfc3339(text).is_err() => {
                out.push(format!("{at}: '{text}' is not a date-time"));
            }
            Some("date") if chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_err() => {
                out.push(format!("{at}: '{text}' is not a date"));
            }
            _ => {}
        }
    }
    if let Some(number) = value.as_f64()
        && (schema["minimum"].as_f64().is_some_and(|m| number < m)
            || schema["maximum"].as_f64().is_some_and(|m| number > m))
    {
        out.push(format!("{at}: {number} is out of bounds"));
    }
    if let Value::Object(map) = value {
        for required in schema["required"].as_array().into_iter().flatten() {
            let name = required.as_str().unwrap();
            if !map.contains_key(name) {
                out.push(format!("{at}: missing {name}"));
            }
        }
        let properties = schema["properties"].as_object();
        for (name, v) in map {
            match properties.and_then(|p| p.get(name)) {
                Some(s) => out.extend(mismatches(doc, s, v, &format!("{at}.{name}"))),
                None if schema["additionalProperties"] == false => {
                    out.push(format!("{at}: unexpected {name}"));
                }
                None => {}
            }
        }
    }
    if let (Value::Array(items), Some(item_schema)) = (value, schema.get("items")) {
        for (i, v) in items.iter().enumerate() {
            out.extend(mismatches(doc, item_schema, v, &format!("{at}[{i}]")));
        }
    }
    out
}

#[test]
fn the_checker_catches_what_breaks_a_schema() {
    let doc = document();
    let schema = json!({"$ref": "#/components/schemas/WalletBalances"});
    let good = json!({"cash": "1.00", "arrears": "0.00", "regular_voucher": "0.00", "discount_voucher": "0.00", "prepaid_card": "0.00"});
    assert_eq!(mismatches(&doc, &schema, &good, "$"), Vec::<String>::new());
    for bad in [
        json!({"cash": 1.0, "arrears": "0.00", "regular_voucher": "0.00", "discount_voucher": "0.00", "prepaid_card": "0.00"}),
        json!({"cash": "1.0", "arrears": "0.00", "regular_voucher": "0.00", "discount_voucher": "0.00", "prepaid_card": "0.00"}),
        json!({"arrears": "0.00", "regular_voucher": "0.00", "discount_voucher": "0.00", "prepaid_card": "0.00"}),
        json!([]),
    ] {
        assert!(!mismatches(&doc, &schema, &bad, "$").is_empty(), "{bad}");
    }
    let error = json!({"$ref": "#/components/schemas/ApiErrorBody"});
    assert!(
        mismatches(
            &doc,
            &error,
            &json!({"error": {"code": "x", "message": "y"}}),
            "$"
        )
        .is_empty()
    );
    assert!(!mismatches(&doc, &error, &json!({"error": {"code": "x"}}), "$").is_empty());
    let codes = json!({"$ref": "#/components/schemas/VouchersDone"});
    assert!(mismatches(&doc, &codes, &json!({"batch_id": 1, "codes": ["A"]}), "$").is_empty());
    assert!(!mismatches(&doc, &codes, &json!({"batch_id": "1", "codes": ["A"]}), "$").is_empty());
    let instant = json!({"type": "string", "format": "date-time"});
    assert!(!mismatches(&doc, &instant, &json!("yesterday"), "$").is_empty());
}

/// Calls the API and checks the answer against the document: its status is documented for the
/// operation, and its body (JSON, or the content type it has) matches the declared schema.
struct Checked<'a> {
    app: &'a TestApp,
    doc: Value,
    answered: BTreeSet<(String, String, u16)>,
}

impl Checked<'_> {
    async fn call(
        &mut self,
        method: &str,
        template: &str,
        uri: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let reply = self
            .app
            .call(method, &format!("/api/v1{uri}"), body, headers, "10.0.0.1")
            .await;
        let what = format!("{method} {uri} → {}", reply.status);
        let operation = &self.doc["paths"][template][method.to_lowercase()];
        assert!(
            operation.is_object(),
            "{what}: {template} is not documented"
        );
        let status = reply.status.as_u16().to_string();
        let response = &operation["responses"][&status];
        assert!(
            response.is_object(),
            "{what}: status not documented: {}",
            reply.body
        );
        let content_type = reply
            .headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.split(';').next().unwrap().trim().to_owned());
        match content_type.as_deref() {
            None => assert!(
                response.get("content").is_none(),
                "{what}: an empty answer where content is documented"
            ),
            Some(media) => {
                let schema = &response["content"][media]["schema"];
                assert!(schema.is_object(), "{what}: {media} is not documented");
                if media == "application/json" {
                    let wrong = mismatches(&self.doc, schema, &reply.body, "$");
                    assert!(wrong.is_empty(), "{what}: {wrong:#?}\n{}", reply.body);
                }
            }
        }
        self.answered.insert((
            method.to_lowercase(),
            template.to_owned(),
            reply.status.as_u16(),
        ));
        reply
    }

    /// A call with raw bytes as its body (an upload) or a download: the status and the content
    /// type are documented, and a JSON answer matches its schema. Returns the status and body.
    async fn bytes(
        &mut self,
        method: &str,
        template: &str,
        uri: &str,
        body: &[u8],
        headers: &[(&str, &str)],
    ) -> (StatusCode, Vec<u8>) {
        let (status, response_headers, bytes) = self
            .app
            .send_bytes(method, &format!("/api/v1{uri}"), body.to_vec(), headers)
            .await;
        let what = format!("{method} {uri} → {status}");
        let response =
            &self.doc["paths"][template][method.to_lowercase()]["responses"][status.as_str()];
        assert!(response.is_object(), "{what}: status not documented");
        let media = response_headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|t| t.split(';').next().unwrap().trim().to_owned())
            .unwrap_or_default();
        let schema = &response["content"][&media]["schema"];
        assert!(schema.is_object(), "{what}: {media} is not documented");
        if media == "application/json" {
            let value: Value = serde_json::from_slice(&bytes).unwrap();
            let wrong = mismatches(&self.doc, schema, &value, "$");
            assert!(wrong.is_empty(), "{what}: {wrong:#?}\n{value}");
        }
        self.answered
            .insert((method.to_lowercase(), template.to_owned(), status.as_u16()));
        (status, bytes)
    }

    /// A CSV export: documented as `text/csv`.
    async fn csv(&mut self, template: &str, uri: &str, headers: &[(&str, &str)]) {
        let (status, response_headers, _) = self
            .app
            .raw_from(
                "GET",
                &format!("/api/v1{uri}"),
                None,
                None,
                "10.0.0.1",
                headers,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{uri}");
        assert!(
            response_headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv"),
            "{uri}"
        );
        assert!(
            self.doc["paths"][template]["get"]["responses"]["200"]["content"]["text/csv"]
                .is_object(),
            "{uri}: CSV is not documented"
        );
    }
}

/// The token of the latest link to `address` whose path is `path_and_query` (read from the
/// outbox, where the mail waits: no SMTP server here).
async fn mailed_token(app: &TestApp, address: &str, path_and_query: &str) -> String {
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body_text FROM outbox WHERE recipient = $1 ORDER BY id DESC")
            .bind(address)
            .fetch_all(app.store.pool())
            .await
            .unwrap();
    bodies
        .iter()
        .find_map(|body| {
            let start = body.find(path_and_query)? + path_and_query.len();
            Some(
                body[start..]
                    .split(|c: char| c.is_whitespace())
                    .next()?
                    .to_owned(),
            )
        })
        .unwrap_or_else(|| panic!("no mail to {address} with {path_and_query}"))
}

async fn every_operation_answers_as_documented(mut app: TestApp) {
    // A console key as the demo has it (binding by id stays open), so the console's endpoints
    // answer too.
    let console_key =
        backend::console::ConsoleKey::from_text("the console's key for the document test").unwrap();
    app.store = app
        .store
        .clone()
        .with_console_key(Some(console_key.clone()), false);
    let console_token = |ws: &str, role| {
        format!(
            "Bearer {}",
            console_key.sign(&backend::console::ConsoleClaims::new(
                "u-1",
                ws,
                role,
                app.store.now(),
                600
            ))
        )
    };
    let mut api = Checked {
        app: &app,
        doc: document(),
        answered: BTreeSet::new(),
    };

    api.call("GET", "/openapi.json", "/openapi.json", None, &[])
        .await;
    let plan = api
        .call(
            "POST",
            "/plan",
            "/plan",
            Some(support::example_plan_request()),
            &[],
        )
        .await;
    assert_eq!(plan.status, StatusCode::OK);
    api.call("POST", "/plan", "/plan", Some(json!({"charges": 1})), &[])
        .await;

    // A customer: sign up, sign in, who am I.
    let sign_up = json!({"username": "alice", "email": "alice@example.com", "phone": "+86 138 0000 0000", "password": "correct horse battery"});
    let signed_up = api
        .call("POST", "/accounts", "/accounts", Some(sign_up.clone()), &[])
        .await;
    assert_eq!(signed_up.status, StatusCode::CREATED, "{}", signed_up.body);
    let taken = api
        .call("POST", "/accounts", "/accounts", Some(sign_up), &[])
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    let signed_in = api
        .call(
            "POST",
            "/session",
            "/session",
            Some(json!({"login": "alice", "password": "correct horse battery"})),
            &[],
        )
        .await;
    assert_eq!(signed_in.status, StatusCode::OK);
    let session = cookie(&signed_in.session_cookie().unwrap());
    let csrf = signed_in.body["csrf_token"].as_str().unwrap().to_owned();
    let account_id = signed_in.body["billing_account_id"].as_i64().unwrap();
    let read = [("cookie", session.as_str())];
    let write = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
    ];
    api.call("GET", "/me", "/me", None, &read).await;
    api.call("GET", "/me", "/me", None, &[]).await;
    api.call(
        "GET",
        "/accounts/{id}",
        &format!("/accounts/{account_id}"),
        None,
        &read,
    )
    .await;
    api.call("GET", "/accounts/{id}", "/accounts/x", None, &read)
        .await;

    // Mail: the notification settings, a new confirmation link, the reset contract.
    api.call("GET", "/notifications", "/notifications", None, &read)
        .await;
    let changed = api
        .call(
            "PUT",
            "/notifications",
            "/notifications",
            Some(json!({"low_balance_threshold": "50", "alerts": {"expiring": false}, "language": "en"})),
            &write,
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    api.call(
        "PUT",
        "/notifications",
        "/notifications",
        Some(json!({"language": "fr"})),
        &write,
    )
    .await;
    let resent = api
        .call(
            "POST",
            "/email-confirmation",
            "/email-confirmation",
            None,
            &write,
        )
        .await;
    assert_eq!(resent.status, StatusCode::ACCEPTED, "{}", resent.body);
    api.call(
        "POST",
        "/password-reset",
        "/password-reset",
        Some(json!({"login": "alice"})),
        &[],
    )
    .await;
    api.call(
        "POST",
        "/password-reset/confirm",
        "/password-reset/confirm",
        Some(json!({"token": "no-such-token", "new_password": "a brand new passphrase"})),
        &[],
    )
    .await;
    api.call(
        "POST",
        "/email-confirmation/confirm",
        "/email-confirmation/confirm",
        Some(json!({"token": "no-such-token"})),
        &[],
    )
    .await;
    // A link as a mail carries it (a token is only ever in mail).
    let confirm = mailed_token(&app, "alice@example.com", "/confirm-email?token=").await;
    let confirmed = api
        .call(
            "POST",
            "/email-confirmation/confirm",
            "/email-confirmation/confirm",
            Some(json!({"token": confirm})),
            &[],
        )
        .await;
    assert_eq!(
        confirmed.status,
        StatusCode::NO_CONTENT,
        "{}",
        confirmed.body
    );
    api.call(
        "POST",
        "/email-confirmation",
        "/email-confirmation",
        None,
        &write,
    )
    .await;

    // An operator gives money, a voucher, codes and a card.
    let operator = app
        .store
        .create_operator("openapi_ops", "correct horse battery")
        .await
        .unwrap();
    let token = app
        .store
        .issue_operator_token_for(&operator, 30, backend::auth::operators::CLI)
        .await
        .unwrap();
    let spare = app
        .store
        .issue_operator_token_for(&operator, 7, backend::auth::operators::CLI)
        .await
        .unwrap();
    let bearer = format!("Bearer {}", token.token);
    let ops = [("authorization", bearer.as_str())];
    let credited = api
        .call(
            "POST",
            "/ops/bank-transfers",
            "/ops/bank-transfers",
            Some(json!({"account": "alice", "amount": "5000.00", "reference": "BANK-0001"})),
            &ops,
        )
        .await;
    assert_eq!(credited.status, StatusCode::CREATED, "{}", credited.body);
    api.call(
        "POST",
        "/ops/bank-transfers",
        "/ops/bank-transfers",
        Some(json!({"account": "alice", "amount": "1.00", "reference": "BANK-0001"})),
        &ops,
    )
    .await;
    let issued = api
        .call(
            "POST",
            "/ops/vouchers",
            "/ops/vouchers",
            Some(json!({"account": "alice", "face_value": "30.00", "valid_days": 30})),
            &ops,
        )
        .await;
    assert!(issued.body["voucher"].is_object(), "{}", issued.body);
    let codes = api
        .call(
            "POST",
            "/ops/vouchers",
            "/ops/vouchers",
            Some(json!({"face_value": "20.00", "valid_days": 30, "count": 2})),
            &ops,
        )
        .await;
    let code = codes.body["codes"][0].as_str().unwrap().to_owned();
    api.call(
        "POST",
        "/ops/prepaid-cards",
        "/ops/prepaid-cards",
        Some(json!({"account": "alice", "denomination": "200.00"})),
        &ops,
    )
    .await;
    api.call(
        "POST",
        "/ops/prepaid-cards",
        "/ops/prepaid-cards",
        Some(json!({"account": "nobody", "denomination": "200.00"})),
        &ops,
    )
    .await;

    // The customer's wallet.
    let activated = api
        .call(
            "POST",
            "/vouchers/activate",
            "/vouchers/activate",
            Some(json!({ "code": code })),
            &write,
        )
        .await;
    assert_eq!(activated.status, StatusCode::CREATED, "{}", activated.body);
    api.call(
        "POST",
        "/vouchers/activate",
        "/vouchers/activate",
        Some(json!({ "code": code })),
        &write,
    )
    .await;
    let bought = api
        .call(
            "POST",
            "/prepaid-cards",
            "/prepaid-cards",
            Some(json!({"denomination": "1000.00"})),
            &[write[0], write[1], ("idempotency-key", "card-1")],
        )
        .await;
    assert_eq!(bought.status, StatusCode::CREATED, "{}", bought.body);
    api.call(
        "POST",
        "/prepaid-cards",
        "/prepaid-cards",
        Some(json!({"denomination": "1000.00"})),
        &read,
    )
    .await;
    api.call("GET", "/wallet", "/wallet", None, &read).await;
    api.call("GET", "/movements", "/movements?limit=50", None, &read)
        .await;
    api.call("GET", "/movements", "/movements?limit=0", None, &read)
        .await;
    api.call("GET", "/vouchers", "/vouchers", None, &read).await;
    api.call("GET", "/prepaid-cards", "/prepaid-cards", None, &read)
        .await;
    api.call(
        "GET",
        "/vouchers",
        "/vouchers?from=2020-01-01&to=2099-12-31",
        None,
        &read,
    )
    .await;
    api.csv("/vouchers", "/vouchers?format=csv", &read).await;
    api.csv("/prepaid-cards", "/prepaid-cards?format=csv", &read)
        .await;

    // Top-ups.
    let online = api
        .call(
            "POST",
            "/topups",
            "/topups",
            Some(json!({"amount": "88.88", "method": "alipay"})),
            &write,
        )
        .await;
    assert_eq!(online.status, StatusCode::CREATED, "{}", online.body);
    let transfer = api
        .call(
            "POST",
            "/topups",
            "/topups",
            Some(json!({"amount": "66.00", "method": "bank_transfer"})),
            &write,
        )
        .await;
    api.call(
        "POST",
        "/topups",
        "/topups",
        Some(json!({"amount": "0.00", "method": "bank_transfer"})),
        &write,
    )
    .await;
    api.call("GET", "/topups", "/topups", None, &read).await;
    let id = transfer.body["id"].as_i64().unwrap();
    api.call("GET", "/topups/{id}", &format!("/topups/{id}"), None, &read)
        .await;
    api.call("GET", "/topups/{id}", "/topups/999999", None, &read)
        .await;

    // Workspaces and usage.
    let bound = api
        .call(
            "POST",
            "/workspaces",
            "/workspaces",
            Some(json!({"workspace_id": "ws-prod", "name": "Production"})),
            &write,
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    api.call("GET", "/workspaces", "/workspaces", None, &read)
        .await;
    for threshold in [json!("500.00"), json!("-1"), Value::Null] {
        api.call(
            "PUT",
            "/workspaces/{id}/daily-cost-alert",
            "/workspaces/ws-prod/daily-cost-alert",
            Some(json!({ "threshold": threshold })),
            &write,
        )
        .await;
    }
    api.call(
        "PUT",
        "/workspaces/{id}/daily-cost-alert",
        "/workspaces/ws-nobody/daily-cost-alert",
        Some(json!({"threshold": "1.00"})),
        &write,
    )
    .await;
    // Cloud settlement: a subscription from Alibaba's SPI, the workspace switched to it.
    let instance = app
        .store
        .create_subscription(&backend::cloud::NewSubscription {
            cloud: backend::cloud::Cloud::Aliyun,
            cloud_account_id: "1234567890".into(),
            order_ref: "order-1".into(),
            product_code: "cmgj00012345".into(),
            sku_id: "yuncode1234500001".into(),
            valid_until: None,
        })
        .await
        .unwrap();
    for body in [
        json!({"method": "aliyun", "account_id": "42", "instance_id": instance}),
        json!({"method": "aliyun", "account_id": "1234567890", "instance_id": instance}),
        json!({"method": "account"}),
    ] {
        api.call(
            "PUT",
            "/workspaces/{id}/settlement",
            "/workspaces/ws-prod/settlement",
            Some(body),
            &write,
        )
        .await;
    }
    api.call("GET", "/cloud-accounts", "/cloud-accounts", None, &read)
        .await;
    // Enterprise verification: the licence uploaded (a renamed executable refused first), then a
    // wrong check character, then a right one.
    let upload_headers = [
        ("cookie", session.as_str()),
        ("x-csrf-token", csrf.as_str()),
        ("content-type", "application/octet-stream"),
    ];
    let (status, _) = api
        .bytes(
            "POST",
            "/attachments",
            "/attachments?file_name=licence.png",
            b"MZ\x90\0\x03\0",
            &upload_headers,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, licence) = api
        .bytes(
            "POST",
            "/attachments",
            "/attachments?file_name=licence.png",
            PNG,
            &upload_headers,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let licence: Value = serde_json::from_slice(&licence).unwrap();
    for code in ["9144030071526726XH", "9144030071526726XG"] {
        api.call(
            "POST",
            "/enterprise",
            "/enterprise",
            Some(
                json!({"enterprise_name": "示例科技有限公司", "credit_code": code,
                "contact_name": "王小明", "contact_phone": "+86 138 0000 0000",
                "licence_attachment_id": licence["id"]}),
            ),
            &write,
        )
        .await;
    }
    api.call("GET", "/enterprise", "/enterprise", None, &read)
        .await;
    // Withdrawn, withdrawn again (nothing waits), submitted again.
    for _ in 0..2 {
        api.call(
            "POST",
            "/enterprise/withdraw",
            "/enterprise/withdraw",
            None,
            &write,
        )
        .await;
    }
    api.call(
        "POST",
        "/enterprise",
        "/enterprise",
        Some(
            json!({"enterprise_name": "示例科技有限公司", "credit_code": "9144030071526726XG",
            "contact_name": "王小明", "contact_phone": "+86 138 0000 0000",
            "licence_attachment_id": licence["id"]}),
        ),
        &write,
    )
    .await;
    let rotated = api
        .call(
            "POST",
            "/workspaces/{id}/key",
            "/workspaces/ws-prod/key",
            None,
            &write,
        )
        .await;
    let key = format!("Bearer {}", rotated.body["api_key"].as_str().unwrap());
    let workspace = [("authorization", key.as_str())];
    let today = app.store.today();
    let yesterday = today.pred_opt().unwrap();
    let reported = api
        .call(
            "POST",
            "/usage",
            "/usage",
            Some(json!({"records": [
                {"id": "r-1", "item": "logs", "retention_days": 7, "quantity": "1500000", "day": yesterday.to_string()},
                {"id": "r-2", "item": "logs", "retention_days": 7, "quantity": 2000, "day": today.to_string()},
                {"id": "r-3", "item": "nothing", "quantity": "1", "day": today.to_string()},
                {"weird": true},
            ]})),
            &workspace,
        )
        .await;
    assert_eq!(reported.body["accepted"], 2, "{}", reported.body);
    api.call(
        "POST",
        "/usage",
        "/usage",
        Some(json!({"records": []})),
        &workspace,
    )
    .await;
    api.call(
        "POST",
        "/usage",
        "/usage",
        Some(json!({"records": []})),
        &[],
    )
    .await;

    // The console's side: a workspace bound with the console's owner token reports usage with
    // the service token; its status and panel; unbinding one with nothing to settle.
    use backend::console::ConsoleRole;
    let owner = console_token("ws-console", ConsoleRole::Owner);
    let bound = api
        .call(
            "POST",
            "/workspaces",
            "/workspaces",
            Some(json!({"workspace_id": "ws-console", "name": "Console",
                        "console_token": owner.trim_start_matches("Bearer ")})),
            &write,
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.body);
    let service = console_token("ws-console", ConsoleRole::Service);
    let reported = api
        .call(
            "POST",
            "/usage",
            "/usage",
            Some(json!({"records": [
                {"id": "c-1", "item": "logs", "retention_days": 7, "quantity": "10", "day": today.to_string()},
            ]})),
            &[("authorization", service.as_str())],
        )
        .await;
    assert_eq!(reported.body["accepted"], 1, "{}", reported.body);
    api.call(
        "POST",
        "/usage",
        "/usage",
        Some(json!({"records": [{"id": "c-2", "item": "logs", "retention_days": 7, "quantity": "1", "day": today.to_string()}]})),
        &[("authorization", owner.as_str())],
    )
    .await;
    api.call(
        "GET",
        "/console/workspaces/{ws}",
        "/console/workspaces/ws-console",
        None,
        &[("authorization", service.as_str())],
    )
    .await;
    api.call(
        "GET",
        "/console/workspaces/{ws}",
        "/console/workspaces/ws-other",
        None,
        &[("authorization", service.as_str())],
    )
    .await;
    api.call(
        "GET",
        "/console/workspaces/{ws}",
        "/console/workspaces/ws-console",
        None,
        &[("authorization", "Bearer not.a.token")],
    )
    .await;
    api.call(
        "GET",
        "/panel/workspaces/{ws}",
        "/panel/workspaces/ws-console",
        None,
        &[("authorization", owner.as_str())],
    )
    .await;
    let free = console_token("ws-free", ConsoleRole::Administrator);
    api.call(
        "GET",
        "/panel/workspaces/{ws}",
        "/panel/workspaces/ws-free",
        None,
        &[("authorization", free.as_str())],
    )
    .await;
    let member = console_token("ws-console", ConsoleRole::Member);
    api.call(
        "GET",
        "/panel/workspaces/{ws}",
        "/panel/workspaces/ws-console",
        None,
        &[("authorization", member.as_str())],
    )
    .await;
    api.call(
        "GET",
        "/panel/workspaces/{ws}",
        "/panel/workspaces/ws-console?month=13",
        None,
        &[("authorization", owner.as_str())],
    )
    .await;
    api.call(
        "DELETE",
        "/workspaces/{id}",
        "/workspaces/ws-console",
        None,
        &write,
    )
    .await;
    api.call(
        "POST",
        "/workspaces",
        "/workspaces",
        Some(json!({"workspace_id": "ws-spare", "name": "Spare"})),
        &write,
    )
    .await;
    let unbound = api
        .call(
            "DELETE",
            "/workspaces/{id}",
            "/workspaces/ws-spare",
            None,
            &write,
        )
        .await;
    assert_eq!(unbound.status, StatusCode::NO_CONTENT, "{}", unbound.body);

    // Settlement, voiding, statements.
    let settled = api
        .call(
            "POST",
            "/ops/settlements",
            "/ops/settlements",
            Some(json!({ "day": yesterday.to_string() })),
            &ops,
        )
        .await;
    assert_eq!(settled.body["status"], "settled", "{}", settled.body);
    api.call(
        "POST",
        "/ops/settlements",
        "/ops/settlements",
        Some(json!({ "day": today.to_string() })),
        &ops,
    )
    .await;
    api.call("GET", "/ops/settlements", "/ops/settlements", None, &ops)
        .await;
    let voided = api
        .call(
            "POST",
            "/ops/usage/void",
            "/ops/usage/void",
            Some(
                json!({"workspace_id": "ws-prod", "record_id": "r-2", "reason": "reported twice"}),
            ),
            &ops,
        )
        .await;
    assert_eq!(voided.status, StatusCode::OK, "{}", voided.body);
    api.call(
        "POST",
        "/ops/usage/void",
        "/ops/usage/void",
        Some(json!({"workspace_id": "ws-prod", "record_id": "r-1", "reason": "too late"})),
        &ops,
    )
    .await;
    api.call("GET", "/bills", "/bills", None, &read).await;
    api.call("GET", "/bills", "/bills?month=2026-13", None, &read)
        .await;
    let from = format!("from={yesterday}&to={today}");
    let consumption = api
        .call(
            "GET",
            "/consumption",
            &format!("/consumption?{from}"),
            None,
            &read,
        )
        .await;
    assert_eq!(consumption.body["total"], 1, "{}", consumption.body);
    api.call(
        "GET",
        "/transactions",
        &format!("/transactions?{from}&per_page=5"),
        None,
        &read,
    )
    .await;
    api.call("GET", "/transactions", "/transactions?page=0", None, &read)
        .await;
    api.call("GET", "/transactions", "/transactions?nope=1", None, &read)
        .await;
    api.csv("/bills", "/bills?format=csv", &read).await;
    api.csv(
        "/consumption",
        &format!("/consumption?{from}&format=csv"),
        &read,
    )
    .await;
    api.csv(
        "/transactions",
        &format!("/transactions?{from}&format=csv"),
        &read,
    )
    .await;

    // Payment flags, the audit log, tokens.
    let reference = online.body["reference"].as_str().unwrap();
    assert!(
        app.store
            .flag_payment(reference, FlagKind::AmountMismatch, "paid 8.88")
            .await
            .unwrap()
    );
    let flags = api
        .call(
            "GET",
            "/ops/payment-flags",
            "/ops/payment-flags",
            None,
            &ops,
        )
        .await;
    let flag = flags.body[0]["id"].as_i64().unwrap();
    let resolve = format!("/ops/payment-flags/{flag}/resolve");
    let resolution = json!({"resolution": "the customer paid the rest by transfer"});
    api.call(
        "POST",
        "/ops/payment-flags/{id}/resolve",
        &resolve,
        Some(resolution.clone()),
        &ops,
    )
    .await;
    api.call(
        "POST",
        "/ops/payment-flags/{id}/resolve",
        &resolve,
        Some(resolution),
        &ops,
    )
    .await;
    api.call(
        "GET",
        "/ops/payment-flags",
        "/ops/payment-flags?all=true",
        None,
        &ops,
    )
    .await;
    api.call(
        "GET",
        "/ops/audit",
        "/ops/audit?account=alice&limit=10",
        None,
        &ops,
    )
    .await;
    api.call("GET", "/ops/audit", "/ops/audit?account=nobody", None, &ops)
        .await;
    api.call("GET", "/ops/mail", "/ops/mail", None, &ops).await;
    // The enterprise submitted above, reviewed: a rejection without a reason, then approved.
    for body in [
        json!({"decision": "reject"}),
        json!({"decision": "approve"}),
    ] {
        api.call(
            "POST",
            "/ops/enterprise/{id}/review",
            &format!("/ops/enterprise/{account_id}/review"),
            Some(body),
            &ops,
        )
        .await;
    }
    api.call(
        "GET",
        "/ops/enterprise/{id}",
        &format!("/ops/enterprise/{account_id}"),
        None,
        &ops,
    )
    .await;
    let (status, _) = api
        .bytes(
            "GET",
            "/attachments/{id}",
            &format!("/attachments/{}", licence["id"]),
            b"",
            &read,
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    // The support center: a ticket with a file, answered by an operator with a file, closed,
    // rated; another withdrawn.
    let (_, receipt) = api
        .bytes(
            "POST",
            "/attachments",
            "/attachments?file_name=receipt.txt",
            "订单 2026120700001".as_bytes(),
            &upload_headers,
        )
        .await;
    let receipt: Value = serde_json::from_slice(&receipt).unwrap();
    let opened = api
        .call(
            "POST",
            "/tickets",
            "/tickets",
            Some(json!({"type": "payment", "title": "Top-up not credited",
                "description": "Paid at 10:02.", "attachments": [receipt["id"]]})),
            &write,
        )
        .await;
    assert_eq!(opened.status, StatusCode::CREATED, "{}", opened.body);
    let ticket = opened.body["ticket"]["id"].as_i64().unwrap();
    api.call(
        "GET",
        "/tickets",
        "/tickets?state=open&type=payment&q=top&from=2020-01-01",
        None,
        &read,
    )
    .await;
    api.call("GET", "/tickets", "/tickets?state=lost", None, &read)
        .await;
    api.call(
        "GET",
        "/tickets/{id}",
        &format!("/tickets/{ticket}"),
        None,
        &read,
    )
    .await;
    api.call("GET", "/tickets/{id}", "/tickets/999999", None, &read)
        .await;
    api.call(
        "POST",
        "/tickets/{id}/replies",
        &format!("/tickets/{ticket}/replies"),
        Some(json!({"body": "Any news?"})),
        &write,
    )
    .await;
    api.call("GET", "/ops/queue", "/ops/queue", None, &ops)
        .await;
    api.call(
        "GET",
        "/ops/tickets",
        "/ops/tickets?assigned=none",
        None,
        &ops,
    )
    .await;
    api.call(
        "GET",
        "/ops/tickets/{id}",
        &format!("/ops/tickets/{ticket}"),
        None,
        &ops,
    )
    .await;
    api.call(
        "POST",
        "/ops/tickets/{id}/assign",
        &format!("/ops/tickets/{ticket}/assign"),
        Some(json!({})),
        &ops,
    )
    .await;
    let ops_upload = [ops[0], ("content-type", "application/pdf")];
    let (status, steps) = api
        .bytes(
            "POST",
            "/ops/attachments",
            "/ops/attachments?file_name=steps.pdf",
            b"%PDF-1.7 steps",
            &ops_upload,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    let steps: Value = serde_json::from_slice(&steps).unwrap();
    let answered = api
        .call(
            "POST",
            "/ops/tickets/{id}/replies",
            &format!("/ops/tickets/{ticket}/replies"),
            Some(json!({"body": "Credited now.", "attachments": [steps["id"]]})),
            &ops,
        )
        .await;
    assert_eq!(answered.status, StatusCode::OK, "{}", answered.body);
    let (status, _) = api
        .bytes(
            "GET",
            "/ops/attachments/{id}",
            &format!("/ops/attachments/{}", receipt["id"]),
            b"",
            &ops,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.call(
        "POST",
        "/tickets/{id}/withdraw",
        &format!("/tickets/{ticket}/withdraw"),
        None,
        &write,
    )
    .await;
    api.call(
        "POST",
        "/tickets/{id}/close",
        &format!("/tickets/{ticket}/close"),
        None,
        &write,
    )
    .await;
    api.call(
        "POST",
        "/tickets/{id}/rating",
        &format!("/tickets/{ticket}/rating"),
        Some(json!({"rating": 5})),
        &write,
    )
    .await;
    let second = api
        .call(
            "POST",
            "/tickets",
            "/tickets",
            Some(json!({"type": "other", "title": "Never mind", "description": "Found it."})),
            &write,
        )
        .await;
    api.call(
        "POST",
        "/tickets/{id}/withdraw",
        &format!("/tickets/{}/withdraw", second.body["ticket"]["id"]),
        None,
        &write,
    )
    .await;

    // Operators find an account and read its dossier.
    let found = api
        .call("GET", "/ops/accounts", "/ops/accounts?q=ALICE", None, &ops)
        .await;
    assert_eq!(found.body[0]["username"], "alice", "{}", found.body);
    api.call("GET", "/ops/accounts", "/ops/accounts?q=a", None, &ops)
        .await;
    api.call(
        "GET",
        "/ops/accounts/{id}",
        &format!("/ops/accounts/{account_id}"),
        None,
        &ops,
    )
    .await;
    api.call(
        "GET",
        "/ops/accounts/{id}",
        "/ops/accounts/999999",
        None,
        &ops,
    )
    .await;

    // Change binding: Bob, verified as the same enterprise, takes a workspace of Alice's.
    api.call(
        "POST",
        "/workspaces",
        "/workspaces",
        Some(json!({"workspace_id": "ws-move", "name": "Moving"})),
        &write,
    )
    .await;
    let bob = app.customer("bob").await;
    let bob_account = app
        .store
        .customer_by_username("bob")
        .await
        .unwrap()
        .billing_account_id;
    let bob_licence = app
        .store
        .upload_attachment(
            backend::attachments::Uploader::Customer {
                account_id: bob_account,
            },
            "licence.png",
            PNG,
        )
        .await
        .unwrap();
    app.store
        .submit_enterprise(
            bob_account,
            &backend::enterprise::EnterpriseSubmission {
                enterprise_name: "示例科技有限公司".into(),
                credit_code: "9144030071526726XG".into(),
                contact_name: "王小明".into(),
                contact_phone: "+86 138 0000 0000".into(),
                licence_attachment_id: bob_licence.id,
            },
        )
        .await
        .unwrap();
    api.call(
        "POST",
        "/ops/enterprise/{id}/review",
        &format!("/ops/enterprise/{bob_account}/review"),
        Some(json!({"decision": "approve"})),
        &ops,
    )
    .await;
    let owner = console_key.sign(&backend::console::ConsoleClaims::new(
        "console-user-9",
        "ws-move",
        backend::console::ConsoleRole::Owner,
        app.store.now(),
        600,
    ));
    let bob_write = [
        ("cookie", bob.cookie.as_str()),
        ("x-csrf-token", bob.csrf.as_str()),
    ];
    let moved = api
        .call(
            "POST",
            "/workspaces/{id}/binding",
            "/workspaces/ws-move/binding",
            Some(json!({"console_token": owner})),
            &bob_write,
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    api.call("GET", "/workspaces/moves", "/workspaces/moves", None, &read)
        .await;

    // A metering record the marketplace will not take, reported by hand.
    let waiting: i64 = sqlx::query_scalar(
        "INSERT INTO cloud_metering (subscription_id, bill_id, usage_day, amount_fen, created_at, next_attempt_at) \
         SELECT (SELECT MIN(id) FROM cloud_subscriptions), MIN(id), '2026-01-01', 100, 0, 0 FROM bills RETURNING id",
    )
    .fetch_one(app.store.pool())
    .await
    .unwrap();
    for id in [waiting + 1000, waiting] {
        api.call(
            "POST",
            "/ops/metering/{id}/resolve",
            &format!("/ops/metering/{id}/resolve"),
            Some(json!({"note": "reported in the marketplace's portal"})),
            &ops,
        )
        .await;
    }
    api.call("GET", "/ops/tokens", "/ops/tokens", None, &ops)
        .await;
    api.call(
        "DELETE",
        "/ops/tokens/{id}",
        &format!("/ops/tokens/{}", spare.id),
        None,
        &ops,
    )
    .await;
    api.call("DELETE", "/ops/tokens/{id}", "/ops/tokens/x", None, &ops)
        .await;
    api.call("GET", "/ops/tokens", "/ops/tokens", None, &[])
        .await;

    // Signing out ends the session.
    api.call("DELETE", "/session", "/session", None, &read)
        .await;
    api.call("DELETE", "/session", "/session", None, &write)
        .await;
    api.call("GET", "/wallet", "/wallet", None, &read).await;

    // A forgotten password: the link from the mail sets a new one (and would end every session).
    api.call(
        "POST",
        "/password-reset",
        "/password-reset",
        Some(json!({"login": "alice@example.com"})),
        &[],
    )
    .await;
    let reset = mailed_token(&app, "alice@example.com", "/reset-password?token=").await;
    let done = api
        .call(
            "POST",
            "/password-reset/confirm",
            "/password-reset/confirm",
            Some(json!({"token": reset, "new_password": "a brand new passphrase"})),
            &[],
        )
        .await;
    assert_eq!(done.status, StatusCode::NO_CONTENT, "{}", done.body);

    // Every operation gave a successful answer that matched its schema.
    for (method, path) in operations(&api.doc) {
        assert!(
            api.answered
                .iter()
                .any(|(m, p, s)| *m == method && *p == path && (200..300).contains(s)),
            "{method} {path} never answered with success here"
        );
    }
    app.finish().await;
}

on_both_databases!(every_operation_answers_as_documented);

#[test]
fn the_csv_language_is_one_of_the_two_the_files_are_written_in() {
    let doc = document();
    let schema = &doc["components"]["schemas"]["CsvLanguage"];
    assert_eq!(
        schema["enum"],
        serde_json::json!(["en", "zh-CN"]),
        "{schema}"
    );
    let consumption = &doc["paths"]["/consumption"]["get"]["parameters"];
    assert!(
        consumption
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "lang"),
        "{consumption}"
    );
}
