//! The two names every distribution file carries, parsed once: the distribution name
//! (PEP 508, compared in its PEP 503 normal form) and the version (PEP 440, normalized the way
//! maturin and `packaging` print it, so `1.0.0-beta.1` is `1.0.0b1` everywhere).

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("`{0}` is not a distribution name (PEP 508: letters, digits, `.`, `-`, `_`, starting and ending with a letter or digit)")]
    Name(String),
    #[error("`{given}` is not a PEP 440 version: {why}")]
    Version { given: String, why: String },
    #[error("`{0}` is not a wheel build tag (it must start with a digit)")]
    BuildTag(String),
}

/// A valid distribution name, e.g. `mcp-sidecar`; equal names have equal PEP 503 forms.
#[derive(Debug, Clone)]
pub struct DistName {
    given: String,
    normalized: String,
}

impl DistName {
    pub fn parse(s: &str) -> Result<DistName, NameError> {
        let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
        let ok = alnum(s.chars().next())
            && alnum(s.chars().last())
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
        if !ok {
            return Err(NameError::Name(s.to_string()));
        }
        let mut normalized = String::with_capacity(s.len());
        for c in s.chars() {
            if !matches!(c, '.' | '-' | '_') {
                normalized.push(c.to_ascii_lowercase());
            } else if !normalized.ends_with('-') {
                normalized.push('-');
            }
        }
        Ok(DistName {
            given: s.to_string(),
            normalized,
        })
    }

    /// As the project spells it (METADATA `Name:`).
    pub fn as_given(&self) -> &str {
        &self.given
    }

    /// The PEP 503 form: `mcp-sidecar`.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The file-name form wheels and sdists use: `mcp_sidecar`.
    pub fn file_form(&self) -> String {
        self.normalized.replace('-', "_")
    }
}

impl PartialEq for DistName {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}
impl Eq for DistName {}

impl fmt::Display for DistName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.given)
    }
}

/// A PEP 440 version; `Display` prints the normal form.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pep440_rs::Version);

impl Version {
    pub fn parse(s: &str) -> Result<Version, NameError> {
        pep440_rs::Version::from_str(s)
            .map(Version)
            .map_err(|e| NameError::Version {
                given: s.to_string(),
                why: e.to_string(),
            })
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Version {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Version {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Version::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A wheel build tag (`1`, `7b`): a number first, then an optional suffix; sorts by both.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BuildTag {
    pub number: u64,
    pub suffix: String,
}

impl BuildTag {
    pub fn parse(s: &str) -> Result<BuildTag, NameError> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        let number = s[..digits]
            .parse()
            .map_err(|_| NameError::BuildTag(s.to_string()))?;
        Ok(BuildTag {
            number,
            suffix: s[digits..].to_string(),
        })
    }
}

impl fmt::Display for BuildTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.number, self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_normalize_and_refuse_garbage() {
        let n = DistName::parse("MCP.-_Sidecar").unwrap();
        assert_eq!(n.normalized(), "mcp-sidecar");
        assert_eq!(n.file_form(), "mcp_sidecar");
        assert_eq!(n.as_given(), "MCP.-_Sidecar");
        assert_eq!(n, DistName::parse("mcp_sidecar").unwrap());
        for bad in ["", "-bad name!", "a b", "_x", "x.", "é"] {
            assert!(DistName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn versions_print_in_pep440_normal_form() {
        for (given, normal) in [
            ("1.0.0-beta.1", "1.0.0b1"),
            ("1.0.0-alpha", "1.0.0a0"),
            ("1.0.0-rc.2", "1.0.0rc2"),
            ("0.1.0", "0.1.0"),
            ("1.0-post1", "1.0.post1"),
        ] {
            assert_eq!(
                Version::parse(given).unwrap().to_string(),
                normal,
                "{given}"
            );
        }
        for bad in ["", "1.0.0-foo", "one", "1.0.0+"] {
            assert!(Version::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn build_tags_start_with_a_digit() {
        let b = BuildTag::parse("7b").unwrap();
        assert_eq!((b.number, b.suffix.as_str()), (7, "b"));
        assert_eq!(b.to_string(), "7b");
        assert!(BuildTag::parse("b7").is_err());
        assert!(BuildTag::parse("").is_err());
        assert!(BuildTag::parse("2").unwrap() < BuildTag::parse("10").unwrap());
    }
}
