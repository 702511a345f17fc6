//! Which known vulnerabilities affect a device, and why.
//!
//! A device is described by what the inventory knows ([`DeviceFacts`]): maker and model names from
//! passive identification and the CMMS, a firmware or software version, explicit CPE names, and the
//! SBOMs attached to its model. [`Matcher::device`] looks it up three ways:
//!
//! - **CSAF product trees** (CISA's medical advisories): the maker through the alias table
//!   ([`Vendors`]), then the model against the product's names, model numbers and SKUs, then the
//!   version against the product's version or range ([`Rule`]). Products listed as `fixed` or
//!   `known_not_affected` decide those statuses the same way.
//! - **NVD configurations**: CPE match criteria evaluated as NVD means them: AND/OR nodes, `negate`,
//!   and `vulnerable: false` entries that only say what the vulnerable product must run on.
//! - **SBOM components** of the device's model: their CPEs against NVD configurations, their PURLs
//!   against CSAF identification helpers; the SBOM's VEX statements can mark a CVE `not_affected`.
//!
//! Every match carries a [`Confidence`] and a sentence naming the advisory or CVE record, the product
//! entry and the version rule that decided it. The matcher is pure and read-only: build it once from
//! a [`KnowledgeBase`] and match any number of devices.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

use crate::cpe::{Av, Wfn};
use crate::kb::{KnowledgeBase, SbomTarget};
use crate::model::{
    self, Advisory, CpeMatch, CveRecord, CvssScore, Node, Operator, Product, VexState,
};
use crate::vendors::Vendors;
use crate::version::{Rule, Verdict};

/// What the inventory knows about one device.
#[derive(Debug, Clone, Default)]
pub struct DeviceFacts {
    pub id: String,
    pub asset_tag: Option<String>,
    /// Maker names from every source (passive identification, CMMS), most trusted first.
    pub vendors: Vec<String>,
    /// Model names from every source, most trusted first.
    pub models: Vec<String>,
    /// Firmware or software version, if known.
    pub version: Option<String>,
    /// Explicit CPE 2.3 names (a CMMS `cpe` column).
    pub cpes: Vec<String>,
    /// Default criticality of the device's category (`life-sustaining` ...), for ranking.
    pub criticality: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Affected,
    Fixed,
    NotAffected,
}

/// How sure a match is, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Maker, model and version all decided by the record.
    Exact,
    /// Maker and model match; the device's version is unknown or the record's version rule is not
    /// machine-readable.
    Model,
    /// Only the maker matches: the device's model is unknown.
    Vendor,
}

/// One vulnerability of one device.
#[derive(Debug, Clone, Serialize)]
pub struct Match<'kb> {
    /// The CVE id, or the advisory id and vulnerability title for an advisory entry with no CVE.
    pub cve: String,
    /// The CSAF advisory that lists it, if any.
    pub advisory: Option<String>,
    pub status: Status,
    pub confidence: Confidence,
    /// Why: the record, the product entry, the version rule.
    pub why: Vec<String>,
    /// The published CVSS vectors (highest CVSS version first).
    pub cvss: Vec<&'kb CvssScore>,
    pub remediation: Vec<&'kb model::Remediation>,
    /// VEX justification of a `not_affected` status.
    pub justification: Option<String>,
    /// What a maker's VEX document (CSAF `csaf_vex`) says of this device, applied after every
    /// source has been matched: the maker's statement about its own product decides.
    #[serde(skip)]
    vex: Option<(Status, Option<String>)>,
}

/// Words that say nothing about which model a product is.
const STOPWORDS: &[&str] = &[
    "the", "and", "or", "for", "with", "of", "all", "series", "system", "systems", "device",
    "devices", "software", "firmware", "version", "versions", "model", "models", "family", "unit",
    "units", "products", "product",
];

