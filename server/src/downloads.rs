//! Files the pages link to (plain GETs, `rel="external"`): an operator's batch of activation
//! codes as CSV. The statements' CSVs are the JSON API's `format=csv`.

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use backend::auth::sessions::{Principal, Viewer};
use billing::wallet_rules::VoucherValidity;

use crate::auth::ClientAddress;
use crate::router::AppState;

/// operator session: the codes of a batch that operator generated (UTF-8 with a BOM, so that
/// Excel opens it); each download is audited.
pub async fn activation_codes(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    ClientAddress(client): ClientAddress,
    Path(batch): Path<String>,
) -> Response {
    let Viewer::Session {
        principal: Principal::Operator(operator_id),
        ..
    } = viewer
    else {
        return (StatusCode::FORBIDDEN, "sign in at /ops as an operator\n").into_response();
    };
    let Ok(batch_id) = batch.trim_end_matches(".csv").parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "no such batch\n").into_response();
    };
    let batch = match state.store.activation_code_batch(batch_id).await {
        Ok(Some(batch)) => batch,
        Ok(None) => return (StatusCode::NOT_FOUND, "no such batch\n").into_response(),
        Err(error) => {
            tracing::error!(%error, batch_id, "activation code batch download failed");
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the batch\n",
            )
                .into_response();
        }
    };
    // Codes are bearer money: only the operator who generated a batch takes it again.
    if batch.operator_id != Some(operator_id) {
        tracing::warn!(
            batch_id,
            operator_id,
            "refused an activation code download: not the operator who generated the batch"
        );
        return (
            StatusCode::FORBIDDEN,
            "only the operator who generated this batch can download it\n",
        )
            .into_response();
    }
    if let Err(error) = state
        .store
        .audit(
            operator_id,
            "activation_codes.download",
            None,
            &format!("batch {batch_id} ({} codes)", batch.codes.len()),
            &client,
        )
        .await
    {
        tracing::error!(%error, batch_id, "could not audit a code download");
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            "could not record the download\n",
        )
            .into_response();
    }
    let validity = match batch.validity {
        VoucherValidity::DaysFromActivation(days) => days.to_string(),
        VoucherValidity::Fixed {
            valid_from,
            valid_until,
        } => {
            format!("{} – {}", valid_from.to_rfc3339(), valid_until.to_rfc3339())
        }
    };
    let rows: Vec<Vec<String>> = batch
        .codes
        .iter()
        .map(|code| vec![code.clone(), batch.face_value.to_string(), validity.clone()])
        .collect();
    let csv = backend::csv::document(&["code", "face_value", "valid_days"], &rows);
    let disposition = format!("attachment; filename=\"activation-codes-batch-{batch_id}.csv\"");
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).expect("a valid header"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        csv,
    )
        .into_response()
}

/// operator session: a file of a ticket or a business licence, as `/ops/tickets/{id}` and the
/// enterprise review link it (the API's `GET /api/v1/ops/attachments/{id}` takes a token
/// instead); each download is audited.
pub async fn attachment(
    State(state): State<AppState>,
    Extension(viewer): Extension<Viewer>,
    ClientAddress(client): ClientAddress,
    Path(id): Path<String>,
) -> Response {
    let Viewer::Session {
        principal: Principal::Operator(operator_id),
        ..
    } = viewer
    else {
        return (StatusCode::FORBIDDEN, "sign in at /ops as an operator\n").into_response();
    };
    let Ok(id) = id.parse::<i64>() else {
        return (StatusCode::NOT_FOUND, "no such file\n").into_response();
    };
    let operator = match state.store.operator_by_id(operator_id).await {
        Ok(operator) => operator,
        Err(_) => {
            return (StatusCode::FORBIDDEN, "sign in at /ops as an operator\n").into_response();
        }
    };
    match state
        .store
        .attachment_for_operator(&operator, id, &client)
        .await
    {
        Ok(file) => crate::api::attachment_download(file),
        Err(backend::support::SupportError::AttachmentNotFound) => {
            (StatusCode::NOT_FOUND, "no such file\n").into_response()
        }
        Err(error) => {
            tracing::error!(%error, id, "attachment download failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "could not read the file\n",
            )
                .into_response()
        }
    }
}
