//! Octopus timestamps (`2024-08-21T16:17:46.750+00:00`, `DateTimeOffset` as Octopus serialises
//! it; `Z` and any number of fraction digits accepted) read into a `SystemTime`, without a
//! date-time dependency: a lease's age is all that is needed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `None` for anything else.
pub(crate) fn parse(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let mut date_parts = date.split('-');
    let year: i64 = number(date_parts.next()?, 4)?;
    let month: u32 = number(date_parts.next()?, 2)?;
    let day: u32 = number(date_parts.next()?, 2)?;
    if date_parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let zone_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, zone) = rest.split_at(zone_at);
    let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
    let mut clock_parts = clock.split(':');
    let hour: i64 = number(clock_parts.next()?, 2)?;
    let minute: i64 = number(clock_parts.next()?, 2)?;
    let second: i64 = number(clock_parts.next()?, 2)?;
    if clock_parts.next().is_some() || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let nanos: u32 = format!("{fraction:0<9}").get(..9)?.parse().ok()?;
    let offset_seconds: i64 = match zone {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (hours, minutes) = zone[1..].split_once(':')?;
            sign * (number::<i64>(hours, 2)? * 3600 + number::<i64>(minutes, 2)? * 60)
        }
    };
    let seconds = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_seconds;
    let seconds = u64::try_from(seconds).ok()?;
    Some(UNIX_EPOCH + Duration::new(seconds, nanos))
}

fn number<T: std::str::FromStr>(text: &str, digits: usize) -> Option<T> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month = i64::from(month);
    let day_of_year =
        (153 * (if month > 2 { month - 3 } else { month + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(text: &str) -> Option<u64> {
        parse(text).map(|time| time.duration_since(UNIX_EPOCH).unwrap().as_secs())
    }

    #[test]
    fn octopus_timestamps_parse() {
        assert_eq!(seconds("1970-01-01T00:00:00.000+00:00"), Some(0));
        assert_eq!(
            seconds("2016-09-10T12:00:25.788+00:00"),
            Some(1_473_508_825)
        );
        assert_eq!(seconds("2016-09-10T22:00:25+10:00"), Some(1_473_508_825));
        assert_eq!(seconds("2016-09-10T12:00:25.7880000Z"), Some(1_473_508_825));
        assert_eq!(seconds("2024-02-29T00:00:00Z"), Some(1_709_164_800));
        let millis = parse("2016-09-10T12:00:25.788+00:00")
            .unwrap()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .subsec_millis();
        assert_eq!(millis, 788);
    }

    #[test]
    fn anything_else_is_none() {
        for text in [
            "",
            "Saturday, September 10, 2016 12:01 PM",
            "2016-13-10T12:00:25Z",
            "2016-09-10",
            "2016-09-10T12:00Z",
            "1969-12-31T23:59:59Z",
            "2016-09-10T12:00:25.7x8Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
    }
}
