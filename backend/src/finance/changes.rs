//! `GET /api/v1/transactions/changes`: what changed in the workspace's transactions after a
//! cursor (Plaid-style added / modified / removed), from the change numbers every write takes
//! (`db::changes`).

use axum::{extract::State, http::StatusCode, Json};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use shared::{finance::*, ErrorBody};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use super::transactions::transaction_view;
use crate::access::routes;
use crate::{
    access::{Caller, ReadTransactions},
    db::changes::{self, Change},
    error::{AppError, Result},
    state::AppState,
    web::AppQuery,
};

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_changes))
}

const DEFAULT_LIMIT: i64 = 100;
const MAX_LIMIT: i64 = 500;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct ChangesQuery {
    /// `nextCursor` from the previous answer; none: from the beginning (every transaction
    /// there is, as `added`).
    #[param(example = "djE6MDE5M2I2ZjItN2MxZS03YTNiLTlmMWQtMmM0ZTVhNmI3YzhkOjQyOjAxOTNiNmY1")]
    cursor: Option<String>,
    /// Changes per page, 1–500 (default 100).
    #[param(example = 100, minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// `v1:<workspace>:<number>:<id>`, base64url: a position in one workspace's feed.
fn encode(workspace_id: &str, position: (i64, &str)) -> String {
    URL_SAFE_NO_PAD.encode(format!("v1:{workspace_id}:{}:{}", position.0, position.1))
}

fn decode(workspace_id: &str, cursor: &str) -> Option<(i64, String)> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let rest = raw
        .strip_prefix("v1:")?
        .strip_prefix(workspace_id)?
        .strip_prefix(':')?;
    let (seq, id) = rest.split_once(':')?;
    let seq: i64 = seq.parse().ok()?;
    (seq >= 0 && !id.contains('\0')).then(|| (seq, id.to_string()))
}

/// What changed in the workspace's transactions after `cursor`, oldest change first.
///
/// Within a page each id appears once, in its state at the end of the page: in `added` when it
/// is new since the cursor, otherwise in `modified`, or in `removed` when it is gone (deleted,
/// or no longer shown by its bank). `nextCursor` is never null: while `hasMore`, ask again at
/// once; otherwise store it and ask later. Replaying the feed from the start (no cursor) and
/// applying it (upsert `added` and `modified`, delete `removed`) gives exactly what
/// `GET /api/v1/transactions` lists. Deletions are remembered for `PFN_CHANGES_RETENTION_DAYS`
/// (default 90): a cursor from before answers 410 `cursor_expired`; start again without one.
#[utoipa::path(get, path = "/api/v1/transactions/changes", tag = "finance", operation_id = "listTransactionChanges",
    params(ChangesQuery),
    responses(
        (status = 200, description = "A page of changes", body = TransactionChanges),
        (status = 400, description = "`invalid_cursor`: not a cursor of this workspace's feed", body = ErrorBody),
        (status = 410, description = "`cursor_expired`: the feed no longer reaches back that far; read it from the start again", body = ErrorBody),
        (status = 422, description = "`validation_failed`: `limit` out of 1–500", body = ErrorBody)))]
async fn list_changes(
    State(state): State<AppState>,
    caller: Caller<ReadTransactions>,
    AppQuery(q): AppQuery<ChangesQuery>,
) -> Result<Json<TransactionChanges>> {
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(AppError::field("limit", "must be from 1 to 500"));
    }
    let ws = &caller.workspace_id;
    let mut conn = state.db.pool.acquire().await?;
    let (newest, floor) = changes::bounds(&mut *conn, ws).await?;
    let after = match q.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => (0, String::new()),
        Some(c) => {
            let at = decode(ws, c)
                .filter(|(seq, _)| *seq <= newest)
                .ok_or_else(invalid_cursor)?;
            // Deletions numbered up to `floor` were compacted away: a position at or before
            // it may have missed some.
            if floor > 0 && at.0 <= floor {
                return Err(AppError::new(
                    StatusCode::GONE,
                    "cursor_expired",
                    "The change feed no longer reaches back to this cursor: read it from the start again (no cursor).",
                ));
            }
            at
        }
    };
    let (page, has_more) = changes::page(
        &mut conn,
        ws,
        caller.reach(),
        (after.0, &after.1),
        limit as usize,
    )
    .await?;
    let next_cursor = match page.last() {
        Some(last) => encode(ws, last.position()),
        None => encode(ws, (after.0, &after.1)),
    };
    let mut out = TransactionChanges {
        added: Vec::new(),
        modified: Vec::new(),
        removed: Vec::new(),
        next_cursor,
        has_more,
    };
    for change in page {
        match change {
            Change::Gone { id, .. } => out.removed.push(RemovedTransaction { id }),
            Change::Row {
                row, removed: true, ..
            } => out.removed.push(RemovedTransaction { id: row.id }),
            Change::Row {
                row, created_seq, ..
            } => {
                let new = (created_seq, row.id.as_str()) > (after.0, after.1.as_str());
                let view = transaction_view(*row);
                if new {
                    out.added.push(view);
                } else {
                    out.modified.push(view);
                }
            }
        }
    }
    Ok(Json(out))
}

fn invalid_cursor() -> AppError {
    AppError::new(
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "This cursor does not belong to this workspace's change feed.",
    )
}
