//! The OpenAPI 3.1 document of `/api/v1`, served at `GET /api/v1/openapi.json`.
//!
//! Paths, parameters, bodies and the answers particular to each endpoint come from the handlers'
//! `#[utoipa::path]` and their types (`super::schema` mirrors what lives in `billing` and
//! `backend`). The refusals that follow from what an operation is are added here, the same way for
//! every operation, so none is forgotten: every operation may answer `500 internal`; one with a
//! JSON body `400 malformed_json`, `413` and `422 invalid_request`; one with query parameters `400`
//! (a query that cannot be read); a write `403 cross_site_request`; one behind the session cookie,
//! an operator token or a workspace key its `401`s, and with `X-CSRF-Token` its `403 csrf_failed`;
//! one with `Idempotency-Key` `400 invalid_idempotency_key` and `409 idempotency_key_reused`.

use axum::Json;
use serde_json::{Value, json};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::error::ApiErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Billing Center API",
        description = "The JSON API of Billing Center. Amounts are decimal strings (`\"12.34\"`), never JSON numbers; every refusal is `{\"error\":{\"code\",\"message\",\"field\"?}}` (schema `ApiErrorBody`). The prose that is not in this document (error codes, idempotency, CSV exports, pagination, rate limits) is docs/API.md.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "/api/v1")),
    components(schemas(
        ApiErrorBody,
        super::statements::Format,
        super::statements::CsvLanguage
    )),
    modifiers(&SecuritySchemes),
    tags(
        (name = "meta", description = "This document."),
        (name = "plan", description = "Deduction plans (PRODUCT.md §3), computed without changing anything."),
        (name = "accounts", description = "Sign-up, sessions and the signed-in customer."),
        (name = "wallet", description = "The customer's balances, vouchers and prepaid cards."),
        (name = "topups", description = "Top-ups by Alipay (or the sandbox gateway) or bank transfer."),
        (name = "workspaces", description = "Workspaces bound to the account, their API keys, and usage reports."),
        (name = "statements", description = "Monthly bills, consumption details, income and expenditure; JSON or CSV."),
        (name = "support", description = "Tickets to support, with files attached (the type of a file is found from its content)."),
        (name = "ops", description = "Operator actions, with an operator token; every call is audited."),
    )
)]
pub struct ApiDoc;

/// The four ways a caller proves who it is.
struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                "bc_session",
                "The customer's session cookie, set by POST /accounts and POST /session (HttpOnly, SameSite=Lax). It ends after 30 idle minutes, 12 hours after sign-in, at sign-out or when the password changes.",
            ))),
        );
        components.add_security_scheme(
            "csrf",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-CSRF-Token",
                "The session's CSRF token (`csrf_token` of sign-up, sign-in and GET /me), sent with every state-changing request authenticated by the session cookie.",
            ))),
        );
        components.add_security_scheme(
            "operator_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bco_…")
                    .description(Some(
                        "An operator token (`billing-center operator token USERNAME [--days N]`): live while not revoked, not expired and its operator not disabled.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "workspace_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("bcw_…")
                    .description(Some(
                        "A workspace's usage API key (POST /workspaces or POST /workspaces/{id}/key); a rotated key stops working at once.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "console_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT the SaaS console signed HS256 with CONSOLE_SIGNING_KEY: iss `console`, aud `billing-center`, sub, ws, role (owner, administrator, member, service), optional name and lang, iat and exp, living at most 15 minutes (docs/INTEGRATION.md).",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI 3.1 document of this API: every endpoint, its parameters, bodies and answers.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)),
)]
pub async fn serve() -> Json<Value> {
    Json(super::openapi_document().clone())
}

/// The document with the refusals every operation of a kind shares (see the module comment).
pub fn finish(openapi: utoipa::openapi::OpenApi) -> Value {
    let mut document = serde_json::to_value(&openapi).expect("an OpenAPI document serialises");
    if let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                add_shared_refusals(method, operation);
            }
        }
    }
    document
}

fn add_shared_refusals(method: &str, operation: &mut Value) {
    let schemes: Vec<String> = operation["security"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|requirement| requirement.keys().cloned())
        .collect();
    let has = |name: &str| schemes.iter().any(|s| s == name);
    let parameters: Vec<(String, String)> = operation["parameters"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["in"].as_str().unwrap_or_default().to_owned(),
                p["name"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut refusals: Vec<(&str, &str)> = Vec::new();
    if operation.get("requestBody").is_some() {
        refusals.push(("400", "`malformed_json`: the body is not UTF-8 JSON"));
        refusals.push((
            "413",
            "`too_large`: the body is larger than the endpoint accepts (2 MB; 8 MB for usage reports)",
        ));
        refusals.push((
            "422",
            "`invalid_request`: JSON of the wrong shape (a missing, unknown or mistyped field; an amount that is a number or has more than two decimals)",
        ));
    }
    if parameters.iter().any(|(place, _)| place == "query") {
        refusals.push((
            "400",
            "`bad_request`: a query string that cannot be read (an unknown parameter, a value of the wrong type)",
        ));
    }
    if parameters.iter().any(|(place, _)| place == "path") {
        refusals.push((
            "404",
            "`not_found`: no such resource (an id that is not a number, or of another account, is the same 404)",
        ));
    }
    if parameters
        .iter()
        .any(|(place, name)| place == "header" && name == "Idempotency-Key")
    {
        refusals.push((
            "400",
            "`invalid_idempotency_key`: Idempotency-Key is not 1 to 100 printable characters",
        ));
        refusals.push((
            "409",
            "`idempotency_key_reused`: this Idempotency-Key was used for another request",
        ));
    }
    if has("session") {
        refusals.push(("401", "`unauthorized`: not signed in, or the session ended"));
    }
    if has("csrf") {
        refusals.push((
            "403",
            "`csrf_failed`: the session's X-CSRF-Token header is missing or wrong",
        ));
    }
    if method != "get" {
        refusals.push((
            "403",
            "`cross_site_request`: a browser marked the request as coming from another site",
        ));
    }
    if has("operator_token") {
        refusals.push((
            "401",
            "`unauthorized` (no, unknown or revoked operator token), `token_expired` or `operator_disabled`",
        ));
    }
    if has("workspace_key") {
        refusals.push((
            "401",
            "`unauthorized`: no workspace API key, or not a valid one (it may have been rotated)",
        ));
    }
    if has("console_token") {
        refusals.push((
            "401",
            "`unauthorized` (no token) or `console_token_invalid` (a bad signature or algorithm, wrong issuer or audience, expired, issued in the future or living longer than 15 minutes)",
        ));
        refusals.push((
            "503",
            "`console_not_configured`: this server has no CONSOLE_SIGNING_KEY",
        ));
    }
    refusals.push((
        "500",
        "`internal`: our fault; the details are in the server log only",
    ));

    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (status, description) in refusals {
        let response = responses.entry(status).or_insert_with(|| {
            json!({
                "description": "",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}}
            })
        });
        let current = response["description"].as_str().unwrap_or_default();
        if !current.contains(description) {
            response["description"] = Value::String(if current.is_empty() {
                description.to_owned()
            } else {
                format!("{current}; {description}")
            });
        }
        if status == "429" || response.get("content").is_some() {
            continue;
        }
        response["content"] =
            json!({"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}});
    }
}
