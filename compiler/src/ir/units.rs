//! Sizes, durations and rates as written in specs (`5MiB`, `60s`, `2000/s`) and their values.

use std::fmt;

/// A size in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Size(pub u64);

/// A duration in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Duration(pub u64);

/// Records per second.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
pub struct Rate(pub f64);

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * 1024;

const SIZE_UNITS: &[(&str, u64)] = &[
    ("B", 1),
    ("KiB", 1024),
    ("MiB", 1024 * 1024),
    ("GiB", 1024 * 1024 * 1024),
    ("KB", 1000),
    ("MB", 1000 * 1000),
    ("GB", 1000 * 1000 * 1000),
];
const DURATION_UNITS: &[(&str, u64)] = &[
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];
const RATE_UNITS: &[(&str, f64)] = &[("/s", 1.0), ("/m", 1.0 / 60.0), ("/h", 1.0 / 3600.0)];

/// Splits `12.5MiB` into its number and its unit.
fn split(text: &str) -> (&str, &str) {
    let text = text.trim();
    let at = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(text.len());
    (&text[..at], text[at..].trim())
}

fn number(digits: &str, what: &str, example: &str) -> Result<f64, String> {
    let cleaned = digits.replace('_', "");
    match cleaned.parse::<f64>() {
        Ok(n) if n.is_finite() && n >= 0.0 => Ok(n),
        _ => Err(format!("expected a {what} such as `{example}`")),
    }
}

fn unit_list<T>(units: &[(&str, T)]) -> String {
    units
        .iter()
        .map(|(u, _)| format!("`{u}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Size {
    pub fn parse(text: &str) -> Result<Size, String> {
        let (digits, unit) = split(text);
        if unit.is_empty() {
            return Err(format!(
                "a size needs a unit: write `{}B`, `{}KiB` or `{}MiB`",
                digits, digits, digits
            ));
        }
        let Some(&(_, factor)) = SIZE_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown size unit `{unit}`; use one of {}",
                unit_list(SIZE_UNITS)
            ));
        };
        let n = number(digits, "size", "5MiB")?;
        Ok(Size((n * factor as f64).round() as u64))
    }
}

impl Duration {
    pub fn parse(text: &str) -> Result<Duration, String> {
        let (digits, unit) = split(text);
        if unit.is_empty() {
            return Err(format!(
                "a duration needs a unit: write `{digits}s`, `{digits}m` or `{digits}h`"
            ));
        }
        let Some(&(_, factor)) = DURATION_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown duration unit `{unit}`; use one of {}",
                unit_list(DURATION_UNITS)
            ));
        };
        let n = number(digits, "duration", "60s")?;
        Ok(Duration((n * factor as f64).round() as u64))
    }

    pub fn seconds(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

impl Rate {
    pub fn parse(text: &str) -> Result<Rate, String> {
        let (digits, unit) = split(text);
        if unit.is_empty() {
            return Err(format!(
                "a rate needs a unit: write `{digits}/s` or `{digits}/m`"
            ));
        }
        let Some(&(_, factor)) = RATE_UNITS.iter().find(|(u, _)| *u == unit) else {
            return Err(format!(
                "unknown rate unit `{unit}`; use one of {}",
                unit_list(RATE_UNITS)
            ));
        };
        let n = number(digits, "rate", "2000/s")?;
        Ok(Rate(n * factor))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        if b >= MIB && b.is_multiple_of(MIB) {
            write!(f, "{}MiB", b / MIB)
        } else if b >= KIB && b.is_multiple_of(KIB) {
            write!(f, "{}KiB", b / KIB)
        } else {
            write!(f, "{b}B")
        }
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        for (unit, factor) in DURATION_UNITS.iter().rev() {
            if ms >= *factor && ms.is_multiple_of(*factor) {
                return write!(f, "{}{unit}", ms / factor);
            }
        }
        write!(f, "{ms}ms")
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/s", format_number(self.0))
    }
}

/// Formats a number without a trailing `.0` and with at most two decimals.
pub fn format_number(n: f64) -> String {
    if (n - n.round()).abs() < 1e-9 {
        format!("{}", n.round() as i64)
    } else {
        format!("{n:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(Size::parse("5MiB"), Ok(Size(5 * MIB)));
        assert_eq!(Size::parse("64KiB"), Ok(Size(64 * KIB)));
        assert_eq!(Size::parse("1MB"), Ok(Size(1_000_000)));
        assert_eq!(Size::parse("512B"), Ok(Size(512)));
        assert_eq!(Duration::parse("500ms"), Ok(Duration(500)));
        assert_eq!(Duration::parse("7d"), Ok(Duration(7 * 86_400_000)));
        assert_eq!(Rate::parse("120000/m"), Ok(Rate(2000.0)));
        assert!(Size::parse("5").is_err());
        assert!(Size::parse("5XB").is_err());
        assert!(Duration::parse("s").is_err());
        assert!(Rate::parse("10/week").is_err());
    }

    #[test]
    fn displays_compactly() {
        assert_eq!(Size(5 * MIB).to_string(), "5MiB");
        assert_eq!(Duration(86_400_000).to_string(), "1d");
        assert_eq!(Duration(90_000).to_string(), "90s");
        assert_eq!(Rate(2000.0).to_string(), "2000/s");
    }
}
