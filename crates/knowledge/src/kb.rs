//! The knowledge base: every imported record, keyed the way the store keeps it, and the reader that
//! chooses a format from a document's content.
//!
//! A [`Record`] is what the store saves as one row: an advisory under its tracking id, one CVE under
//! its id, the KEV catalogue, the EPSS file, an SBOM under the device model it was attached to. The
//! same document imported twice gives the same key and the same body, so a re-import changes nothing;
//! a newer revision of a document replaces the older one, an older one is refused.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use crate::model::{
    Advisory, CveRecord, Document, EpssFile, FormatError, KevCatalog, KevEntry, Sbom, SourceKind,
    VexState,
};

/// The device model an SBOM describes (`kb import --sbom-for "VENDOR/MODEL[/VERSION]"`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SbomTarget {
    pub vendor: String,
    pub model: String,
    pub version: Option<String>,
}

impl SbomTarget {
    /// `VENDOR/MODEL` or `VENDOR/MODEL/VERSION`.
    pub fn parse(text: &str) -> Result<SbomTarget, String> {
        let parts: Vec<&str> = text.split('/').map(str::trim).collect();
        match parts.as_slice() {
            [v, m] if !v.is_empty() && !m.is_empty() => Ok(SbomTarget {
                vendor: v.to_string(),
                model: m.to_string(),
                version: None,
            }),
            [v, m, ver] if !v.is_empty() && !m.is_empty() && !ver.is_empty() => Ok(SbomTarget {
                vendor: v.to_string(),
                model: m.to_string(),
                version: Some(ver.to_string()),
            }),
            _ => Err(format!(
                "--sbom-for {text:?}: expected VENDOR/MODEL or VENDOR/MODEL/VERSION"
            )),
        }
    }

    pub fn key(&self) -> String {
        match &self.version {
            Some(v) => format!("{}/{}/{}", self.vendor, self.model, v),
            None => format!("{}/{}", self.vendor, self.model),
        }
    }
}

/// One stored unit of knowledge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    Advisory(Advisory),
    Cve(CveRecord),
    Kev(KevCatalog),
    Epss(EpssFile),
    Sbom { target: SbomTarget, sbom: Sbom },
}

impl Record {
    pub fn kind(&self) -> SourceKind {
        match self {
            Record::Advisory(_) => SourceKind::Csaf,
            Record::Cve(_) => SourceKind::Nvd,
            Record::Kev(_) => SourceKind::Kev,
            Record::Epss(_) => SourceKind::Epss,
            Record::Sbom { sbom, .. } => sbom.format.unwrap_or(SourceKind::CycloneDx),
        }
    }

    /// The store's key: unique within [`Record::kind`].
    pub fn key(&self) -> String {
        match self {
            Record::Advisory(a) => a.provenance.id.clone(),
            Record::Cve(c) => c.id.clone(),
            Record::Kev(_) => "kev".into(),
            Record::Epss(_) => "epss".into(),
            Record::Sbom { target, .. } => target.key(),
        }
    }

    /// The record's own version and date, to decide whether it is newer than a stored one.
    pub fn version(&self) -> Option<&str> {
        match self {
            Record::Advisory(a) => a.provenance.version.as_deref(),
            Record::Cve(c) => c.provenance.version.as_deref(),
            Record::Kev(k) => k.provenance.version.as_deref(),
            Record::Epss(e) => e.provenance.version.as_deref(),
            Record::Sbom { sbom, .. } => sbom.provenance.version.as_deref(),
        }
    }

    pub fn date(&self) -> Option<&str> {
        match self {
            Record::Advisory(a) => a.provenance.date.as_deref(),
            Record::Cve(c) => c.last_modified.as_deref().or(c.provenance.date.as_deref()),
            Record::Kev(k) => k.provenance.date.as_deref(),
            Record::Epss(e) => e.provenance.date.as_deref(),
            Record::Sbom { sbom, .. } => sbom.provenance.date.as_deref(),
        }
    }
}

