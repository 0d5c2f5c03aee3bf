//! `/api/v1/banks/*` (product.md §4): providers, connect + callback, connections, syncs,
//! balance refresh, disconnect.

use axum::{
    extract::{Path, Query, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::Deserialize;
use shared::{banks::*, ErrorBody, Page};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;

use crate::access::routes;

use super::sync;
use crate::tarabut::{wire, TarabutError, UpstreamErrors, EXPIRING_SOON_SECS};
use crate::{
    access::{session::SessionUser, Caller, Fresh, Owner, ReadConnections, WriteConnections},
    audit::{self, Event, Outcome},
    clock::rfc3339,
    db::{self, banks as bdb},
    error::{AppError, Result},
    ratelimit::Rate,
    request_meta::RequestMeta,
    state::AppState,
    web::{
        responses::BodyErrors,
        {AppJson, AppQuery},
    },
};

/// How long a started Connect flow may take.
const INTENT_TTL_SECS: i64 = 1800;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_providers))
        .routes(routes!(connect_bank))
        .routes(routes!(bank_callback))
        .routes(routes!(list_connections))
        .routes(routes!(get_connection, delete_connection))
        .routes(routes!(sync_connection))
        .routes(routes!(get_sync))
        .routes(routes!(refresh_balances))
}

/// Banks that can be connected.
#[utoipa::path(get, path = "/api/v1/banks/providers", tag = "banks", operation_id = "listBankProviders",
    responses((status = 200, description = "Providers (cached for ten minutes)", body = ProvidersBody), UpstreamErrors))]
async fn list_providers(
    State(state): State<AppState>,
    _caller: Caller<ReadConnections>,
) -> Result<Json<ProvidersBody>> {
    let providers = state.banks.providers().await?;
    Ok(Json(ProvidersBody {
        providers: providers
            .providers
            .into_iter()
            .map(|p| BankProvider {
                name: p
                    .display_name
                    .or(p.name)
                    .unwrap_or_else(|| p.provider_id.clone()),
                id: p.provider_id,
                country: p.country_code,
                logo_url: p.logo_url,
            })
            .collect(),
    }))
}

/// Start connecting a bank (workspace owners): open `connectUrl` in the user's browser. Tarabut
/// sends the browser back to `/api/v1/banks/callback`, which only completes for the user who
/// started the flow (signed in with a session), while they are still an owner.
#[utoipa::path(post, path = "/api/v1/banks/connect", tag = "banks", operation_id = "connectBank",
    request_body = ConnectRequest,
    responses(BodyErrors, (status = 201, description = "The Connect URL; valid for 30 minutes", body = ConnectResponse), UpstreamErrors))]
async fn connect_bank(
    State(state): State<AppState>,
    Fresh(caller): Fresh<Caller<Owner<WriteConnections>>>,
    AppJson(req): AppJson<ConnectRequest>,
) -> Result<(StatusCode, Json<ConnectResponse>)> {
    let provider = req
        .provider_id
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty());
    if let Some(p) = provider {
        if p.len() > 64
            || !p
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            return Err(AppError::field("providerId", "is not a provider id"));
        }
    }
    let customer = {
        let mut conn = state.db.pool.acquire().await?;
        bdb::customer_of(&mut conn, &caller.workspace_id).await?
    };
    let intent = state
        .banks
        .client
        .create_intent(&customer, provider, &state.banks.redirect_url)
        .await
        .map_err(|e| match e {
            TarabutError::Rejected { status: 400, .. } => {
                AppError::field("providerId", "is not a bank Tarabut knows")
            }
            e => e.into(),
        })?;
    let now = state.clock.now();
    bdb::insert_intent(
        &state.db.pool,
        &intent.intent_id,
        &caller.workspace_id,
        &caller.user_id,
        &customer,
        provider,
        now,
        now + INTENT_TTL_SECS,
    )
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(ConnectResponse {
            connect_url: intent.connect_url,
            intent_id: intent.intent_id,
        }),
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct CallbackQuery {
    /// The intent Tarabut completed.
    #[param(example = "8b1f6c2e-4d3a-4f5b-9c7e-2a1d0e9f8b7c")]
    intent_id: Option<String>,
    /// Accepted as an alias of `intentId` (seen in some Tarabut integrations).
    #[param(example = "8b1f6c2e-4d3a-4f5b-9c7e-2a1d0e9f8b7c")]
    tg_intent_id: Option<String>,
    /// What the redirect claims (`SUCCESSFUL`, `FAILED`); never trusted: the intent is
    /// confirmed with Tarabut.
    #[allow(dead_code)]
    #[param(example = "SUCCESSFUL")]
    status: Option<String>,
}

