//! Synthetic hospital traffic with exact ground truth.

pub mod payload;
pub mod rng;
