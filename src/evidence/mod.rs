//! Evidence: hashing files and folders without ever showing their content, and running the
//! runbook's commands that capture the system's volatile state.

pub mod hash;
pub mod manifest;
pub mod run;
mod walk;
