//! Reader of software bills of materials: CycloneDX JSON (with its VEX `vulnerabilities[]`) and SPDX
//! 2.x JSON, reduced to [`Sbom`]. [`parse`] tells the two apart from the content.
//!
//! # CycloneDX
//!
//! Spec: <https://cyclonedx.org/specification/overview/>, JSON schemas `bom-1.x.schema.json` in
//! <https://github.com/CycloneDX/specification>. Versions 1.4, 1.5 and 1.6 are the target; 1.2 and
//! 1.3 documents read the same way (the fields used here have not changed). Kept:
//!
//! - `serialNumber` as [`Provenance::id`] (empty when absent, as in many standalone VEX documents),
//!   `version` as [`Provenance::version`], `metadata.timestamp` as [`Provenance::date`],
//!   `specVersion`;
//! - `metadata.component` as the subject;
//! - `components[]` flattened depth-first with their nested `components` (and those nested under
//!   `metadata.component`), each with `bom-ref`, `type`, `name`, `version`, `purl`, `cpe` and a
//!   supplier: `supplier.name`, else `manufacturer.name` (1.6), `publisher`, `author`,
//!   `authors[0].name` (1.6); for the subject also `metadata.manufacturer`/`manufacture`/`supplier`.
//!   `group` (a Maven group id, an npm scope) is not part of the name: names stay as published so
//!   they can be compared with CPE products. It becomes the supplier when nothing else names one.
//!   `services[]` are not components and are not read.
//! - `vulnerabilities[]` as VEX: one [`VexStatement`] per `affects[].ref` (a `bom-ref` or a BOM-Link
//!   `urn:cdx:...`), with `id` as the CVE (kept as published, which may be a GHSA or other id).
//!   `analysis.state` maps: `exploitable` → Affected, `resolved` / `resolved_with_pedigree` → Fixed,
//!   `not_affected` / `false_positive` → NotAffected, `in_triage` → UnderInvestigation. A
//!   vulnerability without an analysis state is Affected: the BOM lists it against those components
//!   and nobody has said otherwise. An unknown state is UnderInvestigation, with the state in the
//!   detail. `analysis.justification` is the justification; the detail joins `analysis.detail`,
//!   `response: ...` and the `affects[].versions[]` (`versions: 2.4 (affected), ...`), since
//!   [`VexStatement`] has no field for the versions. A vulnerability without `affects` says nothing
//!   about a component this reader can name, and gives no statement.
//!
//! # SPDX 2.x
//!
//! Spec: SPDX 2.3, <https://spdx.github.io/spdx-spec/v2.3/> (JSON schema `spdx-schema.json`); 2.2 JSON
//! has the same fields and is read too. Kept: `spdxVersion`, `documentNamespace` as the provenance id
//! (else `name`), `creationInfo.created` as the date, every `packages[]` entry as a component
//! (`SPDXID`, `name`, `versionInfo`, `primaryPackagePurpose` lowercased as the kind, `supplier` (else
//! `originator`) without its `Organization:`/`Person:`/`Tool:` prefix and trailing `(email)`, and
//! `NOASSERTION` as none), and from `externalRefs[]` the first `purl` and the first `cpe23Type` (else
//! `cpe22Type`) locator. The subject is the package named by `documentDescribes`, a `DESCRIBES`
//! relationship of the document or a `DESCRIBED_BY` one; it stays among the components too. Without
//! one, the subject is the document itself (its `name`). Files, snippets and licences are not read.
//! SPDX 3.0 (JSON-LD) is refused with a message.
//!
//! # Bounds and errors
//!
//! At most [`MAX_COMPONENTS`] components and [`MAX_COMPONENTS`] VEX statements are kept; a larger
//! document is an error (its components were read, so memory is bounded by the input's size, but a
//! silently cut inventory would mislead). Texts are capped at [`crate::nvd::MAX_TEXT`] bytes. Nesting
//! is bounded by serde_json's recursion limit (128). Unknown fields are ignored and `null` is absent;
//! malformed JSON and values of the wrong structure are errors with line and column.

use serde::Deserialize;

use crate::model::{Component, FormatError, Provenance, Sbom, SourceKind, VexState, VexStatement};
use crate::nvd::MAX_TEXT;
use crate::nvd::lenient::{self, List, Text, TextList};

/// Most components (and, separately, VEX statements) kept from one document.
pub const MAX_COMPONENTS: usize = 100_000;

const FORMAT: &str = "sbom";

