//! Durations as runbooks write them: `90s`, `15m`, `1h30m` (or `1h 30m`), `24h`, `21d`, `2w`.
//!
//! Deliberately strict: deadlines carry legal weight, so only units with one exact length are
//! accepted (seconds, minutes, hours, days, weeks). Months and years vary in length and are
//! refused with a hint to write days (`365d`).

use std::fmt::Write as _;
use std::time::Duration;

/// Parses a duration, or says what is wrong with it.
pub fn parse(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration; write a number and a unit, such as `30m` or `24h`".into());
    }
    let mut total: u64 = 0;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(format!(
                "`{trimmed}` is not a duration; write a number and a unit, such as `30m` or `24h`"
            ));
        }
        let number: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("the number in `{trimmed}` is too large"))?;
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| !c.is_alphabetic())
            .map_or(rest.len(), |(i, _)| i);
        let unit = &rest[..unit_len];
        let seconds = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3600,
            "d" => 86_400,
            "w" => 604_800,
            "" => {
                return Err(format!(
                    "`{trimmed}` has a number without a unit; add one of s, m, h, d, w"
                ));
            }
            "mo" | "month" | "months" | "y" | "yr" | "year" | "years" => {
                return Err(format!(
                    "`{unit}` has no fixed length; write the period in days (`365d` for a year)"
                ));
            }
            other => {
                return Err(format!(
                    "unknown unit `{other}` in `{trimmed}`; use s, m, h, d or w (as in `1h30m`)"
                ));
            }
        };
        total = number
            .checked_mul(seconds)
            .and_then(|s| total.checked_add(s))
            .ok_or_else(|| format!("`{trimmed}` is too long"))?;
        rest = rest[unit_len..].trim_start();
    }
    if total == 0 {
        return Err(format!(
            "`{trimmed}` is zero; a duration must be longer than that"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// Writes a duration back in the same notation, largest units first (`1h30m`).
pub fn format(duration: Duration) -> String {
    let mut secs = duration.as_secs();
    if secs == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    for (unit, len) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] {
        if secs >= len {
            let _ = write!(out, "{}{unit}", secs / len);
            secs %= len;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_units_and_combinations() {
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1h30m"), Ok(Duration::from_mins(90)));
        assert_eq!(parse("21d"), Ok(Duration::from_hours(21 * 24)));
        assert_eq!(parse("2w"), Ok(Duration::from_hours(14 * 24)));
    }

    #[test]
    fn refuses_what_is_not_exact() {
        assert!(parse("1y").unwrap_err().contains("365d"));
        assert!(parse("3months").unwrap_err().contains("days"));
        assert!(parse("10").unwrap_err().contains("without a unit"));
        assert!(parse("1 hour").unwrap_err().contains("unknown unit"));
        assert!(parse("").is_err());
        assert!(parse("0m").unwrap_err().contains("zero"));
        assert!(parse("h").is_err());
        assert!(
            parse("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
        assert!(parse("9999999999999999w").unwrap_err().contains("too long"));
    }

    #[test]
    fn formats_back() {
        assert_eq!(format(Duration::from_mins(90)), "1h30m");
        assert_eq!(format(Duration::from_hours(24 * 21)), "21d");
    }
}