/// A name as a set of lowercase words (split on anything that is not a letter or a digit), less
/// stopwords and the maker's own words.
fn words(text: &str, vendor_words: &[String]) -> Vec<String> {
    let mut out: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .filter(|w| !STOPWORDS.contains(&w.as_str()) && !vendor_words.contains(w))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Whether a device's model names the same product as a record's product name: every word of the
/// product's name is in the device's model ("Alaris PC Unit" within "Alaris 8015 PC Unit"), or the
/// device's model is a model number within the product's name ("MMT-512" within "MMT-512 / MMT-712
/// Paradigm x12"), or both spell the same letters and digits ("8015PCU" and "8015 PCU").
fn model_matches(device: &[String], product: &[String]) -> bool {
    if device.is_empty() || product.is_empty() {
        return false;
    }
    if product.iter().all(|w| device.contains(w)) {
        return true;
    }
    let numbered = device.iter().any(|w| w.bytes().any(|b| b.is_ascii_digit()));
    if numbered && device.iter().all(|w| product.contains(w)) {
        return true;
    }
    // A model number both name ("EX1150" in "Merlin@home EX1150" and "RF models EX1150"; "8015" in
    // "Alaris 8015 PC Unit" and "Alaris Point-of-Care Unit (PCU) Model 8015"): the maker is
    // already the same, and its model numbers are its own.
    if device
        .iter()
        .any(|w| is_model_number(w) && product.contains(w))
    {
        return true;
    }
    // Same letters and digits in another spacing: only names of equal length can be (the common
    // case, checked without allocating).
    let len = |ws: &[String]| ws.iter().map(String::len).sum::<usize>();
    if len(device) != len(product) || len(device) < 4 {
        return false;
    }
    let mut a: Vec<char> = device.concat().chars().collect();
    let mut b: Vec<char> = product.concat().chars().collect();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// A word that identifies a model by itself: at least four characters with a digit, not a version
/// or a year (`ex1150`, `8015`, `35700bax2`, `mx40` is too short to be sure).
fn is_model_number(w: &str) -> bool {
    let year = w.len() == 4
        && (w.starts_with("19") || w.starts_with("20"))
        && w.bytes().all(|b| b.is_ascii_digit());
    w.len() >= 4 && w.bytes().any(|b| b.is_ascii_digit()) && !year
}

/// One product entry of an advisory, prepared for matching.
#[derive(Debug)]
struct CsafEntry {
    advisory: usize,
    product: usize,
    /// Word sets of each name the product goes by.
    names: Vec<Vec<String>>,
    rule: Rule,
}

/// The product entries of one maker, with an index from each word of their names (and each name's
/// letters run together) to the entries: a device's model can only match an entry it shares a word
/// or its run-together letters with, so only those are compared.
#[derive(Debug, Default)]
struct VendorEntries {
    entries: Vec<CsafEntry>,
    by_word: HashMap<String, Vec<u32>>,
}

impl VendorEntries {
    fn index(&mut self) {
        for (i, e) in self.entries.iter().enumerate() {
            for n in &e.names {
                for w in n.iter().cloned().chain([n.concat()]) {
                    let list = self.by_word.entry(w).or_default();
                    if list.last() != Some(&(i as u32)) {
                        list.push(i as u32);
                    }
                }
            }
        }
    }

    fn candidates<'s>(&'s self, models: &[Vec<String>]) -> impl Iterator<Item = &'s CsafEntry> {
        let mut ids: Vec<u32> = Vec::new();
        for m in models {
            for w in m {
                ids.extend(self.by_word.get(w).into_iter().flatten());
            }
            ids.extend(self.by_word.get(&m.concat()).into_iter().flatten());
        }
        ids.sort_unstable();
        ids.dedup();
        ids.into_iter().filter_map(|i| self.entries.get(i as usize))
    }
}

/// One vulnerable CPE match criterion of an NVD record, indexed by maker.
#[derive(Debug)]
struct NvdEntry {
    cve: String,
}

/// The knowledge base prepared for matching.
pub struct Matcher<'kb> {
    kb: &'kb KnowledgeBase,
    vendors: Vendors,
    /// Vendor key -> product entries of CSAF advisories.
    csaf: HashMap<String, VendorEntries>,
    /// Vendor key -> NVD records with a criterion of that maker.
    nvd: HashMap<String, Vec<NvdEntry>>,
    /// Parsed NVD criteria, by criteria string.
    cpes: HashMap<String, Option<Wfn>>,
    /// PURL without version, qualifiers or subpath -> (advisory, product) of CSAF products that
    /// name one in their identification helper.
    purls: HashMap<String, Vec<(usize, usize)>>,
}

