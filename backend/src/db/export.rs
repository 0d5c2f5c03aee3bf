//! What `GET /api/v1/export` reads: one query per file, each a list of columns with how to
//! write them. Rows come in byte order of their id on both databases (PostgreSQL compares with
//! the `C` collation, SQLite's default is byte order), so both give the same archive.

use sqlx::{any::AnyRow, Any, Executor};

use super::Backend;

/// How a column is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Int,
    /// 0 or 1.
    Bool,
    /// Unix seconds, written as RFC 3339.
    Time,
    /// Minor units, written as a decimal string in the currency of the named column.
    Amount(&'static str),
    /// A JSON array of strings stored as text.
    List,
    /// Space-separated words (key scopes), written as a list.
    Words,
}

/// One column: where it comes from, the name it is written under, and how.
#[derive(Debug, Clone, Copy)]
pub struct Col {
    pub column: &'static str,
    pub key: &'static str,
    pub kind: Kind,
}

const fn col(column: &'static str, key: &'static str, kind: Kind) -> Col {
    Col { column, key, kind }
}

/// A query and its columns. `sql` takes `$1` (the user's or workspace's id, see each) and may
/// name `{ORDER}` (`id` in byte order) and `{C}` (after a column: byte order).
pub struct Table {
    pub sql: &'static str,
    pub cols: &'static [Col],
}

use Kind::*;

/// `$1`: the user.
pub const USER: Table = Table {
    sql: "select id, email, name, role, email_verified_at, created_at, updated_at,
                 cast(case when password_hash is null then 0 else 1 end as bigint) as has_password
          from users where id = $1",
    cols: &[
        col("id", "id", Text),
        col("email", "email", Text),
        col("name", "name", Text),
        col("role", "role", Text),
        col("email_verified_at", "emailVerifiedAt", Time),
        col("has_password", "hasPassword", Bool),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

/// `$1`: the user.
pub const IDENTITIES: Table = Table {
    sql: "select provider, subject, email, created_at from identities where user_id = $1
          order by provider{C}, subject{C}",
    cols: &[
        col("provider", "provider", Text),
        col("email", "email", Text),
        col("created_at", "linkedAt", Time),
    ],
};

/// `$1`: the user.
pub const AUTHENTICATOR: Table = Table {
    sql: "select created_at, confirmed_at from totp_factors where user_id = $1",
    cols: &[
        col("created_at", "createdAt", Time),
        col("confirmed_at", "confirmedAt", Time),
    ],
};

/// `$1`: the user.
pub const PASSKEYS: Table = Table {
    sql: "select id, name, created_at, last_used_at from passkeys where user_id = $1
          order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("name", "name", Text),
        col("created_at", "createdAt", Time),
        col("last_used_at", "lastUsedAt", Time),
    ],
};

/// `$1`: the user.
pub const RECOVERY_CODES_LEFT: Table = Table {
    sql: "select count(*) as n from recovery_codes where user_id = $1 and used_at is null",
    cols: &[col("n", "recoveryCodesLeft", Int)],
};

/// `$1`: the user. Every workspace they belong to, with their role.
pub const WORKSPACES: Table = Table {
    sql: "select w.id, w.name, m.role, w.created_at, m.created_at as joined_at,
                 cast(case when w.personal_owner_id is null then 0 else 1 end as bigint) as personal
          from workspace_members m join workspaces w on w.id = m.workspace_id
          where m.user_id = $1 order by w.{ORDER}",
    cols: &[
        col("id", "id", Text),
        col("name", "name", Text),
        col("personal", "personal", Bool),
        col("role", "role", Text),
        col("created_at", "createdAt", Time),
        col("joined_at", "joinedAt", Time),
    ],
};

/// `$1`: the user. Sessions that have not expired (the idle rule is not applied: a session
/// idle for over a week is refused on its next request).
pub const SESSIONS: Table = Table {
    sql: "select public_id as id, ip, user_agent, sign_in_method, created_at, last_seen_at,
                 expires_at
          from sessions where user_id = $1 order by public_id{C}",
    cols: &[
        col("id", "id", Text),
        col("sign_in_method", "signInMethod", Text),
        col("ip", "ip", Text),
        col("user_agent", "userAgent", Text),
        col("created_at", "createdAt", Time),
        col("last_seen_at", "lastSeenAt", Time),
        col("expires_at", "expiresAt", Time),
    ],
};

/// `$1`: the user. Their audit log, as `GET /api/v1/audit-log` shows it.
pub const AUDIT_LOG: Table = Table {
    sql: "select id, type, occurred_at, actor_user_id, actor_key_id, ip, user_agent,
                 target_type, target_id, outcome
          from audit_log where user_id = $1 order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("occurred_at", "occurredAt", Time),
        col("type", "type", Text),
        col("outcome", "outcome", Text),
        col("actor_user_id", "actorUserId", Text),
        col("actor_key_id", "actorKeyId", Text),
        col("ip", "ip", Text),
        col("user_agent", "userAgent", Text),
        col("target_type", "targetType", Text),
        col("target_id", "targetId", Text),
    ],
};

