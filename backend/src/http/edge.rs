//! The request path's one layer: every request passes through [`Edge`], which does in one
//! service what used to be thirteen layers (request id set and propagated, tracing span,
//! metrics, error reshaping, security headers, client IP, route guards, CSRF, `RateLimit-*`
//! headers, the body limit, the MCP service's extension, the session manager), in the same
//! order and with the same answers.
//!
//! Why one layer: axum boxes and clones every layer a router is given on every request, and an
//! `axum::middleware::from_fn` layer also clones the layers inside it, boxes its future and
//! boxes the rest of the stack behind `Next`; the thirteen were about 34k of the 50k
//! instructions of a `/healthz` request (docs/benchmarks.md, "The request path"). Here a
//! request costs one future with no box of its own, and only what each concern needs:
//! - the request id is made from a fast per-thread generator (not a `getrandom` call, nor the
//!   cryptographic one: it is no secret), into the one header value the answer carries; it is
//!   not copied into the request, which nothing reads it from;
//! - the span and tower-http's trace events (kept verbatim: same targets, names and fields)
//!   cost a disabled-callsite check when the log level leaves them out; the answer's body is
//!   wrapped (to enter the span and log the end of the stream) only when either is recorded;
//! - metrics handles are kept per thread by route, method and status, so the labels are built
//!   once per combination instead of once per request;
//! - static header values are constants; the rate-limit slot is made only for requests with an
//!   `Authorization` header (nothing else can use it); the MCP service's handle is added to the
//!   `/mcp` route's requests only; the 2 MiB body limit is axum's default (`http`'s test pins
//!   it), not an extension per request;
//! - sessions are tower-sessions' own `Session` over our store, managed here rather than by
//!   `SessionManagerLayer` (which parses every cookie into a jar behind a mutex, boxes its
//!   future and opens a span per request): without a session cookie and with nothing stored,
//!   the answer is left alone, as tower-sessions leaves it; a request with a Bearer key gets
//!   no session at all (it is never session-authenticated);
//! - the client IP, the rate-limit slot and the session reach the route as one extension
//!   ([`Arrival`]), not three: each is a box and a hash-map insert, and the map re-hashes as it
//!   passes three entries (axum adds two).
//!
//! The rules themselves are in [`super::middleware`] and [`super::ratelimit_headers`]. Each
//! concern is a function kept out of line (`#[inline(never)]`: the cost of a call) so that
//! `bench/layers.py` can count it apart under callgrind.

use std::{
    borrow::Cow,
    cell::RefCell,
    convert::Infallible,
    future::Future,
    net::{IpAddr, SocketAddr},
    pin::Pin,
    sync::Arc,
    task::{ready, Context, Poll},
    time::{Duration, Instant},
};

use axum::{
    body::{Body, Bytes},
    extract::Request,
    http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode},
    response::Response,
};
use futures_util::FutureExt;
use metrics::{Counter, Histogram};
use pin_project_lite::pin_project;
use time::OffsetDateTime;
use tower::{Layer, Service};
use tower_sessions::{
    cookie::{Cookie, SameSite},
    session::Id,
    Expiry, Session,
};
use tracing::{Instrument, Level, Span};

use super::{middleware, ratelimit_headers};
use crate::{
    access::session::DbSessionStore,
    mcp::Mcp,
    ratelimit::RateSlot,
    request_meta::{has_bearer, Arrival},
    state::AppState,
};

const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The route whose handler reads the MCP service from the request's extensions.
const MCP_ROUTE: &str = "/mcp";

/// Wraps the whole router in [`Edge`] (not `Router::layer`, which would box and clone it again
/// inside every route on every request).
#[derive(Clone)]
pub struct EdgeLayer {
    shared: Arc<Shared>,
}

/// What every request's [`Edge`] reads, made once.
struct Shared {
    state: AppState,
    mcp: Arc<Mcp>,
    store: Arc<DbSessionStore>,
    /// The session cookie's deletion with the cookie's own attributes.
    removal: HeaderValue,
    /// The router's routes, as axum's `MatchedPath` names them, for the metrics.
    routes: Routes,
}

