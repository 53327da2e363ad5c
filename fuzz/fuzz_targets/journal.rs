//! `cargo fuzz run journal`: see `fuzz/README.md` and `custody_fuzz::journal` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::journal(data));
