//! Deterministic synthetic data: the accounts and transactions seeded for a `(customer, provider)` pair when a consent is first granted.
//!
//! Everything derives from `hash(seed, customer, provider, …)`, so the same customer gets the
//! same account ids, transaction ids, descriptions and amounts on every run. Booking times are
//! anchored at the start of the UTC day the consent was granted, so two sandboxes seeded on the
//! same day agree on those too.

use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use crate::{
    banks::{AccountKind, Provider},
    merchants::{profile, Pool, Profile, PROFILES, SALARY},
    prng::{self, SplitMix64},
    store::{Account, Tx},
};

const FIRST_NAMES: &[&str] = &[
    "Ahmed", "Fatima", "Mohammed", "Maryam", "Ali", "Noora", "Hassan", "Layla", "Yousif", "Sara",
    "Khalid", "Aisha", "Omar", "Huda", "Abdulla", "Reem",
];
const LAST_NAMES: &[&str] = &[
    "Al-Khalifa",
    "Al-Mahmood",
    "Al-Qahtani",
    "Al-Harbi",
    "Al-Dosari",
    "Al-Sayed",
    "Haddad",
    "Al-Otaibi",
    "Al-Mannai",
    "Al-Ghamdi",
    "Al-Zayani",
    "Al-Shehri",
];

