//! Maker names, normalised: a CMMS says "Baxter Healthcare Corporation", the IEEE registry "Baxter
//! Healthcare", the advisory "Baxter", NVD's CPE `baxter`. All four give the key `baxter`.
//!
//! The alias table is data (`data/vendors.toml`); see its header for the rules.

use std::collections::HashMap;

use serde::Deserialize;

const BUILTIN: &str = include_str!("../data/vendors.toml");

/// Legal forms and filler dropped from a maker's name.
const LEGAL: &[&str] = &[
    "inc",
    "incorporated",
    "corp",
    "corporation",
    "co",
    "company",
    "ltd",
    "limited",
    "llc",
    "gmbh",
    "ag",
    "sa",
    "plc",
    "oy",
    "kg",
    "se",
    "bv",
    "nv",
    "b",
    "v",
    "the",
    "spa",
    "srl",
    "pty",
    "kk",
];

#[derive(Deserialize)]
struct File {
    vendor: Vec<Entry>,
}

#[derive(Deserialize)]
struct Entry {
    key: String,
    aliases: Vec<String>,
}

/// The alias table.
#[derive(Debug, Clone)]
pub struct Vendors {
    /// Normalised alias -> key.
    aliases: HashMap<String, String>,
    /// Longest alias, in words, to bound the prefix search.
    longest: usize,
}

impl Vendors {
    /// The table shipped in the repository.
    pub fn builtin() -> Vendors {
        Vendors::parse(BUILTIN).unwrap_or_else(|e| {
            // The file is compiled in and tested; this cannot fail at run time.
            unreachable!("data/vendors.toml: {e}")
        })
    }

    pub fn parse(text: &str) -> Result<Vendors, String> {
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let mut aliases = HashMap::new();
        let mut longest = 1;
        for e in file.vendor {
            let key = normalise(&e.key);
            for a in e.aliases.iter().chain([&e.key]) {
                let n = normalise(a);
                longest = longest.max(n.split(' ').count());
                if let Some(prev) = aliases.insert(n.clone(), key.clone())
                    && prev != key
                {
                    return Err(format!("alias {a:?} maps to both {prev:?} and {key:?}"));
                }
            }
        }
        Ok(Vendors { aliases, longest })
    }

    /// The keys a maker's name stands for: usually one; two for "Silex Technology and GE
    /// Healthcare" or "Natus Medical, Inc. (Natus)"-style names that carry a second name.
    pub fn keys(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut names: Vec<String> = vec![strip_parens(name)];
        if let (Some(open), Some(close)) = (name.find('('), name.rfind(')'))
            && open < close
        {
            names.push(name[open + 1..close].to_string());
        }
        for n in &names {
            let norm = normalise(n);
            if norm.is_empty() {
                continue;
            }
            if let Some(k) = self.lookup(&norm) {
                out.push(k);
                continue;
            }
            // "A and B", "A, B and C": joint advisories name several makers.
            let parts: Vec<&str> = n
                .split([',', '&'])
                .flat_map(|p| p.split(" and "))
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .collect();
            let mut any = false;
            if parts.len() > 1 {
                for p in parts {
                    let pn = normalise(p);
                    if !pn.is_empty() {
                        out.push(self.lookup(&pn).unwrap_or(pn));
                        any = true;
                    }
                }
            }
            if !any {
                out.push(norm);
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// The key of a normalised name: an alias that is the name or its first words.
    fn lookup(&self, norm: &str) -> Option<String> {
        if let Some(k) = self.aliases.get(norm) {
            return Some(k.clone());
        }
        let words: Vec<&str> = norm.split(' ').collect();
        for n in (1..=self.longest.min(words.len())).rev() {
            if let Some(k) = self.aliases.get(&words[..n].join(" ")) {
                return Some(k.clone());
            }
        }
        None
    }
}

fn strip_parens(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0u32;
    for c in name.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// Lowercase words of letters and digits, legal forms dropped: "B. Braun Melsungen AG" ->
/// "b braun melsungen"; "Becton, Dickinson and Company" -> "becton dickinson and".
pub fn normalise(name: &str) -> String {
    let lower = name.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    // Legal forms only at the end (keep the "B" of "B. Braun").
    let mut end = words.len();
    while end > 1 && LEGAL.contains(&words[end - 1]) {
        end -= 1;
    }
    words[..end].join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_table_loads() {
        let v = Vendors::builtin();
        assert!(v.aliases.len() > 50);
    }

    #[test]
    fn makers_as_written() {
        let v = Vendors::builtin();
        for (name, key) in [
            ("Baxter Healthcare Corporation", "baxter"),
            ("Baxter", "baxter"),
            ("baxter", "baxter"),
            ("Becton, Dickinson and Company (BD)", "bd"),
            ("BD", "bd"),
            ("B. Braun Melsungen AG", "b braun"),
            ("B. Braun Medical", "b braun"),
            ("Philips Medical Systems Nederland B.V.", "philips"),
            ("Phillips", "philips"),
            ("General Electric (GE)", "ge"),
            ("GE Healthcare", "ge"),
            ("Dräger", "draeger"),
            ("Medtronic ", "medtronic"),
            ("Acme Devices Inc.", "acme devices"),
        ] {
            assert_eq!(v.keys(name), vec![key.to_string()], "{name}");
        }
        assert_eq!(
            v.keys("Silex Technology and GE Healthcare"),
            vec!["ge".to_string(), "silex technology".to_string()]
        );
        assert_eq!(
            v.keys("Natus Medical, Inc. (Natus)"),
            vec!["natus".to_string()]
        );
    }

    #[test]
    fn conflicting_aliases_are_refused() {
        let t = "[[vendor]]\nkey=\"a\"\naliases=[\"x\"]\n[[vendor]]\nkey=\"b\"\naliases=[\"x\"]\n";
        assert!(Vendors::parse(t).is_err());
    }
}
