//! CSAF 2.0 reader: turns a Common Security Advisory Framework document (OASIS CSAF 2.0, such as a
//! CISA ICS medical advisory or a vendor's VEX) into an [`Advisory`].
//!
//! The reader is lenient, as a monitor should be: missing optional parts, unknown fields, `null`s
//! and values of the wrong JSON type are skipped (a string where an array of ids is expected is
//! read as a one-element list; a number where a string is expected is kept as its text). It refuses
//! only what is not CSAF at all: bytes that are not JSON, a truncated file, a document without
//! `document` or without `document.tracking.id` (CSAF 2.0 §3.2.1.12.4), a product tree whose
//! `branches` nest deeper than [`MAX_BRANCH_DEPTH`], and a document whose shared parts (a branch
//! name above many products, a group named by many threats) would be copied into records many times
//! its own size. The JSON parser's nesting limit (128) bounds the recursion everywhere else, and
//! the values the reader skips are skipped without recursion, so no input can overflow the stack.
//!
//! Strings are kept as published; the only interpretation is in [`VersionBranch`] (see [`parse`]).
//! A few CSAF 2.1 spellings are accepted as well where they cost nothing:
//! `vulnerabilities[].metrics[]` (scores), `cvss_v4`, and `product_identification_helper.purls`.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::model::{
    Advisory, AdvisoryVuln, CvssScore, Flag, FormatError, IdentificationHelper, Note, Product,
    ProductGroup, ProductStatus, Provenance, Reference, Relationship, Remediation, Threat,
    VersionBranch,
};

/// The deepest `product_tree.branches` nesting [`parse`] accepts (CSAF 2.0 §3.1.2 sets no limit;
/// real trees are three or four levels: vendor, product name, version).
pub const MAX_BRANCH_DEPTH: usize = 32;

/// How much of a file [`looks_like`] looks at.
pub const SNIFF_LEN: usize = 64 * 1024;

/// The `format` of every [`FormatError`] this module returns.
const FORMAT: &str = "csaf";