/// Reads a CycloneDX JSON or SPDX 2.x JSON document, whichever it is.
pub fn parse(bytes: &[u8]) -> Result<Sbom, FormatError> {
    let bytes = lenient::json_object(FORMAT, bytes)?;
    let doc: RawDocument =
        serde_json::from_slice(bytes).map_err(|e| lenient::json_error(FORMAT, &e))?;
    if let Some(bom_format) = doc.bom_format.get() {
        if bom_format != "CycloneDX" {
            return Err(FormatError::new(
                FORMAT,
                format!("$.bomFormat is `{bom_format}`, expected `CycloneDX`"),
            ));
        }
        return cyclonedx(doc);
    }
    if let Some(version) = doc.spdx_version.get() {
        if !version.starts_with("SPDX-2.") {
            return Err(FormatError::new(
                FORMAT,
                format!("$.spdxVersion is `{version}`: only SPDX 2.x JSON is read"),
            ));
        }
        return spdx(doc);
    }
    if doc
        .context
        .as_ref()
        .is_some_and(|c| c.to_string().contains("spdx.org/rdf/3"))
    {
        return Err(FormatError::new(
            FORMAT,
            "SPDX 3 JSON-LD is not read; export the SBOM as SPDX 2.3 JSON or CycloneDX",
        ));
    }
    Err(FormatError::new(
        FORMAT,
        "not an SBOM: expected `bomFormat: \"CycloneDX\"` or `spdxVersion: \"SPDX-2.x\"`",
    ))
}

/// Whether `prefix` (at most 64 KiB are looked at) looks like an SBOM this module reads.
///
/// Heuristic: a JSON object that mentions both `"bomFormat"` and `CycloneDX`, or both
/// `"spdxVersion"` and `SPDX-2.` (CycloneDX puts `bomFormat` first; SPDX tools put `spdxVersion`
/// near the top). SPDX 3 JSON-LD, XML and tag-value documents do not qualify.
pub fn looks_like(prefix: &[u8]) -> bool {
    let Some(head) = lenient::json_object_head(prefix) else {
        return false;
    };
    (lenient::contains(head, b"\"bomFormat\"") && lenient::contains(head, b"CycloneDX"))
        || (lenient::contains(head, b"\"spdxVersion\"") && lenient::contains(head, b"SPDX-2."))
}

fn too_many(what: &str, format: &'static str) -> FormatError {
    FormatError::new(
        format,
        format!("more than {MAX_COMPONENTS} {what}; split the document"),
    )
}

fn cyclonedx(doc: RawDocument) -> Result<Sbom, FormatError> {
    const CDX: &str = "cyclonedx";
    let metadata = doc.metadata.unwrap_or_default();
    let mut subject = None;
    // Depth-first in document order: the stack holds the siblings still to visit, reversed. The
    // sub-components of `metadata.component` come after the top-level ones.
    let mut stack: Vec<CdxComponent> = Vec::new();
    if let Some(mut meta) = metadata.component {
        stack.extend(std::mem::take(&mut meta.components.0).into_iter().rev());
        let maker = [
            &metadata.manufacturer,
            &metadata.manufacture,
            &metadata.supplier,
        ]
        .into_iter()
        .flatten()
        .find_map(|org| org.name.get().map(str::to_owned));
        subject = Some(meta.into_component(maker));
    }
    stack.extend(doc.components.0.into_iter().rev());
    let mut components = Vec::new();
    while let Some(mut raw) = stack.pop() {
        if components.len() == MAX_COMPONENTS {
            return Err(too_many("components", CDX));
        }
        stack.extend(std::mem::take(&mut raw.components.0).into_iter().rev());
        components.push(raw.into_component(None));
    }

    let mut vex = Vec::new();
    for (idx, vuln) in doc.vulnerabilities.0.into_iter().enumerate() {
        let Some(cve) = vuln.id.into_opt() else {
            return Err(FormatError::new(
                CDX,
                format!("$.vulnerabilities[{idx}].id: missing vulnerability id"),
            ));
        };
        let analysis = vuln.analysis.unwrap_or_default();
        let (state, unknown_state) = match analysis.state.get() {
            None => (VexState::Affected, None),
            Some("exploitable") => (VexState::Affected, None),
            Some("resolved" | "resolved_with_pedigree") => (VexState::Fixed, None),
            Some("not_affected" | "false_positive") => (VexState::NotAffected, None),
            Some("in_triage") => (VexState::UnderInvestigation, None),
            Some(other) => (VexState::UnderInvestigation, Some(other.to_owned())),
        };
        let mut parts = Vec::new();
        if let Some(detail) = analysis.detail.get() {
            parts.push(detail.to_owned());
        }
        if !analysis.response.0.is_empty() {
            parts.push(format!("response: {}", analysis.response.0.join(", ")));
        }
        if let Some(state) = unknown_state {
            parts.push(format!("state: {state}"));
        }
        let justification = analysis.justification.into_opt();
        for affects in vuln.affects.0 {
            let Some(subject) = affects.reference.into_opt() else {
                continue;
            };
            if vex.len() == MAX_COMPONENTS {
                return Err(too_many("VEX statements", CDX));
            }
            let mut parts = parts.clone();
            let versions: Vec<String> = affects
                .versions
                .0
                .into_iter()
                .filter_map(|v| {
                    let what = v.version.into_opt().or_else(|| v.range.into_opt())?;
                    Some(match v.status.into_opt() {
                        Some(status) => format!("{what} ({status})"),
                        None => what,
                    })
                })
                .collect();
            if !versions.is_empty() {
                parts.push(format!("versions: {}", versions.join(", ")));
            }
            vex.push(VexStatement {
                cve: cve.clone(),
                subject,
                state,
                justification: justification.clone(),
                detail: (!parts.is_empty()).then(|| lenient::cap_text(parts.join("; "), MAX_TEXT)),
            });
        }
    }

    Ok(Sbom {
        provenance: Provenance {
            id: doc.serial_number.into_string(),
            version: doc.version.into_opt(),
            date: metadata.timestamp.into_opt(),
        },
        format: Some(SourceKind::CycloneDx),
        spec_version: doc.spec_version.into_string(),
        subject,
        components,
        vex,
    })
}

