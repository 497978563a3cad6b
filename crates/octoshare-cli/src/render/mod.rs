//! Rendering: the step libraries' events and results turned into human lines, progress,
//! output variables and failure messages (with the command-line advice the libraries leave out).
//! One module per step; each implements that step's sink on top of the [`Emitter`].
//!
//! [`Emitter`]: crate::Emitter

pub mod discover;
pub mod retire;
pub mod share;
pub mod status;
pub mod wait;

use octoshare_core::domain::SpaceRef;

/// How many spaces a log line lists before it says "and N more" (`--verbose` logs them all; the
/// output variables always hold every space). A thousand names on one line help nobody.
pub const SPACES_IN_LOG_LINES: usize = 10;

/// How many names an error message lists before it says "and N more".
pub const NAMES_IN_MESSAGES: usize = 5;

/// `Name (Spaces-N), ...`: at most `limit` spaces, then "and N more".
pub fn list_spaces<'a>(
    spaces: impl ExactSizeIterator<Item = &'a SpaceRef>,
    limit: usize,
) -> String {
    abbreviated(spaces.map(ToString::to_string), limit)
}

/// At most `limit` items, comma-separated, then "and N more".
pub fn abbreviated(items: impl ExactSizeIterator<Item = String>, limit: usize) -> String {
    let total = items.len();
    let mut listed = items.take(limit).collect::<Vec<_>>().join(", ");
    if total > limit {
        listed.push_str(&format!(" and {} more", total - limit));
    }
    listed
}

/// `1 item`, `3 items`.
pub fn plural(count: u64, noun: &str) -> String {
    if count == 1 {
        format!("1 {noun}")
    } else {
        format!("{count} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_abbreviated() {
        let names = (1..8u32).map(|n| format!("S{n}"));
        assert_eq!(abbreviated(names, 5), "S1, S2, S3, S4, S5 and 2 more");
        assert_eq!(abbreviated(["A".to_owned()].into_iter(), 5), "A");
        let exactly = (1..4u32).map(|n| format!("S{n}"));
        assert_eq!(abbreviated(exactly, 3), "S1, S2, S3");
        let spaces: Vec<SpaceRef> = (1..=12)
            .map(|n| SpaceRef::new(format!("Spaces-{n}"), format!("S{n}")))
            .collect();
        assert_eq!(
            list_spaces(spaces.iter(), 2),
            "S1 (Spaces-1), S2 (Spaces-2) and 10 more"
        );
        assert!(list_spaces(spaces.iter(), usize::MAX).ends_with("S12 (Spaces-12)"));
        assert_eq!(plural(1, "space"), "1 space");
        assert_eq!(plural(0, "space"), "0 spaces");
    }
}