/// Whether `value_prefix` (the first bytes of a file) looks like a CSAF document.
///
/// A heuristic, cheap enough to run on every file: within the first [`SNIFF_LEN`] bytes, the value
/// must start as a JSON object (after an optional UTF-8 byte order mark and whitespace) and have
/// the keys `"csaf_version"` (CSAF 2.0 §3.2.1.4) and either `"document"` or `"product_tree"` (a
/// quoted string followed by a colon, at any level). Key order is free in JSON, so `document` need
/// not come first; but a document whose `document` object starts after 64 KiB (a producer writing a
/// huge `vulnerabilities` first) is not recognised. [`parse`] makes the real decision.
pub fn looks_like(value_prefix: &[u8]) -> bool {
    let head = &value_prefix[..value_prefix.len().min(SNIFF_LEN)];
    let body = strip_bom(head);
    let starts_as_object = body
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{');
    starts_as_object
        && has_key(body, b"\"csaf_version\"")
        && (has_key(body, b"\"document\"") || has_key(body, b"\"product_tree\""))
}

/// Reads one CSAF 2.0 document.
///
/// - `provenance`: `document.tracking.id`, `.version` and `.current_release_date` (§3.2.1.12);
///   `category`, `title`, `publisher.name`, `tracking.initial_release_date` and the document
///   `references` (§3.2.1.3, §3.2.1.11, §3.2.1.8, §3.2.1.9).
/// - `products`: every product of the product tree that has a `product_id` (§3.2.2), in document
///   order: first the leaves of `branches` (§3.1.2), each with the branch path above it, then
///   `full_product_names` (§3.2.2.2), then the `full_product_name` of each `relationships` entry
///   (§3.2.2.4). Duplicated ids are kept as published; [`Advisory::product`] returns the first.
/// - `groups`: `product_groups` (§3.2.2.3).
/// - `vulnerabilities`: every entry of `vulnerabilities` (§3.2.3), with all eight product status
///   lists, remediations, CVSS v3 and v4 scores (v2 is dropped), threats, flags, notes and
///   references.
///
/// Branch paths: the nearest `vendor` branch gives [`Product::vendor`], `product_family` and
/// `product_name` branches (outermost first) give `families` and `product_names`, and the nearest
/// `product_version` or `product_version_range` gives [`Product::version`]; every other branch, and
/// any outer vendor or version shadowed by a nearer one, is kept in `other_branches` as
/// `category=name`. A `product_version` whose name is a `vers:` string (CISA's generator writes
/// `vers:all/*` as a `product_version`) is read as a [`VersionBranch::Range`], with its text as
/// published: a `product_version` must not hold a range of any kind (§3.1.2.2), and a `vers:`
/// string is one (§3.1.2.3).
///
/// Relationship products (`full_product_name` of a relationship) have no branch path of their own,
/// so they inherit vendor, families, product names, version and other branches from the product
/// that names what the combined product is: for `default_component_of`, `optional_component_of` and
/// `external_component_of` the whole (`relates_to_product_reference`: "OpenSSL as shipped in pump
/// X" is pump X), for `installed_on`, `installed_with` and unknown categories the installed product
/// (`product_reference`: "viewer 3.1 on Windows" is viewer 3.1). Only fields the relationship
/// product lacks are inherited, and the identification helper never is; [`Product::relationship`]
/// leads to both referenced products.
///
/// `threats[].group_ids` are expanded into the threat's `product_ids`, since [`Threat`] has no
/// group list.
///
/// # Errors
///
/// A [`FormatError`] saying what is wrong, with the line and column or the JSON path: bytes that
/// are not JSON or end too soon, a top level that is not an object, no `document` object, no
/// `document.tracking.id`, `branches` nested deeper than [`MAX_BRANCH_DEPTH`], or shared names and
/// ids that would be copied into more than 16 times the document's size in records.
pub fn parse(bytes: &[u8]) -> Result<Advisory, FormatError> {
    let Obj(raw) = serde_json::from_slice::<Obj<RawCsaf>>(strip_bom(bytes)).map_err(json_error)?;
    let raw = raw.ok_or_else(|| {
        FormatError::new(
            FORMAT,
            "not a CSAF document: the top level is not a JSON object",
        )
    })?;
    let document = raw.document.0.ok_or_else(|| {
        FormatError::new(
            FORMAT,
            "not a CSAF document: `document` is missing or not an object (a CSAF file is a JSON \
             object with `document.csaf_version` and `document.tracking.id`)",
        )
    })?;
    let tracking = document.tracking.0.unwrap_or_default();
    let id = tracking
        .id
        .0
        .filter(|id| !id.trim().is_empty())
        .ok_or_else(|| {
            FormatError::new(
                FORMAT,
                "not a CSAF document: `document.tracking.id` is missing or empty",
            )
        })?;

    let tree = raw.product_tree.0.unwrap_or_default();
    let mut budget = Budget::for_input(bytes.len());
    let products = products(&tree, &mut budget)?;
    let groups: Vec<ProductGroup> = tree
        .product_groups
        .0
        .into_iter()
        .filter_map(|g| {
            Some(ProductGroup {
                id: g.group_id.0.filter(|id| !id.is_empty())?,
                product_ids: g.product_ids.0,
                summary: g.summary.0,
            })
        })
        .collect();
    let vulnerabilities = raw
        .vulnerabilities
        .0
        .into_iter()
        .map(|v| vulnerability(v, &groups, &mut budget))
        .collect::<Result<_, _>>()?;

    Ok(Advisory {
        provenance: Provenance {
            id,
            version: tracking.version.0,
            date: tracking.current_release_date.0,
        },
        category: document.category.0.unwrap_or_default(),
        title: document.title.0.unwrap_or_default(),
        publisher: document
            .publisher
            .0
            .and_then(|p| p.name.0)
            .unwrap_or_default(),
        initial_release: tracking.initial_release_date.0,
        products,
        groups,
        vulnerabilities,
        references: references(document.references.0),
    })
}

impl Advisory {
    /// The product with this `product_id` (the first, should the document repeat an id).
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.products.iter().find(|p| p.id == id)
    }

    /// The product ids a CSAF statement covers: `product_ids`, then the members of each group of
    /// `group_ids` (§3.1.6, §3.2.2.3), in order and without repeats. Unknown group ids add nothing;
    /// product ids are returned whether or not the product tree defines them.
    pub fn expand<'a>(&'a self, product_ids: &'a [String], group_ids: &[String]) -> Vec<&'a str> {
        let members = group_ids.iter().flat_map(|gid| {
            self.groups
                .iter()
                .filter(move |g| g.id == *gid)
                .flat_map(|g| g.product_ids.iter())
        });
        let mut seen = HashSet::new();
        product_ids
            .iter()
            .chain(members)
            .map(String::as_str)
            .filter(|id| seen.insert(*id))
            .collect()
    }
}

