//! Prints the median time of one argon2id hash with pfn's parameters, in milliseconds.
//! Used by `bench/auth.sh` for the sign-in ceiling (cores / one hash time).

use std::time::Instant;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let passwords = backend::password::Passwords::new(1).await?;
    let mut times = Vec::new();
    for i in 0..21 {
        let start = Instant::now();
        passwords.hash(&format!("benchmark password {i}")).await?;
        times.push(start.elapsed().as_secs_f64() * 1000.0);
    }
    times.sort_by(f64::total_cmp);
    println!("{:.1}", times[times.len() / 2]);
    Ok(())
}
