//! Persons in memory: distinct ids as dense integers, which person each
//! belongs to, each person's distinct ids and properties. Merging two
//! distinct ids (identify, alias) moves one person's ids to the other.
//!
//! A project may have millions of persons, so they are kept compact (see
//! [`super::texts`]): the distinct ids live in one text buffer, person ids
//! as the 16 bytes of their UUID, both found through hash tables of
//! numbers rather than tables of strings; a person's one distinct id (the
//! usual case) needs no list of its own; properties live in one buffer,
//! and those that are still `{}` take no text at all.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};

use hashbrown::HashTable;
use serde_json::{Map, Value};

use super::texts::{IdKey, IdOf, PersonIds, PropTexts, Texts};

/// No person (a distinct id kept only for its number), or no distinct id.
const NOBODY: u32 = u32::MAX;

#[derive(Debug, Default)]
pub struct Persons {
    hasher: RandomState,
    did_names: Texts,
    /// Live distinct ids, by name.
    dids: HashTable<u32>,
    /// Each distinct id's person, or [`NOBODY`] once deleted.
    did_person: Vec<u32>,
    person_ids: PersonIds,
    /// Live persons, by id.
    by_id: HashTable<u32>,
    alive: Vec<bool>,
    /// A person's first distinct id ([`NOBODY`]: none)…
    first_did: Vec<u32>,
    /// …and all of them, for persons with more than one…
    more_dids: HashMap<u32, Vec<u32>>,
    /// …which these mark, so a query asks the map only for them.
    multi: Vec<bool>,
    /// Properties as a JSON object's text.
    props: PropTexts,
    created: Vec<i64>,
}

/// Persons as a saved layout keeps them: the live ones' numbers, in the
/// order they are saved, and each distinct id's person by that order.
#[derive(Debug, Default)]
pub struct SavedOrder {
    pub live: Vec<u32>,
    pub did_person: Vec<u32>,
}

/// What an ingest did to persons, for the writer to store.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PersonChanges {
    /// (distinct id, person id) links to record.
    pub links: Vec<(String, String)>,
    /// Persons whose properties changed (or who are new): their index.
    pub touched: Vec<u32>,
    /// Persons merged into another and so gone.
    pub merged_away: Vec<String>,
}

impl Persons {
    pub fn did_count(&self) -> usize {
        self.did_names.len()
    }

    /// Distinct ids that still belong to someone (a deleted person's
    /// slots stay, empty, so [`Persons::did_count`] does not shrink).
    pub fn live_did_count(&self) -> usize {
        self.dids.len()
    }

    pub fn person_count(&self) -> usize {
        self.by_id.len()
    }

    pub fn did(&self, distinct_id: &str) -> Option<u32> {
        let names = &self.did_names;
        self.dids
            .find(self.hasher.hash_one(distinct_id), |&d| {
                names.get(d) == distinct_id
            })
            .copied()
    }

    /// Every distinct id that belongs to someone, with its number.
    pub fn live_dids(&self) -> impl Iterator<Item = (u32, &str)> {
        self.dids.iter().map(|&d| (d, self.did_names.get(d)))
    }

    pub fn did_name(&self, d: u32) -> &str {
        match self.did_person.get(d as usize) {
            Some(&p) if p != NOBODY => self.did_names.get(d),
            _ => "",
        }
    }

    pub fn person_of(&self, d: u32) -> u32 {
        self.did_person[d as usize]
    }

    fn dids_of(&self, p: u32) -> &[u32] {
        if self.multi.get(p as usize).copied().unwrap_or(false)
            && let Some(all) = self.more_dids.get(&p)
        {
            return all;
        }
        match self.first_did.get(p as usize) {
            Some(d) if *d != NOBODY => std::slice::from_ref(d),
            _ => &[],
        }
    }

    fn props_of(&self, p: u32) -> &str {
        self.props.get(p)
    }