impl<'kb> Matcher<'kb> {
    pub fn new(kb: &'kb KnowledgeBase) -> Matcher<'kb> {
        let vendors = Vendors::builtin();
        let mut csaf: HashMap<String, VendorEntries> = HashMap::new();
        for (ai, a) in kb.advisories.iter().enumerate() {
            for (pi, p) in a.products.iter().enumerate() {
                let Some(vendor) = product_vendor(a, p) else {
                    continue;
                };
                let keys = vendors.keys(vendor);
                let vendor_words: Vec<String> = keys
                    .iter()
                    .flat_map(|k| k.split(' ').map(str::to_string))
                    .chain(words(vendor, &[]))
                    .collect();
                let (names, rule) = product_names(a, p, &vendor_words);
                for key in keys {
                    csaf.entry(key).or_default().entries.push(CsafEntry {
                        advisory: ai,
                        product: pi,
                        names: names.clone(),
                        rule: rule.clone(),
                    });
                }
            }
        }
        for v in csaf.values_mut() {
            v.index();
        }
        let mut nvd: HashMap<String, Vec<NvdEntry>> = HashMap::new();
        let mut cpes = HashMap::new();
        for c in kb.cves.values() {
            let mut makers: Vec<String> = Vec::new();
            for m in c
                .configurations
                .iter()
                .flat_map(|cfg| &cfg.nodes)
                .flat_map(|n| &n.matches)
            {
                let wfn = cpes
                    .entry(m.criteria.clone())
                    .or_insert_with(|| Wfn::parse_fs(&m.criteria).ok());
                if let Some(v) = wfn.as_ref().and_then(|w| w.vendor.to_plain()) {
                    makers.extend(vendors.keys(&v.replace('_', " ")));
                }
            }
            makers.sort();
            makers.dedup();
            for k in makers {
                nvd.entry(k)
                    .or_default()
                    .push(NvdEntry { cve: c.id.clone() });
            }
        }
        let mut purls: HashMap<String, Vec<(usize, usize)>> = HashMap::new();
        for (ai, a) in kb.advisories.iter().enumerate() {
            for (pi, p) in a.products.iter().enumerate() {
                if let Some(base) = p.helper.purl.as_deref().and_then(purl_base) {
                    purls.entry(base).or_default().push((ai, pi));
                }
            }
        }
        Matcher {
            purls,
            kb,
            vendors,
            csaf,
            nvd,
            cpes,
        }
    }

    /// The vulnerabilities of one device, one entry per CVE.
    pub fn device(&self, d: &DeviceFacts) -> Vec<Match<'kb>> {
        let mut found: BTreeMap<String, Match<'kb>> = BTreeMap::new();
        let mut keys: Vec<String> = d
            .vendors
            .iter()
            .flat_map(|v| self.vendors.keys(v))
            .collect();
        keys.sort();
        keys.dedup();
        let vendor_words: Vec<String> = keys
            .iter()
            .flat_map(|k| k.split(' ').map(str::to_string))
            .chain(d.vendors.iter().flat_map(|v| words(v, &[])))
            .collect();
        let models: Vec<Vec<String>> = d
            .models
            .iter()
            .map(|m| words(m, &vendor_words))
            .filter(|w| !w.is_empty())
            .collect();

        for key in &keys {
            self.match_csaf(key, &models, d, &mut found);
            self.match_nvd(key, &models, d, &mut found);
        }
        if !d.cpes.is_empty() {
            self.match_explicit_cpes(&d.cpes, &models, d, &keys, &mut found);
        }
        for (target, sbom) in &self.kb.sboms {
            if self.sbom_applies(target, &keys, &models, d.version.as_deref()) {
                self.match_sbom(target, sbom, &mut found);
            }
        }
        let mut out: Vec<Match> = found.into_values().collect();
        for m in &mut out {
            if let Some((status, just)) = m.vex.take() {
                m.status = status;
                m.justification = just;
            }
            m.cvss.sort_by(|a, b| b.version.cmp(&a.version));
            m.cvss.dedup_by(|a, b| a.vector == b.vector);
        }
        out
    }

