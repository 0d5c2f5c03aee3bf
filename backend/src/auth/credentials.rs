//! Who may hold an account: taking it back for the owner of its address, and making an admin.
//!
//! Anyone can sign up with an address that is not theirs. Such an account cannot be entered
//! (sign-in needs a verified address), but what its maker set (the password, pending links)
//! stays with it. So whenever the address's owner proves it on an account that was never
//! verified (a password reset, a Google sign-in with a verified email) or an operator makes an
//! account admin, everything someone else could have set is removed first ([`wipe`]): the owner
//! then holds the only way in.

use sqlx::AnyConnection;

use crate::{
    audit::{self, Event, Outcome},
    crypto::{random_token, sha256_hex},
    db::{self, tokens::Purpose},
    email::Email,
    request_meta::RequestMeta,
};

/// How long an operator's set-password link works.
pub const SET_PASSWORD_TTL: i64 = 24 * 3600;

/// Removes every way into the account: the password, every session, linked sign-in
/// identities, second factors, API keys (revoked, in every workspace), pending emailed links and the
/// invitations it sent. Returns the revoked keys' hashes, which the caller drops from key
/// caches once the transaction has committed (together with the user).
pub async fn wipe(conn: &mut AnyConnection, user_id: &str, now: i64) -> sqlx::Result<Vec<String>> {
    db::users::clear_password(&mut *conn, user_id, now).await?;
    db::sessions::delete_all(&mut *conn, user_id, None).await?;
    db::users::unlink_all_identities(&mut *conn, user_id).await?;
    db::mfa::remove_factors(&mut *conn, user_id).await?;
    db::tokens::retire_every(&mut *conn, user_id, now).await?;
    db::workspaces::delete_invitations_by(&mut *conn, None, user_id).await?;
    db::keys::revoke_all_of(&mut *conn, user_id, now).await
}

/// What [`make_admin`] did.
pub struct Promoted {
    pub user_id: String,
    /// A one-time link's token for setting the password (none when credentials were kept).
    pub set_password_token: Option<String>,
    /// Keys revoked by the wipe (to drop from caches).
    pub key_hashes: Vec<String>,
    /// The account did not exist and was created.
    pub created: bool,
    /// The account was admin already (nothing was wiped).
    pub already_admin: bool,
}

/// Why [`make_admin`] refused.
#[derive(Debug, thiserror::Error)]
pub enum PromoteError {
    #[error("the account is not verified, so its credentials may not be its owner's: promote it without keeping them")]
    KeepUnverified,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Makes `email` an admin, in the caller's transaction. A new account is created verified and
/// without a password. An existing non-admin account is [`wipe`]d unless `keep_credentials`
/// (the operator's word that its password, sessions, identities and keys are theirs), which
/// only a verified account may use. An existing admin keeps everything. Unless credentials
/// were kept, the answer carries a set-password link's token (24 hours), the only way in.
pub async fn make_admin(
    conn: &mut AnyConnection,
    email: &Email,
    keep_credentials: bool,
    now: i64,
) -> Result<Promoted, PromoteError> {
    let existing = db::users::by_email(&mut *conn, &email.normalized).await?;
    let mut promoted = Promoted {
        user_id: String::new(),
        set_password_token: None,
        key_hashes: Vec::new(),
        created: false,
        already_admin: false,
    };
    match existing {
        Some(u) if u.role == "admin" => {
            promoted.already_admin = true;
            promoted.user_id = u.id;
            if keep_credentials {
                return Ok(promoted);
            }
        }
        Some(u) => {
            if keep_credentials && u.email_verified_at.is_none() {
                return Err(PromoteError::KeepUnverified);
            }
            if !keep_credentials {
                promoted.key_hashes = wipe(&mut *conn, &u.id, now).await?;
            }
            db::users::set_role(&mut *conn, &u.id, "admin", now).await?;
            db::users::mark_verified(&mut *conn, &u.id, now).await?;
            let kind = if keep_credentials {
                "admin.promoted"
            } else {
                "admin.promoted_credentials_reset"
            };
            let ev = Event {
                actor_user_id: None,
                ..Event::own(kind, &u.id, Outcome::Success)
            };
            audit::record_at(&mut *conn, now, &RequestMeta::default(), ev).await?;
            promoted.user_id = u.id;
            if keep_credentials {
                return Ok(promoted);
            }
        }
        None => {
            let id = db::new_id();
            let name = email.display.split('@').next().unwrap_or("admin");
            db::users::insert(
                &mut *conn,
                db::users::NewUser {
                    id: &id,
                    email: &email.display,
                    email_normalized: &email.normalized,
                    name,
                    password_hash: None,
                    role: "admin",
                    email_verified_at: Some(now),
                    now,
                },
            )
            .await?;
            db::workspaces::create_personal(&mut *conn, &id, now).await?;
            let ev = Event {
                actor_user_id: None,
                ..Event::own("admin.created", &id, Outcome::Success)
            };
            audit::record_at(&mut *conn, now, &RequestMeta::default(), ev).await?;
            promoted.user_id = id;
            promoted.created = true;
        }
    }
    let token = random_token();
    db::tokens::insert(
        &mut *conn,
        &sha256_hex(token.as_bytes()),
        &promoted.user_id,
        Purpose::ResetPassword,
        now,
        SET_PASSWORD_TTL,
    )
    .await?;
    promoted.set_password_token = Some(token);
    Ok(promoted)
}
