//! Space filters: case-insensitive globs matched against a space's name or Id, applied before
//! any worker pool is read so a filtered-out space costs no request.

use glob::{MatchOptions, Pattern};

const MATCH_OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: false,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// The compiled include and exclude globs of a discovery.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SpaceFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

/// Which list of globs a pattern came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FilterSide {
    /// The spaces to search.
    Include,
    /// The spaces to skip.
    Exclude,
}

/// A glob that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PatternError {
    /// The glob is blank.
    #[error("empty pattern")]
    Empty {
        /// Which list it is in.
        side: FilterSide,
    },
    /// The glob does not parse.
    #[error("invalid pattern '{pattern}': {reason}")]
    Invalid {
        /// Which list it is in.
        side: FilterSide,
        /// The glob as given (trimmed).
        pattern: String,
        /// Why it does not parse.
        reason: String,
    },
}

impl PatternError {
    /// Which list the pattern is in.
    pub fn side(&self) -> FilterSide {
        match self {
            PatternError::Empty { side } | PatternError::Invalid { side, .. } => *side,
        }
    }
}

impl SpaceFilter {
    /// Compiles the globs (surrounding whitespace ignored).
    pub fn new(include: &[String], exclude: &[String]) -> Result<SpaceFilter, PatternError> {
        Ok(SpaceFilter {
            include: compile(FilterSide::Include, include)?,
            exclude: compile(FilterSide::Exclude, exclude)?,
        })
    }

    /// Whether any glob was given.
    pub fn is_active(&self) -> bool {
        !self.include.is_empty() || !self.exclude.is_empty()
    }

    /// Whether a space with this name and Id is searched: it matches an include glob (when any
    /// is given) and no exclude glob. A glob matches when it matches the name or the Id.
    pub fn allows(&self, name: &str, id: &str) -> bool {
        let matches = |pattern: &Pattern| {
            pattern.matches_with(name, MATCH_OPTIONS) || pattern.matches_with(id, MATCH_OPTIONS)
        };
        let included = self.include.is_empty() || self.include.iter().any(matches);
        included && !self.exclude.iter().any(matches)
    }
}

fn compile(side: FilterSide, globs: &[String]) -> Result<Vec<Pattern>, PatternError> {
    globs
        .iter()
        .map(|glob| {
            let glob = glob.trim();
            if glob.is_empty() {
                return Err(PatternError::Empty { side });
            }
            Pattern::new(glob).map_err(|error| PatternError::Invalid {
                side,
                pattern: glob.to_owned(),
                reason: error.msg.to_owned(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(include: &[&str], exclude: &[&str]) -> SpaceFilter {
        let owned = |globs: &[&str]| globs.iter().map(|g| g.to_string()).collect::<Vec<_>>();
        SpaceFilter::new(&owned(include), &owned(exclude)).unwrap()
    }

    #[test]
    fn no_globs_allow_everything() {
        let filter = filter(&[], &[]);
        assert!(!filter.is_active());
        assert!(filter.allows("Default", "Spaces-1"));
    }

    #[test]
    fn include_matches_name_or_id_case_insensitively() {
        let filter = filter(&["team *", "SPACES-1"], &[]);
        assert!(filter.is_active());
        assert!(filter.allows("Team Payments", "Spaces-7"));
        assert!(filter.allows("Default", "Spaces-1"));
        assert!(!filter.allows("Ops", "Spaces-2"));
        assert!(!filter.allows("Default", "Spaces-10"));
    }

    #[test]
    fn exclude_wins_over_include() {
        let filter = filter(&["Team *"], &["*sandbox*", "Spaces-9"]);
        assert!(filter.allows("Team Payments", "Spaces-7"));
        assert!(!filter.allows("Team Sandbox", "Spaces-8"));
        assert!(!filter.allows("Team Ops", "Spaces-9"));
    }

    #[test]
    fn invalid_and_empty_globs_say_which_list_they_are_in() {
        let error = SpaceFilter::new(&["[abc".to_owned()], &[]).unwrap_err();
        assert_eq!(error.side(), FilterSide::Include);
        assert!(
            error.to_string().starts_with("invalid pattern '[abc'"),
            "{error}"
        );
        let error = SpaceFilter::new(&[], &[" ".to_owned()]).unwrap_err();
        assert_eq!(
            error,
            PatternError::Empty {
                side: FilterSide::Exclude
            }
        );
    }
}