    fn match_csaf(
        &self,
        key: &str,
        models: &[Vec<String>],
        d: &DeviceFacts,
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        let Some(vendor) = self.csaf.get(key) else {
            return;
        };
        // Per advisory: which of its products this device is.
        let mut by_advisory: BTreeMap<usize, Vec<(&CsafEntry, Verdict)>> = BTreeMap::new();
        if models.is_empty() {
            for e in &vendor.entries {
                by_advisory.entry(e.advisory).or_default();
            }
        }
        for e in vendor.candidates(models) {
            let hit = models
                .iter()
                .any(|m| e.names.iter().any(|n| model_matches(m, n)));
            if hit {
                let verdict = e.rule.covers(d.version.as_deref());
                by_advisory
                    .entry(e.advisory)
                    .or_default()
                    .push((e, verdict));
            }
        }
        for (ai, hits) in by_advisory {
            let a = &self.kb.advisories[ai];
            if hits.is_empty() {
                // Maker only: every CVE of the advisory is a possibility.
                for v in &a.vulnerabilities {
                    let cve = vuln_id(a, v.cve.as_deref(), v.title.as_deref());
                    let why = format!(
                        "{}: the maker matches ({}); the device's model is unknown",
                        a.provenance.id,
                        self.first_vendor_name(a)
                    );
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::Affected,
                        Confidence::Vendor,
                        why,
                        None,
                    );
                }
                continue;
            }
            for v in &a.vulnerabilities {
                let st = &v.status;
                let affected: [&[String]; 4] = [
                    &st.known_affected,
                    &st.first_affected,
                    &st.last_affected,
                    &st.under_investigation,
                ];
                let fixed: [&[String]; 2] = [&st.fixed, &st.first_fixed];
                let not_affected: [&[String]; 1] = [&st.known_not_affected];
                // Whether a status lists a product, directly or through a product group.
                let listed = |lists: &[&[String]], pid: &str| {
                    lists.iter().any(|l| {
                        l.iter().any(|x| {
                            x == pid
                                || a.groups
                                    .iter()
                                    .any(|g| g.id == *x && g.product_ids.iter().any(|p| p == pid))
                        })
                    })
                };
                let pick = |lists: &[&[String]], want: Verdict| {
                    hits.iter().find(|(e, verdict)| {
                        *verdict == want && listed(lists, &a.products[e.product].id)
                    })
                };
                let cve = vuln_id(a, v.cve.as_deref(), v.title.as_deref());
                let describe = |e: &CsafEntry, verdict: &str| {
                    let p = &a.products[e.product];
                    format!(
                        "{}: product {} \"{}\": {} ({}); device version {}",
                        a.provenance.id,
                        p.id,
                        p.name,
                        e.rule,
                        verdict,
                        d.version.as_deref().unwrap_or("unknown")
                    )
                };
                if let Some((e, _)) = pick(&affected, Verdict::Inside) {
                    let conf = if d.version.is_some() || matches!(e.rule, Rule::All) {
                        Confidence::Exact
                    } else {
                        Confidence::Model
                    };
                    let status_note =
                        if listed(&[&st.under_investigation], &a.products[e.product].id) {
                            "under investigation by the maker"
                        } else {
                            "listed as affected"
                        };
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::Affected,
                        conf,
                        describe(e, status_note),
                        None,
                    );
                } else if let Some((e, _)) = pick(&not_affected, Verdict::Inside) {
                    let just = flag_for(a, v, &a.products[e.product].id);
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::NotAffected,
                        Confidence::Exact,
                        describe(e, "listed as not affected"),
                        just,
                    );
                } else if let Some((e, _)) = pick(&fixed, Verdict::Inside) {
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::Fixed,
                        Confidence::Exact,
                        describe(e, "listed as fixed"),
                        None,
                    );
                } else if let Some((e, _)) = pick(&affected, Verdict::Unknown) {
                    let reason = if d.version.is_none() {
                        "listed as affected; the device's version is unknown"
                    } else {
                        "listed as affected; the version rule cannot be compared with the device's version"
                    };
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::Affected,
                        Confidence::Model,
                        describe(e, reason),
                        None,
                    );
                } else if let Some((e, _)) = hits.iter().find(|(e, verdict)| {
                    *verdict == Verdict::Outside && listed(&affected, &a.products[e.product].id)
                }) {
                    // The model is affected at other versions only: the device runs a version the
                    // advisory does not list as affected (CISA's advisories rarely list `fixed`
                    // products; their remediation names the fixed release).
                    add(
                        found,
                        a,
                        v,
                        cve,
                        Status::Fixed,
                        Confidence::Exact,
                        describe(e, "outside the affected versions"),
                        None,
                    );
                }
            }
        }
    }

    fn first_vendor_name<'a>(&self, a: &'a Advisory) -> &'a str {
        a.products
            .iter()
            .find_map(|p| p.vendor.as_deref())
            .unwrap_or("?")
    }

    fn match_nvd(
        &self,
        key: &str,
        models: &[Vec<String>],
        d: &DeviceFacts,
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        let Some(entries) = self.nvd.get(key) else {
            return;
        };
        let platform = Platform {
            vendor_keys: vec![key.to_string()],
            models: models.to_vec(),
            version: d.version.clone(),
            explicit: Vec::new(),
        };
        for e in entries {
            let Some(c) = self.kb.cves.get(&e.cve) else {
                continue;
            };
            self.eval_record(c, &platform, found);
        }
    }

    /// Explicit CPE names (a CMMS `cpe` column): evaluated together as one platform, so that an
    /// AND configuration sees both the firmware and the hardware the device declares.
    fn match_explicit_cpes(
        &self,
        cpes: &[String],
        models: &[Vec<String>],
        d: &DeviceFacts,
        keys: &[String],
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        let explicit: Vec<Wfn> = cpes.iter().filter_map(|c| Wfn::parse_fs(c).ok()).collect();
        let mut vkeys: Vec<String> = explicit
            .iter()
            .filter_map(|w| w.vendor.to_plain())
            .flat_map(|v| self.vendors.keys(&v.replace('_', " ")))
            .collect();
        vkeys.sort();
        vkeys.dedup();
        if vkeys.is_empty() {
            return;
        }
        let platform = Platform {
            vendor_keys: keys.iter().chain(&vkeys).cloned().collect(),
            models: models.to_vec(),
            version: d.version.clone(),
            explicit,
        };
        let mut seen = std::collections::BTreeSet::new();
        for k in &vkeys {
            for e in self.nvd.get(k).into_iter().flatten() {
                if seen.insert(e.cve.as_str())
                    && let Some(c) = self.kb.cves.get(&e.cve)
                {
                    self.eval_record(c, &platform, found);
                }
            }
        }
    }

    /// Evaluates every configuration of one NVD record against a device.
    fn eval_record(
        &self,
        c: &'kb CveRecord,
        p: &Platform,
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        for (ci, cfg) in c.configurations.iter().enumerate() {
            let mut why = Vec::new();
            let results: Vec<Tri> = cfg
                .nodes
                .iter()
                .map(|n| self.eval_node(n, p, &mut why))
                .collect();
            let mut r = match cfg.operator {
                Operator::And => tri_all(&results),
                Operator::Or => tri_any(&results),
            };
            if cfg.negate {
                r = r.not();
            }
            // A configuration holds only through a vulnerable criterion: a platform entry alone
            // ("running on") never makes a device affected.
            let vulnerable_hit = why
                .iter()
                .any(|(vulnerable, _, t)| *vulnerable && *t != Tri::False);
            if r == Tri::False || !vulnerable_hit {
                continue;
            }
            let confidence = if r == Tri::True {
                Confidence::Exact
            } else {
                Confidence::Model
            };
            let detail: Vec<String> = why
                .iter()
                .filter(|(_, _, t)| *t != Tri::False)
                .map(|(_, s, _)| s.clone())
                .collect();
            let text = format!(
                "{} (NVD) configuration {}{}: {}",
                c.id,
                ci + 1,
                if cfg.operator == Operator::And {
                    " (AND)"
                } else {
                    ""
                },
                detail.join("; ")
            );
            let m = found.entry(c.id.clone()).or_insert_with(|| Match {
                cve: c.id.clone(),
                advisory: None,
                status: Status::Affected,
                confidence,
                why: Vec::new(),
                cvss: Vec::new(),
                remediation: Vec::new(),
                justification: None,
                vex: None,
            });
            merge(m, Status::Affected, confidence, text, None);
            m.cvss.extend(c.metrics.iter());
        }
    }

    fn eval_node(&self, n: &Node, p: &Platform, why: &mut Vec<(bool, String, Tri)>) -> Tri {
        let results: Vec<Tri> = n
            .matches
            .iter()
            .map(|m| {
                let t = self.eval_cpe(m, p);
                if t != Tri::False {
                    let role = if m.vulnerable {
                        "vulnerable"
                    } else {
                        "running on"
                    };
                    let rule = Rule::nvd(
                        None,
                        m.version_start_including.as_deref(),
                        m.version_start_excluding.as_deref(),
                        m.version_end_including.as_deref(),
                        m.version_end_excluding.as_deref(),
                    );
                    let rule = if rule == Rule::All {
                        String::new()
                    } else {
                        format!(" {rule}")
                    };
                    why.push((m.vulnerable, format!("{role} {}{rule}", m.criteria), t));
                } else {
                    why.push((m.vulnerable, String::new(), t));
                }
                t
            })
            .collect();
        let r = match n.operator {
            Operator::And => tri_all(&results),
            Operator::Or => tri_any(&results),
        };
        if n.negate { r.not() } else { r }
    }

    /// Whether one CPE criterion describes this device (its hardware, its firmware, or an explicit
    /// CPE), with the version rule applied to the device's version.
    fn eval_cpe(&self, m: &CpeMatch, p: &Platform) -> Tri {
        let Some(Some(w)) = self.cpes.get(&m.criteria) else {
            return Tri::False;
        };
        let rule_of = |cpe_version: Option<String>| {
            Rule::nvd(
                cpe_version.as_deref(),
                m.version_start_including.as_deref(),
                m.version_start_excluding.as_deref(),
                m.version_end_including.as_deref(),
                m.version_end_excluding.as_deref(),
            )
        };
        // Explicit CPEs first: exact names.
        let mut best = Tri::False;
        for e in &p.explicit {
            if e.part == w.part
                && e.vendor_str() == w.vendor.to_plain()
                && e.product.to_plain() == w.product.to_plain()
            {
                let t = match rule_of(cpe_version(&w.version))
                    .covers(e.version.to_plain().as_deref())
                {
                    Verdict::Inside => Tri::True,
                    Verdict::Outside => Tri::False,
                    Verdict::Unknown => Tri::Unknown,
                };
                best = best.or(t);
            }
        }
        if best == Tri::True || !p.explicit.is_empty() {
            return best;
        }
        let Some(vendor) = w.vendor.to_plain() else {
            return Tri::False;
        };
        if !self
            .vendors
            .keys(&vendor.replace('_', " "))
            .iter()
            .any(|k| p.vendor_keys.contains(k))
        {
            return Tri::False;
        }
        let Some(product) = w.product.to_plain() else {
            return Tri::False;
        };
        let part = w.part.to_plain().unwrap_or_default();
        let mut pw = words(&product.replace('_', " "), &[]);
        if part == "o" {
            pw.retain(|x| x != "firmware" && x != "fw");
        }
        if !p.models.iter().any(|m| model_matches(m, &pw)) {
            return Tri::False;
        }
        if part == "h" {
            // Hardware: the device is this model; its version is firmware, not hardware revision.
            return Tri::True;
        }
        match rule_of(cpe_version(&w.version)).covers(p.version.as_deref()) {
            Verdict::Inside => Tri::True,
            Verdict::Outside => Tri::False,
            Verdict::Unknown => Tri::Unknown,
        }
    }

    fn sbom_applies(
        &self,
        target: &SbomTarget,
        keys: &[String],
        models: &[Vec<String>],
        version: Option<&str>,
    ) -> bool {
        let tk = self.vendors.keys(&target.vendor);
        if !tk.iter().any(|k| keys.contains(k)) {
            return false;
        }
        let tw = words(
            &target.model,
            &tk.iter()
                .flat_map(|k| k.split(' ').map(str::to_string))
                .collect::<Vec<_>>(),
        );
        if !models.iter().any(|m| model_matches(m, &tw)) {
            return false;
        }
        match (&target.version, version) {
            (Some(tv), Some(v)) => {
                crate::version::compare(tv, v) == Some(std::cmp::Ordering::Equal)
            }
            (Some(_), None) => false,
            (None, _) => true,
        }
    }

    fn match_sbom(
        &self,
        target: &SbomTarget,
        sbom: &crate::model::Sbom,
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        for comp in &sbom.components {
            if let Some(base) = comp.purl.as_deref().and_then(purl_base) {
                self.match_purl(target, comp, &base, found);
            }
            let Some(cpe) = comp.cpe.as_deref() else {
                continue;
            };
            let Ok(w) = Wfn::parse_fs(cpe) else {
                continue;
            };
            let Some(v) = w.vendor.to_plain() else {
                continue;
            };
            let vkeys = self.vendors.keys(&v.replace('_', " "));
            let platform = Platform {
                vendor_keys: vkeys.clone(),
                models: Vec::new(),
                version: comp.version.clone(),
                explicit: vec![w],
            };
            let mut local = BTreeMap::new();
            for k in &vkeys {
                for e in self.nvd.get(k).into_iter().flatten() {
                    if let Some(c) = self.kb.cves.get(&e.cve) {
                        self.eval_record(c, &platform, &mut local);
                    }
                }
            }
            for (cve, mut m) in local {
                for w in &mut m.why {
                    *w = format!(
                        "SBOM of {} component {} {}: {w}",
                        target.key(),
                        comp.name,
                        comp.version.as_deref().unwrap_or("")
                    );
                }
                match found.get_mut(&cve) {
                    Some(f) => {
                        let why = m.why.join("; ");
                        merge(f, m.status, m.confidence, why, None);
                    }
                    None => {
                        found.insert(cve, m);
                    }
                }
            }
        }
        // VEX: the maker's statement about its own product overrides what component matching found.
        for vex in &sbom.vex {
            if let Some(m) = found.get_mut(&vex.cve.to_ascii_uppercase()) {
                let status = match vex.state {
                    VexState::NotAffected => Status::NotAffected,
                    VexState::Fixed => Status::Fixed,
                    _ => continue,
                };
                m.status = status;
                m.justification = vex.justification.clone().or(vex.detail.clone());
                m.why.push(format!(
                    "VEX in the SBOM of {}: {} is {:?} for {}{}",
                    target.key(),
                    vex.cve,
                    vex.state,
                    vex.subject,
                    vex.justification
                        .as_deref()
                        .map(|j| format!(" ({j})"))
                        .unwrap_or_default()
                ));
            }
        }
    }
}

