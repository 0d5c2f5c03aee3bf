//! The demo banks the sandbox offers (providers), and the kinds of account each one holds.

/// A demo bank. Currency is per bank because Tarabut's regions are per country.
#[derive(Debug)]
pub(crate) struct Provider {
    pub id: &'static str,
    pub name: &'static str,
    pub country: &'static str,
    pub currency: &'static str,
    /// Decimals of the currency: BHD has fils (3), SAR has halalas (2).
    pub exponent: u32,
    pub cities: &'static [&'static str],
    /// The bank-code part of the IBAN's BBAN.
    pub bank_code: &'static str,
    pub employers: &'static [&'static str],
}

pub(crate) static PROVIDERS: [Provider; 2] = [
    Provider {
        id: "BLUE",
        name: "Blue Bank",
        country: "BH",
        currency: "BHD",
        exponent: 3,
        cities: &["Manama", "Muharraq", "Riffa", "Seef"],
        bank_code: "BLUE",
        employers: &[
            "GULF AIR",
            "ALUMINIUM BAHRAIN BSC",
            "BAPCO ENERGIES",
            "NATIONAL BANK OF BAHRAIN",
            "BATELCO GROUP",
            "MINISTRY OF EDUCATION BH",
        ],
    },
    Provider {
        id: "RED",
        name: "Red Bank",
        country: "SA",
        currency: "SAR",
        exponent: 2,
        cities: &["Riyadh", "Jeddah", "Dammam", "Khobar"],
        bank_code: "65",
        employers: &[
            "SAUDI ARAMCO",
            "SABIC",
            "STC GROUP",
            "ALMARAI CO",
            "SAUDI ELECTRICITY CO",
            "MINISTRY OF HEALTH KSA",
        ],
    },
];

pub(crate) fn provider(id: &str) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|p| p.id == id)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AccountKind {
    Current,
    Savings,
}

impl AccountKind {
    /// `accountProductType` on the accounts routes.
    pub(crate) fn product_type(self) -> &'static str {
        match self {
            Self::Current => "CurrentAccount",
            Self::Savings => "Savings",
        }
    }

    /// `accountProductType` in insight payloads, which use lower-case words (`account`).
    pub(crate) fn insight_type(self) -> &'static str {
        match self {
            Self::Current => "account",
            Self::Savings => "savings",
        }
    }

    pub(crate) fn label(self) -> &'static str {
        match self {
            Self::Current => "Current",
            Self::Savings => "Savings",
        }
    }
}
