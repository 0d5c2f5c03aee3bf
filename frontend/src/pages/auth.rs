//! Signed-out pages: sign in, sign up, verify email, forgot and reset password.

use leptos::prelude::*;
use leptos_router::{
    components::A,
    hooks::{use_navigate, use_query_map},
};
use shared::{LoginAnswer, LoginRequest, MfaVerifyRequest, ResetPasswordRequest, SignupRequest};

use crate::{
    api::{self, ApiError},
    components::{field_error, Field, FormError},
    context::{ctx, Auth, Page},
    data::{Call, Load},
    logic::{after_login, encode, signup_problems},
    webauthn,
};

#[component]
pub(crate) fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <main class="auth" id="main">
            <div class="card auth-card">
                <p class="brand big">"pfn"</p>
                <h1>{title}</h1>
                {children()}
            </div>
        </main>
    }
}

pub(crate) fn query(name: &'static str) -> Memo<Option<String>> {
    let q = use_query_map();
    Memo::new(move |_| q.read().get(name))
}

/// Messages for the codes the Google callback sends back in `?error=`.
fn google_error(code: &str) -> &'static str {
    match code {
        "google_link_requires_password" => "An account with this email exists and is not verified yet. Sign in with your password, verify the email, then link Google in Settings.",
        "account_disabled" => "This account is disabled.",
        "google_email_unverified" => "Google says this email address is not verified.",
        _ => "Signing in with Google did not work. Try again.",
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let ctx = ctx();
    let navigate = use_navigate();
    let return_to = query("returnTo");
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let resent = RwSignal::new(false);
    let providers = Load::new(api::providers);
    // The second step: after a correct password (or Google, `?mfa=1`) of an account with a
    // second factor; `methods` are what it accepts (after Google, asked for).
    let second_step = RwSignal::new(query("mfa").get_untracked().is_some());
    let methods = RwSignal::new(Vec::<String>::new());
    let action = Call::new(
        api::login,
        move |answer| match answer {
            LoginAnswer::SignedIn(body) => ctx.signed_in(body.user),
            LoginAnswer::MfaRequired(m) => {
                methods.set(m.methods);
                second_step.set(true);
            }
        },
        move |e| remote.set(Some(e)),
    );
    let with_passkey = Call::new(
        |()| api::passkeys::sign_in(),
        move |user| ctx.signed_in(user),
        move |e| remote.set(Some(e)),
    );
    let passkeys_here = Signal::derive(move || {
        providers
            .get()
            .and_then(|r| r.ok())
            .is_some_and(|p| webauthn::usable(p.passkey_origin.as_deref()))
    });
    let resend = Call::new(
        api::resend_verification,
        move |_| resent.set(true),
        move |e| ctx.fail(&e),
    );

    // Already signed in (or just signed in): go where they were headed.
    let nav = navigate.clone();
    Effect::new(move |_| {
        if matches!(ctx.auth.get(), Auth::SignedIn(_)) {
            nav(&after_login(return_to.get().as_deref()), Default::default());
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut problems = Vec::new();
        if email.get_untracked().trim().is_empty() {
            problems.push(("email", "is required".to_string()));
        }
        if password.get_untracked().is_empty() {
            problems.push(("password", "is required".to_string()));
        }
        local.set(problems);
        remote.set(None);
        if local.get_untracked().is_empty() {
            action.dispatch(LoginRequest {
                email: email.get_untracked(),
                password: password.get_untracked(),
            });
        }
    };
    let google_href = move || {
        format!(
            "/api/v1/auth/google/start?returnTo={}",
            encode(&after_login(return_to.get().as_deref()))
        )
    };
    let error_param = query("error");
    let reset_done = query("reset");
    let unverified = move || {
        remote
            .get()
            .is_some_and(|e| e.code() == "email_not_verified")
    };

    view! {
        <AuthCard title="Sign in">
            {move || second_step.get().then(|| view! { <SecondStep second_step methods passkeys_here/> })}
            <div hidden=move || second_step.get()>
            {move || reset_done.get().map(|_| view! { <p class="notice">"Your password was changed. Sign in with the new one."</p> })}
            {move || error_param.get().map(|c| view! { <p class="alert" role="alert">{google_error(&c)}</p> })}
            <form on:submit=on_submit novalidate>
                <Field label="Email" name="email" kind="email" value=email autocomplete="username"
                    error=field_error(local, remote, "email") required=true autofocus=true/>
                <Field label="Password" name="password" kind="password" value=password
                    autocomplete="current-password" error=field_error(local, remote, "password") required=true/>
                <FormError error=remote/>
                {move || unverified().then(|| view! {
                    <p class="notice">
                        {move || if resent.get() { "We sent a new link. Check your inbox." } else { "Didn't get the email?" }}
                        " "
                        <button type="button" class="btn link" disabled=move || resend.pending().get() || resent.get()
                            on:click=move |_| { resend.dispatch(email.get_untracked()); }>"Send it again"</button>
                    </p>
                })}
                <button class="btn primary wide" type="submit" disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Signing in…" } else { "Sign in" }}
                </button>
            </form>
            {move || {
                let google = providers.get().and_then(|r| r.ok()).is_some_and(|p| p.providers.iter().any(|x| x == "google"));
                (google || passkeys_here.get()).then(|| view! { <div class="or"><span>"or"</span></div> })
            }}
            {move || passkeys_here.get().then(|| view! {
                <button type="button" class="btn wide" id="passkey-sign-in" disabled=move || with_passkey.pending().get()
                    on:click=move |_| { remote.set(None); with_passkey.dispatch(()); }>"Sign in with a passkey"</button>
            })}
            {move || {
                providers.get().and_then(|r| r.ok()).filter(|p| p.providers.iter().any(|x| x == "google")).map(|_| view! {
                    <a class="btn wide" href=google_href rel="external">"Continue with Google"</a>
                })
            }}
            <p class="links">
                <A href=Page::Forgot.path()>"Forgot your password?"</A>
                <A href=Page::Signup.path()>"Create an account"</A>
            </p>
            </div>
        </AuthCard>
    }
}

/// The code from the authenticator app, a passkey, or a recovery code. A sign-in that expired
/// (five minutes), was used or ended by the lockout goes back to the password.
#[component]
fn SecondStep(
    second_step: RwSignal<bool>,
    methods: RwSignal<Vec<String>>,
    passkeys_here: Signal<bool>,
) -> impl IntoView {
    let ctx = ctx();
    let code = RwSignal::new(String::new());
    // "totp", "passkey" or "recovery".
    let mode = RwSignal::new("totp");
    let remote = RwSignal::new(None::<ApiError>);
    let expired = RwSignal::new(false);
    let failed = move |e: ApiError| {
        if e.code() == "mfa_challenge_invalid" {
            expired.set(true);
        } else {
            remote.set(Some(e));
        }
    };
    let verify = Call::new(api::mfa::verify, move |user| ctx.signed_in(user), failed);
    let with_passkey = Call::new(
        |()| api::passkeys::second_factor(),
        move |user| ctx.signed_in(user),
        failed,
    );
    let has = move |m: &str| methods.with(|ms| ms.iter().any(|x| x == m));
    let passkey_ok = move || has("webauthn") && passkeys_here.get();
    // After Google the methods are not known yet.
    let pending = Call::new(
        |()| api::passkeys::pending_methods(),
        move |m| methods.set(m),
        failed,
    );
    if methods.get_untracked().is_empty() {
        pending.dispatch(());
    }
    Effect::new(move |_| {
        if !has("totp") && passkey_ok() {
            mode.set("passkey");
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        let value = Some(code.get_untracked());
        verify.dispatch(if mode.get_untracked() == "recovery" {
            MfaVerifyRequest {
                recovery_code: value,
                ..Default::default()
            }
        } else {
            MfaVerifyRequest {
                code: value,
                ..Default::default()
            }
        });
    };
    let code_error = Signal::derive(move || {
        remote
            .get()
            .filter(|e| e.code() == "invalid_code")
            .map(|_| "is wrong, expired or was already used.".to_string())
    });
    let switch = move |to: &'static str| {
        mode.set(to);
        code.set(String::new());
        remote.set(None);
    };
    view! {
        {move || if expired.get() {
            view! {
                <p class="alert" role="alert">"That sign-in waited too long for its second step. Sign in again."</p>
                <button class="btn primary wide" on:click=move |_| second_step.set(false)>"Sign in again"</button>
            }.into_any()
        } else if mode.get() == "passkey" {
            view! {
                <p>"Confirm with your passkey: your device asks for your fingerprint, face or PIN."</p>
                <FormError error=remote/>
                <button class="btn primary wide" id="mfa-passkey" disabled=move || with_passkey.pending().get()
                    on:click=move |_| { remote.set(None); with_passkey.dispatch(()); }>"Use your passkey"</button>
                <p class="links">
                    {has("totp").then(|| view! { <button type="button" class="btn link" on:click=move |_| switch("totp")>"Use your authenticator app"</button> })}
                    <button type="button" class="btn link" on:click=move |_| switch("recovery")>"Use a recovery code"</button>
                </p>
            }.into_any()
        } else {
            view! {
                <form on:submit=on_submit novalidate>
                    {move || if mode.get() == "recovery" {
                        view! {
                            <p>"Enter one of the recovery codes you saved when you set up two-step sign-in. Each works once."</p>
                            <Field label="Recovery code" name="recovery-code" value=code autocomplete="off"
                                error=code_error required=true autofocus=true/>
                        }.into_any()
                    } else {
                        view! {
                            <p>"Enter the 6-digit code from your authenticator app."</p>
                            <Field label="Code" name="mfa-code" value=code autocomplete="one-time-code"
                                error=code_error required=true autofocus=true/>
                        }.into_any()
                    }}
                    <FormError error=Signal::derive(move || remote.get().filter(|e| e.code() != "invalid_code"))/>
                    <button class="btn primary wide" type="submit" disabled=move || verify.pending().get()>
                        {move || if verify.pending().get() { "Checking…" } else { "Continue" }}
                    </button>
                </form>
                <p class="links">
                    {move || (mode.get() == "recovery" && has("totp")).then(|| view! {
                        <button type="button" class="btn link" on:click=move |_| switch("totp")>"Use your authenticator app"</button> })}
                    {move || (mode.get() != "recovery").then(|| view! {
                        <button type="button" class="btn link" on:click=move |_| switch("recovery")>"Use a recovery code"</button> })}
                    {move || passkey_ok().then(|| view! {
                        <button type="button" class="btn link" on:click=move |_| switch("passkey")>"Use a passkey"</button> })}
                </p>
            }.into_any()
        }}
    }
}

#[component]
pub fn Signup() -> impl IntoView {
    let name = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let done = RwSignal::new(false);
    let action = Call::new(
        api::signup,
        move |_| done.set(true),
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        local.set(signup_problems(
            &email.get_untracked(),
            &password.get_untracked(),
            &name.get_untracked(),
        ));
        if local.get_untracked().is_empty() {
            action.dispatch(SignupRequest {
                email: email.get_untracked(),
                password: password.get_untracked(),
                name: name.get_untracked(),
            });
        }
    };
    view! {
        <AuthCard title="Create your account">
            {move || if done.get() {
                view! {
                    <p class="notice" role="status">"Check your inbox: we sent a link to "<strong>{email.get_untracked()}</strong>" to confirm your address."</p>
                    <p class="links"><A href=Page::Login.path()>"Back to sign in"</A></p>
                }.into_any()
            } else {
                view! {
                    <form on:submit=on_submit novalidate>
                        <Field label="Name" name="name" value=name autocomplete="name"
                            error=field_error(local, remote, "name") required=true autofocus=true/>
                        <Field label="Email" name="email" kind="email" value=email autocomplete="email"
                            error=field_error(local, remote, "email") required=true/>
                        <Field label="Password" name="password" kind="password" value=password
                            autocomplete="new-password" hint="At least 8 characters; a passphrase is best."
                            error=field_error(local, remote, "password") required=true/>
                        <FormError error=remote/>
                        <button class="btn primary wide" type="submit" disabled=move || action.pending().get()>
                            {move || if action.pending().get() { "Creating…" } else { "Create account" }}
                        </button>
                    </form>
                    <p class="links"><A href=Page::Login.path()>"I already have an account"</A></p>
                }.into_any()
            }}
        </AuthCard>
    }
}

#[component]
pub fn VerifyEmail() -> impl IntoView {
    let token = query("token");
    let result = Load::new(move || {
        let token = token.get().unwrap_or_default();
        async move { api::verify_email(token).await }
    });
    view! {
        <AuthCard title="Confirm your email">
            {move || match result.get() {
                None => view! { <p role="status">"Confirming…"</p> }.into_any(),
                Some(Ok(user)) => view! {
                    <p class="notice" role="status">"Thanks, "{user.name}". Your email is confirmed."</p>
                    <A href=Page::Login.path() attr:class="btn primary wide">"Sign in"</A>
                }.into_any(),
                Some(Err(e)) => view! {
                    <p class="alert" role="alert">{e.message()}</p>
                    <p class="links"><A href=Page::Login.path()>"Sign in to get a new link"</A></p>
                }.into_any(),
            }}
        </AuthCard>
    }
}

#[component]
pub fn Forgot() -> impl IntoView {
    let email = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let sent = RwSignal::new(false);
    let action = Call::new(
        api::forgot_password,
        move |_| sent.set(true),
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        local.set(
            match shared::validate::check_email(&email.get_untracked()) {
                Ok(_) => Vec::new(),
                Err(e) => vec![("email", e.to_string())],
            },
        );
        if local.get_untracked().is_empty() {
            action.dispatch(email.get_untracked());
        }
    };
    view! {
        <AuthCard title="Reset your password">
            {move || if sent.get() {
                view! {
                    <p class="notice" role="status">"If an account uses that address, a reset link is on its way. It works for 30 minutes."</p>
                    <p class="links"><A href=Page::Login.path()>"Back to sign in"</A></p>
                }.into_any()
            } else {
                view! {
                    <form on:submit=on_submit novalidate>
                        <Field label="Email" name="email" kind="email" value=email autocomplete="email"
                            error=field_error(local, remote, "email") required=true autofocus=true/>
                        <FormError error=remote/>
                        <button class="btn primary wide" type="submit" disabled=move || action.pending().get()>"Send reset link"</button>
                    </form>
                    <p class="links"><A href=Page::Login.path()>"Back to sign in"</A></p>
                }.into_any()
            }}
        </AuthCard>
    }
}

#[component]
pub fn Reset() -> impl IntoView {
    let navigate = use_navigate();
    let token = query("token");
    let password = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let local = RwSignal::new(Vec::new());
    let remote = RwSignal::new(None::<ApiError>);
    let action = Call::new(
        api::reset_password,
        move |_| navigate("/login?reset=1", Default::default()),
        move |e| remote.set(Some(e)),
    );
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        remote.set(None);
        let mut problems = Vec::new();
        if let Err(e) = crate::logic::check_password(&password.get_untracked(), "") {
            problems.push(("password", e.to_string()));
        } else if password.get_untracked() != confirm.get_untracked() {
            problems.push(("confirm", "does not match the new password".to_string()));
        }
        local.set(problems);
        if local.get_untracked().is_empty() {
            action.dispatch(ResetPasswordRequest {
                token: token.get_untracked().unwrap_or_default(),
                password: password.get_untracked(),
            });
        }
    };
    view! {
        <AuthCard title="Choose a new password">
            <form on:submit=on_submit novalidate>
                <Field label="New password" name="password" kind="password" value=password
                    autocomplete="new-password" error=field_error(local, remote, "password") required=true autofocus=true/>
                <Field label="Repeat it" name="confirm" kind="password" value=confirm
                    autocomplete="new-password" error=field_error(local, remote, "confirm") required=true/>
                <FormError error=Signal::derive(move || remote.get().filter(|e| e.code() != "invalid_token"))/>
                {move || remote.get().filter(|e| e.code() == "invalid_token").map(|_| view! {
                    <p class="alert" role="alert">"This link is invalid or has expired. "<A href=Page::Forgot.path()>"Ask for a new one"</A>"."</p>
                })}
                <button class="btn primary wide" type="submit" disabled=move || action.pending().get()>"Change password"</button>
            </form>
        </AuthCard>
    }
}
