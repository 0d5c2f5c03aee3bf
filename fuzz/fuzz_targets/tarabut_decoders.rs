//! Tarabut's responses, whatever the gateway (or something pretending to be it) sends: the
//! decoders and the amount and time readers never panic, and a transaction they accept has an
//! amount whose sign follows its debit/credit flag.
#![no_main]

use backend::tarabut::wire::{
    parse_time, Accounts, Balances, ErrorEnvelope, Intent, Providers, Salaries, TokenResponse,
    Transactions,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<TokenResponse>(data);
    let _ = serde_json::from_slice::<ErrorEnvelope>(data);
    let _ = serde_json::from_slice::<Providers>(data);
    let _ = serde_json::from_slice::<Intent>(data);
    let _ = serde_json::from_slice::<Accounts>(data);
    if let Ok(balances) = serde_json::from_slice::<Balances>(data) {
        for b in &balances.balances {
            let _ = b.amount.minor();
        }
    }
    if let Ok(salaries) = serde_json::from_slice::<Salaries>(data) {
        for s in &salaries.salaries {
            let _ = s.salary_amount.minor();
        }
    }
    if let Ok(page) = serde_json::from_slice::<Transactions>(data) {
        for t in &page.transactions {
            let _ = parse_time(&t.booking_date_time);
            if let Some(minor) = t.signed_minor() {
                match t.credit_debit_indicator.to_ascii_lowercase().as_str() {
                    "credit" => assert!(minor >= 0),
                    _ => assert!(minor <= 0),
                }
            }
        }
    }
});
