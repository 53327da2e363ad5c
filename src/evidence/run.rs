//! Running a command step (being written).
