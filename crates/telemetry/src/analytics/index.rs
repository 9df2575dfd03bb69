//! The behavioural layout: one project's events kept together per distinct
//! id and sorted by time, with event names as small integers, so a funnel or
//! retention query is one pass over memory per person.
//!
//! DuckDB holds every event durably; this is rebuilt from it at start and
//! kept current by the writer. New events land in a small unsorted delta
//! that is folded into the sorted columns before the next query reads them.

use std::collections::HashMap;

use super::mapped::Col;

/// Event names as dense integers.
#[derive(Debug, Default)]
pub struct Names {
    ids: HashMap<Box<str>, u32>,
    list: Vec<Box<str>>,
}

impl Names {
    /// Names numbered in the order given.
    pub fn from_list(list: Vec<String>) -> Names {
        let mut n = Names::default();
        for name in list {
            n.intern(&name);
        }
        n
    }

    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.list.len() as u32;
        self.list.push(name.into());
        self.ids.insert(name.into(), id);
        id
    }

    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    pub fn name(&self, id: u32) -> &str {
        self.list.get(id as usize).map_or("", |n| n)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }
}

/// Events by distinct id: `ts[offsets[d]..offsets[d + 1]]` are distinct id
/// `d`'s times in ascending order, `names` alongside. The sorted columns
/// may be read in place from a saved layout (see [`super::mapped`]).
#[derive(Debug, Default)]
pub struct Columns {
    offsets: Col<u64>,
    ts: Col<i64>,
    names: Col<u32>,
    /// Events not yet folded in: (distinct id, time, name).
    delta: Vec<(u32, i64, u32)>,
    /// Counts the changes to the sorted columns.
    generation: u64,
}

impl Columns {
    /// Sorted columns as [`Columns::parts`] gave them.
    pub(crate) fn from_parts(offsets: Col<u64>, ts: Col<i64>, names: Col<u32>) -> Columns {
        Columns {
            offsets,
            ts,
            names,
            delta: Vec::new(),
            generation: 0,
        }
    }

    /// Which state of the sorted columns this is: any change to them
    /// moves it on.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Takes `parts` (the columns as saved at `generation`, read from the
    /// layout file) in place of the sorted columns, if they are still at
    /// `generation`; the delta stays as it is. (The file's offsets may go
    /// on past the last distinct id with events, as empty runs.)
    pub(crate) fn replace_sorted(
        &mut self,
        generation: u64,
        (offsets, ts, names): (Col<u64>, Col<i64>, Col<u32>),
    ) -> bool {
        let same = generation == self.generation;
        if same {
            self.offsets = offsets;
            self.ts = ts;
            self.names = names;
        }
        same
    }

    /// Whether the sorted columns are read in place from a file.
    pub(crate) fn is_mapped(&self) -> bool {
        self.ts.is_mapped()
    }

    fn set(&mut self, offsets: Vec<u64>, ts: Vec<i64>, names: Vec<u32>) {
        self.offsets = offsets.into();
        self.ts = ts.into();
        self.names = names.into();
        self.generation += 1;
    }

    /// The sorted columns (offsets, times, names), without the delta.
    pub fn parts(&self) -> (&[u64], &[i64], &[u32]) {
        (&self.offsets, &self.ts, &self.names)
    }

    pub fn push(&mut self, did: u32, ts: i64, name: u32) {
        self.delta.push((did, ts, name));
    }

    pub fn len(&self) -> usize {
        self.ts.len() + self.delta.len()
    }

    /// Bytes held by the columns.
    pub fn heap_bytes(&self) -> usize {
        self.offsets.heap_bytes()
            + self.ts.heap_bytes()
            + self.names.heap_bytes()
            + self.delta.capacity() * 16
    }

    pub fn has_delta(&self) -> bool {
        !self.delta.is_empty()
    }

