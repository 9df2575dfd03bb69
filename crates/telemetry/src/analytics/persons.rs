//! Persons in memory: distinct ids as dense integers, which person each
//! belongs to, each person's distinct ids and properties. Merging two
//! distinct ids (identify, alias) moves one person's ids to the other.

use std::collections::HashMap;

use serde_json::{Map, Value};

#[derive(Debug, Default)]
pub struct Persons {
    dids: HashMap<Box<str>, u32>,
    did_names: Vec<Box<str>>,
    did_person: Vec<u32>,
    /// Per person: its id (empty when merged away or deleted), distinct ids
    /// and properties (a JSON object's text).
    person_ids: Vec<String>,
    person_dids: Vec<Vec<u32>>,
    person_props: Vec<String>,
    person_created: Vec<i64>,
    by_id: HashMap<String, u32>,
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
        self.person_ids.iter().filter(|p| !p.is_empty()).count()
    }

    pub fn did(&self, distinct_id: &str) -> Option<u32> {
        self.dids.get(distinct_id).copied()
    }

    /// Every distinct id that belongs to someone, with its number.
    pub fn live_dids(&self) -> impl Iterator<Item = (u32, &str)> {
        self.dids.iter().map(|(name, &d)| (d, &**name))
    }

    pub fn did_name(&self, d: u32) -> &str {
        self.did_names.get(d as usize).map_or("", |n| n)
    }

    pub fn person_of(&self, d: u32) -> u32 {
        self.did_person[d as usize]
    }

    /// Person index → (id, distinct ids, properties, created), for live persons.
    pub fn person(&self, p: u32) -> Option<(&str, &[u32], &str, i64)> {
        let i = p as usize;
        let id = self.person_ids.get(i)?;
        if id.is_empty() {
            return None;
        }
        Some((
            id,
            &self.person_dids[i],
            &self.person_props[i],
            self.person_created[i],
        ))
    }

    pub fn person_slots(&self) -> usize {
        self.person_ids.len()
    }

    /// Loads a stored person (at start).
    pub fn load_person(&mut self, id: String, props: String, created: i64) -> u32 {
        let p = self.person_ids.len() as u32;
        self.by_id.insert(id.clone(), p);
        self.person_ids.push(id);
        self.person_dids.push(Vec::new());
        self.person_props.push(props);
        self.person_created.push(created);
        p
    }

    /// Loads a stored distinct id link (at start); unknown persons are skipped.
    pub fn load_link(&mut self, distinct_id: &str, person_id: &str) -> Option<u32> {
        let p = *self.by_id.get(person_id)?;
        Some(self.attach(distinct_id, p))
    }

    fn attach(&mut self, distinct_id: &str, p: u32) -> u32 {
        match self.dids.get(distinct_id) {
            Some(&d) => {
                let old = self.did_person[d as usize];
                if old != p {
                    self.person_dids[old as usize].retain(|x| *x != d);
                    self.did_person[d as usize] = p;
                    self.person_dids[p as usize].push(d);
                }
                d
            }
            None => {
                let d = self.did_names.len() as u32;
                self.did_names.push(distinct_id.into());
                self.dids.insert(distinct_id.into(), d);
                self.did_person.push(p);
                self.person_dids[p as usize].push(d);
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
            let id = self.person_ids[into as usize].clone();
            self.attach(other_did, into);
            changes.links.push((other_did.to_owned(), id));
            return;
        };
        let from = self.person_of(o);
        if from == into {
            return;
        }
        let moved = std::mem::take(&mut self.person_dids[from as usize]);
        let into_id = self.person_ids[into as usize].clone();
        for d in &moved {
            self.did_person[*d as usize] = into;
            changes
                .links
                .push((self.did_names[*d as usize].to_string(), into_id.clone()));
        }
        self.person_dids[into as usize].extend(moved);
        let old_props = std::mem::take(&mut self.person_props[from as usize]);
        let merged = merge_props(&self.person_props[into as usize], &old_props, false);
        self.person_props[into as usize] = merged;
        let gone = std::mem::take(&mut self.person_ids[from as usize]);
        self.by_id.remove(&gone);
        self.person_created[into as usize] =
            self.person_created[into as usize].min(self.person_created[from as usize]);
        changes.touched.push(into);
        changes.merged_away.push(gone);
    }

    /// Applies `$set` (overwrite) or `$set_once` (fill gaps) to a person.
    pub fn set_props(&mut self, p: u32, doc: &str, once: bool, changes: &mut PersonChanges) {
        let i = p as usize;
        let merged = merge_props(&self.person_props[i], doc, !once);
        if merged != self.person_props[i] {
            self.person_props[i] = merged;
            changes.touched.push(p);
        }
    }

    /// Forgets a person and their distinct ids; returns those ids' indexes.
    pub fn delete(&mut self, p: u32) -> Vec<u32> {
        let i = p as usize;
        let gone = std::mem::take(&mut self.person_ids[i]);
        self.by_id.remove(&gone);
        self.person_props[i] = String::new();
        let dids = std::mem::take(&mut self.person_dids[i]);
        for d in &dids {
            let name = std::mem::take(&mut self.did_names[*d as usize]);
            self.dids.remove(&name);
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
        assert_eq!((id, dids.len(), created), ("p2", 2, 1));
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
