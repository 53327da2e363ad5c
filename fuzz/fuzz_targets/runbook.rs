//! `cargo fuzz run runbook`: see `fuzz/README.md` and `custody_fuzz::runbook` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::runbook(data));