impl<'kb> Matcher<'kb> {
    /// An SBOM component whose PURL a CSAF product's identification helper names: the product's
    /// version (its PURL's `@version`, else its version branch) decides, as for a device.
    fn match_purl(
        &self,
        target: &SbomTarget,
        comp: &crate::model::Component,
        base: &str,
        found: &mut BTreeMap<String, Match<'kb>>,
    ) {
        for &(ai, pi) in self.purls.get(base).into_iter().flatten() {
            let a = &self.kb.advisories[ai];
            let p = &a.products[pi];
            let rule = match p.helper.purl.as_deref().and_then(purl_version) {
                Some(v) => Rule::version(v),
                None => product_names(a, p, &[]).1,
            };
            let verdict = rule.covers(comp.version.as_deref());
            for v in &a.vulnerabilities {
                let st = &v.status;
                let listed = |lists: &[&Vec<String>]| lists.iter().any(|l| l.contains(&p.id));
                let status = if listed(&[&st.known_not_affected]) {
                    Status::NotAffected
                } else if listed(&[&st.fixed, &st.first_fixed]) {
                    Status::Fixed
                } else if listed(&[
                    &st.known_affected,
                    &st.first_affected,
                    &st.last_affected,
                    &st.under_investigation,
                ]) {
                    Status::Affected
                } else {
                    continue;
                };
                let (status, confidence) = match (status, verdict) {
                    (s, Verdict::Inside) => (s, Confidence::Exact),
                    (Status::Affected, Verdict::Unknown) => (Status::Affected, Confidence::Model),
                    _ => continue,
                };
                let why = format!(
                    "{}: SBOM of {} component {} {} has the PURL of product {} \"{}\": {}",
                    a.provenance.id,
                    target.key(),
                    comp.name,
                    comp.version.as_deref().unwrap_or(""),
                    p.id,
                    p.name,
                    rule
                );
                let just = flag_for(a, v, &p.id);
                add(
                    found,
                    a,
                    v,
                    vuln_id(a, v.cve.as_deref(), v.title.as_deref()),
                    status,
                    confidence,
                    why,
                    just,
                );
            }
        }
    }
}

