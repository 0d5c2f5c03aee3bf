//! The create-key dialog's presets: scopes and limits for common uses of a key.

use shared::{finance::Account, key_limits::QuotaRefill};

/// A preset of the create dialog: scopes and limits for a common use.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Preset {
    /// The button's element id.
    pub id: &'static str,
    pub label: &'static str,
    /// The key's name, when none was typed yet.
    pub name: &'static str,
    pub scopes: &'static [&'static str],
    /// `(limit, refill)`; `None`: no quota.
    pub quota: Option<(i64, QuotaRefill)>,
    /// Restricted to one account (the first manual one is picked).
    pub one_account: bool,
    /// An expiry choice (`EXPIRY_CHOICES` label) to pick; `None` leaves the choice as it is.
    pub expiry: Option<&'static str>,
    /// The new key is for an AI agent: its reveal shows how to connect one over MCP.
    pub for_agent: bool,
}

const READ: &[&str] = &[
    "read:accounts",
    "read:transactions",
    "read:budgets",
    "read:insights",
];

/// The create dialog's presets, in button order.
pub const PRESETS: &[Preset] = &[
    Preset {
        id: "preset-mcp",
        label: "Agent (MCP)",
        name: "AI agent (MCP)",
        scopes: READ,
        quota: None,
        one_account: false,
        expiry: None,
        for_agent: true,
    },
    Preset {
        id: "preset-agent-read",
        label: "Agent: read-only",
        name: "Agent (read-only)",
        scopes: READ,
        quota: Some((1000, QuotaRefill::Daily)),
        one_account: false,
        expiry: None,
        for_agent: true,
    },
    Preset {
        id: "preset-agent-push",
        label: "Agent: push to one account",
        name: "Agent (push)",
        scopes: &["read:accounts", "write:transactions"],
        quota: Some((10_000, QuotaRefill::Daily)),
        one_account: true,
        expiry: None,
        for_agent: true,
    },
    Preset {
        id: "preset-reporting",
        label: "Reporting",
        name: "Reporting",
        scopes: &[
            "read:accounts",
            "read:transactions",
            "read:insights",
            "read:budgets",
        ],
        quota: None,
        one_account: false,
        expiry: Some("1 year"),
        for_agent: false,
    },
];

impl Preset {
    /// Whether a typed name should give way to this preset's: empty, or another preset's name.
    pub fn replaces_name(name: &str) -> bool {
        let name = name.trim();
        name.is_empty() || PRESETS.iter().any(|p| p.name == name)
    }
}

/// The account a "one account" preset restricts to: the first manual one (pushes go there).
pub fn first_manual(accounts: &[Account]) -> Option<String> {
    accounts
        .iter()
        .find(|a| a.source == "manual")
        .map(|a| a.id.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_use_real_scopes_and_choices() {
        for p in PRESETS {
            assert!(
                p.scopes.iter().all(|s| shared::keys::is_scope(s)),
                "{}",
                p.id
            );
            if let Some(e) = p.expiry {
                assert!(
                    crate::logic::EXPIRY_CHOICES.iter().any(|(l, _)| *l == e),
                    "{e}"
                );
            }
            assert!(Preset::replaces_name(p.name));
        }
        let reporting = PRESETS.iter().find(|p| p.id == "preset-reporting").unwrap();
        let days = crate::logic::EXPIRY_CHOICES
            .iter()
            .find(|(l, _)| Some(*l) == reporting.expiry)
            .and_then(|(_, d)| *d);
        assert_eq!(days, Some(365));
        assert!(PRESETS.iter().any(|p| p.id == "preset-mcp"));
        assert!(!Preset::replaces_name("My script"));
    }

    #[test]
    fn the_first_manual_account_is_picked() {
        let account = |id: &str, source: &str| Account {
            id: id.into(),
            workspace_id: "w1".into(),
            name: id.into(),
            currency: "BHD".into(),
            kind: "cash".into(),
            source: source.into(),
            created_at: "2026-12-01T00:00:00Z".into(),
            balance: None,
            balance_at: None,
        };
        assert_eq!(
            first_manual(&[account("b", "bank"), account("m", "manual")]).as_deref(),
            Some("m")
        );
        assert_eq!(first_manual(&[account("b", "bank")]), None);
    }
}
