//! The wheel model shared by `dist` (writes wheels) and `check` (verifies them): distribution
//! names and versions, wheel and sdist file names, platform tags, RECORD rows, METADATA and the
//! deterministic writer. Every value is parsed here once; other modules hold the typed values.

pub mod filename;
pub mod metadata;
pub mod name;
pub mod record;
pub mod tag;
pub mod writer;

pub use filename::{FilenameError, Platforms, SdistFilename, WheelFilename};
pub use name::{DistName, Version};
pub use record::{RecordEntry, RecordHash};
pub use tag::{Arch, BinaryExpectation, BinaryFormat, Os, PlatformTag, Version2};