/// `pkg:type/namespace/name@version?qualifiers#subpath` -> `pkg:type/namespace/name`, lowercased
/// (the PURL spec makes type and, for most types, namespace and name case-insensitive).
fn purl_base(purl: &str) -> Option<String> {
    let p = purl.trim();
    if !p.starts_with("pkg:") {
        return None;
    }
    let end = p.find(['@', '?', '#']).unwrap_or(p.len());
    Some(p[..end].to_ascii_lowercase())
}

/// The `@version` of a PURL, percent-decoding not needed for the characters versions use.
fn purl_version(purl: &str) -> Option<&str> {
    let at = purl.find('@')?;
    let rest = &purl[at + 1..];
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    Some(&rest[..end]).filter(|v| !v.is_empty())
}

/// What a CPE criterion is compared with.
struct Platform {
    vendor_keys: Vec<String>,
    models: Vec<Vec<String>>,
    version: Option<String>,
    explicit: Vec<Wfn>,
}

/// Three-valued logic: a criterion holds, does not, or cannot be decided (version unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
    fn or(self, o: Tri) -> Tri {
        match (self, o) {
            (Tri::True, _) | (_, Tri::True) => Tri::True,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::False,
        }
    }
}

fn tri_all(v: &[Tri]) -> Tri {
    if v.is_empty() || v.contains(&Tri::False) {
        Tri::False
    } else if v.contains(&Tri::Unknown) {
        Tri::Unknown
    } else {
        Tri::True
    }
}