fn spdx(doc: RawDocument) -> Result<Sbom, FormatError> {
    const SPDX: &str = "spdx";
    if doc.packages.0.len() > MAX_COMPONENTS {
        return Err(too_many("packages", SPDX));
    }
    let components: Vec<Component> = doc
        .packages
        .0
        .into_iter()
        .map(SpdxPackage::into_component)
        .collect();
    let doc_id = doc.spdx_id.get().unwrap_or("SPDXRef-DOCUMENT").to_owned();
    let described = doc
        .document_describes
        .0
        .iter()
        .find_map(|d| d.get())
        .or_else(|| {
            doc.relationships.0.iter().find_map(|r| {
                let kind = r.kind.get()?;
                if kind.eq_ignore_ascii_case("DESCRIBES") && r.element.get() == Some(&doc_id) {
                    r.related.get()
                } else if kind.eq_ignore_ascii_case("DESCRIBED_BY")
                    && r.related.get() == Some(&doc_id)
                {
                    r.element.get()
                } else {
                    None
                }
            })
        });
    let name = doc.name.into_opt();
    let subject = match described {
        Some(id) => Some(
            components
                .iter()
                .find(|c| c.reference.as_deref() == Some(id))
                .cloned()
                .unwrap_or_else(|| Component {
                    reference: Some(id.to_owned()),
                    name: name.clone().unwrap_or_default(),
                    ..Component::default()
                }),
        ),
        None => name.clone().map(|name| Component {
            reference: Some(doc_id.clone()),
            name,
            ..Component::default()
        }),
    };
    Ok(Sbom {
        provenance: Provenance {
            id: doc
                .document_namespace
                .into_opt()
                .or(name)
                .unwrap_or_default(),
            version: None,
            date: doc.creation_info.and_then(|c| c.created.into_opt()),
        },
        format: Some(SourceKind::Spdx),
        spec_version: doc.spdx_version.into_string(),
        subject,
        components,
        vex: Vec::new(),
    })
}

/// `Organization: ACME Inc. (security@acme.example)` → `ACME Inc.`; `NOASSERTION` → none.
fn spdx_actor(text: &str) -> Option<String> {
    let mut text = text.trim();
    if text.eq_ignore_ascii_case("NOASSERTION") || text.eq_ignore_ascii_case("NONE") {
        return None;
    }
    for prefix in ["Organization:", "Person:", "Tool:"] {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.trim_start();
            break;
        }
    }
    if text.ends_with(')')
        && let Some(open) = text.rfind('(')
    {
        let inside = &text[open + 1..text.len() - 1];
        if inside.is_empty() || inside.contains('@') {
            text = text[..open].trim_end();
        }
    }
    (!text.is_empty()).then(|| text.to_owned())
}

