//! Body and query extractors that fail in our error shape, with precise field paths.

use std::collections::BTreeMap;

use axum::{
    body::Bytes,
    extract::{FromRequest, FromRequestParts, Request},
    http::{header, request::Parts, StatusCode},
};
use serde::de::DeserializeOwned;

use crate::error::AppError;

/// Like `axum::Json`, but: 415 unless `Content-Type` is JSON, 413 past the body limit, 400
/// `invalid_json` for bad syntax, 422 `validation_failed` with the JSON path of a wrong or
/// missing field, and 422 for NUL characters anywhere (PostgreSQL cannot store them).
pub struct AppJson<T>(pub T);

/// A 200 answer whose JSON body is already serialised (kept from when it was cached, or
/// recorded for an idempotent retry), sent as it is.
pub fn serialised(body: impl Into<axum::body::Body>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        )],
        body.into(),
    )
        .into_response()
}

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &S) -> Result<Self, AppError> {
        if !is_json(req.headers().get(header::CONTENT_TYPE)) {
            return Err(AppError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json.",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                AppError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "The body is larger than 2 MiB.",
                )
            } else {
                AppError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_json",
                    "The body could not be read.",
                )
            }
        })?;
        parse(&bytes).map(AppJson)
    }
}

fn is_json(ct: Option<&header::HeaderValue>) -> bool {
    let Some(ct) = ct.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mime = ct
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json"))
}

/// Reads a request body: one JSON object and nothing after it (400 `invalid_json` otherwise:
/// an array would fill a struct's fields by position, and trailing data would be silently
/// dropped), no NUL characters, and no field the type does not know (422 naming it: a typo
/// such as `expiresInDay` must not quietly fall back to a default).
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => {}
        None => return Err(invalid_json("The body is empty: send a JSON object.")),
        Some(_) => return Err(invalid_json("The body must be a JSON object.")),
    }
    if let Some(path) = find_nul(bytes) {
        return Err(AppError::field(path, "must not contain NUL characters"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let mut unknown = BTreeMap::new();
    let mut note = |path: serde_ignored::Path<'_>| {
        unknown.insert(json_path(&path), "is not a known field".to_string());
    };
    let value =
        serde_path_to_error::deserialize(serde_ignored::Deserializer::new(&mut de, &mut note));
    let value = match value {
        Ok(v) => v,
        Err(e) => {
            // A body that is not one JSON value at all is `invalid_json`, whatever its fields.
            if serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_err() {
                return Err(invalid_json("The body is not one valid JSON object."));
            }
            let mut refused = data_error(e);
            // Unknown fields seen before the failure are named with it: a misspelt field is
            // often why a required one is missing.
            if let AppError::Validation(fields) = &mut refused {
                fields.append(&mut unknown);
            }
            return Err(refused);
        }
    };
    de.end()
        .map_err(|_| invalid_json("The body holds more than one JSON value."))?;
    if !unknown.is_empty() {
        return Err(AppError::Validation(unknown));
    }
    Ok(value)
}

/// What a deserialisation failure tells the client.
fn data_error(e: serde_path_to_error::Error<serde_json::Error>) -> AppError {
    let path = e.path().to_string();
    let inner = e.into_inner();
    if inner.is_syntax() || inner.is_eof() {
        return invalid_json(&format!("The body is not valid JSON: {inner}"));
    }
    let msg = inner.to_string();
    // serde reports a missing field at its parent's path; name the field itself.
    let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
    if let Some(field) = msg
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
    {
        let key = if path == "." {
            field.to_string()
        } else {
            format!("{path}.{field}")
        };
        return AppError::field(key, "is required");
    }
    let key = if path == "." {
        "body".to_string()
    } else {
        path
    };
    AppError::field(key, msg)
}

fn invalid_json(message: &str) -> AppError {
    AppError::new(StatusCode::BAD_REQUEST, "invalid_json", message.to_string())
}

/// `serde_ignored`'s path in the notation of our `fields` keys: `transactions[0].note`.
fn json_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", json_path(parent)),
        Path::Map { parent, key } => {
            let parent = json_path(parent);
            if parent.is_empty() {
                key.to_string()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => json_path(parent),
    }
}

/// The JSON path of the first string containing U+0000, if any. Cheap when there is none: the
/// escape can only appear as the literal text `\u0000`.
fn find_nul(bytes: &[u8]) -> Option<String> {
    // JSON writes the `u` of an escape in lower case only (RFC 8259 §7), and a push's body
    // is ~250 KB: one vectorised search rather than a comparison at every byte.
    memchr::memmem::find(bytes, b"\\u0000")?;
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn walk(v: &serde_json::Value, path: String) -> Option<String> {
        match v {
            serde_json::Value::String(s) if s.contains('\0') => Some(path),
            serde_json::Value::Array(a) => a
                .iter()
                .enumerate()
                .find_map(|(i, x)| walk(x, format!("{path}[{i}]"))),
            serde_json::Value::Object(o) => o.iter().find_map(|(k, x)| {
                if k.contains('\0') {
                    return Some(if path.is_empty() {
                        "body".into()
                    } else {
                        path.clone()
                    });
                }
                walk(
                    x,
                    if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    },
                )
            }),
            _ => None,
        }
    }
    walk(&value, String::new()).map(|p| if p.is_empty() { "body".into() } else { p })
}

