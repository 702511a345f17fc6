//! The policy file (`--config`, TOML): settings a site keeps from run to run. Unknown keys are errors,
//! so a typo never silently does nothing.

use std::path::Path;

use anyhow::Context;
use serde::Deserialize;

/// The whole file. Every section is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub ports: Ports,
}

/// Extra TCP ports for protocols that content detection may miss (a stream picked up mid-message).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ports {
    #[serde(default)]
    pub hl7: Vec<u16>,
    #[serde(default)]
    pub dicom: Vec<u16>,
    /// Ports where TLS protects DICOM (2762 is built in) or HL7.
    #[serde(default)]
    pub dicom_tls: Vec<u16>,
    #[serde(default)]
    pub hl7_tls: Vec<u16>,
}

impl Config {
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read config file {}", path.display()))?;
        // toml's own Display draws the offending line over several lines: keep the error to one.
        toml::from_str(&text).map_err(|e| {
            let at = e
                .span()
                .map(|s| format!(" at byte {}", s.start))
                .unwrap_or_default();
            anyhow::anyhow!("config file {}: {}{at}", path.display(), e.message().trim())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_ports_and_refuses_unknown_keys() {
        let c: Config =
            toml::from_str("[ports]\nhl7 = [6000, 7001]\ndicom_tls = [2763]\n").unwrap();
        assert_eq!(c.ports.hl7, vec![6000, 7001]);
        assert_eq!(c.ports.dicom_tls, vec![2763]);
        assert!(c.ports.dicom.is_empty());
        assert!(toml::from_str::<Config>("[ports]\nhl7_port = [1]\n").is_err());
        assert!(toml::from_str::<Config>("[port]\nhl7 = [1]\n").is_err());
        assert!(toml::from_str::<Config>("[ports]\nhl7 = [70000]\n").is_err());
        let empty: Config = toml::from_str("").unwrap();
        assert!(empty.ports.hl7.is_empty());
    }
}