/// One pass reads either format: the two share no top-level key that matters here.
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct RawDocument {
    // CycloneDX
    bom_format: Text,
    spec_version: Text,
    serial_number: Text,
    version: Text,
    metadata: Option<CdxMetadata>,
    components: List<CdxComponent>,
    vulnerabilities: List<CdxVulnerability>,
    // SPDX 2.x
    spdx_version: Text,
    #[serde(rename = "SPDXID")]
    spdx_id: Text,
    name: Text,
    document_namespace: Text,
    creation_info: Option<SpdxCreationInfo>,
    packages: List<SpdxPackage>,
    document_describes: List<Text>,
    relationships: List<SpdxRelationship>,
    // SPDX 3 (recognised only to refuse it clearly)
    #[serde(rename = "@context")]
    context: Option<serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxMetadata {
    timestamp: Text,
    component: Option<CdxComponent>,
    supplier: Option<CdxOrganization>,
    manufacturer: Option<CdxOrganization>,
    /// 1.4/1.5 name of what 1.6 calls `manufacturer`.
    manufacture: Option<CdxOrganization>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxOrganization {
    name: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxComponent {
    #[serde(rename = "bom-ref")]
    bom_ref: Text,
    #[serde(rename = "type")]
    kind: Text,
    supplier: Option<CdxOrganization>,
    manufacturer: Option<CdxOrganization>,
    publisher: Text,
    author: Text,
    authors: List<CdxOrganization>,
    group: Text,
    name: Text,
    version: Text,
    purl: Text,
    cpe: Text,
    components: List<CdxComponent>,
}

impl CdxComponent {
    /// The component without its nested components (the caller flattens those). The supplier is
    /// the component's own, else `fallback`, else its `group`.
    fn into_component(self, fallback: Option<String>) -> Component {
        let supplier = [&self.supplier, &self.manufacturer]
            .into_iter()
            .flatten()
            .find_map(|org| org.name.get().map(str::to_owned))
            .or_else(|| self.publisher.get().map(str::to_owned))
            .or_else(|| self.author.get().map(str::to_owned))
            .or_else(|| {
                self.authors
                    .0
                    .iter()
                    .find_map(|a| a.name.get().map(str::to_owned))
            })
            .or(fallback)
            .or_else(|| self.group.get().map(str::to_owned));
        Component {
            reference: self.bom_ref.into_opt(),
            kind: self.kind.into_opt(),
            supplier,
            name: self.name.into_string(),
            version: self.version.into_opt(),
            purl: self.purl.into_opt(),
            cpe: self.cpe.into_opt(),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxVulnerability {
    id: Text,
    analysis: Option<CdxAnalysis>,
    affects: List<CdxAffects>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxAnalysis {
    state: Text,
    justification: Text,
    response: TextList,
    detail: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxAffects {
    #[serde(rename = "ref")]
    reference: Text,
    versions: List<CdxAffectedVersion>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CdxAffectedVersion {
    version: Text,
    range: Text,
    status: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpdxCreationInfo {
    created: Text,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpdxPackage {
    #[serde(rename = "SPDXID")]
    spdx_id: Text,
    name: Text,
    version_info: Text,
    supplier: Text,
    originator: Text,
    primary_package_purpose: Text,
    external_refs: List<SpdxExternalRef>,
}

impl SpdxPackage {
    fn into_component(self) -> Component {
        let locator = |types: &[&str]| {
            types.iter().find_map(|t| {
                self.external_refs.0.iter().find_map(|r| {
                    r.reference_type
                        .get()
                        .filter(|rt| rt.eq_ignore_ascii_case(t))
                        .and_then(|_| r.reference_locator.get().map(str::to_owned))
                })
            })
        };
        let purl = locator(&["purl"]);
        let cpe = locator(&["cpe23Type", "cpe22Type"]);
        let supplier = self
            .supplier
            .get()
            .and_then(spdx_actor)
            .or_else(|| self.originator.get().and_then(spdx_actor));
        Component {
            reference: self.spdx_id.into_opt(),
            kind: self
                .primary_package_purpose
                .get()
                .map(str::to_ascii_lowercase),
            supplier,
            name: self.name.into_string(),
            version: self.version_info.into_opt(),
            purl,
            cpe,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct SpdxExternalRef {
    reference_type: Text,
    reference_locator: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SpdxRelationship {
    #[serde(rename = "spdxElementId")]
    element: Text,
    #[serde(rename = "relationshipType")]
    kind: Text,
    #[serde(rename = "relatedSpdxElement")]
    related: Text,
}