    /// Person index → (id, distinct ids, properties, created), for live persons.
    pub fn person(&self, p: u32) -> Option<(IdOf<'_>, &[u32], &str, i64)> {
        let i = p as usize;
        if !self.alive.get(i).copied().unwrap_or(false) {
            return None;
        }
        Some((
            self.person_ids.of(p),
            self.dids_of(p),
            self.props_of(p),
            self.created[i],
        ))
    }

    pub fn person_slots(&self) -> usize {
        self.person_ids.len()
    }

    fn find_person(&self, id: &str) -> Option<u32> {
        let key = IdKey::of(id);
        let ids = &self.person_ids;
        self.by_id
            .find(self.hasher.hash_one(key), |&p| ids.key(p) == key)
            .copied()
    }

    fn forget_person_id(&mut self, p: u32) {
        let hash = self.hasher.hash_one(self.person_ids.key(p));
        if let Ok(e) = self.by_id.find_entry(hash, |&q| q == p) {
            let _ = e.remove();
        }
    }

    /// Loads a stored person (at start).
    pub fn load_person(&mut self, id: String, props: String, created: i64) -> u32 {
        if let Some(old) = self.find_person(&id) {
            self.forget_person_id(old);
        }
        let p = self.person_ids.push(&id);
        let (ids, hasher) = (&self.person_ids, &self.hasher);
        self.by_id
            .insert_unique(hasher.hash_one(ids.key(p)), p, |&q| {
                hasher.hash_one(ids.key(q))
            });
        self.alive.push(true);
        self.first_did.push(NOBODY);
        self.multi.push(false);
        self.props.push(&props);
        self.created.push(created);
        p
    }

    /// The live persons and each distinct id's person among them
    /// ([`NOBODY`] for none), for saving; the saver reads each person
    /// through [`Persons::person`].
    pub fn saved_order(&self) -> SavedOrder {
        let mut out = SavedOrder::default();
        let mut renumber = vec![NOBODY; self.person_ids.len()];
        for p in 0..self.person_ids.len() as u32 {
            if self.person(p).is_some() {
                renumber[p as usize] = out.live.len() as u32;
                out.live.push(p);
            }
        }
        out.did_person = self
            .did_person
            .iter()
            .map(|&p| renumber.get(p as usize).copied().unwrap_or(NOBODY))
            .collect();
        out
    }

    /// Makes room for a saved layout's persons, their properties other
    /// than `{}` (how many, and their bytes) and distinct ids (how many,
    /// and their bytes), so reading them back grows nothing.
    pub fn reserve(
        &mut self,
        persons: usize,
        props: (usize, usize),
        dids: usize,
        did_bytes: usize,
    ) {
        self.person_ids.reserve(persons);
        self.did_names.reserve(dids, did_bytes);
        let (ids, hasher) = (&self.person_ids, &self.hasher);
        self.by_id
            .reserve(persons, |&q| hasher.hash_one(ids.key(q)));
        let (names, hasher) = (&self.did_names, &self.hasher);
        self.dids.reserve(dids, |&x| hasher.hash_one(names.get(x)));
        self.alive.reserve_exact(persons);
        self.first_did.reserve_exact(persons);
        self.multi.reserve_exact(persons);
        self.props.reserve(persons, props);
        self.created.reserve_exact(persons);
        self.did_person.reserve_exact(dids);
    }

    /// Gives distinct id number `d`, named `name`, back to person `p` of
    /// those loaded from a saved layout ([`NOBODY`] or an empty name: a
    /// deleted person's). False when it does not fit: not the next number,
    /// no such person, or a name already taken.
    pub fn restore_did(&mut self, d: usize, name: &str, p: u32) -> bool {
        let got = if p == NOBODY || name.is_empty() {
            self.load_gap()
        } else if (p as usize) < self.person_ids.len() && self.did(name).is_none() {
            self.attach(name, p)
        } else {
            return false;
        };
        got as usize == d
    }

