//! Stamps the binary with its commit and build date for `pfn --version` (`cli::VERSION`).
//! The commit is git's (`unknown` outside a checkout, or `PFN_BUILD_COMMIT`); the date is
//! `SOURCE_DATE_EPOCH`'s when set (reproducible builds), else the day of the build, in UTC.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    (out.status.success() && !text.trim().is_empty()).then(|| text.trim().to_string())
}

fn main() {
    let commit = std::env::var("PFN_BUILD_COMMIT")
        .ok()
        .or_else(|| git(&["rev-parse", "--short=12", "HEAD"]))
        .unwrap_or_else(|| "unknown".into());
    let when = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(secs) => {
            let secs: i64 = secs.trim().parse().expect("SOURCE_DATE_EPOCH is seconds");
            time::OffsetDateTime::from_unix_timestamp(secs).expect("SOURCE_DATE_EPOCH in range")
        }
        Err(_) => time::OffsetDateTime::now_utc(),
    };
    println!("cargo:rustc-env=PFN_COMMIT={commit}");
    println!("cargo:rustc-env=PFN_BUILD_DATE={}", when.date());
    println!("cargo:rerun-if-env-changed=PFN_BUILD_COMMIT");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    // A new commit moves the branch's ref (or HEAD itself, when detached).
    for path in ["HEAD", "packed-refs"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        if let Some(p) = git(&["rev-parse", "--git-path", &branch]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