/// Like `axum::extract::Query`, but 422 `validation_failed` naming the parameter.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, AppError> {
        // NUL characters were refused for every route by `middleware::route_guards`.
        let query = parts.uri.query().unwrap_or_default();
        let de = serde_urlencoded::Deserializer::new(form_urlencoded_parse(query));
        serde_path_to_error::deserialize(de)
            .map(AppQuery)
            .map_err(|e| {
                let path = e.path().to_string();
                let msg = e.into_inner().to_string();
                let key = if path == "." {
                    msg.strip_prefix("missing field `")
                        .and_then(|m| m.split('`').next())
                        .unwrap_or("query")
                        .to_string()
                } else {
                    path
                };
                AppError::Validation(BTreeMap::from([(key, msg)]))
            })
    }
}

fn form_urlencoded_parse(q: &str) -> url::form_urlencoded::Parse<'_> {
    url::form_urlencoded::parse(q.as_bytes())
}

/// The type a JSON Schema (as the OpenAPI document writes it) gives a value, leaving out
/// `null`: `Option<i64>` is `["integer", "null"]`, so `integer`. `string` when it names none.
pub fn schema_type(schema: &serde_json::Value) -> &str {
    match &schema["type"] {
        serde_json::Value::String(t) => t,
        serde_json::Value::Array(ts) => ts
            .iter()
            .filter_map(serde_json::Value::as_str)
            .find(|t| *t != "null")
            .unwrap_or("string"),
        _ => "string",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Outer {
        email: String,
        items: Vec<Inner>,
    }
    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Inner {
        amount: i64,
    }

    fn field_of(err: AppError) -> (String, String) {
        match err {
            AppError::Validation(f) => f.into_iter().next().unwrap(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn errors_name_the_json_path() {
        let (k, _) = field_of(
            parse::<Outer>(br#"{"email":"a","items":[{"amount":1},{"amount":"x"}]}"#).unwrap_err(),
        );
        assert_eq!(k, "items[1].amount");
        let (k, v) = field_of(parse::<Outer>(br#"{"items":[]}"#).unwrap_err());
        assert_eq!((k.as_str(), v.as_str()), ("email", "is required"));
        let (k, _) = field_of(parse::<Outer>(br#"{"email":"a\u0000b","items":[]}"#).unwrap_err());
        assert_eq!(k, "email");
        // `find_nul` looks for the escape with a lower-case `u` only: JSON has no other.
        assert_eq!(
            parse::<Outer>(br#"{"email":"a\U0000b","items":[]}"#)
                .unwrap_err()
                .code(),
            "invalid_json"
        );
        assert_eq!(
            parse::<Outer>(b"{not json").unwrap_err().code(),
            "invalid_json"
        );
        assert_eq!(parse::<Outer>(b"").unwrap_err().code(), "invalid_json");
    }

    #[test]
    fn a_body_is_one_object_with_known_fields_and_nothing_after_it() {
        let ok = br#" {"email":"a","items":[{"amount":1}]} "#;
        assert!(parse::<Outer>(ok).is_ok());
        for bad in [
            &br#"{"email":"a","items":[]}xyz"#[..],
            br#"{"email":"a","items":[]} {"email":"b","items":[]}"#,
            br#"["a", []]"#,
            b"[]",
            b"\"a\"",
            b"1",
            b"null",
            b"   ",
        ] {
            assert_eq!(
                parse::<Outer>(bad).unwrap_err().code(),
                "invalid_json",
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let err =
            parse::<Outer>(br#"{"email":"a","emial":"b","items":[{"amount":1,"x":{"y":1}}]}"#)
                .unwrap_err();
        let AppError::Validation(fields) = err else {
            panic!("expected 422, got {err:?}")
        };
        assert_eq!(
            fields.keys().collect::<Vec<_>>(),
            ["emial", "items[0].x"],
            "every unknown field is named by its path"
        );
        assert!(parse::<serde_json::Value>(br#"{"any":{"thing":[1]}}"#).is_ok());
        // A typo usually leaves a required field missing: both are named.
        let (missing, typo) = match parse::<Outer>(br#"{"emali":"a","items":[]}"#).unwrap_err() {
            AppError::Validation(f) => (f.contains_key("email"), f.contains_key("emali")),
            other => panic!("expected 422, got {other:?}"),
        };
        assert!(missing && typo);
    }
}
