//! The compact stores persons are kept in: strings appended to one buffer
//! and found by number ([`Texts`]), person ids as the 16 bytes of the UUID
//! liveops made them from ([`PersonIds`]), and person properties as text in
//! one buffer that drops replaced values now and then ([`PropTexts`]).
//! A project may hold millions of persons, and each of these saves bytes
//! per person over a `String` or `Box<str>` of its own.

use std::collections::HashMap;
use std::fmt;
use std::ops::Deref;

/// Strings appended to one buffer, each found by its number. Ends are kept
/// in 32 bits; `wraps` says where they passed each further 4 GiB.
#[derive(Debug, Default)]
pub(crate) struct Texts {
    bytes: String,
    ends: Vec<u32>,
    /// The first number whose end is at or past (k + 1) × 2³², for each k.
    wraps: Vec<u32>,
}

impl Texts {
    pub fn push(&mut self, s: &str) -> u32 {
        let i = self.ends.len() as u32;
        self.bytes.push_str(s);
        let end = self.bytes.len() as u64;
        while ((self.wraps.len() as u64 + 1) << 32) <= end {
            self.wraps.push(i);
        }
        self.ends.push(end as u32);
        i
    }

    fn end(&self, i: usize) -> usize {
        let high = self.wraps.partition_point(|&w| w as usize <= i) as u64;
        ((high << 32) | u64::from(self.ends[i])) as usize
    }

    pub fn get(&self, i: u32) -> &str {
        let i = i as usize;
        if i >= self.ends.len() {
            return "";
        }
        let start = if i == 0 { 0 } else { self.end(i - 1) };
        self.bytes.get(start..self.end(i)).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    pub fn reserve(&mut self, n: usize, bytes: usize) {
        self.bytes.reserve_exact(bytes);
        self.ends.reserve_exact(n);
    }
}

/// A person id as [`PersonIds`] gives it back: the text of a UUID, made on
/// the spot, or text kept as it came.
pub enum PersonId<'a> {
    Uuid([u8; 36]),
    Text(&'a str),
}

impl PersonId<'_> {
    pub fn as_str(&self) -> &str {
        match self {
            PersonId::Uuid(b) => std::str::from_utf8(b).unwrap_or_default(),
            PersonId::Text(s) => s,
        }
    }
}

impl Deref for PersonId<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for PersonId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PersonId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// A person's id, made into text only when asked: queries that walk every
/// person and never look at the id pay nothing for it.
#[derive(Clone, Copy)]
pub struct IdOf<'a> {
    ids: &'a PersonIds,
    p: u32,
}

impl<'a> IdOf<'a> {
    pub fn text(&self) -> PersonId<'a> {
        self.ids.get(self.p)
    }
}

impl fmt::Display for IdOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text().as_str())
    }
}

impl fmt::Debug for IdOf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.text().as_str(), f)
    }
}

/// A person id as a key: the UUID's value when the text is one in the
/// form liveops writes (lower case, hyphenated), so that it reads back
/// exactly as it came; otherwise the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum IdKey<'a> {
    Uuid(u128),
    Text(&'a str),
}

impl<'a> IdKey<'a> {
    pub fn of(id: &'a str) -> IdKey<'a> {
        if id.len() == 36
            && let Ok(u) = uuid::Uuid::try_parse(id)
        {
            let mut buf = [0u8; 36];
            if u.hyphenated().encode_lower(&mut buf) == id {
                return IdKey::Uuid(u.as_u128());
            }
        }
        IdKey::Text(id)
    }
}

/// Person ids by person number: each UUID in 16 bytes; any other text (ids
/// from elsewhere, tests) beside them, by number.
#[derive(Debug, Default)]
pub(crate) struct PersonIds {
    uuids: Vec<u128>,
    /// Numbers whose id is not a UUID in liveops' form (their `uuids` slot
    /// holds 0).
    other: HashMap<u32, Box<str>>,
}

impl PersonIds {
    pub fn push(&mut self, id: &str) -> u32 {
        let p = self.uuids.len() as u32;
        match IdKey::of(id) {
            IdKey::Uuid(u) => self.uuids.push(u),
            IdKey::Text(t) => {
                self.uuids.push(0);
                self.other.insert(p, t.into());
            }
        }
        p
    }

    pub fn key(&self, p: u32) -> IdKey<'_> {
        match self.uuids.get(p as usize) {
            Some(0) | None => match self.other.get(&p) {
                Some(t) => IdKey::Text(t),
                None => IdKey::Uuid(0),
            },
            Some(&u) => IdKey::Uuid(u),
        }
    }