/// Splits a read document into the records the store keeps.
pub fn records(doc: Document, sbom_for: Option<&SbomTarget>) -> Result<Vec<Record>, String> {
    Ok(match doc {
        Document::Advisory(a) => vec![Record::Advisory(a)],
        Document::Cves(cves) => cves.into_iter().map(Record::Cve).collect(),
        Document::Kev(k) => vec![Record::Kev(k)],
        Document::Epss(e) => vec![Record::Epss(e)],
        Document::Sbom(sbom) => {
            let target = match sbom_for {
                Some(t) => t.clone(),
                None => subject_target(&sbom).ok_or_else(|| {
                    "an SBOM needs --sbom-for VENDOR/MODEL[/VERSION] (its subject names no supplier and model)"
                        .to_string()
                })?,
            };
            vec![Record::Sbom { target, sbom }]
        }
    })
}

/// An SBOM whose subject names its supplier and product describes that model.
fn subject_target(sbom: &Sbom) -> Option<SbomTarget> {
    let s = sbom.subject.as_ref()?;
    Some(SbomTarget {
        vendor: s.supplier.clone().filter(|v| !v.is_empty())?,
        model: s.name.clone(),
        version: s.version.clone(),
    })
}

/// Reads one document, choosing the format from its content.
pub fn read(bytes: &[u8]) -> Result<Document, FormatError> {
    let head = &bytes[..bytes.len().min(64 * 1024)];
    let trimmed = trim_start(head);
    if trimmed.first() == Some(&b'{') || trimmed.first() == Some(&b'[') {
        if crate::csaf::looks_like(head) {
            return crate::csaf::parse(bytes).map(Document::Advisory);
        }
        if crate::nvd::looks_like(head) {
            return crate::nvd::parse(bytes).map(Document::Cves);
        }
        if crate::nvd::looks_like_cve5(head) {
            return crate::nvd::parse_cve5(bytes).map(|c| Document::Cves(vec![c]));
        }
        if crate::kev::looks_like(head) {
            return crate::kev::parse(bytes).map(Document::Kev);
        }
        if crate::sbom::looks_like(head) {
            return crate::sbom::parse(bytes).map(Document::Sbom);
        }
        return Err(FormatError::new(
            "json",
            "not a CSAF advisory, NVD CVE record, CVE 5 record, KEV catalogue or CycloneDX/SPDX SBOM",
        ));
    }
    if crate::epss::looks_like(head) {
        return crate::epss::parse(bytes).map(Document::Epss);
    }
    if crate::kev::looks_like_csv(head) {
        return crate::kev::parse_csv(bytes).map(Document::Kev);
    }
    Err(FormatError::new(
        "unknown",
        "neither JSON nor an EPSS or KEV CSV file",
    ))
}

fn trim_start(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Everything known, in memory, as the matcher reads it.
#[derive(Debug, Default)]
pub struct KnowledgeBase {
    pub advisories: Vec<Advisory>,
    pub cves: BTreeMap<String, CveRecord>,
    pub kev: Option<KevCatalog>,
    pub epss: Option<EpssFile>,
    pub sboms: Vec<(SbomTarget, Sbom)>,
    kev_index: HashMap<String, usize>,
    epss_index: HashMap<String, usize>,
}

/// EPSS of one CVE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Epss {
    pub probability: f32,
    pub percentile: f32,
}

impl KnowledgeBase {
    pub fn from_records(records: impl IntoIterator<Item = Record>) -> KnowledgeBase {
        let mut kb = KnowledgeBase::default();
        for r in records {
            kb.add(r);
        }
        kb.reindex();
        kb
    }

    /// Adds one record; call [`KnowledgeBase::reindex`] after the last.
    pub fn add(&mut self, record: Record) {
        match record {
            Record::Advisory(a) => self.advisories.push(a),
            Record::Cve(c) => {
                self.cves.insert(c.id.clone(), c);
            }
            Record::Kev(k) => self.kev = Some(k),
            Record::Epss(e) => self.epss = Some(e),
            Record::Sbom { target, sbom } => self.sboms.push((target, sbom)),
        }
    }

    pub fn reindex(&mut self) {
        self.kev_index = self
            .kev
            .iter()
            .flat_map(|k| k.entries.iter().enumerate())
            .map(|(i, e)| (e.cve.to_ascii_uppercase(), i))
            .collect();
        self.epss_index = self
            .epss
            .iter()
            .flat_map(|e| e.scores.iter().enumerate())
            .map(|(i, s)| (s.cve.to_ascii_uppercase(), i))
            .collect();
    }

