//! The wheel model shared by `dist` (writes wheels) and `check` (verifies them).

pub mod filename;
pub mod metadata;
pub mod tag;
pub mod writer;

pub use filename::{normalize_dist_name, WheelFilename};
pub use tag::{Arch, BinaryExpectation, BinaryFormat, Os, PlatformTag, Version2};