impl EdgeLayer {
    /// `routes`: every route of the router this layer will wrap, as given to axum (a route
    /// missing here would count as `unmatched` in the metrics; the API suite's
    /// `ops::metrics_name_routes_as_the_router_does` compares the two).
    pub fn new<'a>(
        state: AppState,
        mcp: Arc<Mcp>,
        routes: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let removal = middleware::session_removal_cookie(&state.web);
        let store = Arc::new(DbSessionStore::new(state.clone()));
        Self {
            shared: Arc::new(Shared {
                state,
                mcp,
                store,
                removal,
                routes: Routes::new(routes),
            }),
        }
    }

    /// The route `path` matches, as axum's `MatchedPath` would name it.
    pub fn route_of(&self, path: &str) -> Option<&str> {
        self.shared
            .routes
            .of(path)
            .map(|i| self.shared.routes.name(i))
    }
}

impl<S> Layer<S> for EdgeLayer {
    type Service = Edge<S>;

    fn layer(&self, inner: S) -> Edge<S> {
        Edge {
            inner,
            shared: self.shared.clone(),
            peer: None,
        }
    }
}

/// The routes of the router [`Edge`] wraps: it sees requests before the router matches them,
/// so it matches them itself, with the router's own matcher (`matchit`, as axum uses it).
struct Routes {
    matcher: matchit::Router<usize>,
    names: Vec<Box<str>>,
    /// Tells this table's route numbers from another's (a process may serve several apps: the
    /// tests do), for the metrics handles kept per thread by route number.
    table: u64,
}

impl Routes {
    fn new<'a>(routes: impl IntoIterator<Item = &'a str>) -> Self {
        static TABLES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let mut matcher = matchit::Router::new();
        let mut names = Vec::new();
        for route in routes {
            // A route given twice is one route, as in axum's router.
            if matcher.insert(route, names.len()).is_ok() {
                names.push(route.into());
            }
        }
        let table = TABLES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self {
            matcher,
            names,
            table,
        }
    }

    fn of(&self, path: &str) -> Option<usize> {
        self.matcher.at(path).ok().map(|m| *m.value)
    }

    fn name(&self, route: usize) -> &str {
        &self.names[route]
    }
}

/// pfn's one layer around the router; served per connection, it knows the connection's peer
/// address (see [`PerConnection`]).
#[derive(Clone)]
pub struct Edge<S> {
    inner: S,
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
}

/// A service served to each connection as a copy that knows the connection's peer address
/// (instead of axum's `ConnectInfo`, an extension inserted into every request).
pub trait PerConnection:
    Service<Request, Response = Response, Error = Infallible, Future: Send>
    + Clone
    + Send
    + Sync
    + 'static
{
    fn for_peer(&self, peer: SocketAddr) -> Self;
}

impl<S> PerConnection for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible, Future: Send>
        + Clone
        + Send
        + Sync
        + 'static,
{
    fn for_peer(&self, peer: SocketAddr) -> Self {
        Self {
            peer: Some(peer),
            ..self.clone()
        }
    }
}

/// The router alone (`layer_stack`'s variant without [`Edge`]): it has no use for the peer.
impl PerConnection for axum::Router {
    fn for_peer(&self, _: SocketAddr) -> Self {
        self.clone()
    }
}

/// `axum::serve`'s make-service for a [`PerConnection`] service.
pub struct Connections<S>(pub S);

impl<'a, S: PerConnection> Service<axum::serve::IncomingStream<'a, tokio::net::TcpListener>>
    for Connections<S>
{
    type Response = S;
    type Error = Infallible;
    type Future = std::future::Ready<Result<S, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(
        &mut self,
        connection: axum::serve::IncomingStream<'a, tokio::net::TcpListener>,
    ) -> Self::Future {
        std::future::ready(Ok(self.0.for_peer(*connection.remote_addr())))
    }
}