fn json_error(err: serde_json::Error) -> FormatError {
    use serde_json::error::Category;
    let what = match err.classify() {
        Category::Eof => "truncated JSON (is the file complete?)",
        Category::Syntax => "invalid JSON",
        Category::Data => "unexpected JSON",
        Category::Io => "read error",
    };
    FormatError::new(FORMAT, format!("{what}: {err}"))
}

fn strip_bom(bytes: &[u8]) -> &[u8] {
    bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes)
}

/// Whether `quoted_key` occurs followed by a colon, as an object key does (the sniff's notion of a
/// key: it does not tell nesting levels apart).
fn has_key(haystack: &[u8], quoted_key: &[u8]) -> bool {
    let mut rest = haystack;
    while let Some(at) = rest.windows(quoted_key.len()).position(|w| w == quoted_key) {
        rest = &rest[at + quoted_key.len()..];
        if rest.trim_ascii_start().starts_with(b":") {
            return true;
        }
    }
    false
}

/// How many bytes of records the reader may copy out of the parts of a document that many records
/// share: branch paths above many products, products that relationships inherit from, groups
/// expanded into threats. Without it a small hostile file (one long branch name above ten thousand
/// leaves) could make the reader allocate gigabytes; real documents use a small fraction of it.
struct Budget {
    left: usize,
}

impl Budget {
    /// Copies allowed per byte of input, on top of a fixed [`Budget::BASE`].
    const PER_INPUT_BYTE: usize = 16;
    const BASE: usize = 1 << 20;

    fn for_input(len: usize) -> Budget {
        Budget {
            left: len
                .saturating_mul(Budget::PER_INPUT_BYTE)
                .saturating_add(Budget::BASE),
        }
    }

    /// A string's cost: its bytes and its header.
    fn string_cost(s: &str) -> usize {
        s.len() + std::mem::size_of::<String>()
    }

    fn take(&mut self, cost: usize, at: &str) -> Result<(), FormatError> {
        self.left = self.left.checked_sub(cost).ok_or_else(|| {
            FormatError::new(
                FORMAT,
                format!(
                    "{at}: repeated names and ids would take more than {} times the document's \
                     size in records; refusing a document built to exhaust memory",
                    Budget::PER_INPUT_BYTE
                ),
            )
        })?;
        Ok(())
    }
}

/// Flattens the product tree (§3.2.2) into products, in document order.
fn products(tree: &RawProductTree, budget: &mut Budget) -> Result<Vec<Product>, FormatError> {
    let mut out = Vec::new();
    let mut path = Vec::new();
    walk_branches(&tree.branches.0, &mut path, &mut out, budget)?;
    out.extend(
        tree.full_product_names
            .0
            .iter()
            .filter_map(|fpn| full_product_name(fpn, None)),
    );

    // Relationships may build on products defined by earlier relationships, so each is resolved
    // against everything defined so far.
    let mut index: HashMap<String, usize> = HashMap::new();
    for (i, p) in out.iter().enumerate() {
        index.entry(p.id.clone()).or_insert(i);
    }
    for rel in &tree.relationships.0 {
        let relationship = Relationship {
            category: rel.category.0.clone().unwrap_or_default(),
            product_reference: rel.product_reference.0.clone().unwrap_or_default(),
            relates_to: rel
                .relates_to_product_reference
                .0
                .clone()
                .unwrap_or_default(),
        };
        let Some(mut product) = rel
            .full_product_name
            .0
            .as_ref()
            .and_then(|fpn| full_product_name(fpn, Some(relationship)))
        else {
            continue;
        };
        let primary = match rel.category.0.as_deref() {
            Some("default_component_of" | "optional_component_of" | "external_component_of") => {
                &rel.relates_to_product_reference
            }
            _ => &rel.product_reference,
        };
        if let Some(&from) = primary.0.as_ref().and_then(|id| index.get(id)) {
            inherit(&mut product, &out[from]);
            budget.take(path_cost(&product), "product_tree.relationships")?;
        }
        index.entry(product.id.clone()).or_insert(out.len());
        out.push(product);
    }
    Ok(out)
}

