//! Cursor pagination: `limit` 1–200 (default 50) and an opaque cursor of `(created_at, id)`.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::AppError;

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1–200 (default 50).
    #[param(minimum = 1, maximum = 200, example = 50)]
    pub limit: Option<i64>,
    /// `nextCursor` from the previous page.
    #[param(example = "MTc5NTQyNjIwMDowMTkzYjZmNS0zYzRkLTdlNWYtYTA2Yi03YzhkOWUwZjFhMmI")]
    pub cursor: Option<String>,
}

impl PageQuery {
    pub fn limit(&self) -> Result<i64, AppError> {
        match self.limit {
            None => Ok(50),
            Some(n @ 1..=200) => Ok(n),
            Some(_) => Err(AppError::field("limit", "must be between 1 and 200")),
        }
    }

    pub fn after(&self) -> Result<Option<(i64, String)>, AppError> {
        self.cursor.as_deref().map(decode).transpose()
    }
}

pub fn encode(ts: i64, id: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{ts}:{id}"))
}

/// 400 `invalid_cursor`: not a cursor this list gave out.
pub fn invalid_cursor() -> AppError {
    AppError::new(
        axum::http::StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "The cursor is not valid for this list.",
    )
}

fn decode(cursor: &str) -> Result<(i64, String), AppError> {
    let invalid = invalid_cursor;
    let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let raw = String::from_utf8(raw).map_err(|_| invalid())?;
    let (ts, id) = raw.split_once(':').ok_or_else(invalid)?;
    if id.chars().any(char::is_control) {
        return Err(invalid());
    }
    Ok((ts.parse().map_err(|_| invalid())?, id.to_string()))
}

/// Trims a page fetched with `limit + 1` rows and computes the next cursor.
pub fn finish<T>(
    mut rows: Vec<T>,
    limit: i64,
    key: impl Fn(&T) -> (i64, String),
) -> (Vec<T>, Option<String>) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next = if more {
        rows.last().map(|r| {
            let (ts, id) = key(r);
            encode(ts, &id)
        })
    } else {
        None
    };
    (rows, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_rejected() {
        let q = PageQuery {
            limit: None,
            cursor: Some(encode(42, "abc")),
        };
        assert_eq!(q.after().unwrap(), Some((42, "abc".to_string())));
        let nul = URL_SAFE_NO_PAD.encode("1:\0");
        for bad in ["!!", "bm9jb2xvbg", "", nul.as_str()] {
            let q = PageQuery {
                limit: Some(10),
                cursor: Some(bad.into()),
            };
            assert_eq!(q.after().unwrap_err().code(), "invalid_cursor", "{bad}");
        }
        assert!(PageQuery {
            limit: Some(201),
            cursor: None
        }
        .limit()
        .is_err());
        assert!(PageQuery {
            limit: Some(0),
            cursor: None
        }
        .limit()
        .is_err());
    }
}
