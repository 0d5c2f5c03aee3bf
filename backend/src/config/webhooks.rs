//! How webhooks are delivered (`PFN_WEBHOOK_*`).

/// Webhook delivery settings.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookConfig {
    /// `PFN_WEBHOOK_ALLOW_PRIVATE=1`: endpoints may also be on loopback (127.0.0.0/8, ::1), for
    /// development and tests. Every other private or special-purpose address stays refused.
    pub allow_private: bool,
    /// `PFN_WEBHOOK_RETRY_SCALE` (0 < scale ≤ 1, default 1): multiplies the retry schedule,
    /// the 3 days after which a delivery is given up and the 5 days after which a failing
    /// endpoint is disabled. For tests and drills only.
    pub retry_scale: f64,
}

pub(super) fn webhook_config(
    get: &impl Fn(&str) -> Option<String>,
    errors: &mut Vec<String>,
) -> WebhookConfig {
    let allow_private = match get("PFN_WEBHOOK_ALLOW_PRIVATE").as_deref() {
        None | Some("0") | Some("false") => false,
        Some("1") | Some("true") => true,
        Some(v) => {
            errors.push(format!("PFN_WEBHOOK_ALLOW_PRIVATE={v:?} must be 0 or 1"));
            false
        }
    };
    let retry_scale = match get("PFN_WEBHOOK_RETRY_SCALE") {
        None => 1.0,
        Some(v) => match v.parse::<f64>() {
            Ok(s) if s > 0.0 && s <= 1.0 => s,
            _ => {
                errors.push(format!(
                    "PFN_WEBHOOK_RETRY_SCALE={v:?} must be a number above 0 and at most 1"
                ));
                1.0
            }
        },
    };
    WebhookConfig {
        allow_private,
        retry_scale,
    }
}