/// Where Tarabut sends the browser back. Confirms the intent with Tarabut (the redirect is never
/// trusted), checks that the signed-in user started it and still owns the workspace, stores the
/// connection and starts the first sync; then redirects to `/connections?connected=<id>`, or
/// `/connections?error=<code>` (`invalid_callback`, `unknown_intent`, `intent_expired`,
/// `intent_used`, `forbidden` (no longer an owner), `connect_failed`, `upstream_unavailable`).
/// A repeated callback for a flow that already produced a connection (a refresh, a double
/// click) redirects to that connection again. Needs the browser session; API keys get 403
/// `session_required`.
#[utoipa::path(get, path = "/api/v1/banks/callback", tag = "banks", operation_id = "bankCallback",
    params(CallbackQuery),
    responses((status = 302, description = "To the SPA's connections page, with `connected` or `error`",
        headers(("Location" = String, description = "`/connections?connected=<id>` or `/connections?error=<code>`"))),
        (status = 401, description = "`unauthenticated`: sign in first", body = ErrorBody)))]
async fn bank_callback(
    State(state): State<AppState>,
    user: SessionUser,
    meta: RequestMeta,
    Query(q): Query<CallbackQuery>,
) -> Result<Response> {
    let fail = |code: &str| Ok(found(&format!("/connections?error={code}")));
    let Some(intent_id) = q
        .intent_id
        .or(q.tg_intent_id)
        .filter(|i| !i.is_empty() && i.len() <= 200)
    else {
        return fail("invalid_callback");
    };
    let Some(intent) = bdb::intent(&state.db.pool, &intent_id).await? else {
        return fail("unknown_intent");
    };
    // Someone else's intent looks exactly like an unknown one.
    if intent.user_id != user.user.id {
        return fail("unknown_intent");
    }
    let now = state.clock.now();
    if intent.used_at.is_some() {
        return Ok(repeated(intent.connection_id.as_deref()));
    }
    if intent.expires_at <= now {
        return fail("intent_expired");
    }
    let confirmed = match state
        .banks
        .client
        .intent(&intent.customer_user_id, &intent.intent_id)
        .await
    {
        Ok(i) => i,
        Err(e) if e.is_transient() => return fail("upstream_unavailable"),
        Err(e) => {
            tracing::warn!(error = %e, "intent confirmation failed");
            return fail("connect_failed");
        }
    };
    let (true, Some(consent_id)) = (
        confirmed.status.eq_ignore_ascii_case("SUCCESSFUL"),
        confirmed.consent_id.clone(),
    ) else {
        return fail("connect_failed");
    };
    let provider_id = confirmed
        .provider_id
        .clone()
        .unwrap_or_else(|| "unknown".into());
    let consent_expires_at = state
        .banks
        .client
        .consent(&intent.customer_user_id, &consent_id)
        .await
        .ok()
        .and_then(|c| c.expiry_date)
        .and_then(|d| wire::parse_time(&d));

    let mut tx = state.db.begin().await?;
    if !bdb::use_intent(&mut *tx, &intent.intent_id, now).await? {
        // A concurrent callback completed it (its transaction has committed by now).
        drop(tx);
        let done = bdb::intent(&state.db.pool, &intent.intent_id).await?;
        return Ok(repeated(done.and_then(|i| i.connection_id).as_deref()));
    }
    // Ownership is checked again now: the user may have been removed while at the bank.
    if db::workspaces::role_of(&mut *tx, &intent.workspace_id, &user.user.id)
        .await?
        .as_deref()
        != Some("owner")
    {
        return fail("forbidden");
    }
    let (conn, created) = bdb::upsert_connection(
        &mut tx,
        &bdb::ConnectionRow {
            id: db::new_id(),
            workspace_id: intent.workspace_id.clone(),
            user_id: user.user.id.clone(),
            customer_user_id: intent.customer_user_id.clone(),
            provider_id: provider_id.clone(),
            consent_id,
            status: ConnectionStatus::Active,
            consent_expires_at,
            last_sync_at: None,
            last_sync_status: None,
            last_sync_error: None,
            created_at: now,
        },
        // the scheduler takes over after the first sync
        now + state.banks.sync_interval_secs.max(60) as i64,
    )
    .await?;
    bdb::set_intent_connection(&mut *tx, &intent.intent_id, &conn.id).await?;
    if created {
        audit::record(
            &mut tx,
            &state.clock,
            &meta,
            Event::own("bank.connected", &user.user.id, Outcome::Success)
                .on("bank_connection", &conn.id),
        )
        .await?;
    }
    tx.commit().await?;
    sync::request(&state, &conn.id, "connect").await?;
    Ok(found(&format!("/connections?connected={}", conn.id)))
}

