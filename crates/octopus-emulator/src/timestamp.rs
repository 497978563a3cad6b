//! Octopus-style timestamps (`2024-08-21T16:17:46.750+00:00`) without a date-time dependency.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Formats `time` the way Octopus serialises `DateTimeOffset` values (UTC, milliseconds).
pub(crate) fn format(time: SystemTime) -> String {
    let since_epoch = time.duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO);
    let seconds = since_epoch.as_secs();
    let millis = since_epoch.subsec_millis();
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}+00:00",
        second_of_day / 3600,
        (second_of_day % 3600) / 60,
        second_of_day % 60,
    )
}

/// The task-list form of a time (`Saturday, September 10, 2016 12:01 PM`, UTC), as in
/// `TaskResource.Completed` (OctopusClients canned responses `machines/Machines-1/tasks.*.json`).
pub(crate) fn human(time: SystemTime) -> String {
    const DAYS: [&str; 7] = [
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Monday",
        "Tuesday",
        "Wednesday",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let seconds = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs();
    let days = (seconds / 86_400) as i64;
    let second_of_day = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    let hour = second_of_day / 3600;
    let minute = (second_of_day % 3600) / 60;
    let (hour12, meridiem) = match hour {
        0 => (12, "AM"),
        1..=11 => (hour, "AM"),
        12 => (12, "PM"),
        _ => (hour - 12, "PM"),
    };
    format!(
        "{}, {} {day}, {year} {hour12}:{minute:02} {meridiem}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
    )
}

/// The current time, formatted.
pub(crate) fn now() -> String {
    format(SystemTime::now())
}

/// Converts days since 1970-01-01 to a proleptic Gregorian (year, month, day)
/// (Howard Hinnant's `civil_from_days` algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * month_index + 2) / 5 + 1) as u32;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format(UNIX_EPOCH), "1970-01-01T00:00:00.000+00:00");
        let instant = UNIX_EPOCH + Duration::from_millis(1_724_257_066_750);
        assert_eq!(format(instant), "2024-08-21T16:17:46.750+00:00");
        let leap_day = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(format(leap_day), "2000-02-29T00:00:00.000+00:00");
        // 2016-09-10T12:01:00Z, the canned task's "Completed".
        let completed = UNIX_EPOCH + Duration::from_secs(1_473_508_860);
        assert_eq!(human(completed), "Saturday, September 10, 2016 12:01 PM");
    }
}
