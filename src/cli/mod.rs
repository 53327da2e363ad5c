//! Printing for the commands that are more than a few lines.

pub mod hash;
pub mod report;
pub mod review;
pub mod sessions;
pub mod walk;