    /// Applies one stored person row written after a saved layout: a new
    /// person, new properties, or a person merged away.
    pub fn load_row(&mut self, id: &str, props: String, created: i64, deleted: bool) {
        match self.find_person(id) {
            Some(p) if deleted => {
                self.forget_person_id(p);
                self.alive[p as usize] = false;
            }
            Some(p) => {
                self.props.set(p, &props);
                self.created[p as usize] = self.created[p as usize].min(created);
            }
            None if !deleted => {
                self.load_person(id.to_owned(), props, created);
            }
            None => {}
        }
    }

    /// Takes the next distinct id number for a distinct id that belongs to
    /// nobody now (a deleted person's), so later ids keep the numbers a
    /// saved layout gave them.
    pub fn load_gap(&mut self) -> u32 {
        let d = self.did_names.push("");
        self.did_person.push(NOBODY);
        d
    }

    /// Loads a stored distinct id link (at start); unknown persons are skipped.
    pub fn load_link(&mut self, distinct_id: &str, person_id: &str) -> Option<u32> {
        let p = self.find_person(person_id)?;
        Some(self.attach(distinct_id, p))
    }

    fn add_did(&mut self, p: u32, d: u32) {
        let first = self.first_did[p as usize];
        if first == NOBODY {
            self.first_did[p as usize] = d;
        } else {
            self.more_dids
                .entry(p)
                .or_insert_with(|| vec![first])
                .push(d);
            self.multi[p as usize] = true;
        }
    }

    fn remove_did(&mut self, p: u32, d: u32) {
        if let Some(all) = self.more_dids.get_mut(&p) {
            all.retain(|x| *x != d);
            self.first_did[p as usize] = all.first().copied().unwrap_or(NOBODY);
            if all.len() <= 1 {
                self.more_dids.remove(&p);
                self.multi[p as usize] = false;
            }
        } else if self.first_did[p as usize] == d {
            self.first_did[p as usize] = NOBODY;
        }
    }

    fn take_dids(&mut self, p: u32) -> Vec<u32> {
        let all = self.dids_of(p).to_vec();
        self.more_dids.remove(&p);
        self.multi[p as usize] = false;
        self.first_did[p as usize] = NOBODY;
        all
    }

    fn attach(&mut self, distinct_id: &str, p: u32) -> u32 {
        match self.did(distinct_id) {
            Some(d) => {
                let old = self.did_person[d as usize];
                if old != p {
                    self.remove_did(old, d);
                    self.did_person[d as usize] = p;
                    self.add_did(p, d);
                }
                d
            }
            None => {
                let d = self.did_names.push(distinct_id);
                let (names, hasher) = (&self.did_names, &self.hasher);
                self.dids
                    .insert_unique(hasher.hash_one(distinct_id), d, |&x| {
                        hasher.hash_one(names.get(x))
                    });
                self.did_person.push(p);
                self.add_did(p, d);
                d
            }
        }
    }

    /// The distinct id's index, creating it and a new person when unknown.
    pub fn resolve(
        &mut self,
        distinct_id: &str,
        now: i64,
        new_id: &mut dyn FnMut() -> String,
        changes: &mut PersonChanges,
    ) -> u32 {
        if let Some(d) = self.did(distinct_id) {
            return d;
        }
        let id = new_id();
        let p = self.load_person(id.clone(), "{}".into(), now);
        changes.touched.push(p);
        changes.links.push((distinct_id.to_owned(), id));
        self.attach(distinct_id, p)
    }