    /// Folds the delta into the sorted columns; `dids` is how many distinct
    /// ids exist now. One pass over the columns plus a sort of the delta.
    pub fn compact(&mut self, dids: usize) {
        let old_dids = self.offsets.len().saturating_sub(1);
        // However few ids the caller names, every waiting event keeps its place.
        let waiting = self
            .delta
            .iter()
            .map(|e| e.0 as usize + 1)
            .max()
            .unwrap_or(0);
        let dids = dids.max(old_dids).max(waiting);
        if self.delta.is_empty() && old_dids == dids {
            return;
        }
        let mut delta = std::mem::take(&mut self.delta);
        delta.sort_unstable_by_key(|&(d, t, _)| (d, t));
        let total = self.ts.len() + delta.len();
        let mut offsets = Vec::with_capacity(dids + 1);
        let mut ts = Vec::with_capacity(total);
        let mut names = Vec::with_capacity(total);
        let mut j = 0;
        offsets.push(0u64);
        for d in 0..dids {
            let (a, b) = if d < old_dids {
                (self.offsets[d] as usize, self.offsets[d + 1] as usize)
            } else {
                (0, 0)
            };
            let start = j;
            while j < delta.len() && delta[j].0 as usize == d {
                j += 1;
            }
            let new = &delta[start..j];
            if new.is_empty() {
                ts.extend_from_slice(&self.ts[a..b]);
                names.extend_from_slice(&self.names[a..b]);
            } else {
                // Merge two sorted runs; older events first on equal times.
                let (mut x, mut y) = (a, 0);
                while x < b || y < new.len() {
                    if y >= new.len() || (x < b && self.ts[x] <= new[y].1) {
                        ts.push(self.ts[x]);
                        names.push(self.names[x]);
                        x += 1;
                    } else {
                        ts.push(new[y].1);
                        names.push(new[y].2);
                        y += 1;
                    }
                }
            }
            offsets.push(ts.len() as u64);
        }
        self.set(offsets, ts, names);
        self.delta = Vec::new();
    }

    /// Distinct id `d`'s sorted events; call after [`Columns::compact`].
    #[inline]
    pub fn of(&self, d: u32) -> (&[i64], &[u32]) {
        let d = d as usize;
        let offsets: &[u64] = &self.offsets;
        let (Some(&a), Some(&b)) = (offsets.get(d), offsets.get(d + 1)) else {
            return (&[], &[]);
        };
        let (a, b) = (a as usize, b as usize);
        (&self.ts[a..b], &self.names[a..b])
    }

    /// Drops every event of the given distinct ids (a deleted person).
    pub fn forget(&mut self, dids: &[u32]) {
        self.compact(self.offsets.len().saturating_sub(1));
        let gone: std::collections::HashSet<u32> = dids.iter().copied().collect();
        let n = self.offsets.len().saturating_sub(1);
        let mut offsets = vec![0u64];
        let mut ts = Vec::with_capacity(self.ts.len());
        let mut names = Vec::with_capacity(self.names.len());
        for d in 0..n {
            if !gone.contains(&(d as u32)) {
                let (a, b) = (self.offsets[d] as usize, self.offsets[d + 1] as usize);
                ts.extend_from_slice(&self.ts[a..b]);
                names.extend_from_slice(&self.names[a..b]);
            }
            offsets.push(ts.len() as u64);
        }
        self.set(offsets, ts, names);
    }

    /// Drops events before `cutoff` (the retention limit).
    pub fn drop_before(&mut self, cutoff: i64) {
        self.compact(self.offsets.len().saturating_sub(1));
        let n = self.offsets.len().saturating_sub(1);
        let mut offsets = vec![0u64];
        let mut ts = Vec::with_capacity(self.ts.len());
        let mut names = Vec::with_capacity(self.names.len());
        for d in 0..n {
            let (a, b) = (self.offsets[d] as usize, self.offsets[d + 1] as usize);
            let keep = a + self.ts[a..b].partition_point(|&t| t < cutoff);
            ts.extend_from_slice(&self.ts[keep..b]);
            names.extend_from_slice(&self.names[keep..b]);
            offsets.push(ts.len() as u64);
        }
        self.set(offsets, ts, names);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delta_merges_in_time_order_per_distinct_id() {
        let mut c = Columns::default();
        c.push(1, 30, 0);
        c.push(0, 10, 1);
        c.push(1, 10, 2);
        c.compact(2);
        assert_eq!(c.of(0), (&[10][..], &[1][..]));
        assert_eq!(c.of(1), (&[10, 30][..], &[2, 0][..]));
        c.push(1, 20, 3);
        c.push(2, 5, 4);
        c.compact(3);
        assert_eq!(c.of(1), (&[10, 20, 30][..], &[2, 3, 0][..]));
        assert_eq!(c.of(2).0, &[5]);
        assert_eq!(c.of(9).0, &[] as &[i64]);
        c.drop_before(15);
        assert_eq!(c.of(1).0, &[20, 30]);
        assert_eq!(c.of(0).0, &[] as &[i64]);
        c.forget(&[1]);
        assert_eq!(c.len(), 0);
        // Events of a new distinct id, not folded in yet, outlive a
        // deletion and a retention run.
        c.push(4, 50, 1);
        c.forget(&[0]);
        assert_eq!(c.of(4).0, &[50]);
        c.push(5, 60, 1);
        c.drop_before(0);
        assert_eq!(c.of(5).0, &[60]);
        let mut n = Names::default();
        assert_eq!(n.intern("a"), 0);
        assert_eq!(n.intern("b"), 1);
        assert_eq!(n.intern("a"), 0);
        assert_eq!((n.get("b"), n.name(1), n.len()), (Some(1), "b", 2));
    }
}
