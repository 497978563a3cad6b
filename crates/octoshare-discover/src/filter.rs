//! `--include-space` / `--exclude-space`: case-insensitive globs matched against a space's name
//! or Id, applied before any worker pool is read so a filtered-out space costs no request.

use glob::{MatchOptions, Pattern};
use octoshare_cli::ExitError;

const MATCH_OPTIONS: MatchOptions = MatchOptions {
    case_sensitive: false,
    require_literal_separator: false,
    require_literal_leading_dot: false,
};

/// The compiled include and exclude globs of a discovery.
#[derive(Debug, Clone, Default)]
pub struct SpaceFilter {
    include: Vec<Pattern>,
    exclude: Vec<Pattern>,
}

impl SpaceFilter {
    /// Compiles the globs; an invalid one is a usage error naming the flag and the pattern.
    pub fn new(include: &[String], exclude: &[String]) -> Result<SpaceFilter, ExitError> {
        Ok(SpaceFilter {
            include: compile("--include-space", include)?,
            exclude: compile("--exclude-space", exclude)?,
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

fn compile(flag: &str, globs: &[String]) -> Result<Vec<Pattern>, ExitError> {
    globs
        .iter()
        .map(|glob| {
            let glob = glob.trim();
            if glob.is_empty() {
                return Err(ExitError::usage(format!(
                    "empty {flag} pattern: give a space name, an Id or a glob such as 'Team *'"
                )));
            }
            Pattern::new(glob).map_err(|error| {
                ExitError::usage(format!(
                    "invalid {flag} pattern '{glob}': {}: use * ? and [...] only",
                    error.msg
                ))
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
    fn invalid_and_empty_globs_are_usage_errors() {
        let error = SpaceFilter::new(&["[abc".to_owned()], &[]).unwrap_err();
        assert_eq!(error.exit, octoshare_cli::Exit::Usage);
        assert!(
            error
                .message
                .starts_with("invalid --include-space pattern '[abc'")
        );
        let error = SpaceFilter::new(&[], &[" ".to_owned()]).unwrap_err();
        assert!(error.message.starts_with("empty --exclude-space pattern"));
    }
}