fn tri_any(v: &[Tri]) -> Tri {
    v.iter().fold(Tri::False, |a, &b| a.or(b))
}

/// A criterion's version as NVD writes it: `*` for ANY, `-` for NA.
fn cpe_version(av: &Av) -> Option<String> {
    match av {
        Av::Any => Some("*".into()),
        Av::Na => Some("-".into()),
        Av::Value(_) => av.to_plain(),
    }
}

/// The maker of a product: its own vendor branch, else that of the product it relates to.
fn product_vendor<'a>(a: &'a Advisory, p: &'a Product) -> Option<&'a str> {
    if let Some(v) = p.vendor.as_deref() {
        return Some(v);
    }
    let r = p.relationship.as_ref()?;
    a.products
        .iter()
        .find(|q| q.id == r.relates_to || q.id == r.product_reference)
        .and_then(|q| q.vendor.as_deref())
}

/// The names a product goes by (word sets) and its version rule. A `product_version` that is not a
/// version (advisories put model numbers there: "MMT-512 / MMT-712 Paradigm x12") is a name.
fn product_names(a: &Advisory, p: &Product, vendor_words: &[String]) -> (Vec<Vec<String>>, Rule) {
    use crate::model::VersionBranch;
    let mut names: Vec<Vec<String>> = Vec::new();
    let mut push = |s: &str| {
        let w = words(s, vendor_words);
        if !w.is_empty() && !names.contains(&w) {
            names.push(w);
        }
    };
    let mut rule = Rule::All;
    match &p.version {
        Some(VersionBranch::Version(t)) => {
            // "v8.x model 35700BAX2": a version and a model number in one branch.
            let (ver, model) = match t.to_ascii_lowercase().find(" model ") {
                Some(i) => (&t[..i], Some(&t[i + 7..])),
                None => (t.as_str(), None),
            };
            if let Some(m) = model {
                push(m);
            }
            match Rule::version(ver) {
                Rule::Unreadable(_) => push(t),
                // "24950 | 24952" (MyCareLink), "3002" (a bed): model numbers where the version
                // belongs. No firmware version is a bare four-or-more-digit number without a dot.
                Rule::AnyOf(vs)
                    if vs
                        .iter()
                        .all(|v| v.len() >= 4 && v.bytes().all(|b| b.is_ascii_digit())) =>
                {
                    for v in &vs {
                        push(v);
                    }
                }
                r => rule = r,
            }
        }
        Some(VersionBranch::Range(t)) => rule = Rule::range(t),
        None => {}
    }
    if let Some(last) = p.product_names.last() {
        push(last);
    }
    if p.product_names.len() > 1 {
        push(&p.product_names.join(" "));
    }
    for m in p.helper.model_numbers.iter().chain(&p.helper.skus) {
        push(m);
    }
    if p.product_names.is_empty() {
        if let Some(r) = &p.relationship {
            if let Some(last) = a
                .products
                .iter()
                .find(|q| q.id == r.product_reference)
                .and_then(|q| q.product_names.last())
            {
                push(last);
            }
        } else if let Some(f) = p.families.last() {
            push(f);
        }
    }
    (names, rule)
}

