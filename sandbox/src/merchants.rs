//! The merchant catalogue: every kind of transaction the sandbox seeds (merchant, category,
//! Tarabut's types, amount range, weight), per country, and how a stored transaction finds its
//! profile again.

use crate::store::Tx;

/// Which kind of transaction a profile generates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pool {
    CurrentDebit,
    CurrentCredit,
    Salary,
    SavingsIn,
    SavingsOut,
}

/// A kind of transaction: merchant, category and amount range. Amount bounds are in minor units
/// and shared by both currencies on purpose: 1 BHD is about 10 SAR, so N fils and N halalas are
/// about the same money and one table gives plausible amounts for both banks.
#[derive(Debug)]
pub(crate) struct Profile {
    pub(crate) pool: Pool,
    pub merchant: Option<&'static str>,
    pub mcc: Option<&'static str>,
    /// Only seeded at banks of this country (a Saudi chain never shows up in Manama).
    pub(crate) country: Option<&'static str>,
    pub category: &'static str,
    pub tx_type: &'static str,
    pub sub_type: &'static str,
    pub credit: bool,
    /// `{merchant}`, `{city}` and `{who}` are filled in.
    pub(crate) template: &'static str,
    pub(crate) min: i64,
    pub(crate) max: i64,
    /// Amounts are multiples of this (cash comes in notes).
    pub(crate) step: i64,
    pub(crate) weight: u64,
}

impl Profile {
    pub(crate) fn group(&self) -> &'static str {
        if self.credit {
            "Income"
        } else {
            "Expense"
        }
    }
}

/// How a card or bill payment reached the merchant; decides the description and types.
#[derive(Clone, Copy)]
enum Channel {
    Pos,
    Online,
    Bill,
}
use Channel::{Bill as BILL, Online as ONLINE, Pos as POS};

#[allow(clippy::too_many_arguments)]
const fn spend(
    merchant: &'static str,
    mcc: &'static str,
    country: Option<&'static str>,
    category: &'static str,
    channel: Channel,
    min: i64,
    max: i64,
    weight: u64,
) -> Profile {
    let (tx_type, sub_type, template) = match channel {
        Channel::Pos => ("POS", "Purchase", "POS Purchase at {merchant}, {city}"),
        Channel::Online => ("POS", "Purchase", "Online Purchase from {merchant}"),
        Channel::Bill => ("BILL_PAYMENT", "Payment", "Bill Payment - {merchant}"),
    };
    Profile {
        pool: Pool::CurrentDebit,
        merchant: Some(merchant),
        mcc: Some(mcc),
        country,
        category,
        tx_type,
        sub_type,
        credit: false,
        template,
        min,
        max,
        step: 1,
        weight,
    }
}

const BH: Option<&str> = Some("BH");
const SA: Option<&str> = Some("SA");