impl<S> Service<Request> for Edge<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = EdgeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> Self::Future {
        let start = Instant::now();
        let id = request_id(req.headers());
        let span = open_span(&req, &id);
        let entered = span.enter();
        let shared = self.shared.clone();
        let state = &shared.state;
        let in_flight = InFlight::arrive(&shared);
        let metrics = Metrics::start(&req, &shared.routes);
        let api = req.uri().path().starts_with("/api/");
        let mut arrival = Arrival {
            ip: client_ip(&req, self.peer, state),
            ..Arrival::default()
        };
        let refusal = route_guards(&req).or_else(|| csrf(&req, state));
        let mut slot = None;
        let mut sessions = None;
        let kind = match refusal {
            Some(answer) => Kind::Refused {
                answer: Some(answer),
            },
            None => {
                if req.headers().contains_key(header::AUTHORIZATION) {
                    let s = RateSlot::default();
                    arrival.rate = Some(s.clone());
                    slot = Some(s);
                }
                if metrics.route(&shared.routes) == Some(MCP_ROUTE) {
                    req.extensions_mut().insert(shared.mcp.clone());
                }
                // A request with a Bearer key is never session-authenticated (every extractor
                // that reads the session refuses it first): it gets no session to manage.
                if !has_bearer(req.headers()) {
                    let (s, session) = Sessions::open(&req, &shared);
                    arrival.session = Some(session);
                    sessions = Some(s);
                }
                req.extensions_mut().insert(arrival);
                Kind::Inner {
                    future: self.inner.call(req),
                }
            }
        };
        drop(entered);
        EdgeFuture {
            kind,
            closing: None,
            ctx: Some(Ctx {
                _in_flight: in_flight,
                shared,
                start,
                id,
                span,
                metrics,
                api,
                slot,
                sessions,
            }),
        }
    }
}

/// What the answer needs from the request.
struct Ctx {
    _in_flight: InFlight,
    shared: Arc<Shared>,
    start: Instant,
    id: HeaderValue,
    span: Span,
    metrics: Metrics,
    api: bool,
    slot: Option<RateSlot>,
    sessions: Option<Sessions>,
}

/// The request counts as in flight (`crate::load`) until its answer is made or it is dropped.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn arrive(shared: &Arc<Shared>) -> Self {
        shared.state.load.arrive();
        Self(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.state.load.leave();
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        // Refused by the route guards or the CSRF check, before the route.
        Refused { answer: Option<Response> },
    }
}

type Closing = Pin<Box<dyn Future<Output = Response> + Send>>;

pin_project! {
    pub struct EdgeFuture<F> {
        #[pin]
        kind: Kind<F>,
        // The session's save, on the rare answer that stores one.
        closing: Option<Closing>,
        ctx: Option<Ctx>,
    }
}

impl<F> Future for EdgeFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let ctx = this.ctx.as_mut().expect("polled after completion");
        let _entered = ctx.span.enter();
        let answer = if let Some(closing) = this.closing.as_mut() {
            ready!(closing.as_mut().poll(cx))
        } else {
            let answer = match this.kind.project() {
                KindProj::Inner { future } => {
                    let _session_span = ctx.sessions.as_ref().map(|s| s.span.enter());
                    match ready!(future.poll(cx)) {
                        Ok(answer) => answer,
                        Err(never) => match never {},
                    }
                }
                KindProj::Refused { answer } => answer.take().expect("polled after completion"),
            };
            match ctx.sessions.take() {
                None => answer,
                Some(sessions) => match sessions.close(answer, &ctx.shared) {
                    Closed::Done(answer) => answer,
                    Closed::Saving(mut closing) => match closing.as_mut().poll(cx) {
                        Poll::Ready(answer) => answer,
                        Poll::Pending => {
                            *this.closing = Some(closing);
                            return Poll::Pending;
                        }
                    },
                },
            }
        };
        drop(_entered);
        let ctx = this.ctx.take().expect("polled after completion");
        Poll::Ready(Ok(ctx.finish(answer)))
    }
}