/// Where a callback for an intent that was already completed goes: the connection it made.
fn repeated(connection_id: Option<&str>) -> Response {
    match connection_id {
        Some(id) => found(&format!("/connections?connected={id}")),
        None => found("/connections?error=intent_used"),
    }
}

/// 302 to a path of the SPA (product.md §4 asks for 302; axum's `Redirect::to` is 303).
fn found(location: &str) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

async fn connection_view(state: &AppState, c: bdb::ConnectionRow) -> Result<BankConnection> {
    let now = state.clock.now();
    // The open sync first, then the connection's row again when there is none: a sync that
    // ends between the caller's read of the row and this one then shows its outcome. (Read
    // the other way round, a page loaded just as the first sync ended showed neither a sync
    // to follow nor a last sync, and never updated: seen once in CI.)
    let open = bdb::open_sync(&state.db.pool, &c.id).await?;
    let c = match open {
        Some(_) => c,
        None => bdb::connection_by_id(&state.db.pool, &c.id)
            .await?
            .unwrap_or(c),
    };
    let accounts = bdb::accounts_of(&state.db.pool, &c.id).await?;
    let active = c.status == ConnectionStatus::Active;
    let status = if active
        && open
            .as_ref()
            .is_some_and(|s| s.status == SyncStatus::Running)
    {
        ConnectionStatus::Syncing
    } else if active && c.consent_expires_at.is_some_and(|t| t <= now) {
        ConnectionStatus::Expired
    } else {
        c.status
    };
    Ok(BankConnection {
        consent_expiring_soon: c
            .consent_expires_at
            .is_some_and(|t| t > now && t - now <= EXPIRING_SOON_SECS),
        id: c.id,
        workspace_id: c.workspace_id,
        provider_id: c.provider_id,
        status,
        consent_expires_at: c.consent_expires_at.map(rfc3339),
        last_sync_at: c.last_sync_at.map(rfc3339),
        last_sync_status: c.last_sync_status,
        last_sync_error: c.last_sync_error,
        current_sync_id: open.map(|s| s.id),
        accounts: accounts
            .into_iter()
            .map(|a| BankAccount {
                balance: a
                    .balance_minor
                    .map(|m| crate::web::values::money(m, &a.currency)),
                balance_at: a.balance_at.map(rfc3339),
                account_id: a.account_id,
                name: a.name,
                kind: a.kind,
                identifier_hint: a.identifier_hint,
            })
            .collect(),
        created_at: rfc3339(c.created_at),
    })
}

/// The workspace's bank connections, newest first (all of them: a workspace has few).
#[utoipa::path(get, path = "/api/v1/banks/connections", tag = "banks", operation_id = "listBankConnections",
    responses((status = 200, description = "Every connection; `nextCursor` is always null", body = Page<BankConnection>)))]