    /// The KEV entry of a CVE: the catalogue's, else NVD's copy of it.
    pub fn kev(&self, cve: &str) -> Option<&KevEntry> {
        let key = cve.to_ascii_uppercase();
        self.kev_index
            .get(&key)
            .and_then(|&i| self.kev.as_ref()?.entries.get(i))
            .or_else(|| self.cves.get(&key)?.kev.as_ref())
    }

    pub fn epss(&self, cve: &str) -> Option<Epss> {
        let i = *self.epss_index.get(&cve.to_ascii_uppercase())?;
        let s = self.epss.as_ref()?.scores.get(i)?;
        Some(Epss {
            probability: s.epss,
            percentile: s.percentile,
        })
    }

    /// Counts by source, for `kb status`.
    pub fn status(&self) -> Status {
        let mut s = Status::default();
        let mut cves = std::collections::BTreeSet::new();
        for a in &self.advisories {
            s.advisories += 1;
            newest(&mut s.newest.csaf, a.provenance.date.as_deref());
            for v in &a.vulnerabilities {
                if let Some(c) = &v.cve {
                    cves.insert(c.to_ascii_uppercase());
                }
                let mut ids: Vec<&String> = v
                    .status
                    .known_affected
                    .iter()
                    .chain(&v.status.first_affected)
                    .chain(&v.status.last_affected)
                    .collect();
                ids.sort();
                ids.dedup();
                s.affected_products += ids.len() as u64;
                if a.category == "csaf_vex" {
                    s.vex_statements += (v.status.known_affected.len()
                        + v.status.known_not_affected.len()
                        + v.status.fixed.len()
                        + v.status.under_investigation.len())
                        as u64;
                }
            }
        }
        for (id, c) in &self.cves {
            cves.insert(id.to_ascii_uppercase());
            s.nvd_records += 1;
            newest(&mut s.newest.nvd, c.last_modified.as_deref());
            for cfg in &c.configurations {
                for n in &cfg.nodes {
                    s.affected_products += n.matches.iter().filter(|m| m.vulnerable).count() as u64;
                }
            }
        }
        s.cves = cves.len() as u64;
        if let Some(k) = &self.kev {
            s.kev_entries = k.entries.len() as u64;
            newest(&mut s.newest.kev, k.provenance.date.as_deref());
        }
        if let Some(e) = &self.epss {
            s.epss_scores = e.scores.len() as u64;
            newest(&mut s.newest.epss, e.provenance.date.as_deref());
        }
        for (_, sbom) in &self.sboms {
            s.sboms += 1;
            s.sbom_components += sbom.components.len() as u64;
            s.vex_statements += sbom.vex.len() as u64;
            newest(&mut s.newest.sbom, sbom.provenance.date.as_deref());
        }
        s
    }

    /// VEX statements of the SBOMs, by CVE, with the SBOM target they belong to.
    pub fn sbom_vex<'a>(
        &'a self,
        cve: &'a str,
    ) -> impl Iterator<Item = (&'a SbomTarget, &'a crate::model::VexStatement)> + 'a {
        self.sboms.iter().flat_map(move |(t, s)| {
            s.vex
                .iter()
                .filter(move |v| v.cve.eq_ignore_ascii_case(cve))
                .map(move |v| (t, v))
        })
    }
}

fn newest(slot: &mut Option<String>, date: Option<&str>) {
    if let Some(d) = date.filter(|d| !d.is_empty())
        && slot.as_deref().is_none_or(|s| d > s)
    {
        *slot = Some(d.to_string());
    }
}

/// What `kb status` prints.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Status {
    /// CSAF documents.
    pub advisories: u64,
    /// Distinct CVE ids, from advisories and NVD records.
    pub cves: u64,
    pub nvd_records: u64,
    /// Affected product entries: CSAF product ids listed as affected, NVD vulnerable CPE matches.
    pub affected_products: u64,
    pub kev_entries: u64,
    pub epss_scores: u64,
    pub sboms: u64,
    pub sbom_components: u64,
    /// CycloneDX `vulnerabilities[].analysis` entries and CSAF VEX product statuses.
    pub vex_statements: u64,
    /// The newest record date of each source.
    pub newest: Newest,
}

#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Newest {
    pub csaf: Option<String>,
    pub nvd: Option<String>,
    pub kev: Option<String>,
    pub epss: Option<String>,
    pub sbom: Option<String>,
}

/// Whether a VEX state suppresses a match.
pub fn suppresses(state: VexState) -> bool {
    matches!(state, VexState::NotAffected | VexState::Fixed)
}