impl Ctx {
    /// What the layers around the route did to its answer, innermost first: `RateLimit-*`,
    /// security headers, error reshaping, metrics, the request id, the trace events.
    fn finish(self, mut answer: Response) -> Response {
        let _entered = self.span.enter();
        let web = &self.shared.state.web;
        finish_answer(&mut answer, self.slot.as_ref(), self.api, web);
        let mut answer = middleware::reshape_errors(answer);
        let latency = self.start.elapsed();
        self.metrics
            .finish(answer.status(), latency, &self.shared.routes);
        answer.headers_mut().entry(X_REQUEST_ID).or_insert(self.id);
        trace_answer(answer, &self.span, latency)
    }
}

/// The `RateLimit-*` headers of a rate-limited key, then the security headers.
fn finish_answer(
    answer: &mut Response,
    slot: Option<&RateSlot>,
    api: bool,
    web: &crate::config::Web,
) {
    let h = answer.headers_mut();
    ratelimit_headers::write(h, slot.and_then(RateSlot::decision));
    middleware::security_headers(h, api, web);
}

thread_local! {
    /// Request ids' random bits: a fast generator, seeded per thread from the thread's
    /// cryptographic one. A request id names a request in the logs and is no secret (its
    /// client sees it, and a guessed one opens nothing), so it needs no cryptographic
    /// generator: the ChaCha one cost ~0.3k instructions a request (docs/benchmarks.md).
    static REQUEST_IDS: RefCell<rand::rngs::SmallRng> =
        RefCell::new(rand::SeedableRng::from_rng(rand::thread_rng()).expect("the thread's generator works"));
}

/// The request's `x-request-id`, or a new one: a version 4 UUID, as tower-http made them.
#[inline(never)]
fn request_id(headers: &HeaderMap) -> HeaderValue {
    if let Some(id) = headers.get(X_REQUEST_ID) {
        return id.clone();
    }
    let bytes: [u8; 16] = REQUEST_IDS.with_borrow_mut(rand::Rng::gen);
    let uuid = uuid::Builder::from_random_bytes(bytes).into_uuid();
    let mut text = [0; uuid::fmt::Hyphenated::LENGTH];
    HeaderValue::from_bytes(uuid.hyphenated().encode_lower(&mut text).as_bytes())
        .expect("a UUID is a header value")
}

/// The request's span (target `backend::http`, as before), and tower-http's
/// "started processing request" in it. Their fields are only formatted when they are recorded.
#[inline(never)]
fn open_span(req: &Request, id: &HeaderValue) -> Span {
    let span = tracing::info_span!(target: "backend::http", "http",
        method = %req.method(), path = %req.uri().path(), request_id = %id.to_str().unwrap_or("-"));
    span.in_scope(
        || tracing::debug!(target: "tower_http::trace::on_request", "started processing request"),
    );
    span
}

/// tower-http's `DefaultOnResponse` and `DefaultOnFailure` (a 5xx answer is a failure); the
/// body keeps the span and logs the end of its stream, as tower-http's did, when either would
/// be recorded.
#[inline(never)]
fn trace_answer(answer: Response, span: &Span, latency: Duration) -> Response {
    let status = answer.status();
    tracing::debug!(target: "tower_http::trace::on_response",
        latency = %Millis(latency), status = i32::from(status.as_u16()), "finished processing request");
    if status.is_server_error() {
        tracing::error!(target: "tower_http::trace::on_failure",
            classification = %format_args!("Status code: {status}"), latency = %Millis(latency), "response failed");
    }
    let eos = tracing::enabled!(target: "tower_http::trace::on_eos", Level::DEBUG);
    if span.is_disabled() && !eos {
        return answer;
    }
    let span = span.clone();
    let since = eos.then(Instant::now);
    answer.map(|inner| Body::new(TracedBody { inner, span, since }))
}

/// tower-http's latency display (milliseconds).
struct Millis(Duration);

impl std::fmt::Display for Millis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ms", self.0.as_millis())
    }
}

pin_project! {
    /// An answer's body polled inside its request's span, logging tower-http's "end of stream".
    struct TracedBody {
        #[pin]
        inner: Body,
        span: Span,
        since: Option<Instant>,
    }
}

