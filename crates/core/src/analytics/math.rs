//! Math in trends: what number a series shows per interval (its events,
//! its unique persons, or an aggregate of a numeric event property, per
//! event or per person), and formulas that combine several series point
//! by point. These are the definitions every store's answer must match.

use std::fmt;
use std::str::FromStr;

/// How the values of a numeric property are combined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Aggregate {
    Sum,
    Avg,
    Min,
    Max,
    Median,
    P90,
    P95,
    P99,
}

impl Aggregate {
    pub const ALL: [Aggregate; 8] = [
        Aggregate::Sum,
        Aggregate::Avg,
        Aggregate::Min,
        Aggregate::Max,
        Aggregate::Median,
        Aggregate::P90,
        Aggregate::P95,
        Aggregate::P99,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Sum => "sum",
            Aggregate::Avg => "avg",
            Aggregate::Min => "min",
            Aggregate::Max => "max",
            Aggregate::Median => "median",
            Aggregate::P90 => "p90",
            Aggregate::P95 => "p95",
            Aggregate::P99 => "p99",
        }
    }

    /// The quantile this aggregate is, if it is one.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Aggregate::Median => Some(0.5),
            Aggregate::P90 => Some(0.9),
            Aggregate::P95 => Some(0.95),
            Aggregate::P99 => Some(0.99),
            _ => None,
        }
    }

    /// The aggregate of `values`, in any order; `values` is sorted in
    /// place. A sum of nothing is 0; every other aggregate of nothing has
    /// no value. A quantile `q` interpolates linearly between the two
    /// values nearest to rank `(n - 1) · q` (so the median of 1, 2, 3, 4
    /// is 2.5), as DuckDB's `quantile_cont` and PostHog's trends do.
    pub fn of(self, values: &mut [f64]) -> Option<f64> {
        let n = values.len() as f64;
        Some(match self {
            Aggregate::Sum => values.iter().sum(),
            _ if values.is_empty() => return None,
            Aggregate::Avg => values.iter().sum::<f64>() / n,
            Aggregate::Min => values.iter().copied().fold(f64::INFINITY, f64::min),
            Aggregate::Max => values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            Aggregate::Median | Aggregate::P90 | Aggregate::P95 | Aggregate::P99 => {
                values.sort_by(f64::total_cmp);
                let rank = (n - 1.0) * self.quantile().unwrap_or(0.5);
                let below = rank.floor();
                let lo = values[below as usize];
                let hi = values[(rank.ceil() as usize).min(values.len() - 1)];
                lo + (hi - lo) * (rank - below)
            }
        })
    }
}

impl fmt::Display for Aggregate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Aggregate {
    type Err = MathError;
    fn from_str(s: &str) -> Result<Aggregate, MathError> {
        let s = s.trim().to_ascii_lowercase();
        Aggregate::ALL
            .into_iter()
            .find(|a| a.as_str() == s || (s == "average" && *a == Aggregate::Avg))
            .ok_or(MathError::Aggregate(s))
    }
}

/// An aggregate of a numeric event property: `sum:amount`. Per person,
/// each person's aggregate is taken first and `per_person` combines those
/// (the average of each person's sum, say); a person without a number in
/// the interval has no aggregate and is left out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PropertyMath {
    pub aggregate: Aggregate,
    pub property: String,
    pub per_person: Option<Aggregate>,
}

impl PropertyMath {
    /// The aggregate that gives a point its value: `per_person` over the
    /// persons' aggregates, or else `aggregate` over the events' values.
    pub fn outer(&self) -> Aggregate {
        self.per_person.unwrap_or(self.aggregate)
    }
}

/// A property's text as a number: JSON numbers and strings that hold one
/// count; anything else (and infinities) does not.
pub fn number(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

/// What number a series shows for each interval.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum SeriesMath {
    /// How many events (the default).
    #[default]
    Events,
    /// How many distinct persons.
    Persons,
    /// An aggregate of a numeric property.
    Property(PropertyMath),
}

