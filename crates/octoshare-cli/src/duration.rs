//! Parsing of human durations such as `500ms`, `30s`, `20m`, `1h` or `1h30m`.

use std::time::Duration;

/// Parses a duration written as one or more `<number><unit>` segments.
///
/// Units: `ms`, `s`, `m`, `h`. A bare number is refused so that `--timeout 20` cannot silently mean
/// 20 seconds to one reader and 20 minutes to another.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err("empty duration: use a number and a unit, e.g. 30s, 500ms, 20m, 1h".to_owned());
    }
    let mut total = Duration::ZERO;
    let mut rest = trimmed;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return Err(format!(
                "invalid duration '{trimmed}': expected a number, e.g. 30s, 500ms, 20m, 1h"
            ));
        }
        let amount: u64 = rest[..digits_end]
            .parse()
            .map_err(|_| format!("invalid duration '{trimmed}': number too large"))?;
        rest = &rest[digits_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let segment = match unit {
            "ms" => Duration::from_millis(amount),
            "s" => Duration::from_secs(amount),
            "m" => amount
                .checked_mul(60)
                .map(Duration::from_secs)
                .ok_or_else(|| too_large(trimmed))?,
            "h" => amount
                .checked_mul(3600)
                .map(Duration::from_secs)
                .ok_or_else(|| too_large(trimmed))?,
            "" => {
                return Err(format!(
                    "invalid duration '{trimmed}': add a unit, e.g. {amount}s or {amount}m"
                ));
            }
            other => {
                return Err(format!(
                    "invalid duration '{trimmed}': unknown unit '{other}' (use ms, s, m or h)"
                ));
            }
        };
        total = total
            .checked_add(segment)
            .ok_or_else(|| too_large(trimmed))?;
    }
    Ok(total)
}

fn too_large(text: &str) -> String {
    format!("invalid duration '{text}': too large")
}

/// Formats a duration the way `parse_duration` reads it back (`1m30s`, `250ms`).
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_owned();
    }
    if !millis.is_multiple_of(1000) {
        return format!("{millis}ms");
    }
    let mut seconds = duration.as_secs();
    let mut text = String::new();
    for (unit, size) in [("h", 3600), ("m", 60), ("s", 1)] {
        if seconds >= size {
            text.push_str(&format!("{}{unit}", seconds / size));
            seconds %= size;
        }
    }
    text
}

/// A wall time for people: `850ms` below one second, `3.5s` below ten, then whole seconds as
/// [`format_duration`] writes them (`1m12s`).
pub fn format_elapsed(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{}ms", duration.as_millis())
    } else if duration < Duration::from_secs(10) {
        format!("{:.1}s", duration.as_secs_f64())
    } else {
        format_duration(Duration::from_secs(duration.as_secs()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_documented_forms() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("20m"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration(" 0s "), Ok(Duration::ZERO));
    }

    #[test]
    fn refuses_bad_forms_with_a_hint() {
        assert!(parse_duration("").unwrap_err().contains("empty duration"));
        assert!(parse_duration("20").unwrap_err().contains("add a unit"));
        assert!(
            parse_duration("5d")
                .unwrap_err()
                .contains("unknown unit 'd'")
        );
        assert!(
            parse_duration("-5s")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(
            parse_duration("s")
                .unwrap_err()
                .contains("expected a number")
        );
        assert!(
            parse_duration("99999999999999999999s")
                .unwrap_err()
                .contains("too large")
        );
    }

    #[test]
    fn elapsed_times_read_well() {
        assert_eq!(format_elapsed(Duration::from_millis(340)), "340ms");
        assert_eq!(format_elapsed(Duration::from_millis(3_540)), "3.5s");
        assert_eq!(format_elapsed(Duration::from_millis(90_400)), "1m30s");
        assert_eq!(format_elapsed(Duration::from_millis(1_200_345)), "20m");
    }

    #[test]
    fn format_round_trips() {
        for text in ["0s", "250ms", "30s", "1m30s", "2h", "1h1m1s"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