impl http_body::Body for TracedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.project();
        let _entered = this.span.enter();
        let frame = ready!(this.inner.poll_frame(cx));
        let ended = match &frame {
            None => true,
            Some(Ok(f)) => f.is_trailers(),
            Some(Err(_)) => false,
        };
        if ended {
            if let Some(since) = this.since.take() {
                tracing::debug!(target: "tower_http::trace::on_eos",
                    stream_duration = %Millis(since.elapsed()), "end of stream");
            }
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// The client's address for extractors and the audit log ([`Arrival::ip`]).
#[inline(never)]
fn client_ip(req: &Request, peer: Option<SocketAddr>, state: &AppState) -> Option<IpAddr> {
    let peer = peer?;
    Some(middleware::client_ip(
        peer.ip(),
        req.headers(),
        &state.config.trusted_proxies,
    ))
}

#[inline(never)]
fn route_guards(req: &Request) -> Option<Response> {
    middleware::route_guards(req.uri())
}

#[inline(never)]
fn csrf(req: &Request, state: &AppState) -> Option<Response> {
    middleware::csrf(&state.web, req.method(), req.headers())
}

/// `http_requests_total` and `http_request_duration_seconds`, by method, route and status.
struct Metrics {
    method: Method,
    route: Option<usize>,
}

/// A thread's handles for one route: (method, status, requests, durations).
type RouteHandles = Vec<(Method, u16, Counter, Histogram)>;

/// At most this many methods and statuses are kept per route and thread; the rest register
/// their labels each time (metrics take any method a client sends).
const HANDLES_PER_ROUTE: usize = 64;

/// A thread's handles: the route table they are for, and by route number (0 for requests
/// that match no route, `n + 1` for route `n`) the route's handles.
type ThreadHandles = (u64, Vec<RouteHandles>);

thread_local! {
    static HANDLES: RefCell<ThreadHandles> = const { RefCell::new((0, Vec::new())) };
}

impl Metrics {
    #[inline(never)]
    fn start(req: &Request, routes: &Routes) -> Self {
        Self {
            method: req.method().clone(),
            route: routes.of(req.uri().path()),
        }
    }

    fn route<'r>(&self, routes: &'r Routes) -> Option<&'r str> {
        self.route.map(|i| routes.name(i))
    }

    #[inline(never)]
    fn finish(&self, status: StatusCode, latency: Duration, routes: &Routes) {
        let status = status.as_u16();
        let seconds = latency.as_secs_f64();
        HANDLES.with_borrow_mut(|(table, handles)| {
            // Another app's table on this thread: start over (handles are only a shortcut to
            // the recorder's metrics, which stay).
            if *table != routes.table {
                *table = routes.table;
                handles.clear();
            }
            if handles.is_empty() {
                handles.resize_with(routes.names.len() + 1, Vec::new);
            }
            let list = &mut handles[self.route.map_or(0, |i| i + 1)];
            let known = list
                .iter()
                .find(|(m, s, ..)| *s == status && *m == self.method);
            if let Some((_, _, requests, durations)) = known {
                requests.increment(1);
                durations.record(seconds);
                return;
            }
            let route = self.route(routes).unwrap_or("unmatched");
            let labels = [
                ("method", self.method.to_string()),
                ("route", route.to_string()),
                ("status", status.to_string()),
            ];
            let requests = metrics::counter!("http_requests_total", &labels);
            let durations = metrics::histogram!("http_request_duration_seconds", &labels);
            requests.increment(1);
            durations.record(seconds);
            if list.len() < HANDLES_PER_ROUTE {
                list.push((self.method.clone(), status, requests, durations));
            }
        });
    }
}

/// A request's browser session, as tower-sessions' `SessionManagerLayer` manages it: the
/// session cookie's id (the last cookie of that name, percent-decoded, as its cookie jar reads
/// it) gives the request a lazily loaded [`Session`]; after the route, a session cookie whose
/// session is gone is deleted, and a session the route changed is saved and its cookie set.
struct Sessions {
    session: Session,
    /// The request carried a session cookie (a valid id or not).
    had_cookie: bool,
    /// tower-sessions' own span ("call"), for logs that ask for it.
    span: Span,
}

enum Closed {
    Done(Response),
    Saving(Closing),
}

/// What the session asks of the answer once its state is known.
enum After {
    Done(Response),
    Save(Response),
}