    /// Puts `other` in the same person as `keep`: the other person's ids
    /// move over, its properties fill gaps, and it is gone.
    pub fn merge(&mut self, keep: u32, other_did: &str, changes: &mut PersonChanges) {
        let into = self.person_of(keep);
        let Some(o) = self.did(other_did) else {
            let id = self.person_ids.get(into).to_string();
            self.attach(other_did, into);
            changes.links.push((other_did.to_owned(), id));
            return;
        };
        let from = self.person_of(o);
        if from == into {
            return;
        }
        let moved = self.take_dids(from);
        let into_id = self.person_ids.get(into).to_string();
        for &d in &moved {
            self.did_person[d as usize] = into;
            self.add_did(into, d);
            changes
                .links
                .push((self.did_names.get(d).to_owned(), into_id.clone()));
        }
        let old_props = self.props_of(from).to_owned();
        let merged = merge_props(self.props_of(into), &old_props, false);
        self.props.set(into, &merged);
        self.props.set(from, "{}");
        self.forget_person_id(from);
        self.alive[from as usize] = false;
        let gone = self.person_ids.get(from).to_string();
        self.created[into as usize] = self.created[into as usize].min(self.created[from as usize]);
        changes.touched.push(into);
        changes.merged_away.push(gone);
    }

    /// Applies `$set` (overwrite) or `$set_once` (fill gaps) to a person.
    pub fn set_props(&mut self, p: u32, doc: &str, once: bool, changes: &mut PersonChanges) {
        let merged = merge_props(self.props_of(p), doc, !once);
        if merged != self.props_of(p) {
            self.props.set(p, &merged);
            changes.touched.push(p);
        }
    }

    /// Forgets a person and their distinct ids; returns those ids' indexes.
    pub fn delete(&mut self, p: u32) -> Vec<u32> {
        self.forget_person_id(p);
        self.alive[p as usize] = false;
        self.props.set(p, "{}");
        let dids = self.take_dids(p);
        for &d in &dids {
            let name = self.did_names.get(d);
            if let Ok(e) = self
                .dids
                .find_entry(self.hasher.hash_one(name), |&x| x == d)
            {
                let _ = e.remove();
            }
            self.did_person[d as usize] = NOBODY;
        }
        dids
    }
}

/// Merges JSON object `extra` into `base`; `overwrite` decides who wins on
/// a key both have. Text that is not an object counts as empty.
pub fn merge_props(base: &str, extra: &str, overwrite: bool) -> String {
    let parse = |s: &str| -> Map<String, Value> {
        match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    };
    let mut out = parse(base);
    for (k, v) in parse(extra) {
        if overwrite || !out.contains_key(&k) {
            out.insert(k, v);
        }
    }
    Value::Object(out).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_merges_two_people_into_one() {
        let mut ps = Persons::default();
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("p{n}")
        };
        let mut ch = PersonChanges::default();
        let anon = ps.resolve("anon", 1, &mut new_id, &mut ch);
        let user = ps.resolve("user", 2, &mut new_id, &mut ch);
        assert_ne!(ps.person_of(anon), ps.person_of(user));
        ps.set_props(ps.person_of(anon), r#"{"a":1,"b":1}"#, false, &mut ch);
        ps.set_props(ps.person_of(user), r#"{"b":2}"#, false, &mut ch);
        ps.merge(user, "anon", &mut ch);
        assert_eq!(ps.person_of(anon), ps.person_of(user));
        assert_eq!(ps.person_count(), 1);
        let (id, dids, props, created) = ps.person(ps.person_of(user)).expect("live");
        assert_eq!((id.to_string().as_str(), dids.len(), created), ("p2", 2, 1));
        assert_eq!(props, r#"{"a":1,"b":2}"#);
        assert_eq!(ch.merged_away, vec!["p1".to_owned()]);
        // An alias to an id never seen joins the person directly.
        ps.merge(user, "alias", &mut ch);
        assert_eq!(
            ps.person_of(ps.did("alias").expect("did")),
            ps.person_of(user)
        );
        ps.set_props(ps.person_of(user), r#"{"a":9,"c":3}"#, true, &mut ch);
        let (_, _, props, _) = ps.person(ps.person_of(user)).expect("live");
        assert_eq!(props, r#"{"a":1,"b":2,"c":3}"#);
        let gone = ps.delete(ps.person_of(user));
        assert_eq!(gone.len(), 3);
        assert_eq!(ps.person_count(), 0);
        assert_eq!(ps.did("user"), None);
    }
}
