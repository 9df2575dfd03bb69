//! Property filters as analytics queries take them: a property, an operator
//! and a value, written `key=value`, `key>10` or `url~checkout`, several
//! joined by `;`.
//!
//! The operators follow PostHog's property filters. A negative operator
//! (`!=`, `!~`, `!=~`) also matches events that lack the property, as it
//! does there.

use std::fmt;
use std::str::FromStr;

/// What a property must satisfy.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `key=value`: equals the text.
    Equals(String),
    /// `key!=value`: differs from the text, or is unset.
    NotEquals(String),
    /// `key~text`: contains the text, ignoring case.
    Contains(String),
    /// `key!~text`: does not contain the text (ignoring case), or is unset.
    NotContains(String),
    /// `key=~pattern`: matches the regular expression somewhere.
    Matches(String),
    /// `key!=~pattern`: does not match the regular expression, or is unset.
    NotMatches(String),
    /// `key>n`, `key>=n`, `key<n`, `key<=n`: compares as a number; text that
    /// is not a number never matches.
    Greater(f64),
    GreaterOrEqual(f64),
    Less(f64),
    LessOrEqual(f64),
    /// `key?`: present and not null.
    IsSet,
    /// `key!?`: absent or null.
    IsNotSet,
}

/// One property filter.
#[derive(Debug, Clone, PartialEq)]
pub struct PropertyFilter {
    pub key: String,
    pub condition: Condition,
}

/// Why a filter could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    #[error(
        "filter `{0}` needs an operator: =, !=, ~, !~, =~, !=~, >, >=, <, <=, or a trailing ? or !?"
    )]
    NoOperator(String),
    #[error("filter `{0}` names no property")]
    NoKey(String),
    #[error("filter `{filter}` compares with `{value}`, which is not a number")]
    NotANumber { filter: String, value: String },
    #[error("filter `{filter}` has an invalid regular expression: {reason}")]
    BadPattern { filter: String, reason: String },
}

/// Operators, longest first so that `!=~` is not read as `!=`.
const OPERATORS: [&str; 10] = ["!=~", "=~", "!=", ">=", "<=", "!~", "=", "~", ">", "<"];

impl FromStr for PropertyFilter {
    type Err = FilterError;

    fn from_str(text: &str) -> Result<Self, FilterError> {
        let text = text.trim();
        let key_only = |k: &str| {
            let k = k.trim();
            if k.is_empty() {
                Err(FilterError::NoKey(text.to_owned()))
            } else {
                Ok(k.to_owned())
            }
        };
        // The first operator character splits key from value, so values
        // may contain operator characters themselves.
        let at = text.find(['=', '!', '~', '>', '<']);
        let Some(at) = at else {
            return match text.strip_suffix('?') {
                Some(k) => Ok(PropertyFilter {
                    key: key_only(k)?,
                    condition: Condition::IsSet,
                }),
                None => Err(FilterError::NoOperator(text.to_owned())),
            };
        };
        let (key, rest) = text.split_at(at);
        if rest == "!?" {
            return Ok(PropertyFilter {
                key: key_only(key)?,
                condition: Condition::IsNotSet,
            });
        }
        let Some(op) = OPERATORS.iter().find(|op| rest.starts_with(**op)) else {
            return Err(FilterError::NoOperator(text.to_owned()));
        };
        let value = rest[op.len()..].trim().to_owned();
        let key = key_only(key)?;
        let number = |v: &str| {
            v.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| FilterError::NotANumber {
                    filter: text.to_owned(),
                    value: v.to_owned(),
                })
        };
        let pattern = |v: String| match regex::Regex::new(&v) {
            Ok(_) => Ok(v),
            Err(e) => Err(FilterError::BadPattern {
                filter: text.to_owned(),
                reason: e.to_string().lines().last().unwrap_or("").trim().to_owned(),
            }),
        };
        let condition = match *op {
            "=" => Condition::Equals(value),
            "!=" => Condition::NotEquals(value),
            "~" => Condition::Contains(value),
            "!~" => Condition::NotContains(value),
            "=~" => Condition::Matches(pattern(value)?),
            "!=~" => Condition::NotMatches(pattern(value)?),
            ">" => Condition::Greater(number(&value)?),
            ">=" => Condition::GreaterOrEqual(number(&value)?),
            "<" => Condition::Less(number(&value)?),
            _ => Condition::LessOrEqual(number(&value)?),
        };
        Ok(PropertyFilter { key, condition })
    }
}

impl fmt::Display for PropertyFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = &self.key;
        match &self.condition {
            Condition::Equals(v) => write!(f, "{k}={v}"),
            Condition::NotEquals(v) => write!(f, "{k}!={v}"),
            Condition::Contains(v) => write!(f, "{k}~{v}"),
            Condition::NotContains(v) => write!(f, "{k}!~{v}"),
            Condition::Matches(v) => write!(f, "{k}=~{v}"),
            Condition::NotMatches(v) => write!(f, "{k}!=~{v}"),
            Condition::Greater(n) => write!(f, "{k}>{n}"),
            Condition::GreaterOrEqual(n) => write!(f, "{k}>={n}"),
            Condition::Less(n) => write!(f, "{k}<{n}"),
            Condition::LessOrEqual(n) => write!(f, "{k}<={n}"),
            Condition::IsSet => write!(f, "{k}?"),
            Condition::IsNotSet => write!(f, "{k}!?"),
        }
    }
}