fn pick<'a>(rng: &mut SplitMix64, items: &'a [&'a str]) -> &'a str {
    items.get(rng.index(items.len())).copied().unwrap_or("")
}

/// The account holder: one person per customer, whatever the bank.
pub(crate) fn holder_name(seed: u64, customer: &str) -> String {
    let mut rng = SplitMix64::new(prng::hash(seed, &["holder", customer]));
    format!(
        "{} {}",
        pick(&mut rng, FIRST_NAMES),
        pick(&mut rng, LAST_NAMES)
    )
}

/// What an account looks like before it has transactions: enough for the Connect consent page
/// to show which accounts will be shared, with the same ids the seeding will use.
#[derive(Debug, Clone)]
pub(crate) struct Shell {
    pub id: String,
    pub kind: AccountKind,
    pub holder: String,
    pub description: String,
    pub iban: String,
}

pub(crate) fn shells(seed: u64, customer: &str, provider: &Provider) -> Vec<Shell> {
    let holder = holder_name(seed, customer);
    [AccountKind::Current, AccountKind::Savings]
        .into_iter()
        .enumerate()
        .map(|(i, kind)| {
            let index = i.to_string();
            let id = prng::uuid(seed, &["account", customer, provider.id, &index]);
            let mut rng =
                SplitMix64::new(prng::hash(seed, &["iban", customer, provider.id, &index]));
            Shell {
                id,
                kind,
                description: format!("{holder} - {} {}", provider.currency, kind.label()),
                iban: iban(provider, &mut rng),
                holder: holder.clone(),
            }
        })
        .collect()
}

/// A syntactically valid IBAN (correct length and mod-97 check digits) for the bank's country.
fn iban(provider: &Provider, rng: &mut SplitMix64) -> String {
    // BH: 4-letter bank code + 14 characters; SA: 2-digit bank code + 18 characters.
    let len = if provider.country == "BH" { 14 } else { 18 };
    let mut bban = provider.bank_code.to_string();
    for _ in 0..len {
        bban.push(char::from(b'0' + rng.below(10) as u8));
    }
    let rearranged = format!("{bban}{}00", provider.country);
    let mut rem: u32 = 0;
    for c in rearranged.chars() {
        let v = c.to_digit(36).unwrap_or(0);
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    format!("{}{:02}{bban}", provider.country, 98 - rem)
}

const DAY: i64 = 86_400;

/// Seeds the two accounts of `customer` at `provider`, with `per_account` transactions on the
/// current account and a tenth of that on savings, spread over the 365 days before the start
/// of `now`'s UTC day.
pub(crate) fn accounts(
    seed: u64,
    customer: &str,
    provider: &'static Provider,
    per_account: u32,
    now: OffsetDateTime,
) -> Vec<Account> {
    let anchor = now.unix_timestamp().div_euclid(DAY) * DAY;
    shells(seed, customer, provider)
        .into_iter()
        .map(|shell| {
            let count = match shell.kind {
                AccountKind::Current => per_account,
                AccountKind::Savings => per_account / 10,
            };
            let mut rng = SplitMix64::new(prng::hash(seed, &["txs", &shell.id]));
            let employer = pick(&mut rng, provider.employers);
            let mut txs = Vec::with_capacity(count as usize);
            if shell.kind == AccountKind::Current {
                // One fixed salary per account, paid on the 25th: a stable stream for income
                // detection. Amount in minor units: 900-2500 BHD, or 9,000-25,000 SAR.
                let salary = rng.range(900_000, 2_500_000);
                for (i, booking) in salary_dates(anchor)
                    .into_iter()
                    .take(count as usize)
                    .enumerate()
                {
                    txs.push(Tx {
                        id: prng::uuid(seed, &["tx", &shell.id, &i.to_string()]),
                        booking,
                        amount_minor: salary,
                        credit: true,
                        description: format!("SALARY {employer}"),
                        profile: SALARY,
                        pending: false,
                    });
                }
            }
            while txs.len() < count as usize {
                let index = txs.len() as u64;
                let booking = anchor - 365 * DAY + rng.range(0, 365 * DAY - 1);
                txs.push(transaction(
                    seed, &shell, provider, index, booking, &mut rng,
                ));
            }
            let opening = opening_balance(&txs, shell.kind, &mut rng);
            let mut account = Account {
                id: shell.id,
                customer: customer.to_string(),
                provider,
                kind: shell.kind,
                holder: shell.holder,
                description: shell.description,
                iban: shell.iban,
                opening_minor: opening,
                balance_minor: opening,
                consent_ids: Vec::new(),
                updated_at: now,
                balances_updated_at: now,
                transactions_updated_at: now,
                next_index: txs.len() as u64,
                txs,
            };
            account.balance_minor =
                opening.saturating_add(account.txs.iter().map(Tx::signed).sum());
            account.sort();
            account
        })
        .collect()
}

/// The 25th of each of the last 12 months, 05:00 UTC, strictly before `anchor`, newest first.
fn salary_dates(anchor: i64) -> Vec<i64> {
    let start = anchor - 365 * DAY;
    let anchor_date = crate::timefmt::from_unix(anchor).date();
    (0..13)
        .filter_map(|back| {
            let first = crate::timefmt::month_start(anchor_date, back);
            let d = Date::from_calendar_date(first.year(), first.month(), 25).ok()?;
            let t = Time::from_hms(5, 0, 0).ok()?;
            Some(PrimitiveDateTime::new(d, t).assume_utc().unix_timestamp())
        })
        .filter(|&t| t >= start && t < anchor)
        .take(12)
        .collect()
}

/// One non-salary transaction for `account` with the deterministic id `index`.
fn transaction(
    seed: u64,
    account: &Shell,
    provider: &Provider,
    index: u64,
    booking: i64,
    rng: &mut SplitMix64,
) -> Tx {
    let pool = match account.kind {
        // About one in twenty non-salary current-account transactions is money coming in.
        AccountKind::Current if rng.below(20) == 0 => Pool::CurrentCredit,
        AccountKind::Current => Pool::CurrentDebit,
        // Savings mostly receive transfers.
        AccountKind::Savings if rng.below(10) < 7 => Pool::SavingsIn,
        AccountKind::Savings => Pool::SavingsOut,
    };
    let (profile_index, profile) = choose(pool, provider.country, rng);
    let amount = {
        let raw = rng.range(profile.min, profile.max);
        let step = profile.step.max(1);
        (raw / step * step).max(step)
    };
    let who = format!("{} {}", pick(rng, FIRST_NAMES), pick(rng, LAST_NAMES));
    let description = profile
        .template
        .replace("{merchant}", profile.merchant.unwrap_or(""))
        .replace("{city}", pick(rng, provider.cities))
        .replace("{who}", &who);
    Tx {
        id: prng::uuid(seed, &["tx", &account.id, &index.to_string()]),
        booking,
        amount_minor: amount,
        credit: profile.credit,
        description,
        profile: profile_index,
        pending: false,
    }
}

/// A weighted draw from the profiles of `pool` available in `country`.
fn choose(pool: Pool, country: &str, rng: &mut SplitMix64) -> (u16, &'static Profile) {
    let eligible = || {
        PROFILES
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.pool == pool && p.country.is_none_or(|c| c == country))
    };
    let total: u64 = eligible().map(|(_, p)| p.weight).sum();
    let mut roll = rng.below(total);
    for (i, p) in eligible() {
        if roll < p.weight {
            return (i as u16, p);
        }
        roll -= p.weight;
    }
    (SALARY, profile(SALARY))
}

/// An opening balance that keeps the seeded history from ever going overdrawn, plus a cushion,
/// so balance insights look like a real account whatever `transactions_per_account` is.
fn opening_balance(txs: &[Tx], kind: AccountKind, rng: &mut SplitMix64) -> i64 {
    let mut ordered: Vec<&Tx> = txs.iter().collect();
    ordered.sort_by_key(|t| t.booking);
    let mut running = 0i64;
    let mut lowest = 0i64;
    for t in ordered {
        running = running.saturating_add(t.signed());
        lowest = lowest.min(running);
    }
    let cushion = match kind {
        AccountKind::Current => rng.range(150_000, 1_500_000),
        AccountKind::Savings => rng.range(1_000_000, 20_000_000),
    };
    cushion.saturating_sub(lowest)
}

/// `count` new transactions booked at `now` on `account`, continuing its id sequence so the
/// same calls on the same data give the same ids.
pub(crate) fn extra_transactions(seed: u64, account: &Account, count: u32, now: i64) -> Vec<Tx> {
    let shell = Shell {
        id: account.id.clone(),
        kind: account.kind,
        holder: account.holder.clone(),
        description: account.description.clone(),
        iban: account.iban.clone(),
    };
    (0..u64::from(count))
        .map(|i| {
            let index = account.next_index + i;
            let mut rng = SplitMix64::new(prng::hash(
                seed,
                &["extra", &account.id, &index.to_string()],
            ));
            transaction(seed, &shell, account.provider, index, now, &mut rng)
        })
        .collect()
}

/// Months (year, month) of the salary dates; used by tests.
#[cfg(test)]
fn months_of(dates: &[i64]) -> Vec<(i32, time::Month)> {
    dates
        .iter()
        .map(|&t| {
            let d = crate::timefmt::from_unix(t).date();
            (d.year(), d.month())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::banks::{provider, PROVIDERS};
    use crate::merchants::is_salary;
    use time::{macros::datetime, Month};

    #[test]
    fn ibans_have_valid_check_digits() {
        for p in &PROVIDERS {
            for s in shells(42, "cust-1", p) {
                let want_len = if p.country == "BH" { 22 } else { 24 };
                assert_eq!(s.iban.len(), want_len, "{}", s.iban);
                let rearranged = format!("{}{}", &s.iban[4..], &s.iban[..4]);
                let rem = rearranged.chars().fold(0u32, |rem, c| {
                    let v = c.to_digit(36).unwrap_or(0);
                    if v >= 10 {
                        (rem * 100 + v) % 97
                    } else {
                        (rem * 10 + v) % 97
                    }
                });
                assert_eq!(rem, 1, "{}", s.iban);
            }
        }
    }

    #[test]
    fn twelve_monthly_salaries_inside_the_window() {
        let anchor = datetime!(2024-06-10 00:00 UTC).unix_timestamp();
        let dates = salary_dates(anchor);
        assert_eq!(dates.len(), 12);
        let months = months_of(&dates);
        assert_eq!(months[0], (2024, Month::May));
        assert_eq!(months[11], (2023, Month::June));
    }

    #[test]
    fn seeding_is_deterministic_and_consistent() {
        let now = datetime!(2024-06-10 12:00 UTC);
        let blue = provider("BLUE").map(|p| accounts(42, "u1", p, 300, now));
        let again = provider("BLUE").map(|p| accounts(42, "u1", p, 300, now));
        let (Some(a), Some(b)) = (blue, again) else {
            panic!("BLUE missing")
        };
        assert_eq!(a.len(), 2);
        assert_eq!(a[0].txs.len(), 300);
        assert_eq!(a[1].txs.len(), 30);
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(x.id, y.id);
            assert_eq!(x.balance_minor, y.balance_minor);
            let ids = |acc: &Account| acc.txs.iter().map(|t| t.id.clone()).collect::<Vec<_>>();
            assert_eq!(ids(x), ids(y));
            let sum: i64 = x.txs.iter().map(Tx::signed).sum();
            assert_eq!(x.balance_minor, x.opening_minor + sum);
            assert!(x.txs.windows(2).all(|w| w[0].booking >= w[1].booking));
            assert!(x
                .txs
                .iter()
                .all(|t| t.amount_minor > 0 && t.booking < now.unix_timestamp()));
        }
        assert_eq!(a[0].txs.iter().filter(|t| is_salary(t)).count(), 12);
        // BHD has three decimals and most amounts use the third.
        let odd = a[0].txs.iter().filter(|t| t.amount_minor % 10 != 0).count();
        assert!(odd > 150, "{odd}");
    }
}