impl SeriesMath {
    /// Reads `events`, `persons`, or `AGGREGATE:PROPERTY`, with
    /// `per_person` naming how each person's aggregates are combined (only
    /// for property math).
    pub fn parse(math: &str, per_person: Option<&str>) -> Result<SeriesMath, MathError> {
        let math = math.trim();
        let per_person = per_person
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse::<Aggregate>)
            .transpose()?;
        let plain = match math.to_ascii_lowercase().as_str() {
            "" | "events" | "total" | "count" => Some(SeriesMath::Events),
            "persons" | "users" | "unique" | "dau" => Some(SeriesMath::Persons),
            _ => None,
        };
        if let Some(plain) = plain {
            return match per_person {
                Some(_) => Err(MathError::PerPersonWithoutProperty),
                None => Ok(plain),
            };
        }
        let Some((aggregate, property)) = math.split_once(':') else {
            return Err(MathError::Shape(math.to_owned()));
        };
        let property = property.trim();
        if property.is_empty() {
            return Err(MathError::NoProperty(math.to_owned()));
        }
        Ok(SeriesMath::Property(PropertyMath {
            aggregate: aggregate.parse()?,
            property: property.to_owned(),
            per_person,
        }))
    }

    /// The property math, if any.
    pub fn property(&self) -> Option<&PropertyMath> {
        match self {
            SeriesMath::Property(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for SeriesMath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SeriesMath::Events => f.write_str("events"),
            SeriesMath::Persons => f.write_str("persons"),
            SeriesMath::Property(p) => {
                write!(f, "{}:{}", p.aggregate, p.property)?;
                match p.per_person {
                    Some(a) => write!(f, " ({a} per person)"),
                    None => Ok(()),
                }
            }
        }
    }
}

/// Why math or a formula was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MathError {
    #[error("`{0}` is not an aggregate: say sum, avg, min, max, median, p90, p95 or p99")]
    Aggregate(String),
    #[error("math `{0}` should be events, persons, or AGGREGATE:PROPERTY such as sum:amount")]
    Shape(String),
    #[error("math `{0}` names no property after the colon")]
    NoProperty(String),
    #[error("a per-person aggregate needs property math such as sum:amount")]
    PerPersonWithoutProperty,
    #[error("formula `{formula}`: {reason}")]
    Formula { formula: String, reason: String },
}

/// The most series a formula can name: A to Z.
pub const MAX_SERIES: usize = 26;

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Number(f64),
    Series(usize),
    Negate(Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Add,
    Subtract,
    Multiply,
    Divide,
}

/// A formula over series named by letter, `A` for the first: numbers,
/// `+ - * /`, unary minus and parentheses, as in `(A - B) / A * 100`.
#[derive(Debug, Clone, PartialEq)]
pub struct Formula {
    text: String,
    expr: Expr,
}

