//! What a handler's signature says about who may call it, for the OpenAPI document.
//!
//! Every extractor implements [`Documented`]: the access extractors of this module say who they
//! admit (the operation's `security`) and every refusal they can answer (status, code, text);
//! every other extractor says nothing. [`routes!`](crate::access::routes) registers handlers
//! like `utoipa_axum::routes!` and reads their extractor types, through axum's `Handler<T, _>`
//! (`T` is the tuple of the handler's argument types), into an `x-pfn-access` extension on each
//! of the handler's operations; the document's last pass (`openapi::finish`) turns it into the
//! operation's `security` and its 401/403/404/429 entries. So the document's access rules come
//! from the types the handler takes, and `tests/api/access.rs` proves the router answers them.

use axum::{
    extract::{Path, Query, RawPathParams, State},
    handler::Handler,
    http::HeaderMap,
    Json,
};
use serde_json::{json, Value};
use utoipa::openapi::{extensions::ExtensionsBuilder, path::Paths};

use crate::{
    request_meta::RequestMeta,
    state::AppState,
    web::{AppJson, AppQuery},
};

/// The operation extension that carries what the handler's extractors say.
pub const EXTENSION: &str = "x-pfn-access";
/// The extension the served document keeps on operations that need step-up (`true`).
pub const STEP_UP: &str = "x-pfn-step-up";

/// One way in: the alternatives of an operation's `security`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
    /// Without credentials (a browser that is not signed in).
    Anyone,
    /// A signed-in browser session (the `session` scheme).
    Session,
    /// An API key (the `apiKey` scheme) with this scope, or any scope (`None`).
    Key(Option<&'static str>),
}

/// One answer an extractor can refuse a request with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    /// What it means, in the document's words (after "`code`: ").
    pub text: &'static str,
}

/// A query parameter an extractor reads (`Caller`'s `?workspaceId=`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Param {
    pub name: &'static str,
    pub description: &'static str,
    pub example: &'static str,
}

/// What a handler's extractors say about access: who may call (empty: nothing said, a public
/// route), how it can be refused, and the query parameters they read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Access {
    pub who: Vec<Who>,
    pub refusals: Vec<Refusal>,
    pub params: Vec<Param>,
    /// A browser session must have authenticated recently (`Fresh`): the operation is in the
    /// step-up table.
    pub step_up: bool,
    /// Only some requests need step-up (`StepUpWhen`): which.
    pub step_up_when: Option<&'static str>,
}

impl Access {
    /// Admits `who` (replacing what an inner extractor said: `Admin` admits sessions only, as
    /// the `SessionUser` it wraps does).
    pub fn admit(&mut self, who: &[Who]) {
        self.who = who.to_vec();
    }

    /// Can refuse with `code` at `status`.
    pub fn refuse(&mut self, status: u16, code: &'static str, text: &'static str) {
        let refusal = Refusal { status, code, text };
        if !self.refusals.contains(&refusal) {
            self.refusals.push(refusal);
        }
    }

    /// Needs a fresh authentication from a browser session.
    pub fn step_up(&mut self) {
        self.step_up = true;
    }

    /// Needs a fresh authentication from a browser session for the requests `when` says.
    pub fn step_up_when(&mut self, when: &'static str) {
        self.step_up_when = Some(when);
    }

    /// Reads the query parameter `param`.
    pub fn read(&mut self, param: Param) {
        if !self.params.contains(&param) {
            self.params.push(param);
        }
    }

    /// The extension's JSON: `{"security": [...], "refusals": [[status, code, text], ...],
    /// "parameters": [OpenAPI query parameter, ...]}`.
    pub fn to_json(&self) -> Value {
        let security: Vec<Value> = self
            .who
            .iter()
            .map(|w| match w {
                Who::Anyone => json!({}),
                Who::Session => json!({"session": []}),
                Who::Key(None) => json!({"apiKey": []}),
                Who::Key(Some(scope)) => json!({"apiKey": [scope]}),
            })
            .collect();
        let refusals: Vec<Value> = self
            .refusals
            .iter()
            .map(|r| json!([r.status, r.code, r.text]))
            .collect();
        let parameters: Vec<Value> = self
            .params
            .iter()
            .map(|p| {
                json!({
                    "name": p.name,
                    "in": "query",
                    "description": p.description,
                    "required": false,
                    "schema": {"type": "string"},
                    "example": p.example,
                })
            })
            .collect();
        json!({
            "security": security,
            "refusals": refusals,
            "parameters": parameters,
            "stepUp": match self.step_up_when {
                Some(when) => json!(when),
                None => json!(self.step_up),
            },
        })
    }
}

/// An extractor's part in [`Access`]. Extractors that do not admit or refuse callers keep the
/// default (nothing).
pub trait Documented {
    fn document(_access: &mut Access) {}
}