/// `$1`: the workspace. Its members (what its members see on its page).
pub const MEMBERS: Table = Table {
    sql: "select u.id, u.name, u.email, m.role, m.created_at
          from workspace_members m join users u on u.id = m.user_id
          where m.workspace_id = $1 order by u.{ORDER}",
    cols: &[
        col("id", "userId", Text),
        col("name", "name", Text),
        col("email", "email", Text),
        col("role", "role", Text),
        col("created_at", "joinedAt", Time),
    ],
};

/// `$1`: the workspace.
pub const ACCOUNTS: Table = Table {
    sql: "select a.id, a.name, a.currency, a.kind, a.source, a.created_at, a.updated_at,
                 b.connection_id, b.identifier_hint, b.balance_at,
                 case when a.source = 'manual' then a.balance_minor else b.balance_minor end
                 as balance_minor
          from accounts a left join bank_accounts b on b.account_id = a.id
          where a.workspace_id = $1 order by a.{ORDER}",
    cols: &[
        col("id", "id", Text),
        col("name", "name", Text),
        col("kind", "kind", Text),
        col("currency", "currency", Text),
        col("source", "source", Text),
        col("connection_id", "connectionId", Text),
        col("identifier_hint", "identifierHint", Text),
        col("balance_minor", "balance", Amount("currency")),
        col("balance_at", "balanceAt", Time),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

/// `$1`: the workspace. Every transaction, those a bank sync marked removed included
/// (`removedAt`), with the source's category and the user's overlays side by side, and whether
/// the bank had booked it yet.
pub const TRANSACTIONS: Table = Table {
    sql: "select id, account_id, external_id, amount_minor, currency, description, booked_at,
                 category, category_override, merchant, note, tags, excluded, pending,
                 removed_at, created_at, updated_at
          from transactions where workspace_id = $1 order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("account_id", "accountId", Text),
        col("external_id", "externalId", Text),
        col("booked_at", "bookedAt", Time),
        col("amount_minor", "amount", Amount("currency")),
        col("currency", "currency", Text),
        col("description", "description", Text),
        col("merchant", "merchant", Text),
        col("category", "category", Text),
        col("category_override", "categoryOverride", Text),
        col("note", "note", Text),
        col("tags", "tags", List),
        col("excluded", "excluded", Bool),
        col("pending", "pending", Bool),
        col("removed_at", "removedAt", Time),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

/// `$1`: the workspace.
pub const BUDGETS: Table = Table {
    sql: "select id, category, month, limit_minor, currency, created_at, updated_at
          from budgets where workspace_id = $1 order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("category", "category", Text),
        col("month", "month", Text),
        col("limit_minor", "limit", Amount("currency")),
        col("currency", "currency", Text),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

/// `$1`: the workspace. No consent or customer ids, no tokens (pfn keeps none).
pub const CONNECTIONS: Table = Table {
    sql: "select id, user_id, provider_id, status, consent_expires_at, last_sync_at,
                 last_sync_status, last_sync_error, created_at, updated_at
          from bank_connections where workspace_id = $1 order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("provider_id", "providerId", Text),
        col("status", "status", Text),
        col("user_id", "connectedBy", Text),
        col("consent_expires_at", "consentExpiresAt", Time),
        col("last_sync_at", "lastSyncAt", Time),
        col("last_sync_status", "lastSyncStatus", Text),
        col("last_sync_error", "lastSyncError", Text),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

/// `$1`: the workspace, `$2`: the user, `$3`: 1 when they own it. Owners see every key of the
/// workspace, members their own (as `GET /api/v1/keys` does). Never the secret or its hash.
pub const KEYS: Table = Table {
    sql: "select id, user_id, name, hint, scopes, created_at, expires_at, expiry_days,
                 revoked_at, rotated_from, last_used_at, last_used_ip, last_used_user_agent,
                 allowed_ips, account_ids, quota_limit, quota_refill, rate_per_min, rate_burst
          from api_keys where workspace_id = $1 and ($3 = 1 or user_id = $2)
          order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("name", "name", Text),
        col("hint", "hint", Text),
        col("user_id", "createdBy", Text),
        col("scopes", "scopes", Words),
        col("created_at", "createdAt", Time),
        col("expiry_days", "expiryDays", Int),
        col("expires_at", "expiresAt", Time),
        col("revoked_at", "revokedAt", Time),
        col("rotated_from", "rotatedFrom", Text),
        col("last_used_at", "lastUsedAt", Time),
        col("last_used_ip", "lastUsedIp", Text),
        col("last_used_user_agent", "lastUsedUserAgent", Text),
        col("allowed_ips", "allowedIps", Words),
        col("account_ids", "accountIds", Words),
        col("quota_limit", "quotaLimit", Int),
        col("quota_refill", "quotaRefill", Text),
        col("rate_per_min", "rateLimitPerMinute", Int),
        col("rate_burst", "rateLimitBurst", Int),
    ],
};

/// `$1`: the workspace, `$2`: 1 when the user owns it (webhooks are for owners). Never the
/// signing secret, sealed or not.
pub const WEBHOOKS: Table = Table {
    sql: "select id, url, description, event_types, enabled, disabled_reason, created_by,
                 created_at, updated_at
          from webhook_endpoints where workspace_id = $1 and $2 = 1 order by {ORDER}",
    cols: &[
        col("id", "id", Text),
        col("url", "url", Text),
        col("description", "description", Text),
        col("event_types", "eventTypes", Words),
        col("enabled", "enabled", Bool),
        col("disabled_reason", "disabledReason", Text),
        col("created_by", "createdBy", Text),
        col("created_at", "createdAt", Time),
        col("updated_at", "updatedAt", Time),
    ],
};

impl Table {
    /// The SQL for `backend`: ids ordered by their bytes.
    pub fn sql_for(&self, backend: Backend) -> String {
        let c = match backend {
            Backend::Postgres => " collate \"C\"",
            Backend::Sqlite => "",
        };
        self.sql
            .replace("{ORDER}", &format!("id{c}"))
            .replace("{C}", c)
    }
}

/// The rows of `table` for `binds`, as a stream (nothing is held but the row being written).
pub fn rows<'e, 'c: 'e, E>(
    e: E,
    sql: &'e str,
    binds: &'e [Bind<'e>],
) -> futures_util::stream::BoxStream<'e, sqlx::Result<AnyRow>>
where
    E: 'e + Executor<'c, Database = Any>,
{
    let mut q = sqlx::query(sql);
    for b in binds {
        q = match b {
            Bind::Text(s) => q.bind(*s),
            Bind::Int(n) => q.bind(*n),
        };
    }
    q.fetch(e)
}

/// A query parameter.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    Text(&'a str),
    Int(i64),
}
