//! The mails pfn sends. Plain text, one link per line.

use crate::config::Web;

pub enum Template {
    VerifyEmail {
        name: String,
        token: String,
    },
    AlreadyRegistered {
        name: String,
    },
    ResetPassword {
        name: String,
        token: String,
    },
    NoAccount,
    /// After a reset: what else still reaches the account.
    PasswordReset {
        name: String,
        /// Linked sign-in providers.
        providers: Vec<String>,
        /// Working API keys, `(name, hint)`.
        keys: Vec<(String, String)>,
    },
    /// The operator made this address the administrator (`PFN_BOOTSTRAP_ADMIN_EMAIL`).
    AdminSetPassword {
        token: String,
    },
    Invitation {
        inviter: String,
        workspace: String,
        token: String,
    },
    /// A session started from a device the account had not signed in from.
    NewSignIn {
        name: String,
        /// "Firefox on Linux".
        device: String,
        ip: Option<String>,
        /// RFC 3339, UTC.
        at: String,
        /// `password` or `google`, with `+totp` or `+recovery_code` after a second factor.
        how: &'static str,
    },
    /// An authenticator app was set up (`added`) or turned off.
    FactorChanged {
        name: String,
        added: bool,
    },
    /// A passkey was added to or removed from the account.
    PasskeyChanged {
        name: String,
        passkey: String,
        added: bool,
    },
    /// The account was deleted (by its owner or an administrator).
    AccountDeleted {
        name: String,
        by_admin: bool,
    },
    /// To the new address of an email change: the confirmation link.
    ConfirmEmailChange {
        name: String,
        token: String,
    },
    /// To the old address of an email change: the notice, with the "this wasn't me" link.
    EmailChangeRequested {
        name: String,
        new_email: String,
        token: String,
    },
    /// To an address an account asked to move to while another account holds it.
    EmailInUse,
    /// The old address was taken back with the "this wasn't me" link: a link to set a password.
    EmailRestored {
        name: String,
        token: String,
    },
    /// A webhook endpoint kept failing for 5 days and was disabled.
    WebhookDisabled {
        name: String,
        host: String,
    },
    /// An API key expires within 7 days, or within 1.
    KeyExpiring {
        name: String,
        key: String,
        hint: String,
        /// RFC 3339, UTC.
        expires_at: String,
    },
    /// An API key was used from a network (IPv4 /24, IPv6 /48) it had not been used from.
    KeyNewNetwork {
        name: String,
        key: String,
        hint: String,
        network: String,
        ip: Option<String>,
        user_agent: Option<String>,
        /// RFC 3339, UTC.
        at: String,
    },
    /// Two or fewer recovery codes are left.
    RecoveryCodesLow {
        name: String,
        left: i64,
    },
}