/// Reads filters joined by `;`; blank parts are skipped.
pub fn parse_filters(text: &str) -> Result<Vec<PropertyFilter>, FilterError> {
    text.split(';')
        .filter(|s| !s.trim().is_empty())
        .map(str::parse)
        .collect()
}

impl Condition {
    /// Whether a property's value satisfies the condition: `None` when the
    /// property is absent or null, otherwise its text (numbers and booleans
    /// as JSON writes them).
    pub fn test(&self, value: Option<&str>) -> bool {
        let num = |v: Option<&str>| v.and_then(|v| v.trim().parse::<f64>().ok());
        match self {
            Condition::Equals(x) => value == Some(x.as_str()),
            Condition::NotEquals(x) => value != Some(x.as_str()),
            Condition::Contains(x) => value.is_some_and(|v| contains_ci(v, x)),
            Condition::NotContains(x) => !value.is_some_and(|v| contains_ci(v, x)),
            Condition::Matches(p) => value.is_some_and(|v| matches(p, v)),
            Condition::NotMatches(p) => !value.is_some_and(|v| matches(p, v)),
            Condition::Greater(n) => num(value).is_some_and(|v| v > *n),
            Condition::GreaterOrEqual(n) => num(value).is_some_and(|v| v >= *n),
            Condition::Less(n) => num(value).is_some_and(|v| v < *n),
            Condition::LessOrEqual(n) => num(value).is_some_and(|v| v <= *n),
            Condition::IsSet => value.is_some(),
            Condition::IsNotSet => value.is_none(),
        }
    }
}

fn contains_ci(haystack: &str, needle: &str) -> bool {
    haystack.to_lowercase().contains(&needle.to_lowercase())
}

fn matches(pattern: &str, value: &str) -> bool {
    regex::Regex::new(pattern).is_ok_and(|r| r.is_match(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(s: &str) -> PropertyFilter {
        s.parse().expect("test input")
    }

    #[test]
    fn operators_parse_longest_first() {
        assert_eq!(f("plan=pro").condition, Condition::Equals("pro".into()));
        assert_eq!(f("plan!=pro").condition, Condition::NotEquals("pro".into()));
        assert_eq!(
            f("url~Check").condition,
            Condition::Contains("Check".into())
        );
        assert_eq!(f("url!~x").condition, Condition::NotContains("x".into()));
        assert_eq!(
            f("p=~^/docs").condition,
            Condition::Matches("^/docs".into())
        );
        assert_eq!(f("p!=~^/d").condition, Condition::NotMatches("^/d".into()));
        assert_eq!(f("n>10").condition, Condition::Greater(10.0));
        assert_eq!(f("n>=1.5").condition, Condition::GreaterOrEqual(1.5));
        assert_eq!(f("n<-2").condition, Condition::Less(-2.0));
        assert_eq!(f("n<=0").condition, Condition::LessOrEqual(0.0));
        assert_eq!(f("email?").condition, Condition::IsSet);
        assert_eq!(f("email!?").condition, Condition::IsNotSet);
        // The value keeps later operator characters.
        assert_eq!(f(" q = a=b ").condition, Condition::Equals("a=b".into()));
        assert_eq!(f("q=a=b").key, "q");
    }

    #[test]
    fn filters_print_as_they_parse() {
        for s in [
            "a=b", "a!=b", "a~b", "a!~b", "a=~^x$", "a!=~y", "a>1", "a>=2.5", "a<3", "a<=4", "a?",
            "a!?",
        ] {
            assert_eq!(f(s).to_string(), s);
        }
    }

    #[test]
    fn bad_filters_say_why() {
        assert!(matches!(
            "plan".parse::<PropertyFilter>(),
            Err(FilterError::NoOperator(_))
        ));
        assert!(matches!(
            "=pro".parse::<PropertyFilter>(),
            Err(FilterError::NoKey(_))
        ));
        assert!(matches!(
            "n>ten".parse::<PropertyFilter>(),
            Err(FilterError::NotANumber { .. })
        ));
        assert!(matches!(
            "n>NaN".parse::<PropertyFilter>(),
            Err(FilterError::NotANumber { .. })
        ));
        assert!(matches!(
            "p=~(".parse::<PropertyFilter>(),
            Err(FilterError::BadPattern { .. })
        ));
        assert!(matches!(
            "a!b".parse::<PropertyFilter>(),
            Err(FilterError::NoOperator(_))
        ));
        assert_eq!(parse_filters(" ; a=1;; b>2 ").expect("test input").len(), 2);
        assert!(parse_filters("a=1;b").is_err());
    }

    #[test]
    fn conditions_test_values_like_posthog() {
        assert!(f("a=x").condition.test(Some("x")));
        assert!(!f("a=x").condition.test(None));
        // Negative operators keep events without the property.
        assert!(f("a!=x").condition.test(None));
        assert!(!f("a!=x").condition.test(Some("x")));
        assert!(f("a~CHECK").condition.test(Some("/checkout")));
        assert!(f("a!~check").condition.test(None));
        assert!(!f("a!~check").condition.test(Some("/Checkout")));
        assert!(f("a=~^/d").condition.test(Some("/docs")));
        assert!(!f("a=~^/d").condition.test(Some("x/docs")));
        assert!(f("a!=~^/d").condition.test(None));
        assert!(f("a>10").condition.test(Some("10.5")));
        assert!(!f("a>10").condition.test(Some("ten")));
        assert!(!f("a>10").condition.test(None));
        assert!(f("a<=10").condition.test(Some("10")));
        assert!(f("a?").condition.test(Some("")));
        assert!(f("a!?").condition.test(None));
    }
}