impl Formula {
    /// Parses `text` for `series` series; a letter past the last series is
    /// refused.
    pub fn parse(text: &str, series: usize) -> Result<Formula, MathError> {
        let fail = |reason: String| MathError::Formula {
            formula: text.trim().to_owned(),
            reason,
        };
        let tokens = tokenize(text).map_err(fail)?;
        let mut p = Parser {
            tokens: &tokens,
            at: 0,
            series,
        };
        let expr = p.sum().map_err(fail)?;
        if let Some(t) = tokens.get(p.at) {
            return Err(fail(format!("unexpected {t} after a complete formula")));
        }
        Ok(Formula {
            text: text.trim().to_owned(),
            expr,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The formula's value for one interval, given each series' value
    /// there. A division by zero, a missing value or a result that is not
    /// finite has no value.
    pub fn eval(&self, values: &[Option<f64>]) -> Option<f64> {
        eval(&self.expr, values).filter(|v| v.is_finite())
    }
}

impl fmt::Display for Formula {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn eval(e: &Expr, values: &[Option<f64>]) -> Option<f64> {
    match e {
        Expr::Number(n) => Some(*n),
        Expr::Series(i) => values.get(*i).copied().flatten(),
        Expr::Negate(e) => eval(e, values).map(|v| -v),
        Expr::Binary(op, a, b) => {
            let (a, b) = (eval(a, values)?, eval(b, values)?);
            match op {
                Op::Add => Some(a + b),
                Op::Subtract => Some(a - b),
                Op::Multiply => Some(a * b),
                Op::Divide if b == 0.0 => None,
                Op::Divide => Some(a / b),
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Number(f64),
    Letter(char),
    Op(char),
    Open,
    Close,
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Token::Number(n) => write!(f, "number {n}"),
            Token::Letter(c) => write!(f, "series {c}"),
            Token::Op(c) => write!(f, "`{c}`"),
            Token::Open => f.write_str("`(`"),
            Token::Close => f.write_str("`)`"),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        match c {
            ' ' | '\t' => {}
            '(' => out.push(Token::Open),
            ')' => out.push(Token::Close),
            '+' | '-' | '*' | '/' => out.push(Token::Op(c)),
            'a'..='z' | 'A'..='Z' => {
                if chars.peek().is_some_and(|(_, n)| n.is_ascii_alphanumeric()) {
                    return Err(format!(
                        "series are single letters; `{}` at {at} is not one",
                        text[at..]
                            .chars()
                            .take_while(char::is_ascii_alphanumeric)
                            .collect::<String>()
                    ));
                }
                out.push(Token::Letter(c.to_ascii_uppercase()));
            }
            '0'..='9' | '.' => {
                let mut end = at + c.len_utf8();
                while let Some(&(i, n)) = chars.peek() {
                    if !(n.is_ascii_digit() || n == '.') {
                        break;
                    }
                    end = i + n.len_utf8();
                    chars.next();
                }
                let number = &text[at..end];
                let n = number
                    .parse::<f64>()
                    .map_err(|_| format!("`{number}` is not a number"))?;
                out.push(Token::Number(n));
            }
            other => return Err(format!("`{other}` at {at} is not part of a formula")),
        }
    }
    if out.is_empty() {
        return Err("it is empty".into());
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: &'a [Token],
    at: usize,
    series: usize,
}

impl Parser<'_> {
    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }

    fn peek_op(&self, ops: &[char]) -> Option<char> {
        match self.tokens.get(self.at) {
            Some(Token::Op(c)) if ops.contains(c) => Some(*c),
            _ => None,
        }
    }

    fn sum(&mut self) -> Result<Expr, String> {
        let mut left = self.product()?;
        while let Some(c) = self.peek_op(&['+', '-']) {
            self.at += 1;
            let right = self.product()?;
            let op = if c == '+' { Op::Add } else { Op::Subtract };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn product(&mut self) -> Result<Expr, String> {
        let mut left = self.unary()?;
        while let Some(c) = self.peek_op(&['*', '/']) {
            self.at += 1;
            let right = self.unary()?;
            let op = if c == '*' { Op::Multiply } else { Op::Divide };
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_op(&['-']).is_some() {
            self.at += 1;
            return Ok(Expr::Negate(Box::new(self.unary()?)));
        }
        self.atom()
    }

    fn atom(&mut self) -> Result<Expr, String> {
        let series = self.series;
        match self.next().cloned() {
            Some(Token::Number(n)) => Ok(Expr::Number(n)),
            Some(Token::Letter(c)) => {
                let i = (c as u8 - b'A') as usize;
                if i >= series {
                    let last = (b'A' + series.clamp(1, MAX_SERIES) as u8 - 1) as char;
                    return Err(match series {
                        0 => format!("it names series {c}, but there are no series"),
                        _ => format!("it names series {c}, but the series go from A to {last}"),
                    });
                }
                Ok(Expr::Series(i))
            }
            Some(Token::Open) => {
                let inner = self.sum()?;
                match self.next() {
                    Some(Token::Close) => Ok(inner),
                    _ => Err("a `(` is never closed".into()),
                }
            }
            Some(t) => Err(format!("expected a number, a series or `(`, found {t}")),
            None => Err("it ends where a number or a series should be".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agg(a: Aggregate, values: &[f64]) -> Option<f64> {
        a.of(&mut values.to_vec())
    }

    #[test]
    fn aggregates_follow_their_definitions() {
        let v = [4.0, 1.0, 3.0, 2.0];
        assert_eq!(agg(Aggregate::Sum, &v), Some(10.0));
        assert_eq!(agg(Aggregate::Avg, &v), Some(2.5));
        assert_eq!(agg(Aggregate::Min, &v), Some(1.0));
        assert_eq!(agg(Aggregate::Max, &v), Some(4.0));
        assert_eq!(agg(Aggregate::Median, &v), Some(2.5));
        // rank (4 - 1) · 0.9 = 2.7: 3 + 0.7 · (4 - 3)
        let p90 = agg(Aggregate::P90, &v).expect("p90");
        assert!((p90 - 3.7).abs() < 1e-9, "{p90}");
        assert_eq!(agg(Aggregate::P99, &[7.0]), Some(7.0));
        assert_eq!(agg(Aggregate::Sum, &[]), Some(0.0));
        for a in Aggregate::ALL.into_iter().filter(|a| *a != Aggregate::Sum) {
            assert_eq!(agg(a, &[]), None, "{a}");
        }
    }

    #[test]
    fn aggregates_read_back_and_unknown_ones_are_named() {
        for a in Aggregate::ALL {
            assert_eq!(a.as_str().parse::<Aggregate>(), Ok(a));
        }
        assert_eq!("AVERAGE".parse::<Aggregate>(), Ok(Aggregate::Avg));
        let e = "mode".parse::<Aggregate>().expect_err("mode").to_string();
        assert!(e.contains("`mode`") && e.contains("p95"), "{e}");
    }

    #[test]
    fn series_math_reads_counts_and_property_math() {
        assert_eq!(SeriesMath::parse("", None), Ok(SeriesMath::Events));
        assert_eq!(SeriesMath::parse("persons", None), Ok(SeriesMath::Persons));
        let m = SeriesMath::parse("sum: amount", Some("avg")).expect("math");
        assert_eq!(
            m,
            SeriesMath::Property(PropertyMath {
                aggregate: Aggregate::Sum,
                property: "amount".into(),
                per_person: Some(Aggregate::Avg),
            })
        );
        assert_eq!(m.to_string(), "sum:amount (avg per person)");
        assert_eq!(
            SeriesMath::parse("events", Some("avg")),
            Err(MathError::PerPersonWithoutProperty)
        );
        assert_eq!(
            SeriesMath::parse("sum:", None),
            Err(MathError::NoProperty("sum:".into()))
        );
        assert_eq!(
            SeriesMath::parse("amount", None),
            Err(MathError::Shape("amount".into()))
        );
        assert!(matches!(
            SeriesMath::parse("total:amount", None),
            Err(MathError::Aggregate(_))
        ));
    }

    #[test]
    fn formulas_combine_series_point_by_point() {
        let f = Formula::parse("(A - B) / A * 100", 2).expect("formula");
        assert_eq!(f.eval(&[Some(200.0), Some(50.0)]), Some(75.0));
        let f = Formula::parse("a / b", 2).expect("lower case");
        assert_eq!(f.eval(&[Some(1.0), Some(4.0)]), Some(0.25));
        // Precedence, unary minus and numbers.
        let f = Formula::parse("-A + 2 * B - 0.5", 2).expect("formula");
        assert_eq!(f.eval(&[Some(1.0), Some(3.0)]), Some(4.5));
        let f = Formula::parse("A - (B - A)", 2).expect("formula");
        assert_eq!(f.eval(&[Some(1.0), Some(3.0)]), Some(-1.0));
    }

    #[test]
    fn a_division_by_zero_or_a_missing_value_is_empty() {
        let f = Formula::parse("A / B", 2).expect("formula");
        assert_eq!(f.eval(&[Some(3.0), Some(0.0)]), None);
        assert_eq!(f.eval(&[Some(0.0), Some(0.0)]), None);
        assert_eq!(f.eval(&[None, Some(2.0)]), None);
        let f = Formula::parse("A * 1e", 1);
        assert!(f.is_err());
    }

    #[test]
    fn bad_formulas_say_what_is_wrong() {
        let cases = [
            ("A / C", 2, "series C, but the series go from A to B"),
            ("A +", 1, "ends where"),
            ("(A + B", 2, "never closed"),
            ("A B", 2, "unexpected series B"),
            ("AB / 2", 2, "single letters"),
            ("A % 2", 1, "`%`"),
            ("", 1, "empty"),
            ("1..2", 0, "not a number"),
            ("A", 0, "no series"),
        ];
        for (text, n, want) in cases {
            let e = Formula::parse(text, n).expect_err(text).to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