fn vuln_id(a: &Advisory, cve: Option<&str>, title: Option<&str>) -> String {
    match cve {
        Some(c) if !c.is_empty() => c.to_ascii_uppercase(),
        _ => format!("{} {}", a.provenance.id, title.unwrap_or("(no CVE)")),
    }
}

fn flag_for(a: &Advisory, v: &crate::model::AdvisoryVuln, product: &str) -> Option<String> {
    v.flags
        .iter()
        .find(|f| {
            f.product_ids.iter().any(|p| p == product)
                || a.groups.iter().any(|g| {
                    f.group_ids.contains(&g.id) && g.product_ids.iter().any(|p| p == product)
                })
        })
        .map(|f| f.label.clone())
}

#[allow(clippy::too_many_arguments)]
fn add<'kb>(
    found: &mut BTreeMap<String, Match<'kb>>,
    a: &'kb Advisory,
    v: &'kb crate::model::AdvisoryVuln,
    cve: String,
    status: Status,
    confidence: Confidence,
    why: String,
    justification: Option<String>,
) {
    let m = found.entry(cve.clone()).or_insert_with(|| Match {
        cve,
        advisory: None,
        status,
        confidence,
        why: Vec::new(),
        cvss: Vec::new(),
        remediation: Vec::new(),
        justification: None,
        vex: None,
    });
    if a.category == "csaf_vex" && matches!(status, Status::NotAffected | Status::Fixed) {
        if !m.why.contains(&why) {
            m.why.push(format!("VEX {why}"));
        }
        m.vex = Some((status, justification));
        return;
    }
    if m.advisory.is_none() {
        m.advisory = Some(a.provenance.id.clone());
    }
    merge(m, status, confidence, why, justification);
    m.cvss.extend(v.scores.iter());
    for r in &v.remediations {
        if !m.remediation.iter().any(|x| std::ptr::eq(*x, r)) {
            m.remediation.push(r);
        }
    }
}

/// Combines what two sources say about one CVE on one device: a maker's not-affected or fixed
/// statement at exact confidence outranks a weaker affected match; otherwise affected wins, and the
/// best confidence is kept.
fn merge(
    m: &mut Match<'_>,
    status: Status,
    confidence: Confidence,
    why: String,
    just: Option<String>,
) {
    if !m.why.contains(&why) {
        m.why.push(why);
    }
    let incoming_decides = match (m.status, status) {
        (a, b) if a == b => false,
        (Status::Affected, _) => {
            confidence == Confidence::Exact && m.confidence != Confidence::Exact
        }
        (_, Status::Affected) => m.confidence != Confidence::Exact,
        _ => confidence < m.confidence,
    };
    if incoming_decides {
        m.status = status;
        m.justification = just;
    } else if m.status == status && m.justification.is_none() {
        m.justification = just;
    }
    m.confidence = m.confidence.min(confidence);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Vec<String> {
        words(s, &[])
    }

    #[test]
    fn model_names() {
        assert!(model_matches(
            &w("Alaris 8015 PC Unit"),
            &w("Alaris PC Unit")
        ));
        assert!(model_matches(
            &w("MMT-512"),
            &w("MMT-512 / MMT-712 Paradigm x12")
        ));
        assert!(model_matches(&w("8015PCU"), &w("8015 PCU")));
        assert!(!model_matches(
            &w("Alaris"),
            &w("Alaris Gateway Workstation")
        ));
        assert!(!model_matches(&w("Alaris 8000"), &w("Alaris 8015 PCU")));
        assert!(!model_matches(&w(""), &w("Alaris")));
    }

    #[test]
    fn tri_logic() {
        assert_eq!(tri_all(&[Tri::True, Tri::Unknown]), Tri::Unknown);
        assert_eq!(tri_all(&[Tri::True, Tri::False]), Tri::False);
        assert_eq!(tri_any(&[Tri::False, Tri::Unknown]), Tri::Unknown);
        assert_eq!(tri_any(&[]), Tri::False);
    }
}