async fn list_connections(
    State(state): State<AppState>,
    caller: Caller<ReadConnections>,
) -> Result<Json<Page<BankConnection>>> {
    let mut items = Vec::new();
    for c in bdb::connections_in(&state.db.pool, &caller.workspace_id).await? {
        items.push(connection_view(&state, c).await?);
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

async fn owned(state: &AppState, workspace_id: &str, id: &str) -> Result<bdb::ConnectionRow> {
    bdb::connection_in(&state.db.pool, workspace_id, id)
        .await?
        .ok_or_else(AppError::not_found)
}

/// Syncs and balance refreshes need a consent that is still valid.
fn ensure_active(c: &bdb::ConnectionRow) -> Result<()> {
    if matches!(
        c.status,
        ConnectionStatus::Active | ConnectionStatus::ReauthRequired
    ) {
        return Ok(());
    }
    Err(AppError::new(
        StatusCode::CONFLICT,
        "connection_inactive",
        "This connection's consent was revoked or has expired. Connect the bank again.",
    ))
}

/// One connection.
#[utoipa::path(get, path = "/api/v1/banks/connections/{id}", tag = "banks", operation_id = "getBankConnection",
    params(("id" = String, Path, description = "Connection id", example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")),
    responses((status = 200, description = "The connection", body = BankConnectionBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn get_connection(
    State(state): State<AppState>,
    caller: Caller<ReadConnections>,
    Path(id): Path<String>,
) -> Result<Json<BankConnectionBody>> {
    let c = owned(&state, &caller.workspace_id, &id).await?;
    Ok(Json(BankConnectionBody {
        connection: connection_view(&state, c).await?,
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct DeleteQuery {
    /// Also delete the synced accounts, transactions (with your notes and categories) and
    /// balance history. Default `false`: they stay, read-only.
    #[serde(default)]
    #[param(example = false)]
    delete_data: Option<bool>,
    /// Defaults to your personal workspace (session) or the key's workspace.
    #[allow(dead_code)]
    #[param(example = "0193b6f2-7c1e-7a3b-9f1d-2c4e5a6b7c8d")]
    workspace_id: Option<String>,
}

/// Disconnect (workspace owners): revokes the consent at Tarabut (and so at the bank), then
/// keeps or deletes the synced data. Kept data stays listed under a `revoked` connection.
/// Repeating is harmless.
#[utoipa::path(delete, path = "/api/v1/banks/connections/{id}", tag = "banks", operation_id = "deleteBankConnection",
    params(("id" = String, Path, description = "Connection id", example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c"), DeleteQuery),
    responses((status = 204, description = "Disconnected"),
        (status = 404, description = "`not_found`", body = ErrorBody), UpstreamErrors))]
async fn delete_connection(
    State(state): State<AppState>,
    Fresh(caller): Fresh<Caller<Owner<WriteConnections>>>,
    meta: RequestMeta,
    Path(id): Path<String>,
    AppQuery(q): AppQuery<DeleteQuery>,
) -> Result<StatusCode> {
    let c = owned(&state, &caller.workspace_id, &id).await?;
    if c.status != ConnectionStatus::Revoked {
        state
            .banks
            .client
            .revoke_if_held(&c.customer_user_id, &c.consent_id)
            .await?;
    }
    let now = state.clock.now();
    let mut tx = state.db.begin().await?;
    let mut events = false;
    if q.delete_data.unwrap_or(false) {
        let seq = db::changes::next(&mut tx, &caller.workspace_id).await?;
        db::changes::bury_connection(&mut tx, &caller.workspace_id, &c.id, seq, now).await?;
        bdb::delete_accounts_of(&mut *tx, &c.id).await?;
        bdb::delete_connection(&mut *tx, &c.id).await?;
        events = db::webhooks::events::record_transactions(
            &mut tx,
            &caller.workspace_id,
            seq,
            state.clock.now_ms(),
        )
        .await?;
    } else {
        bdb::set_status(&mut *tx, &c.id, ConnectionStatus::Revoked, now).await?;
    }
    if c.status != ConnectionStatus::Revoked || q.delete_data.unwrap_or(false) {
        let mut ev = Event::own("bank.disconnected", &caller.user_id, Outcome::Success)
            .on("bank_connection", &c.id);
        if let Some(k) = &caller.key {
            ev = ev.by_key(&k.id);
        }
        audit::record(&mut tx, &state.clock, &meta, ev).await?;
    }
    tx.commit().await?;
    if events {
        state.outbound.wake();
    }
    Ok(StatusCode::NO_CONTENT)
}

fn sync_view(s: bdb::SyncRow, accounts_total: Option<u32>) -> BankSync {
    BankSync {
        id: s.id,
        connection_id: s.connection_id,
        status: s.status,
        reason: s.reason,
        accounts_total,
        accounts_done: s.account_index.max(0) as u32,
        pages_fetched: s.pages_fetched.max(0) as u64,
        rows_added: s.rows_added.max(0) as u64,
        rows_updated: s.rows_updated.max(0) as u64,
        rows_removed: s.rows_removed.max(0) as u64,
        error: s.error,
        created_at: rfc3339(s.created_at),
        started_at: s.started_at.map(rfc3339),
        finished_at: s.finished_at.map(rfc3339),
    }
}

/// Sync now (owners and members). Starts a sync in the background, or returns the one already
/// queued or running (one at a time per connection, across replicas). Starting a new one is
/// allowed once a minute per connection.
#[utoipa::path(post, path = "/api/v1/banks/connections/{id}/sync", tag = "banks", operation_id = "syncBankConnection",
    params(("id" = String, Path, description = "Connection id", example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")),
    responses((status = 202, description = "Follow it at `/api/v1/banks/syncs/{syncId}`", body = SyncAccepted),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`connection_inactive`: the consent was revoked or expired; connect again", body = ErrorBody)))]
async fn sync_connection(
    State(state): State<AppState>,
    caller: Caller<WriteConnections>,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<SyncAccepted>)> {
    let c = owned(&state, &caller.workspace_id, &id).await?;
    ensure_active(&c)?;
    let sync_id = sync::request(&state, &c.id, "manual").await?;
    Ok((StatusCode::ACCEPTED, Json(SyncAccepted { sync_id })))
}

/// A sync's progress.
#[utoipa::path(get, path = "/api/v1/banks/syncs/{id}", tag = "banks", operation_id = "getBankSync",
    params(("id" = String, Path, description = "Sync id", example = "0193b6f7-5e6f-7a7b-823d-9e0f1a2b3c4d")),
    responses((status = 200, description = "The sync", body = BankSyncBody),
        (status = 404, description = "`not_found`", body = ErrorBody)))]
async fn get_sync(
    State(state): State<AppState>,
    caller: Caller<ReadConnections>,
    Path(id): Path<String>,
) -> Result<Json<BankSyncBody>> {
    let s = bdb::sync_in(&state.db.pool, &caller.workspace_id, &id)
        .await?
        .ok_or_else(AppError::not_found)?;
    let total = bdb::accounts_of(&state.db.pool, &s.connection_id)
        .await?
        .len() as u32;
    Ok(Json(BankSyncBody {
        sync: sync_view(s, Some(total).filter(|t| *t > 0)),
    }))
}

/// Ask the banks for fresh balances now (Tarabut's balance refresh) and record them (owners
/// and members; once a minute per connection).
#[utoipa::path(post, path = "/api/v1/banks/connections/{id}/refresh-balances", tag = "banks", operation_id = "refreshBankBalances",
    params(("id" = String, Path, description = "Connection id", example = "0193b6f6-4d5e-7f6a-b17c-8d9e0f1a2b3c")),
    responses((status = 200, description = "The connection with its new balances", body = BankConnectionBody),
        (status = 404, description = "`not_found`", body = ErrorBody),
        (status = 409, description = "`consent_revoked`, `consent_expired` or `connection_inactive`", body = ErrorBody),
        UpstreamErrors))]
async fn refresh_balances(
    State(state): State<AppState>,
    caller: Caller<WriteConnections>,
    Path(id): Path<String>,
) -> Result<Json<BankConnectionBody>> {
    let c = owned(&state, &caller.workspace_id, &id).await?;
    ensure_active(&c)?;
    state
        .limiter
        .hit(&format!("refresh:conn:{}", c.id), Rate::per_minute(1))
        .await
        .map_err(|secs| AppError::too_many("rate_limited", secs))?;
    for a in bdb::accounts_of(&state.db.pool, &c.id).await? {
        let refreshed = sync::refresh_balance(
            &state,
            &c.customer_user_id,
            &a.tarabut_account_id,
            &a.account_id,
            &a.currency,
            true,
        )
        .await;
        if let Err(sync::Failure::Upstream(e)) = &refreshed {
            sync::record_consent_loss(&state, &c.id, &caller.workspace_id, e).await?;
        }
        refreshed?;
    }
    let c = owned(&state, &caller.workspace_id, &id).await?;
    Ok(Json(BankConnectionBody {
        connection: connection_view(&state, c).await?,
    }))
}