/// Walks `branches` (§3.1.2) depth first, turning each branch with a `product` into a [`Product`];
/// `path` holds the branches above, with their index in their parent's list (for error messages).
fn walk_branches<'a>(
    branches: &'a [RawBranch],
    path: &mut Vec<(usize, &'a RawBranch)>,
    out: &mut Vec<Product>,
    budget: &mut Budget,
) -> Result<(), FormatError> {
    for (idx, branch) in branches.iter().enumerate() {
        path.push((idx, branch));
        if path.len() > MAX_BRANCH_DEPTH {
            let mut at = String::from("product_tree");
            for (idx, _) in path.iter() {
                at.push_str(&format!(".branches[{idx}]"));
            }
            return Err(FormatError::new(
                FORMAT,
                format!("{at}: branches nested deeper than {MAX_BRANCH_DEPTH} levels"),
            ));
        }
        if let Some(fpn) = &branch.product.0
            && let Some(mut product) = full_product_name(fpn, None)
        {
            apply_path(&mut product, path.iter().map(|(_, b)| *b));
            budget.take(path_cost(&product), "product_tree.branches")?;
            out.push(product);
        }
        walk_branches(&branch.branches.0, path, out, budget)?;
        path.pop();
    }
    Ok(())
}

/// Fills a product's vendor, families, names, version and other branches from its branch path,
/// outermost branch first (§3.1.2.2 lists the categories).
fn apply_path<'a>(product: &mut Product, path: impl Iterator<Item = &'a RawBranch>) {
    for branch in path {
        let category = branch.category.0.as_deref().unwrap_or_default();
        let Some(name) = branch.name.0.as_deref().filter(|n| !n.is_empty()) else {
            continue;
        };
        match category {
            "vendor" => {
                if let Some(outer) = product.vendor.replace(name.to_owned()) {
                    product.other_branches.push(format!("vendor={outer}"));
                }
            }
            "product_family" => product.families.push(name.to_owned()),
            "product_name" => product.product_names.push(name.to_owned()),
            "product_version" | "product_version_range" => {
                let version = if category == "product_version_range" || name.starts_with("vers:") {
                    VersionBranch::Range(name.to_owned())
                } else {
                    VersionBranch::Version(name.to_owned())
                };
                if let Some(outer) = product.version.replace(version) {
                    let (category, text) = match outer {
                        VersionBranch::Version(t) => ("product_version", t),
                        VersionBranch::Range(t) => ("product_version_range", t),
                    };
                    product.other_branches.push(format!("{category}={text}"));
                }
            }
            _ => product.other_branches.push(format!("{category}={name}")),
        }
    }
}

/// A full product name (§3.1.3) as a [`Product`], or `None` without a `product_id`.
fn full_product_name(
    fpn: &RawFullProductName,
    relationship: Option<Relationship>,
) -> Option<Product> {
    let id = fpn.product_id.0.clone().filter(|id| !id.is_empty())?;
    let helper = fpn
        .product_identification_helper
        .0
        .as_ref()
        .map(helper)
        .unwrap_or_default();
    Some(Product {
        id,
        name: fpn.name.0.clone().unwrap_or_default(),
        helper,
        relationship,
        ..Product::default()
    })
}

/// `product_identification_helper` (§3.1.3.3). CSAF 2.1 `purls` fills `purl` when that is absent;
/// further purls, hashes, SBOM URLs and generic URIs are only counted.
fn helper(raw: &RawHelper) -> IdentificationHelper {
    let mut purls = raw.purls.0.iter();
    let purl = raw.purl.0.clone().or_else(|| purls.next().cloned());
    let other = raw.hashes.0 + raw.sbom_urls.0 + raw.x_generic_uris.0 + purls.len();
    IdentificationHelper {
        cpe: raw.cpe.0.clone(),
        purl,
        model_numbers: raw.model_numbers.0.clone(),
        skus: raw.skus.0.clone(),
        serial_numbers: raw.serial_numbers.0.clone(),
        other: u32::try_from(other).unwrap_or(u32::MAX),
    }
}

/// What a product's branch-derived fields cost against the [`Budget`].
fn path_cost(p: &Product) -> usize {
    let version = p.version.as_ref().map(|v| match v {
        VersionBranch::Version(t) | VersionBranch::Range(t) => t,
    });
    p.vendor
        .iter()
        .chain(&p.families)
        .chain(&p.product_names)
        .chain(version)
        .chain(&p.other_branches)
        .map(|s| Budget::string_cost(s))
        .sum()
}

