//! The records the importers produce and the matcher reads.
//!
//! Each published format has its own reader ([`crate::csaf`], [`crate::nvd`], [`crate::kev`],
//! [`crate::epss`], [`crate::sbom`]); they all reduce to these types, which keep what matching,
//! ranking and explaining need and the provenance of every record ([`Provenance`]). The types are
//! serde-serialisable: the store keeps each imported document as one JSON body of these records.
//!
//! Strings are kept as published (vendor "Baxter Healthcare", version "R2.3.4"); normalisation is the
//! matcher's job, so an explanation can quote the advisory's own words.

use serde::{Deserialize, Serialize};

/// Which kind of document a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A CSAF 2.0 document (security advisory, VEX, or informational).
    Csaf,
    /// An NVD CVE API 2.0 record.
    Nvd,
    /// The CISA Known Exploited Vulnerabilities catalogue.
    Kev,
    /// A FIRST EPSS daily scores file.
    Epss,
    /// A CycloneDX SBOM (its `vulnerabilities[]` are VEX statements).
    CycloneDx,
    /// An SPDX 2.3 SBOM.
    Spdx,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceKind::Csaf => "csaf",
            SourceKind::Nvd => "nvd",
            SourceKind::Kev => "kev",
            SourceKind::Epss => "epss",
            SourceKind::CycloneDx => "cyclonedx",
            SourceKind::Spdx => "spdx",
        }
    }
}

/// Where a record came from: the document, its own version and date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The document's identity: a CSAF tracking id, a CVE id, `kev`, `epss`, an SBOM serial number.
    pub id: String,
    /// The document's own version (CSAF tracking version, KEV catalogue version, EPSS model version).
    pub version: Option<String>,
    /// The document's date as published (RFC 3339 or a plain date): CSAF current release date, NVD
    /// last-modified, KEV release date, EPSS score date, SBOM timestamp.
    pub date: Option<String>,
}

/// One CSAF 2.0 document.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Advisory {
    pub provenance: Provenance,
    /// `document.category`: `csaf_security_advisory`, `csaf_vex`, `csaf_informational_advisory` ...
    pub category: String,
    pub title: String,
    pub publisher: String,
    /// `document.tracking.initial_release_date`.
    pub initial_release: Option<String>,
    /// Every product of the product tree that has a `product_id`: branch leaves, full product names
    /// and relationships, flattened.
    pub products: Vec<Product>,
    /// `product_tree.product_groups`: group id and its product ids.
    pub groups: Vec<ProductGroup>,
    pub vulnerabilities: Vec<AdvisoryVuln>,
    /// Document-level references (URL and summary), e.g. the CISA advisory page.
    pub references: Vec<Reference>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductGroup {
    pub id: String,
    pub product_ids: Vec<String>,
    pub summary: Option<String>,
}

/// One product of a CSAF product tree, with the branch path that named it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Product {
    /// `product_id`, unique within the document.
    pub id: String,
    /// The full product name (`name` of the product object).
    pub name: String,
    /// From the branches above it: category `vendor`.
    pub vendor: Option<String>,
    /// `product_family` branches, outermost first.
    pub families: Vec<String>,
    /// `product_name` branches, outermost first (nested product names refine the model).
    pub product_names: Vec<String>,
    /// The version branch, if any.
    pub version: Option<VersionBranch>,
    /// Other branch categories met on the path (`service_pack`, `patch_level`, `architecture`, ...),
    /// as `category=name`.
    pub other_branches: Vec<String>,
    /// `product_identification_helper`.
    pub helper: IdentificationHelper,
    /// Set for products defined by `product_tree.relationships`.
    pub relationship: Option<Relationship>,
}