    pub fn get(&self, p: u32) -> PersonId<'_> {
        match self.key(p) {
            IdKey::Uuid(u) => {
                let mut buf = [0u8; 36];
                uuid::Uuid::from_u128(u).hyphenated().encode_lower(&mut buf);
                PersonId::Uuid(buf)
            }
            IdKey::Text(t) => PersonId::Text(t),
        }
    }

    pub fn of(&self, p: u32) -> IdOf<'_> {
        IdOf { ids: self, p }
    }

    pub fn len(&self) -> usize {
        self.uuids.len()
    }

    pub fn reserve(&mut self, n: usize) {
        self.uuids.reserve_exact(n);
    }
}

/// No properties: the person's are `{}`.
const EMPTY: u32 = u32::MAX;

/// Each person's properties, as a JSON object's text in one buffer. A
/// change appends the new text; the buffer is written afresh, without the
/// texts replaced, once those are over half of it.
#[derive(Debug, Default)]
pub(crate) struct PropTexts {
    texts: Texts,
    /// Each person's text in `texts`, or [`EMPTY`].
    at: Vec<u32>,
    /// Bytes of `texts` no person points at any more.
    dead: usize,
}

impl PropTexts {
    pub fn get(&self, p: u32) -> &str {
        match self.at.get(p as usize) {
            Some(&i) if i != EMPTY => self.texts.get(i),
            _ => "{}",
        }
    }

    /// Adds a person (slot `at.len()`) with `text`.
    pub fn push(&mut self, text: &str) {
        self.at.push(EMPTY);
        self.set((self.at.len() - 1) as u32, text);
    }

    pub fn set(&mut self, p: u32, text: &str) {
        let Some(&old) = self.at.get(p as usize) else {
            return;
        };
        if old != EMPTY {
            self.dead += self.texts.get(old).len();
        }
        self.at[p as usize] = if text == "{}" {
            EMPTY
        } else {
            self.texts.push(text)
        };
        if self.dead > 1 << 20 && self.dead * 2 > self.texts.byte_len() {
            self.rewrite();
        }
    }

    fn rewrite(&mut self) {
        let mut fresh = Texts::default();
        fresh.reserve(self.at.len(), self.texts.byte_len() - self.dead);
        for i in self.at.iter_mut() {
            if *i != EMPTY {
                *i = fresh.push(self.texts.get(*i));
            }
        }
        self.texts = fresh;
        self.dead = 0;
    }

    /// Room for `n` persons, `texts` of whom have properties other than
    /// `{}`, in `bytes`.
    pub fn reserve(&mut self, n: usize, (texts, bytes): (usize, usize)) {
        self.at.reserve_exact(n);
        self.texts.reserve(texts, bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_read_back_in_order() {
        let mut t = Texts::default();
        let a = t.push("alpha");
        let b = t.push("");
        let c = t.push("γ");
        assert_eq!(
            (t.get(a), t.get(b), t.get(c), t.get(9)),
            ("alpha", "", "γ", "")
        );
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn uuid_ids_take_sixteen_bytes_and_read_back_exactly() {
        let mut ids = PersonIds::default();
        let u = "0190b7a2-3c4d-7e5f-8a9b-0c1d2e3f4a5b";
        let upper = "0190B7A2-3C4D-7E5F-8A9B-0C1D2E3F4A5B";
        let nil = "00000000-0000-0000-0000-000000000000";
        for id in [u, "p1", upper, nil, ""] {
            ids.push(id);
        }
        let back: Vec<String> = (0..5).map(|p| ids.get(p).to_string()).collect();
        assert_eq!(back, [u, "p1", upper, nil, ""]);
        assert!(matches!(ids.key(0), IdKey::Uuid(_)));
        assert_eq!(ids.key(1), IdKey::Text("p1"));
        assert_eq!(ids.key(2), IdKey::Text(upper), "kept as it came");
        assert_eq!(ids.key(3), IdKey::Uuid(0));
        assert_eq!(IdKey::of(u), ids.key(0));
        assert_eq!(ids.other.len(), 3);
    }

    #[test]
    fn replaced_properties_are_dropped_once_they_are_most_of_the_buffer() {
        let mut props = PropTexts::default();
        props.push("{}");
        props.push(r#"{"plan":"free"}"#);
        assert_eq!(
            (props.get(0), props.get(1), props.get(7)),
            ("{}", r#"{"plan":"free"}"#, "{}")
        );
        let big = format!(r#"{{"note":"{}"}}"#, "x".repeat(100_000));
        for i in 0..30 {
            props.set(0, &big);
            props.set(1, &format!(r#"{{"n":{i}}}"#));
        }
        // Thirty copies were written; the buffer keeps at most a little
        // over a MiB of replaced text beside the live ones.
        assert!(
            props.texts.byte_len() < (1 << 20) + 3 * big.len(),
            "rewritten"
        );
        assert!(props.texts.byte_len() >= big.len());
        assert_eq!(props.get(0), big);
        assert_eq!(props.get(1), r#"{"n":29}"#);
        props.set(0, "{}");
        assert_eq!(props.get(0), "{}");
    }
}
