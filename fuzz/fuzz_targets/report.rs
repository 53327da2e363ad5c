//! `cargo fuzz run report`: see `fuzz/README.md` and `custody_fuzz::report` for what it checks.

#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| custody_fuzz::report(data));