/// What all of a handler's extractors say, in argument order (an outer extractor, like
/// `Admin` around `SessionUser`, says its part after the inner one).
pub trait Extractors {
    fn access() -> Access;
}

macro_rules! extractors {
    ($($t:ident),*) => {
        impl<M, $($t: Documented),*> Extractors for (M, $($t,)*) {
            #[allow(unused_mut)]
            fn access() -> Access {
                let mut access = Access::default();
                $($t::document(&mut access);)*
                access
            }
        }
    };
}

extractors!();
extractors!(T1);
extractors!(T1, T2);
extractors!(T1, T2, T3);
extractors!(T1, T2, T3, T4);
extractors!(T1, T2, T3, T4, T5);
extractors!(T1, T2, T3, T4, T5, T6);
extractors!(T1, T2, T3, T4, T5, T6, T7);
extractors!(T1, T2, T3, T4, T5, T6, T7, T8);

/// What the handler `_h` takes, from its type.
pub fn of<H: Handler<T, AppState>, T: Extractors>(_h: &H) -> Access {
    T::access()
}

/// Records `access` on every operation of `paths` (the paths of one handler).
pub fn record(paths: &mut Paths, access: &Access) {
    let value = access.to_json();
    for item in paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.patch,
            &mut item.delete,
        ]
        .into_iter()
        .flatten()
        {
            let extension = ExtensionsBuilder::new()
                .add(EXTENSION, value.clone())
                .build();
            match &mut op.extensions {
                Some(existing) => existing.merge(extension),
                None => op.extensions = Some(extension),
            }
        }
    }
}

/// `utoipa_axum::routes!`, and each handler's [`Access`] recorded on its operations: use it
/// for every route (`openapi::finish` refuses an operation without the record). Handlers are
/// paths of plain names (`signin::login`), which utoipa's macro takes apart.
#[macro_export]
macro_rules! access_routes {
    ($( $($segment:ident)::+ ),+ $(,)?) => {{
        let mut schemas = Vec::new();
        let mut paths = utoipa::openapi::path::Paths::new();
        let mut router = axum::routing::MethodRouter::new();
        $(
            let (s, mut p, r) = utoipa_axum::routes!($($segment)::+);
            $crate::access::doc::record(&mut p, &$crate::access::doc::of(&$($segment)::+));
            schemas.extend(s);
            paths.merge(p);
            router = router.merge(r);
        )+
        (schemas, paths, router)
    }};
}

/// Extractors that neither admit nor refuse a caller.
macro_rules! says_nothing {
    ($($t:ty),* $(,)?) => {$(impl Documented for $t {})*};
}

says_nothing!(
    HeaderMap,
    RequestMeta,
    RawPathParams,
    axum::extract::Request,
    crate::web::DryRun
);

impl<T> Documented for axum::Extension<T> {}

impl<T> Documented for State<T> {}
impl<T> Documented for Path<T> {}
impl<T> Documented for Query<T> {}
impl<T> Documented for Json<T> {}
impl<T> Documented for AppJson<T> {}
impl<T> Documented for AppQuery<T> {}
// Not `ConnectInfo`: `http::edge` knows the peer per connection and gives handlers the
// client's address as `RequestMeta` (`request_meta::Arrival`); no request carries
// `ConnectInfo`. Not tower-sessions' `Session` either: it reads an extension `http::edge` does
// not make, so a handler that took it would fail; routes take `session::BrowserSession`.

#[cfg(test)]
mod tests {
    use super::*;

    struct Door;
    impl Documented for Door {
        fn document(access: &mut Access) {
            access.admit(&[Who::Session]);
            access.refuse(401, "unauthenticated", "no session");
        }
    }
    struct Guard;
    impl Documented for Guard {
        fn document(access: &mut Access) {
            access.refuse(403, "admin_required", "not an admin");
        }
    }

    macro_rules! extractor {
        ($($t:ident),*) => {$(
            impl<S: Send + Sync> axum::extract::FromRequestParts<S> for $t {
                type Rejection = std::convert::Infallible;
                async fn from_request_parts(
                    _: &mut axum::http::request::Parts,
                    _: &S,
                ) -> Result<Self, Self::Rejection> {
                    Ok(Self)
                }
            }
        )*};
    }
    extractor!(Door, Guard);

    #[allow(clippy::unused_async)]
    async fn handler(_: State<AppState>, _: Door, _: Guard, _: Json<u8>) {}
    #[allow(clippy::unused_async)]
    async fn public(_: State<AppState>) {}

    #[test]
    fn a_handler_is_documented_by_the_types_it_takes() {
        let access = of(&handler);
        assert_eq!(access.who, vec![Who::Session]);
        let codes: Vec<_> = access.refusals.iter().map(|r| (r.status, r.code)).collect();
        assert_eq!(codes, [(401, "unauthenticated"), (403, "admin_required")]);
        assert_eq!(of(&public), Access::default());
    }
}