/// Gives a relationship product the branch-derived fields it lacks, from the product it is.
fn inherit(product: &mut Product, from: &Product) {
    if product.vendor.is_none() {
        product.vendor.clone_from(&from.vendor);
    }
    if product.families.is_empty() {
        product.families.clone_from(&from.families);
    }
    if product.product_names.is_empty() {
        product.product_names.clone_from(&from.product_names);
    }
    if product.version.is_none() {
        product.version.clone_from(&from.version);
    }
    if product.other_branches.is_empty() {
        product.other_branches.clone_from(&from.other_branches);
    }
}

/// One `vulnerabilities[]` entry (§3.2.3).
fn vulnerability(
    raw: RawVuln,
    groups: &[ProductGroup],
    budget: &mut Budget,
) -> Result<AdvisoryVuln, FormatError> {
    let status = raw.product_status.0.unwrap_or_default();
    let mut scores = Vec::new();
    for s in raw.scores.0 {
        push_scores(&mut scores, s.cvss_v3.0, s.cvss_v4.0, &s.products.0);
    }
    for m in raw.metrics.0 {
        let content = m.content.0.unwrap_or_default();
        push_scores(
            &mut scores,
            content.cvss_v3.0,
            content.cvss_v4.0,
            &m.products.0,
        );
    }
    let mut threats = Vec::with_capacity(raw.threats.0.len());
    for t in raw.threats.0 {
        threats.push(Threat {
            category: t.category.0.unwrap_or_default(),
            details: t.details.0.unwrap_or_default(),
            product_ids: expand_groups(t.product_ids.0, &t.group_ids.0, groups, budget)?,
        });
    }
    Ok(AdvisoryVuln {
        cve: raw.cve.0,
        cwe: raw
            .cwe
            .0
            .and_then(|c| Some((c.id.0?, c.name.0.unwrap_or_default()))),
        title: raw.title.0,
        notes: raw
            .notes
            .0
            .into_iter()
            .map(|n| Note {
                category: n.category.0.unwrap_or_default(),
                title: n.title.0,
                text: n.text.0.unwrap_or_default(),
            })
            .collect(),
        status: ProductStatus {
            known_affected: status.known_affected.0,
            fixed: status.fixed.0,
            known_not_affected: status.known_not_affected.0,
            under_investigation: status.under_investigation.0,
            first_affected: status.first_affected.0,
            first_fixed: status.first_fixed.0,
            last_affected: status.last_affected.0,
            recommended: status.recommended.0,
        },
        remediations: raw
            .remediations
            .0
            .into_iter()
            .map(|r| Remediation {
                category: r.category.0.unwrap_or_default(),
                details: r.details.0.unwrap_or_default(),
                url: r.url.0,
                product_ids: r.product_ids.0,
                group_ids: r.group_ids.0,
                date: r.date.0,
            })
            .collect(),
        scores,
        threats,
        flags: raw
            .flags
            .0
            .into_iter()
            .map(|f| Flag {
                label: f.label.0.unwrap_or_default(),
                product_ids: f.product_ids.0,
                group_ids: f.group_ids.0,
            })
            .collect(),
        references: references(raw.references.0),
    })
}

/// CVSS v3 and v4 objects of one `scores[]` entry (§3.2.3.13) or CSAF 2.1 `metrics[].content`.
fn push_scores(
    out: &mut Vec<CvssScore>,
    v3: Option<RawCvss>,
    v4: Option<RawCvss>,
    products: &[String],
) {
    for (cvss, default_version) in [(v3, "3"), (v4, "4.0")] {
        let Some(cvss) = cvss else { continue };
        let vector = cvss.vector_string.0.unwrap_or_default();
        // The vector's own prefix (`CVSS:3.1/`) is the better witness when `version` is missing.
        let version = cvss
            .version
            .0
            .or_else(|| {
                let rest = vector.strip_prefix("CVSS:")?;
                Some(rest.split('/').next()?.to_owned())
            })
            .unwrap_or_else(|| default_version.to_owned());
        out.push(CvssScore {
            version,
            vector,
            base_score: cvss.base_score.0,
            source: None,
            product_ids: products.to_vec(),
        });
    }
}