/// The catalogue. Index 0 is the salary profile; indices are stored in each transaction, so
/// entries are only ever appended.
pub(crate) static PROFILES: &[Profile] = &[
    Profile {
        pool: Pool::Salary,
        merchant: None,
        mcc: None,
        country: None,
        category: "Salary",
        tx_type: "TRANSFER",
        sub_type: "Salary",
        credit: true,
        template: "SALARY {who}",
        min: 0,
        max: 0,
        step: 1,
        weight: 0,
    },
    spend(
        "Lulu Hypermarket",
        "5411",
        None,
        "Groceries",
        POS,
        4_000,
        45_000,
        14,
    ),
    spend(
        "Carrefour",
        "5411",
        None,
        "Groceries",
        POS,
        3_000,
        40_000,
        10,
    ),
    spend(
        "Al Jazira Supermarket",
        "5411",
        BH,
        "Groceries",
        POS,
        2_500,
        30_000,
        8,
    ),
    spend("Panda", "5411", SA, "Groceries", POS, 3_000, 35_000, 8),
    spend(
        "Tamimi Markets",
        "5411",
        SA,
        "Groceries",
        POS,
        3_500,
        38_000,
        5,
    ),
    spend("Al Baik", "5814", SA, "Eating Out", POS, 1_200, 6_000, 7),
    spend(
        "Starbucks",
        "5814",
        None,
        "Eating Out",
        POS,
        1_600,
        4_800,
        8,
    ),
    spend(
        "McDonald's",
        "5814",
        None,
        "Eating Out",
        POS,
        1_500,
        6_500,
        6,
    ),
    spend(
        "Talabat",
        "5812",
        BH,
        "Eating Out",
        ONLINE,
        3_000,
        14_000,
        8,
    ),
    spend(
        "HungerStation",
        "5812",
        SA,
        "Eating Out",
        ONLINE,
        3_000,
        14_000,
        6,
    ),
    spend(
        "Costa Coffee",
        "5814",
        None,
        "Eating Out",
        POS,
        1_400,
        4_200,
        4,
    ),
    spend(
        "Bapco Fuel Station",
        "5541",
        BH,
        "Transport",
        POS,
        4_000,
        14_000,
        5,
    ),
    spend("Aldrees", "5541", SA, "Transport", POS, 5_000, 15_000, 5),
    spend("Uber", "4121", None, "Transport", ONLINE, 1_500, 9_000, 5),
    spend("Careem", "4121", None, "Transport", ONLINE, 1_500, 8_000, 4),
    spend("Amazon", "5999", None, "Shopping", ONLINE, 4_000, 60_000, 4),
    spend(
        "Centrepoint",
        "5651",
        None,
        "Shopping",
        POS,
        6_000,
        40_000,
        3,
    ),
    spend("IKEA", "5712", None, "Shopping", POS, 10_000, 120_000, 1),
    spend(
        "Jarir Bookstore",
        "5942",
        SA,
        "Shopping",
        POS,
        4_000,
        50_000,
        2,
    ),
    spend("Sharaf DG", "5732", BH, "Shopping", POS, 10_000, 150_000, 1),
    spend("eXtra", "5732", SA, "Shopping", POS, 10_000, 150_000, 1),
    spend(
        "EWA Bahrain",
        "4900",
        BH,
        "Utilities",
        BILL,
        8_000,
        45_000,
        2,
    ),
    spend(
        "Saudi Electricity",
        "4900",
        SA,
        "Utilities",
        BILL,
        10_000,
        50_000,
        2,
    ),
    spend("Batelco", "4814", BH, "Utilities", BILL, 9_000, 25_000, 2),
    spend("STC", "4814", SA, "Utilities", BILL, 10_000, 30_000, 2),
    spend("Zain", "4814", None, "Utilities", BILL, 6_000, 20_000, 1),
    spend(
        "VOX Cinemas",
        "7832",
        None,
        "Entertainment",
        POS,
        3_000,
        12_000,
        3,
    ),
    spend(
        "Netflix",
        "4899",
        None,
        "Entertainment",
        ONLINE,
        2_900,
        5_600,
        1,
    ),
    spend(
        "Spotify",
        "5815",
        None,
        "Entertainment",
        ONLINE,
        1_500,
        2_600,
        1,
    ),
    spend(
        "PlayStation Store",
        "5815",
        None,
        "Entertainment",
        ONLINE,
        2_000,
        25_000,
        1,
    ),
    spend("Boots", "5912", BH, "Health", POS, 1_500, 15_000, 3),
    spend(
        "Nahdi Pharmacy",
        "5912",
        SA,
        "Health",
        POS,
        1_500,
        15_000,
        3,
    ),
    spend(
        "American Mission Hospital",
        "8062",
        BH,
        "Health",
        POS,
        10_000,
        80_000,
        1,
    ),
    spend(
        "Dr. Sulaiman Al Habib",
        "8062",
        SA,
        "Health",
        POS,
        15_000,
        90_000,
        1,
    ),
    Profile {
        pool: Pool::CurrentDebit,
        merchant: None,
        mcc: Some("6011"),
        country: None,
        category: "Cash",
        tx_type: "ATM",
        sub_type: "Withdrawal",
        credit: false,
        template: "ATM Withdrawal {city}",
        min: 10_000,
        max: 100_000,
        step: 10_000,
        weight: 2,
    },
    Profile {
        pool: Pool::CurrentDebit,
        merchant: None,
        mcc: None,
        country: None,
        category: "Transfers",
        tx_type: "TRANSFER",
        sub_type: "Outgoing",
        credit: false,
        template: "Transfer to {who}",
        min: 5_000,
        max: 150_000,
        step: 1_000,
        weight: 3,
    },
    Profile {
        pool: Pool::CurrentCredit,
        merchant: Some("Amazon"),
        mcc: Some("5999"),
        country: None,
        category: "Refunds",
        tx_type: "POS",
        sub_type: "Refund",
        credit: true,
        template: "Refund from {merchant}",
        min: 4_000,
        max: 40_000,
        step: 1,
        weight: 1,
    },
    Profile {
        pool: Pool::CurrentCredit,
        merchant: None,
        mcc: None,
        country: None,
        category: "Transfers",
        tx_type: "TRANSFER",
        sub_type: "Incoming",
        credit: true,
        template: "Transfer from {who}",
        min: 5_000,
        max: 100_000,
        step: 500,
        weight: 2,
    },
    Profile {
        pool: Pool::SavingsIn,
        merchant: None,
        mcc: None,
        country: None,
        category: "Transfers",
        tx_type: "TRANSFER",
        sub_type: "Incoming",
        credit: true,
        template: "Transfer from own Current account",
        min: 20_000,
        max: 300_000,
        step: 1_000,
        weight: 1,
    },
    Profile {
        pool: Pool::SavingsOut,
        merchant: None,
        mcc: None,
        country: None,
        category: "Transfers",
        tx_type: "TRANSFER",
        sub_type: "Outgoing",
        credit: false,
        template: "Transfer to own Current account",
        min: 10_000,
        max: 200_000,
        step: 1_000,
        weight: 1,
    },
];

/// The salary profile: the first of [`PROFILES`].
pub(crate) const SALARY: u16 = 0;

/// The profile of a stored transaction. Indices always come from this table, so the fallback
/// to the salary profile only guards against a corrupted index.
pub(crate) fn profile(index: u16) -> &'static Profile {
    PROFILES.get(usize::from(index)).unwrap_or(&PROFILES[0])
}

/// Whether a transaction is a salary credit (the definition the salary insight uses).
pub(crate) fn is_salary(tx: &Tx) -> bool {
    tx.credit && profile(tx.profile).category == "Salary"
}
