//! Hashing files and folders (being written).
