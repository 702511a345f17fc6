//! Classification rules: evidence patterns to device fields, as data (TOML). The built-in file ships
//! in the binary; users add theirs with `--rules FILE`.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

/// The rules shipped with medsentry.
pub const BUILTIN: &str = include_str!("../rules/devices.toml");

/// Fields a rule may set.
pub const FIELDS: [&str; 8] = [
    "vendor",
    "model",
    "software",
    "hostname",
    "category",
    "role",
    "modality",
    "criticality",
];

/// The categories a device can have (issue 5's list) and the default criticality of each.
pub const CATEGORIES: [(&str, &str); 11] = [
    ("patient-monitor", "patient-affecting"),
    ("infusion-pump", "life-sustaining"),
    ("imaging-modality", "patient-affecting"),
    ("lab-analyser", "patient-affecting"),
    ("pacs", "clinical-support"),
    ("hl7-interface-engine", "clinical-support"),
    ("iot-gateway", "clinical-support"),
    ("workstation", "business"),
    ("server", "business"),
    ("network-device", "business"),
    ("unknown", "business"),
];

pub fn default_criticality(category: &str) -> &'static str {
    CATEGORIES
        .iter()
        .find(|(c, _)| *c == category)
        .map_or("business", |(_, k)| k)
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    /// The evidence field the rule looks at (`dhcp.vendor_class`, `mac.vendor`, ...), or several
    /// separated by `|` (`dhcp.vendor_class|dhcp6.vendor_class`).
    pub field: String,
    /// Case-insensitive glob alternatives separated by `|`: `*` any run, `?` one character.
    #[serde(rename = "match")]
    pub pattern: String,
    /// Fields decided, `$value` standing for the evidence value.
    pub set: BTreeMap<String, String>,
    pub confidence: f32,
    pub reason: String,
    /// `field` and `pattern` split at `|` and trimmed, once, when the rule is added: every device's
    /// every piece of evidence is checked against every rule.
    #[serde(skip)]
    fields: Vec<String>,
    #[serde(skip)]
    alternatives: Vec<Vec<u8>>,
}

impl Rule {
    /// Whether the rule reads evidence of this field.
    pub fn looks_at(&self, field: &str) -> bool {
        self.fields.iter().any(|f| f == field)
    }

    /// Whether `value` matches one of the rule's globs.
    pub fn matches(&self, value: &str) -> bool {
        self.alternatives
            .iter()
            .any(|alt| glob(alt, value.as_bytes()))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// An ordered rule set: later rules (the user's) win ties.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    pub rules: Vec<Rule>,
}

impl Rules {
    /// For each evidence field, the rules that read it, in rule order, each once.
    pub fn by_field(&self) -> HashMap<&str, Vec<usize>> {
        let mut by: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, rule) in self.rules.iter().enumerate() {
            for f in &rule.fields {
                let list = by.entry(f.as_str()).or_default();
                if list.last() != Some(&i) {
                    list.push(i);
                }
            }
        }
        by
    }

    pub fn builtin() -> Rules {
        let mut r = Rules::default();
        r.add(BUILTIN, "built-in rules")
            .expect("the shipped rules parse");
        r
    }

    /// Adds the rules of a TOML document; `origin` names it in errors.
    pub fn add(&mut self, text: &str, origin: &str) -> Result<usize, String> {
        let file: RuleFile =
            toml::from_str(text).map_err(|e| format!("{origin}: {}", e.message()))?;
        for r in &file.rule {
            if let Some(bad) = r.set.keys().find(|k| !FIELDS.contains(&k.as_str())) {
                return Err(format!(
                    "{origin}: rule `{}` sets unknown field `{bad}` (known: {})",
                    r.id,
                    FIELDS.join(", ")
                ));
            }
            if !(0.0..=1.0).contains(&r.confidence) {
                return Err(format!(
                    "{origin}: rule `{}`: confidence {} is not between 0 and 1",
                    r.id, r.confidence
                ));
            }
            if let Some(c) = r.set.get("category")
                && !CATEGORIES.iter().any(|(k, _)| k == c)
            {
                return Err(format!("{origin}: rule `{}`: unknown category `{c}`", r.id));
            }
        }
        let n = file.rule.len();
        self.rules.extend(file.rule.into_iter().map(|mut r| {
            r.fields = r.field.split('|').map(|f| f.trim().to_string()).collect();
            r.alternatives = r
                .pattern
                .split('|')
                .map(|a| a.trim().as_bytes().to_vec())
                .collect();
            r
        }));
        Ok(n)
    }
}

/// Case-insensitive glob with `|` alternatives.
pub fn matches(pattern: &str, value: &str) -> bool {
    pattern
        .split('|')
        .any(|alt| glob(alt.trim().as_bytes(), value.as_bytes()))
}

fn glob(p: &[u8], v: &[u8]) -> bool {
    // Iterative matcher with one backtrack point per `*` (linear in practice).
    let (mut pi, mut vi) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi].eq_ignore_ascii_case(&v[vi])) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_case_insensitively_with_alternatives() {
        assert!(matches(
            "Philips Medical*",
            "PHILIPS MEDICAL SYSTEMS - Cardiac"
        ));
        assert!(matches("HP|Hewlett Packard", "hewlett packard"));
        assert!(!matches("HP|Hewlett Packard", "HP Tuners"));
        assert!(matches("*IntelliVue*", "PHILIPS IntelliVue MX450"));
        assert!(matches("M?00*", "M.00.03"));
        assert!(matches("*", ""));
        assert!(!matches("a*b", "acbd"));
        assert!(matches("a*b*c", "axxbyyc"));
    }

    #[test]
    fn fields_and_alternatives_are_split_once_and_trimmed() {
        let mut r = Rules::default();
        r.add(
            "[[rule]]\nid='x'\nfield='dhcp.vendor_class | dhcp6.vendor_class'\n\
             match=' Baxter* | *Alaris '\nset={vendor='v'}\nconfidence=0.5\nreason='r'\n",
            "mine.toml",
        )
        .unwrap();
        let rule = &r.rules[0];
        assert!(rule.looks_at("dhcp.vendor_class") && rule.looks_at("dhcp6.vendor_class"));
        assert!(!rule.looks_at("dhcp.hostname"));
        assert!(rule.matches("baxter sigma") && rule.matches("BD Alaris"));
        assert!(!rule.matches("Alaris pump"));
        assert_eq!(
            rule.matches("BD Alaris"),
            matches(&rule.pattern, "BD Alaris")
        );
    }

    #[test]
    fn shipped_rules_parse_and_bad_rules_are_named() {
        let r = Rules::builtin();
        assert!(r.rules.len() > 40);
        let mut r = Rules::default();
        let err = r.add("[[rule]]\nid='x'\nfield='f'\nmatch='*'\nset={colour='red'}\nconfidence=0.5\nreason='r'\n", "mine.toml").unwrap_err();
        assert!(
            err.contains("mine.toml") && err.contains("`x`") && err.contains("`colour`"),
            "{err}"
        );
        let err = r.add("[[rule]]\nid='y'\nfield='f'\nmatch='*'\nset={category='toaster'}\nconfidence=0.5\nreason='r'\n", "mine.toml").unwrap_err();
        assert!(err.contains("unknown category `toaster`"), "{err}");
        assert!(r.add("[[rule]]\nid='z'\nbogus=1\n", "mine.toml").is_err());
    }
}