/// `ids` followed by the members of the groups `group_ids`, without repeats.
fn expand_groups(
    ids: Vec<String>,
    group_ids: &[String],
    groups: &[ProductGroup],
    budget: &mut Budget,
) -> Result<Vec<String>, FormatError> {
    if group_ids.is_empty() {
        return Ok(ids);
    }
    let wanted: HashSet<&str> = group_ids.iter().map(String::as_str).collect();
    let members = groups
        .iter()
        .filter(|g| wanted.contains(g.id.as_str()))
        .flat_map(|g| g.product_ids.iter().cloned());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids.into_iter().chain(members) {
        if seen.insert(id.clone()) {
            budget.take(
                Budget::string_cost(&id),
                "vulnerabilities[].threats[].group_ids",
            )?;
            out.push(id);
        }
    }
    Ok(out)
}

/// References (§3.1.10); one without a `url` says nothing and is dropped.
fn references(raw: Vec<RawReference>) -> Vec<Reference> {
    raw.into_iter()
        .filter_map(|r| {
            Some(Reference {
                url: r.url.0.filter(|u| !u.is_empty())?,
                summary: r.summary.0,
                category: r.category.0,
            })
        })
        .collect()
}

// The private mirror of the CSAF 2.0 JSON schema: only the fields we keep, every one optional, and
// each wrapped in a lenient type ([`Text`], [`Texts`], [`Obj`], [`List`], [`Count`], [`Num`]) so
// that a value of the wrong JSON type is skipped instead of failing the whole document.

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawCsaf {
    document: Obj<RawDocument>,
    product_tree: Obj<RawProductTree>,
    vulnerabilities: List<RawVuln>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawDocument {
    category: Text,
    title: Text,
    publisher: Obj<RawPublisher>,
    tracking: Obj<RawTracking>,
    references: List<RawReference>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawPublisher {
    name: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawTracking {
    id: Text,
    version: Text,
    current_release_date: Text,
    initial_release_date: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawReference {
    url: Text,
    summary: Text,
    category: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawProductTree {
    branches: List<RawBranch>,
    full_product_names: List<RawFullProductName>,
    relationships: List<RawRelationship>,
    product_groups: List<RawGroup>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawBranch {
    category: Text,
    name: Text,
    product: Obj<RawFullProductName>,
    branches: List<RawBranch>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawFullProductName {
    name: Text,
    product_id: Text,
    product_identification_helper: Obj<RawHelper>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawHelper {
    cpe: Text,
    purl: Text,
    purls: Texts,
    model_numbers: Texts,
    skus: Texts,
    serial_numbers: Texts,
    hashes: Count,
    sbom_urls: Count,
    x_generic_uris: Count,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawRelationship {
    category: Text,
    product_reference: Text,
    relates_to_product_reference: Text,
    full_product_name: Obj<RawFullProductName>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawGroup {
    group_id: Text,
    product_ids: Texts,
    summary: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawVuln {
    cve: Text,
    cwe: Obj<RawCwe>,
    title: Text,
    notes: List<RawNote>,
    product_status: Obj<RawStatus>,
    remediations: List<RawRemediation>,
    scores: List<RawScore>,
    metrics: List<RawMetric>,
    threats: List<RawThreat>,
    flags: List<RawFlag>,
    references: List<RawReference>,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawCwe {
    id: Text,
    name: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawNote {
    category: Text,
    title: Text,
    text: Text,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawStatus {
    first_affected: Texts,
    first_fixed: Texts,
    fixed: Texts,
    known_affected: Texts,
    known_not_affected: Texts,
    last_affected: Texts,
    recommended: Texts,
    under_investigation: Texts,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawRemediation {
    category: Text,
    details: Text,
    url: Text,
    date: Text,
    product_ids: Texts,
    group_ids: Texts,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawScore {
    cvss_v3: Obj<RawCvss>,
    cvss_v4: Obj<RawCvss>,
    products: Texts,
}

/// CSAF 2.1 `metrics[]`: the score objects moved under `content`.
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawMetric {
    content: Obj<RawScoreContent>,
    products: Texts,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawScoreContent {
    cvss_v3: Obj<RawCvss>,
    cvss_v4: Obj<RawCvss>,
}

/// The FIRST CVSS JSON schema, as CSAF embeds it (camelCase keys).
#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawCvss {
    version: Text,
    #[serde(rename = "vectorString")]
    vector_string: Text,
    #[serde(rename = "baseScore")]
    base_score: Num,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawThreat {
    category: Text,
    details: Text,
    product_ids: Texts,
    group_ids: Texts,
}

#[derive(Default, serde::Deserialize)]
#[serde(default)]
struct RawFlag {
    label: Text,
    product_ids: Texts,
    group_ids: Texts,
}

/// A string; a number or boolean is kept as its text, anything else is `None`.
#[derive(Default)]
struct Text(Option<String>);

/// A list of strings; a lone string is a one-element list, other values are skipped.
#[derive(Default)]
struct Texts(Vec<String>);

/// A JSON object read as `T`; any other value is `None`.
struct Obj<T>(Option<T>);

/// A list of JSON objects read as `T`; elements that are not objects are skipped.
struct List<T>(Vec<T>);

/// The length of a list whose elements are not kept.
#[derive(Default)]
struct Count(usize);

/// A number; a numeric string is accepted, anything else is `None`.
#[derive(Default)]
struct Num(Option<f64>);

impl<T> Default for Obj<T> {
    fn default() -> Self {
        Obj(None)
    }
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List(Vec::new())
    }
}

/// Consumes the rest of a sequence the visitor does not want (the parser insists it is read).
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Consumes the rest of a map the visitor does not want.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// The `visit_*` methods of a lenient visitor for the JSON types it does not want: each yields
/// `$value` (the visitor's "nothing").
macro_rules! skip_other {
    ($value:expr; scalars $(, $method:ident($ty:ty))*) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Ok($value)
        })*
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($value)
        }
    };
    ($value:expr; seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
            drain_seq(seq)?;
            Ok($value)
        }
    };
    ($value:expr; map) => {
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            drain_map(map)?;
            Ok($value)
        }
    };
}

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(Some(v)))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Text, E> {
                Ok(Text(Some(v.to_string())))
            }
            skip_other!(Text(None); scalars);
            skip_other!(Text(None); seq);
            skip_other!(Text(None); map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Texts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Texts;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of strings")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Texts, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(text)) = seq.next_element::<Text>()? {
                    out.extend(text);
                }
                Ok(Texts(out))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Texts, E> {
                Ok(Texts(vec![v.to_owned()]))
            }
            skip_other!(Texts(Vec::new()); scalars, visit_bool(bool), visit_i64(i64),
                visit_u64(u64), visit_f64(f64));
            skip_other!(Texts(Vec::new()); map);
        }
        d.deserialize_any(V)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(|t| Obj(Some(t)))
            }
            skip_other!(Obj(None); scalars, visit_bool(bool), visit_i64(i64), visit_u64(u64),
                visit_f64(f64), visit_str(&str));
            skip_other!(Obj(None); seq);
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = List<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of JSON objects")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<List<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(Obj(item)) = seq.next_element::<Obj<T>>()? {
                    out.extend(item);
                }
                Ok(List(out))
            }
            skip_other!(List(Vec::new()); scalars, visit_bool(bool), visit_i64(i64),
                visit_u64(u64), visit_f64(f64), visit_str(&str));
            skip_other!(List(Vec::new()); map);
        }
        d.deserialize_any(V(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Count;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Count, A::Error> {
                let mut n = 0;
                while seq.next_element::<IgnoredAny>()?.is_some() {
                    n += 1;
                }
                Ok(Count(n))
            }
            skip_other!(Count(0); scalars, visit_bool(bool), visit_i64(i64), visit_u64(u64),
                visit_f64(f64), visit_str(&str));
            skip_other!(Count(0); map);
        }
        d.deserialize_any(V)
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Num, E> {
                Ok(Num(Some(v as f64)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Num, E> {
                Ok(Num(Some(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Num, E> {
                Ok(Num(v.trim().parse().ok().filter(|n: &f64| n.is_finite())))
            }
            skip_other!(Num(None); scalars, visit_bool(bool));
            skip_other!(Num(None); seq);
            skip_other!(Num(None); map);
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(rest: &str) -> String {
        format!(r#"{{"document":{{"csaf_version":"2.0","tracking":{{"id":"T-1"}}}}{rest}}}"#)
    }

    #[test]
    fn sniff_accepts_any_key_order() {
        assert!(looks_like(doc("").as_bytes()));
        assert!(looks_like(
            br#" {"product_tree":{},"document":{"csaf_version":"2.0"}}"#
        ));
        assert!(looks_like(
            b"\xEF\xBB\xBF\n{\"document\":{\"csaf_version\":\"2.0\"}}"
        ));
    }

    #[test]
    fn sniff_rejects_other_documents() {
        assert!(!looks_like(b""));
        assert!(!looks_like(
            br#"{"bomFormat":"CycloneDX","specVersion":"1.5"}"#
        ));
        assert!(!looks_like(
            br#"{"vulnerabilities":[{"cve":{"id":"CVE-1"}}]}"#
        ));
        assert!(!looks_like(br#"[{"document":{"csaf_version":"2.0"}}]"#));
        // The key must be a key, not a word in some text.
        assert!(!looks_like(br#"{"document":{"note":"csaf_version"}}"#));
    }

    #[test]
    fn sniff_looks_at_the_first_64_kib_only() {
        let mut late = String::from(r#"{"x":""#);
        late.push_str(&" ".repeat(SNIFF_LEN));
        late.push_str(r#"","document":{"csaf_version":"2.0"}}"#);
        assert!(!looks_like(late.as_bytes()));
    }

    #[test]
    fn wrong_types_are_skipped_not_fatal() {
        let json = doc(
            r#","product_tree":{"branches":[1,"x",{"category":"vendor","name":"V",
                "branches":[{"category":"product_version","name":7,
                "product":{"product_id":"P1","name":["not","a","string"]}}]}]},
              "vulnerabilities":[null,{"cve":"CVE-2024-0001","cwe":"CWE-79",
                "product_status":{"known_affected":"P1","fixed":[1,null,"P2"]},
                "scores":[{"cvss_v3":{"vectorString":"CVSS:3.1/AV:N","baseScore":"9.8"},
                    "products":"P1"}],
                "notes":{"category":"summary"}}]"#,
        );
        let adv = parse(json.as_bytes()).expect("lenient parse");
        let p = adv.product("P1").expect("product P1");
        assert_eq!(p.vendor.as_deref(), Some("V"));
        assert_eq!(p.version, Some(VersionBranch::Version("7".into())));
        assert_eq!(p.name, "");
        let v = &adv.vulnerabilities[0];
        assert_eq!(adv.vulnerabilities.len(), 1);
        assert_eq!(v.cwe, None);
        assert_eq!(v.status.known_affected, ["P1"]);
        assert_eq!(v.status.fixed, ["1", "P2"]);
        assert_eq!(v.scores[0].version, "3.1");
        assert_eq!(v.scores[0].base_score, Some(9.8));
        assert!(v.notes.is_empty());
    }

    #[test]
    fn vers_in_product_version_is_a_range() {
        let json = doc(
            r#","product_tree":{"branches":[{"category":"product_version","name":"vers:all/*",
                "product":{"product_id":"A"}},{"category":"product_version","name":"1.2",
                "product":{"product_id":"B"}}]}"#,
        );
        let adv = parse(json.as_bytes()).expect("parse");
        let version = |id| adv.product(id).and_then(|p| p.version.clone());
        assert_eq!(
            version("A"),
            Some(VersionBranch::Range("vers:all/*".into()))
        );
        assert_eq!(version("B"), Some(VersionBranch::Version("1.2".into())));
    }

    #[test]
    fn shadowed_vendor_and_version_are_kept() {
        let json = doc(
            r#","product_tree":{"branches":[{"category":"vendor","name":"Parent",
                "branches":[{"category":"vendor","name":"Child","branches":[
                {"category":"product_version_range","name":"< 3","branches":[
                {"category":"product_version","name":"2.1","branches":[
                {"category":"architecture","name":"arm","product":{"product_id":"P"}}]}]}]}]}]}"#,
        );
        let adv = parse(json.as_bytes()).expect("parse");
        let p = adv.product("P").expect("P");
        assert_eq!(p.vendor.as_deref(), Some("Child"));
        assert_eq!(p.version, Some(VersionBranch::Version("2.1".into())));
        assert_eq!(
            p.other_branches,
            [
                "vendor=Parent",
                "product_version_range=< 3",
                "architecture=arm"
            ]
        );
    }

    #[test]
    fn expand_deduplicates_and_keeps_order() {
        let adv = Advisory {
            groups: vec![
                ProductGroup {
                    id: "G1".into(),
                    product_ids: vec!["B".into(), "C".into()],
                    summary: None,
                },
                ProductGroup {
                    id: "G2".into(),
                    product_ids: vec!["C".into(), "D".into()],
                    summary: None,
                },
            ],
            ..Advisory::default()
        };
        let ids = ["A".to_owned(), "B".to_owned(), "A".to_owned()];
        let groups = ["G2".to_owned(), "G1".to_owned(), "nope".to_owned()];
        assert_eq!(adv.expand(&ids, &groups), ["A", "B", "C", "D"]);
        assert!(adv.expand(&[], &[]).is_empty());
    }
}