const SESSIONS: &str = "tower_sessions::service";

impl Sessions {
    /// The request's session, and what its answer needs to manage it.
    #[inline(never)]
    fn open(req: &Request, shared: &Shared) -> (Self, Session) {
        let span = tracing::info_span!(target: "tower_sessions::service", "call");
        let entered = span.enter();
        let cookie = session_cookie(req.headers(), shared.state.web.cookie_name);
        let id = cookie.as_deref().and_then(|value| {
            value
                .parse::<Id>()
                .map_err(|err| {
                    tracing::warn!(target: SESSIONS, err = %err,
                        "possibly suspicious activity: malformed session id")
                })
                .ok()
        });
        let had_cookie = cookie.is_some();
        let session = Session::new(id, shared.store.clone(), None);
        drop(entered);
        let handle = session.clone();
        (
            Self {
                session,
                had_cookie,
                span,
            },
            handle,
        )
    }

    #[inline(never)]
    fn close(self, answer: Response, shared: &Arc<Shared>) -> Closed {
        let modified = self.session.is_modified();
        // Nothing to delete and nothing to store: tower-sessions leaves the answer alone. (A
        // session that came without an id and was not changed is empty: no need to lock it
        // to ask.)
        if !self.had_cookie && !modified {
            tracing::trace!(target: SESSIONS, parent: &self.span, modified, empty = true,
                always_save = false, "session response state");
            return Closed::Done(answer);
        }
        let span = self.span.clone();
        // The record's lock is free once the route has answered, unless the route handed the
        // session to a task that still holds it: then wait for it, as tower-sessions does.
        let empty = span.in_scope(|| self.session.is_empty().now_or_never());
        let shared = shared.clone();
        let Some(empty) = empty else {
            return Closed::Saving(Box::pin(
                async move {
                    let empty = self.session.is_empty().await;
                    match self.after(answer, &shared, modified, empty) {
                        After::Done(answer) => answer,
                        After::Save(answer) => self.save(answer, &shared).await,
                    }
                }
                .instrument(span),
            ));
        };
        match span.in_scope(|| self.after(answer, &shared, modified, empty)) {
            After::Done(answer) => Closed::Done(answer),
            After::Save(answer) => Closed::Saving(Box::pin(
                async move { self.save(answer, &shared).await }.instrument(span),
            )),
        }
    }

    /// tower-sessions' decision: delete the cookie of a session that is gone, store a session
    /// the route changed (not on a 5xx answer).
    fn after(&self, mut answer: Response, shared: &Shared, modified: bool, empty: bool) -> After {
        tracing::trace!(target: SESSIONS, modified, empty, always_save = false, "session response state");
        if self.had_cookie && empty {
            tracing::debug!(target: SESSIONS, "removing session cookie");
            answer
                .headers_mut()
                .append(header::SET_COOKIE, shared.removal.clone());
            return After::Done(answer);
        }
        if modified && !empty && !answer.status().is_server_error() {
            return After::Save(answer);
        }
        After::Done(answer)
    }

    /// Stores the session and sets its cookie, as tower-sessions does.
    async fn save(&self, mut answer: Response, shared: &Shared) -> Response {
        tracing::debug!(target: SESSIONS, "saving session");
        if let Err(err) = self.session.save().await {
            tracing::error!(target: SESSIONS, err = %err, "failed to save session");
            return server_error();
        }
        let Some(id) = self.session.id() else {
            tracing::error!(target: SESSIONS, "missing session id");
            return server_error();
        };
        let web = &shared.state.web;
        let mut cookie = Cookie::build((web.cookie_name, id.to_string()))
            .http_only(true)
            .same_site(SameSite::Lax)
            .secure(web.secure_cookies)
            .path("/");
        match self.session.expiry() {
            Some(Expiry::OnInactivity(duration)) => cookie = cookie.max_age(duration),
            Some(Expiry::AtDateTime(at)) => cookie = cookie.max_age(at - OffsetDateTime::now_utc()),
            Some(Expiry::OnSessionEnd) | None => {}
        }
        tracing::debug!(target: SESSIONS, "adding session cookie");
        if let Ok(value) = HeaderValue::from_str(&cookie.build().to_string()) {
            answer.headers_mut().append(header::SET_COOKIE, value);
        }
        answer
    }
}

