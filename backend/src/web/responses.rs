//! Response sets shared by many operations (listed in their `responses(...)`): how a body,
//! a session or a throttle refuses a request.

use shared::ErrorBody;
use utoipa::IntoResponses;

/// What a JSON body can be refused for before the handler runs.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodyErrors {
    /// `invalid_json`: the body is not one JSON object (malformed, an array or another
    /// value, or followed by more data).
    #[response(status = 400)]
    InvalidJson(ErrorBody),
    /// `payload_too_large`: the body is over 2 MiB.
    #[response(status = 413)]
    TooLarge(ErrorBody),
    /// `unsupported_media_type`: `Content-Type` is not `application/json`.
    #[response(status = 415)]
    UnsupportedMediaType(ErrorBody),
    /// `validation_failed`: a field is missing, invalid or unknown (a misspelt name is
    /// refused, not ignored); `error.fields` names each by JSON path.
    #[response(status = 422)]
    Validation(ErrorBody),
}

/// A throttle refused the request.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum RateLimited {
    /// `rate_limited` or `too_many_attempts`: wait `Retry-After` seconds.
    #[response(status = 429, headers(("Retry-After" = u64, description = "Seconds until a retry can succeed")))]
    RateLimited(ErrorBody),
}