impl Template {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::VerifyEmail { .. } => "verify_email",
            Self::AlreadyRegistered { .. } => "already_registered",
            Self::ResetPassword { .. } => "reset_password",
            Self::NoAccount => "no_account",
            Self::PasswordReset { .. } => "password_reset",
            Self::AdminSetPassword { .. } => "admin_set_password",
            Self::Invitation { .. } => "invitation",
            Self::NewSignIn { .. } => "new_sign_in",
            Self::FactorChanged { .. } => "factor_changed",
            Self::PasskeyChanged { .. } => "passkey_changed",
            Self::AccountDeleted { .. } => "account_deleted",
            Self::RecoveryCodesLow { .. } => "recovery_codes_low",
            Self::ConfirmEmailChange { .. } => "confirm_email_change",
            Self::EmailChangeRequested { .. } => "email_change_requested",
            Self::EmailInUse => "email_in_use",
            Self::EmailRestored { .. } => "email_restored",
            Self::WebhookDisabled { .. } => "webhook_disabled",
            Self::KeyExpiring { .. } => "key_expiring",
            Self::KeyNewNetwork { .. } => "key_new_network",
        }
    }

    /// A security notice: sent even when the recipient's hourly cap is reached, so that nobody
    /// can use the cap up first to keep a notice from its owner.
    pub fn security_notice(&self) -> bool {
        matches!(
            self,
            Self::NewSignIn { .. }
                | Self::FactorChanged { .. }
                | Self::PasskeyChanged { .. }
                | Self::RecoveryCodesLow { .. }
                | Self::KeyNewNetwork { .. }
                | Self::EmailChangeRequested { .. }
                | Self::EmailRestored { .. }
        )
    }

    /// `(subject, body)`.
    pub fn render(&self, web: &Web) -> (String, String) {
        let origin = &web.public_origin;
        match self {
            Self::VerifyEmail { name, token } => (
                "Confirm your email for pfn".into(),
                format!(
                    "Hello {name},\n\nConfirm your email address to finish creating your pfn account:\n\n{}\n\n\
                     The link works once and expires in 24 hours. If you did not sign up, ignore this mail.\n",
                    web.link("/verify-email", token)
                ),
            ),
            Self::AlreadyRegistered { name } => (
                "You already have a pfn account".into(),
                format!(
                    "Hello {name},\n\nSomeone (probably you) tried to sign up with this email address, but it \
                     already has an account.\n\nSign in:\n\n{origin}/login\n\nForgot your password? Reset it:\n\n\
                     {origin}/forgot-password\n\nIf this was not you, you can ignore this mail.\n"
                ),
            ),
            Self::ResetPassword { name, token } => (
                "Reset your pfn password".into(),
                format!(
                    "Hello {name},\n\nChoose a new password with this link:\n\n{}\n\n\
                     The link works once and expires in 1 hour. Resetting signs you out everywhere.\n\
                     If you did not ask for this, ignore this mail: your password stays as it is.\n",
                    web.link("/reset-password", token)
                ),
            ),
            Self::PasswordReset { name, providers, keys } => {
                let providers = if providers.is_empty() {
                    "none".to_string()
                } else {
                    providers.join(", ")
                };
                let keys = if keys.is_empty() {
                    "  none\n".to_string()
                } else {
                    keys.iter()
                        .map(|(name, hint)| format!("  - {name} (…{hint})\n"))
                        .collect()
                };
                (
                    "Your pfn password was reset".into(),
                    format!(
                        "Hello {name},\n\nThe password of your pfn account was just reset, and every \
                         session was signed out.\n\nOther sign-in methods linked to the account: \
                         {providers}\n\nAPI keys that can use the account:\n{keys}\n\
                         Review them in your settings:\n\n{origin}/settings\n\n\
                         If you did not reset your password, reset it again now and revoke what you \
                         do not recognise:\n\n{origin}/forgot-password\n"
                    ),
                )
            }
            Self::AdminSetPassword { token } => (
                "You are the administrator of pfn".into(),
                format!(
                    "Hello,\n\nThis address administers the pfn server at {origin}. Set your \
                     password with this link:\n\n{}\n\nThe link works once and expires in 24 \
                     hours; afterwards, ask for a new one at {origin}/forgot-password.\n",
                    web.link("/reset-password", token)
                ),
            ),
            Self::Invitation { inviter, workspace, token } => (
                // No name in the subject: subjects stay in the outbox after sending (bodies are
                // wiped), and a deleted account must leave its name nowhere.
                format!("You are invited to {workspace} on pfn"),
                format!(
                    "Hello,\n\n{inviter} invited you to the workspace \"{workspace}\" on pfn.\n\n\
                     Accept (sign in or create an account with this email address first):\n\n{}\n\n\
                     The invitation works once and expires in 7 days. If you do not know {inviter}, ignore this mail.\n",
                    web.link("/invitations/accept", token)
                ),
            ),
            Self::NewSignIn { name, device, ip, at, how } => {
                let how = match *how {
                    "password+totp" => "with your password and authenticator app",
                    "password+recovery_code" => "with your password and a recovery code",
                    "google+totp" => "with Google and your authenticator app",
                    "google+recovery_code" => "with Google and a recovery code",
                    "google" => "with Google",
                    _ => "with your password",
                };
                let from = ip.as_deref().map(|ip| format!(" (address {ip})")).unwrap_or_default();
                (
                    "New sign-in to your pfn account".into(),
                    format!(
                        "Hello {name},\n\nYour pfn account was signed in to {how} from a device it \
                         had not been used from before:\n\n  {device}{from}\n  at {at}\n\n\
                         If this was you, there is nothing to do. If not, end that session and \
                         change your password now:\n\n{origin}/sessions\n"
                    ),
                )
            }
            Self::FactorChanged { name, added } => {
                let (subject, what) = if *added {
                    (
                        "Two-step sign-in is on for your pfn account",
                        "An authenticator app was set up for your pfn account: signing in now \
                         asks for its code after your password.",
                    )
                } else {
                    (
                        "Two-step sign-in was turned off for your pfn account",
                        "The authenticator app of your pfn account was removed: signing in no \
                         longer asks for a code.",
                    )
                };
                (
                    subject.into(),
                    format!(
                        "Hello {name},\n\n{what}\n\nIf this was not you, change your password \
                         and review your sessions now:\n\n{origin}/security\n"
                    ),
                )
            }
            Self::PasskeyChanged {
                name,
                passkey,
                added,
            } => {
                let (subject, what) = if *added {
                    (
                        "A passkey was added to your pfn account",
                        format!(
                            "The passkey \"{passkey}\" was added to your pfn account: it signs \
                             in on its own, and after your password it serves as the second step."
                        ),
                    )
                } else {
                    (
                        "A passkey was removed from your pfn account",
                        format!(
                            "The passkey \"{passkey}\" was removed from your pfn account: it no \
                             longer signs in."
                        ),
                    )
                };
                (
                    subject.into(),
                    format!(
                        "Hello {name},\n\n{what}\n\nIf this was not you, change your password \
                         and review your sessions and passkeys now:\n\n{origin}/security\n"
                    ),
                )
            }
            Self::AccountDeleted { name, by_admin } => (
                "Your pfn account was deleted".into(),
                format!(
                    "Hello {name},\n\nYour pfn account was deleted{}: your personal workspace \
                     and its data, your keys, sessions, sign-in methods and memberships are gone, \
                     and the banks you connected there no longer share your data with pfn. This \
                     is the last mail pfn sends to this address.\n",
                    if *by_admin { " by an administrator" } else { "" }
                ),
            ),
            Self::WebhookDisabled { name, host } => (
                "A pfn webhook endpoint was disabled".into(),
                format!(
                    "Hello {name},\n\nEvery delivery to your webhook endpoint at {host} has \
                     failed for 5 days, so pfn disabled it. Check that it answers with a 2xx \
                     status, then enable it again:\n\n{origin}/webhooks\n\nThe messages that \
                     were still waiting are marked failed (you can retry each from the \
                     endpoint's log), and events from while it was disabled are not sent; read \
                     what changed from the change feed.\n"
                ),
            ),
            Self::KeyExpiring {
                name,
                key,
                hint,
                expires_at,
            } => (
                format!("Your pfn API key \"{key}\" expires soon"),
                format!(
                    "Hello {name},\n\nYour API key \"{key}\" ({hint}) expires at {expires_at} \
                     (UTC). Whatever uses it will then be refused with 401 key_expired.\n\n\
                     To keep it working, rotate it (a new secret with the same scopes and \
                     limits) and put the new secret where the old one is:\n\n{origin}/keys\n"
                ),
            ),
            Self::KeyNewNetwork {
                name,
                key,
                hint,
                network,
                ip,
                user_agent,
                at,
            } => (
                format!("Your pfn API key \"{key}\" was used from a new network"),
                format!(
                    "Hello {name},\n\nYour API key \"{key}\" ({hint}) was used from a network \
                     it had not been used from before:\n\n  Network: {network}\n  Address: {}\n  \
                     Client: {}\n  When: {at} (UTC)\n\nIf this was you or your agent, there is \
                     nothing to do (pfn tells you at most once a day per key). If not, revoke \
                     the key now, and consider limiting it to the addresses it should be used \
                     from:\n\n{origin}/keys\n",
                    ip.as_deref().unwrap_or("unknown"),
                    user_agent.as_deref().unwrap_or("unknown"),
                ),
            ),
            Self::RecoveryCodesLow { name, left } => (
                "Your pfn recovery codes are running out".into(),
                format!(
                    "Hello {name},\n\nA recovery code was just used to sign in to your pfn \
                     account; {left} of them are left. Make new ones before they run out:\n\n\
                     {origin}/security\n\nIf you did not sign in, change your password now.\n"
                ),
            ),
            Self::ConfirmEmailChange { name, token } => (
                "Confirm your new email address for pfn".into(),
                format!(
                    "Hello {name},\n\nYour pfn account asked to use this address from now on. \
                     Confirm it with this link:\n\n{}\n\nThe link works once and expires in 24 \
                     hours. Confirming signs out your other sessions. If you did not ask for \
                     this, ignore this mail: nothing changes.\n",
                    web.link("/email/confirm", token)
                ),
            ),
            Self::EmailChangeRequested {
                name,
                new_email,
                token,
            } => (
                "Your pfn account asked to change its email address".into(),
                format!(
                    "Hello {name},\n\nSomeone signed in to your pfn account asked to move it \
                     from this address to {new_email}. Once that address confirms, pfn mails \
                     this one no more.\n\nIf this was you, there is nothing to do. If it was \
                     not, open this link: it cancels the change (or, if it was confirmed \
                     already, moves the account back to this address), signs out every session \
                     and, in that case, asks for a new password:\n\n{}\n\n\
                     The link works once, for 14 days.\n",
                    web.link("/email/cancel", token)
                ),
            ),
            Self::EmailInUse => (
                "A pfn account tried to use your address".into(),
                format!(
                    "Hello,\n\nSomeone asked to move a pfn account to this email address, but \
                     it already belongs to an account, so nothing changed.\n\nForgot your \
                     password? Reset it:\n\n{origin}/forgot-password\n\nIf this was not \
                     you, you can ignore this mail.\n"
                ),
            ),
            Self::EmailRestored { name, token } => (
                "Your pfn account is back at this address".into(),
                format!(
                    "Hello {name},\n\nYour pfn account uses this address again. Every session \
                     was signed out, and the password, second factors, passkeys, linked sign-ins \
                     and API keys that were set on it were removed, since whoever moved it may \
                     have set them. Choose a new password with this link:\n\n{}\n\n\
                     The link works once and expires in 24 hours; afterwards, ask for a new one \
                     at {origin}/forgot-password.\n",
                    web.link("/reset-password", token)
                ),
            ),
            Self::NoAccount => (
                "pfn password reset".into(),
                format!(
                    "Hello,\n\nSomeone asked to reset the pfn password for this email address, but there is \
                     no account for it.\n\nCreate one:\n\n{origin}/signup\n\nIf this was not you, ignore this mail.\n"
                ),
            ),
        }
    }
}