/// tower-sessions' answer when it cannot store a session: an empty 500 (reshaped later).
fn server_error() -> Response {
    let mut answer = Response::default();
    *answer.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    answer
}

/// The value of the cookie `name` as tower-cookies' jar gives it: every `Cookie` header that is
/// UTF-8, split at `;`, each piece parsed (name and value trimmed, percent-decoded; a piece
/// without `=`, with an empty name or that does not decode is skipped); the last piece of that
/// name wins. Pieces without `%` are read here as the parser would read them; the others go
/// through it (`cookie::Cookie::parse_encoded`).
fn session_cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<Cow<'h, str>> {
    let mut found = None;
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = std::str::from_utf8(value.as_bytes()) else {
            continue;
        };
        for piece in text.split(';') {
            if piece.contains('%') {
                if let Ok(cookie) = Cookie::parse_encoded(piece) {
                    if cookie.name() == name {
                        found = Some(Cow::Owned(cookie.value().to_owned()));
                    }
                }
                continue;
            }
            let Some((key, value)) = piece.split_once('=') else {
                continue;
            };
            if key.trim() == name {
                found = Some(Cow::Borrowed(value.trim()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(header::COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    #[test]
    fn the_session_cookie_is_read_as_tower_cookies_reads_it() {
        let name = "pfn_session";
        let read = |c: &[&str]| session_cookie(&headers(c), name).map(Cow::into_owned);
        assert_eq!(read(&[]), None);
        assert_eq!(read(&["a=1; pfn_session=abc"]).as_deref(), Some("abc"));
        assert_eq!(
            read(&["pfn_session = abc ; b=2"]).as_deref(),
            Some("abc"),
            "trimmed"
        );
        assert_eq!(
            read(&["pfn_session=a; pfn_session=b"]).as_deref(),
            Some("b"),
            "the last wins"
        );
        assert_eq!(
            read(&["pfn_session=a", "pfn_session=b"]).as_deref(),
            Some("b"),
            "across headers"
        );
        assert_eq!(
            read(&["pfn_session=a%2Db"]).as_deref(),
            Some("a-b"),
            "percent-decoded"
        );
        assert_eq!(
            read(&["pfn%5Fsession=c"]).as_deref(),
            Some("c"),
            "a percent-encoded name"
        );
        assert_eq!(
            read(&["pfn_session=a; pfn_session=%FF"]).as_deref(),
            Some("a"),
            "not UTF-8 once decoded: skipped"
        );
        assert_eq!(
            read(&["pfn_session=\"q\""]).as_deref(),
            Some("\"q\""),
            "quotes are kept"
        );
        assert_eq!(read(&["pfn_session"]), None, "no value");
        assert_eq!(read(&["x_pfn_session=a"]), None, "another cookie's name");
        assert_eq!(
            read(&["pfn_session="]).as_deref(),
            Some(""),
            "present, empty"
        );
        assert_eq!(read(&["pfn_sessionx=a"]), None);
        let mut binary = HeaderMap::new();
        binary.insert(
            header::COOKIE,
            HeaderValue::from_bytes(b"pfn_session=\xff").unwrap(),
        );
        assert!(
            session_cookie(&binary, name).is_none(),
            "not UTF-8: skipped"
        );
    }

    #[test]
    fn request_ids_are_kept_or_made_as_version_4_uuids() {
        let mut h = HeaderMap::new();
        let made = request_id(&h);
        let uuid = uuid::Uuid::parse_str(made.to_str().unwrap()).unwrap();
        assert_eq!(uuid.get_version_num(), 4);
        assert_eq!(made.to_str().unwrap(), uuid.hyphenated().to_string());
        assert_ne!(request_id(&h), made);
        h.insert(X_REQUEST_ID, HeaderValue::from_static("from-the-proxy"));
        assert_eq!(request_id(&h), "from-the-proxy");
    }
}
