//! What is known about vulnerabilities, and which of them affect a device.
//!
//! - [`cvss`]: CVSS v3.0/v3.1 (base, temporal, environmental) and v4.0 scoring.
//! - [`cpe`]: CPE 2.3 names (WFN, URI and formatted-string bindings) and NISTIR 7696 matching.
//! - [`csaf`], [`nvd`], [`kev`], [`epss`], [`sbom`]: lenient readers of the published formats, each
//!   producing the records of [`model`].
//!
//! The crate is pure: it takes bytes and returns records; it never reads the network, the clock or a
//! database (downloads live in `medsentry-fetch`, persistence in `medsentry-store`).

pub mod cpe;
pub mod csaf;
pub mod cvss;
pub mod epss;
pub mod kb;
pub mod kev;
pub mod matcher;
pub mod model;
pub mod nvd;
pub mod sbom;
pub mod vendors;
pub mod version;