/// A `product_version` (one version as written) or `product_version_range` (a `vers:` string or the
/// free-form range text many advisories use, such as `<= 2.3.6` or `>= 1.3.4 | < 1.5.3`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "text", rename_all = "snake_case")]
pub enum VersionBranch {
    Version(String),
    Range(String),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IdentificationHelper {
    pub cpe: Option<String>,
    pub purl: Option<String>,
    pub model_numbers: Vec<String>,
    pub skus: Vec<String>,
    pub serial_numbers: Vec<String>,
    /// `x_generic_uris` and hashes are not used for matching; their count is kept for `kb status`.
    pub other: u32,
}

/// `product_tree.relationships[]`: `product_reference` is installed on / a component of / ...
/// `relates_to_product_reference`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Relationship {
    /// `default_component_of`, `external_component_of`, `installed_on`, `installed_with`, `optional_component_of`.
    pub category: String,
    pub product_reference: String,
    pub relates_to: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub url: String,
    pub summary: Option<String>,
    /// `self` or `external`.
    pub category: Option<String>,
}

/// One entry of a CSAF document's `vulnerabilities[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryVuln {
    pub cve: Option<String>,
    /// `cwe.id` and `cwe.name`.
    pub cwe: Option<(String, String)>,
    pub title: Option<String>,
    pub notes: Vec<Note>,
    pub status: ProductStatus,
    pub remediations: Vec<Remediation>,
    pub scores: Vec<CvssScore>,
    pub threats: Vec<Threat>,
    /// VEX justifications (`flags[]`): label (`vulnerable_code_not_present` ...) and product ids.
    pub flags: Vec<Flag>,
    pub references: Vec<Reference>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Note {
    pub category: String,
    pub title: Option<String>,
    pub text: String,
}

/// `product_status`: product ids by status.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProductStatus {
    pub known_affected: Vec<String>,
    pub fixed: Vec<String>,
    pub known_not_affected: Vec<String>,
    pub under_investigation: Vec<String>,
    pub first_affected: Vec<String>,
    pub first_fixed: Vec<String>,
    pub last_affected: Vec<String>,
    pub recommended: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Remediation {
    /// `vendor_fix`, `mitigation`, `workaround`, `none_available`, `no_fix_planned`.
    pub category: String,
    pub details: String,
    pub url: Option<String>,
    pub product_ids: Vec<String>,
    pub group_ids: Vec<String>,
    pub date: Option<String>,
}

/// A CVSS score as published with a record (the vector is authoritative; the published base score is
/// kept to show where it disagrees with ours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CvssScore {
    /// `3.0`, `3.1`, `4.0` (or `2.0` from NVD, kept for display only).
    pub version: String,
    pub vector: String,
    pub base_score: Option<f64>,
    /// Who scored it: NVD's `source` (`nvd@nist.gov`, a CNA's address); empty in CSAF.
    pub source: Option<String>,
    /// CSAF: the products this score applies to.
    pub product_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Threat {
    /// `exploit_status`, `impact`, `target_set`.
    pub category: String,
    pub details: String,
    pub product_ids: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub label: String,
    pub product_ids: Vec<String>,
    pub group_ids: Vec<String>,
}

/// One NVD CVE API 2.0 record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CveRecord {
    pub provenance: Provenance,
    pub id: String,
    pub published: Option<String>,
    pub last_modified: Option<String>,
    pub vuln_status: Option<String>,
    /// English description(s).
    pub descriptions: Vec<String>,
    pub metrics: Vec<CvssScore>,
    /// CWE ids (`CWE-79`, or NVD's `NVD-CWE-noinfo`).
    pub weaknesses: Vec<String>,
    pub configurations: Vec<Configuration>,
    pub references: Vec<Reference>,
    /// NVD's copy of the KEV fields (`cisaExploitAdd`, ...), when present.
    pub kev: Option<KevEntry>,
}

/// Logical operator of a configuration or node.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Operator {
    And,
    #[default]
    Or,
}

/// `configurations[]`: its nodes combined with `operator` (AND: every node must hold, as in
/// "firmware X on hardware Y").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub operator: Operator,
    pub negate: bool,
    pub nodes: Vec<Node>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub operator: Operator,
    pub negate: bool,
    pub matches: Vec<CpeMatch>,
}

