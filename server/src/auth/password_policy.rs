//! What a password must be (NCSC / NIST style): at least 12 characters and not one of the
//! passwords people use most (zxcvbn's list); no composition rules.

use zxcvbn::matching::patterns::MatchPattern;

pub const MIN_CHARS: usize = 12;
/// Argon2 hashes whatever it is given: a cap keeps one sign-in from costing much.
pub const MAX_CHARS: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    Common,
    Differ,
}

impl PasswordProblem {
    /// The code a page shows the problem by.
    pub fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "too_short",
            PasswordProblem::TooLong => "too_long",
            PasswordProblem::Common => "common",
            PasswordProblem::Differ => "differ",
        }
    }
}

/// Whether the whole password is one of the common passwords (in any case, and also with
/// what zxcvbn sees through: l33t spellings, reversals).
fn is_common(password: &str) -> bool {
    let estimate = zxcvbn::zxcvbn(password, &[]);
    let length = password.chars().count();
    estimate.sequence().iter().any(|found| {
        found.i == 0
            && found.j + 1 == length
            && matches!(
                &found.pattern,
                // The crate does not export the dictionary's type; its default is the
                // list of common passwords.
                MatchPattern::Dictionary(dictionary)
                    if dictionary.dictionary_name == Default::default()
            )
    })
}

/// Every problem of a new password and its confirmation.
pub fn check(password: &str, confirmation: &str) -> Vec<PasswordProblem> {
    let mut problems = Vec::new();
    let length = password.chars().count();
    if length < MIN_CHARS {
        problems.push(PasswordProblem::TooShort);
    } else if length > MAX_CHARS {
        problems.push(PasswordProblem::TooLong);
    } else if is_common(password) {
        problems.push(PasswordProblem::Common);
    }
    if password != confirmation {
        problems.push(PasswordProblem::Differ);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_uncommon_passwords_pass_without_composition_rules() {
        let phrase = "kolme kissaa kiipesi puuhun";
        assert_eq!(check(phrase, phrase), vec![]);
    }

    #[test]
    fn short_common_and_mistyped_passwords_are_refused() {
        assert_eq!(check("lyhyt", "lyhyt"), vec![PasswordProblem::TooShort]);
        assert_eq!(
            check("password1234", "password1234"),
            vec![PasswordProblem::Common]
        );
        assert_eq!(
            check("qwertyuiop123", "qwertyuiop123"),
            vec![PasswordProblem::Common]
        );
        let phrase = "kolme kissaa kiipesi puuhun";
        assert_eq!(check(phrase, "toinen"), vec![PasswordProblem::Differ]);
    }
}