/// `cpeMatch[]`: a CPE 2.3 pattern with an optional version range. `vulnerable: false` marks the
/// platform a vulnerable product must run on or with, not a vulnerable product itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CpeMatch {
    pub vulnerable: bool,
    pub criteria: String,
    pub version_start_including: Option<String>,
    pub version_start_excluding: Option<String>,
    pub version_end_including: Option<String>,
    pub version_end_excluding: Option<String>,
}

/// One entry of the CISA KEV catalogue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve: String,
    pub vendor: String,
    pub product: String,
    pub name: String,
    pub date_added: String,
    pub due_date: Option<String>,
    pub required_action: Option<String>,
    /// `Known` or `Unknown`.
    pub ransomware: Option<String>,
    pub notes: Option<String>,
    pub cwes: Vec<String>,
}

/// The KEV catalogue as imported.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct KevCatalog {
    pub provenance: Provenance,
    pub entries: Vec<KevEntry>,
}

/// One EPSS score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpssScore {
    pub cve: String,
    /// Probability of exploitation activity in the next 30 days, 0..1.
    pub epss: f32,
    /// Percentile among all scored CVEs, 0..1.
    pub percentile: f32,
}

/// An EPSS daily file: `provenance.version` is the model version, `provenance.date` the score date.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EpssFile {
    pub provenance: Provenance,
    pub scores: Vec<EpssScore>,
}

/// An SBOM (CycloneDX 1.4-1.6 JSON or SPDX 2.3 JSON), with the VEX statements a CycloneDX document
/// carries in `vulnerabilities[]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sbom {
    pub provenance: Provenance,
    pub format: Option<SourceKind>,
    /// CycloneDX `specVersion` or SPDX `spdxVersion`.
    pub spec_version: String,
    /// The subject: CycloneDX `metadata.component`, SPDX document name / described package.
    pub subject: Option<Component>,
    pub components: Vec<Component>,
    pub vex: Vec<VexStatement>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Component {
    /// CycloneDX `bom-ref` or SPDX `SPDXID`.
    pub reference: Option<String>,
    pub kind: Option<String>,
    pub supplier: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub purl: Option<String>,
    pub cpe: Option<String>,
}

/// A VEX statement: whether a vulnerability affects a product or component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VexStatement {
    pub cve: String,
    /// What the statement is about: a CycloneDX `bom-ref`, a PURL or CPE, or a CSAF product id.
    pub subject: String,
    pub state: VexState,
    /// CycloneDX `analysis.justification` or a CSAF flag label.
    pub justification: Option<String>,
    /// CycloneDX `analysis.detail` / `response`, or a CSAF impact statement.
    pub detail: Option<String>,
}

/// VEX status, CycloneDX `analysis.state` and CSAF `product_status` mapped onto one scale.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VexState {
    /// CycloneDX `exploitable`, CSAF `known_affected`.
    Affected,
    /// CycloneDX `resolved`/`resolved_with_pedigree`, CSAF `fixed`.
    Fixed,
    /// CycloneDX `not_affected`/`false_positive`, CSAF `known_not_affected`.
    NotAffected,
    /// CycloneDX `in_triage`, CSAF `under_investigation`.
    #[default]
    UnderInvestigation,
}

/// Any document an importer can read: the reader is chosen from the content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Document {
    Advisory(Advisory),
    /// A page of NVD results or a single record.
    Cves(Vec<CveRecord>),
    Kev(KevCatalog),
    Epss(EpssFile),
    Sbom(Sbom),
}

/// A document that a reader could not read: which format, and what was wrong (with the JSON path or
/// line number where there is one).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{format}: {message}")]
pub struct FormatError {
    pub format: &'static str,
    pub message: String,
}

impl FormatError {
    pub fn new(format: &'static str, message: impl Into<String>) -> FormatError {
        FormatError {
            format,
            message: message.into(),
        }
    }
}
