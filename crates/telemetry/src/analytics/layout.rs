//! The behavioural layout saved beside the DuckDB file, one file per
//! project, so that a start reads it back instead of rebuilding it from
//! every stored event.
//!
//! A file holds what [`Project`] keeps: the event names, the distinct ids in
//! the order of their numbers, the sorted columns, the sorted hashes of
//! every event id seen (for dropping resent events), and the live persons
//! with each distinct id's person. It covers the events committed up to its
//! stamp and the person and link rows up to its version; a start checks
//! that the database still holds exactly that many of each (a deletion
//! removes rows), and applies only those written later. Anything that does not read back (a missing, torn or
//! foreign file, a count that differs) means a full rebuild, never a wrong
//! answer. Files are written whole to a temporary name, synced and renamed.
//!
//! Layout, little-endian: `LVLAYOUT`, version (u32), the [`Covers`] (four
//! 64-bit numbers), then counts of names (u32), distinct ids (u64), events
//! (u64), ids seen (u64) and persons (u64); each name and distinct id as a
//! u32 length and its UTF-8 bytes; the offsets (u64, distinct ids + 1),
//! times (i64), name numbers (u32) and id hashes (u64); each person's id
//! and properties (as texts) and creation time (i64); each distinct id's
//! person (u32); and a CRC-32 of everything before it.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::persons::{Persons, SavedPersons};
use super::{Project, SortedHashes};
use crate::{Result, TelemetryError};

const MAGIC: &[u8; 8] = b"LVLAYOUT";
const VERSION: u32 = 2;

/// What a saved layout covers, to check against the database.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Covers {
    /// The newest commit stamp of the events it holds.
    pub stamp: i64,
    /// The newest version of the person and link rows it reflects…
    pub version: i64,
    /// …and how many such rows there were of each.
    pub person_rows: u64,
    pub link_rows: u64,
}

/// A saved layout, read back.
#[derive(Debug, Default)]
pub(crate) struct Saved {
    pub covers: Covers,
    pub names: Vec<String>,
    /// Distinct ids by number; an empty one is a deleted person's.
    pub dids: Vec<String>,
    pub offsets: Vec<u64>,
    pub ts: Vec<i64>,
    pub events: Vec<u32>,
    pub seen: SortedHashes,
    pub persons: SavedPersons,
}

impl Saved {
    /// The persons, with the distinct ids by their saved numbers.
    pub(crate) fn take_persons(&mut self) -> Option<Persons> {
        Persons::from_saved(&self.dids, std::mem::take(&mut self.persons))
    }
}

/// Where a project's layout lives in `dir`: its id in hex, so any project
/// id makes a safe file name.
pub(crate) fn path_of(dir: &Path, project: &str) -> PathBuf {
    let hex: String = project.bytes().map(|b| format!("{b:02x}")).collect();
    dir.join(format!("{hex}.layout"))
}

/// Hashes and writes what it is given.
struct Out<W: Write> {
    w: W,
    crc: crc32fast::Hasher,
}

impl<W: Write> Out<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.w.write_all(bytes)?;
        Ok(())
    }

    fn text(&mut self, s: &str) -> Result<()> {
        let len = u32::try_from(s.len())
            .map_err(|_| TelemetryError::Ingest("a name too long to save".into()))?;
        self.put(&len.to_le_bytes())?;
        self.put(s.as_bytes())
    }
}

/// Writes `p` (folded in: call [`Project::ready`] first) as covering what
/// `covers` says.
pub(crate) fn write(path: &Path, p: &Project, covers: Covers) -> Result<()> {
    let (offsets, ts, events) = p.cols.parts();
    let seen = p.seen_all();
    let persons = p.persons.export();
    let dids = p.persons.did_count();
    let tmp = path.with_extension("layout.tmp");
    let file = std::fs::File::create(&tmp)?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
    };
    out.put(MAGIC)?;
    out.put(&VERSION.to_le_bytes())?;
    out.put(&covers.stamp.to_le_bytes())?;
    out.put(&covers.version.to_le_bytes())?;
    out.put(&covers.person_rows.to_le_bytes())?;
    out.put(&covers.link_rows.to_le_bytes())?;
    out.put(&(p.names.len() as u32).to_le_bytes())?;
    out.put(&(dids as u64).to_le_bytes())?;
    out.put(&(ts.len() as u64).to_le_bytes())?;
    out.put(&(seen.len() as u64).to_le_bytes())?;
    out.put(&(persons.ids.len() as u64).to_le_bytes())?;
    for n in 0..p.names.len() {
        out.text(p.names.name(n as u32))?;
    }
    for d in 0..dids {
        out.text(p.persons.did_name(d as u32))?;
    }
    // The columns cover every distinct id, with empty runs at the end for
    // ids that have no events yet.
    let mut buf = Vec::with_capacity(1 << 16);
    let flush = |out: &mut Out<_>, buf: &mut Vec<u8>, force: bool| -> Result<()> {
        if force || buf.len() >= 1 << 16 {
            out.put(buf)?;
            buf.clear();
        }
        Ok(())
    };
    let last = offsets.last().copied().unwrap_or(0);
    for d in 0..=dids {
        let o = offsets.get(d).copied().unwrap_or(last);
        buf.extend_from_slice(&o.to_le_bytes());
        flush(&mut out, &mut buf, false)?;
    }
    for t in ts {
        buf.extend_from_slice(&t.to_le_bytes());
        flush(&mut out, &mut buf, false)?;
    }
    for n in events {
        buf.extend_from_slice(&n.to_le_bytes());
        flush(&mut out, &mut buf, false)?;
    }
    for h in seen.iter() {
        buf.extend_from_slice(&h.to_le_bytes());
        flush(&mut out, &mut buf, false)?;
    }
    flush(&mut out, &mut buf, true)?;
    for ((id, props), created) in persons.ids.iter().zip(&persons.props).zip(&persons.created) {
        out.text(id)?;
        out.text(props)?;
        out.put(&created.to_le_bytes())?;
    }
    for d in 0..dids {
        let p = persons.did_person.get(d).copied().unwrap_or(u32::MAX);
        buf.extend_from_slice(&p.to_le_bytes());
        flush(&mut out, &mut buf, false)?;
    }
    flush(&mut out, &mut buf, true)?;
    let crc = out.crc.clone().finalize();
    out.w.write_all(&crc.to_le_bytes())?;
    let file = out
        .w
        .into_inner()
        .map_err(|e| TelemetryError::Io(e.into_error()))?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    Ok(())
}

/// Reads and checks what it is asked for.
struct In<R: Read> {
    r: R,
    crc: crc32fast::Hasher,
}

/// Why a saved layout cannot be used.
fn unusable(why: &str) -> TelemetryError {
    TelemetryError::Ingest(format!("the saved analytics layout is unusable: {why}"))
}

impl<R: Read> In<R> {
    fn take(&mut self, buf: &mut [u8]) -> Result<()> {
        self.r
            .read_exact(buf)
            .map_err(|_| unusable("it ends early"))?;
        self.crc.update(buf);
        Ok(())
    }

    fn u32(&mut self) -> Result<u32> {
        let mut b = [0; 4];
        self.take(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn u64(&mut self) -> Result<u64> {
        let mut b = [0; 8];
        self.take(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn text(&mut self) -> Result<String> {
        let len = self.u32()? as usize;
        if len > 1 << 20 {
            return Err(unusable("a name is too long"));
        }
        let mut b = vec![0; len];
        self.take(&mut b)?;
        String::from_utf8(b).map_err(|_| unusable("a name is not UTF-8"))
    }

    /// `n` values of `N` bytes each, read in chunks, each given to `f`.
    fn each<const N: usize>(
        &mut self,
        n: usize,
        mut f: impl FnMut([u8; N]) -> Result<()>,
    ) -> Result<()> {
        let mut chunk = vec![0u8; N * 8192];
        let mut left = n;
        while left > 0 {
            let k = left.min(8192);
            let bytes = &mut chunk[..k * N];
            self.take(bytes)?;
            for c in bytes.chunks_exact(N) {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)?;
            }
            left -= k;
        }
        Ok(())
    }

    /// `n` values of `N` bytes each.
    fn many<const N: usize, T>(&mut self, n: u64, f: impl Fn([u8; N]) -> T) -> Result<Vec<T>> {
        let n = usize::try_from(n).map_err(|_| unusable("too many values"))?;
        let mut out = Vec::with_capacity(n);
        self.each(n, |a| {
            out.push(f(a));
            Ok(())
        })?;
        Ok(out)
    }

    /// `n` hashes in ascending order, kept as they are read (never all
    /// as 64-bit numbers at once).
    fn hashes(&mut self, n: u64) -> Result<SortedHashes> {
        let n = usize::try_from(n).map_err(|_| unusable("too many values"))?;
        let mut out = SortedHashes::with_capacity(n);
        self.each(n, |a| {
            if out.push(u64::from_le_bytes(a)) {
                Ok(())
            } else {
                Err(unusable("its event ids are out of order"))
            }
        })?;
        Ok(out.finish())
    }
}

/// Reads a saved layout; `None` when there is none. A file that does not
/// read back whole and unchanged is an error (the caller rebuilds).
pub(crate) fn read(path: &Path) -> Result<Option<Saved>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut i = In {
        r: BufReader::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
    };
    let mut magic = [0u8; 8];
    i.take(&mut magic)?;
    if &magic != MAGIC || i.u32()? != VERSION {
        return Err(unusable("it is not a layout of this version"));
    }
    let covers = Covers {
        stamp: i.u64()? as i64,
        version: i.u64()? as i64,
        person_rows: i.u64()?,
        link_rows: i.u64()?,
    };
    let n_names = i.u32()?;
    let n_dids = i.u64()?;
    let n_events = i.u64()?;
    let n_seen = i.u64()?;
    let n_persons = i.u64()?;
    // The counts alone must fit the file, before anything is allocated.
    let fixed = (n_dids + 1)
        .saturating_mul(8)
        .saturating_add(n_events.saturating_mul(12))
        .saturating_add(n_seen.saturating_mul(8))
        .saturating_add(n_persons.saturating_mul(16))
        .saturating_add(n_dids.saturating_mul(8));
    if fixed > size {
        return Err(unusable("its counts do not fit its size"));
    }
    let names = (0..n_names).map(|_| i.text()).collect::<Result<Vec<_>>>()?;
    let dids = (0..n_dids).map(|_| i.text()).collect::<Result<Vec<_>>>()?;
    let offsets = i.many(n_dids + 1, u64::from_le_bytes)?;
    let ts = i.many(n_events, i64::from_le_bytes)?;
    let events = i.many(n_events, u32::from_le_bytes)?;
    let seen = i.hashes(n_seen)?;
    let mut persons = SavedPersons::default();
    for _ in 0..n_persons {
        persons.ids.push(i.text()?);
        persons.props.push(i.text()?);
        persons.created.push(i.u64()? as i64);
    }
    persons.did_person = i.many(n_dids, u32::from_le_bytes)?;
    let want = i.crc.clone().finalize();
    let mut crc = [0u8; 4];
    i.r.read_exact(&mut crc)
        .map_err(|_| unusable("it ends early"))?;
    if u32::from_le_bytes(crc) != want {
        return Err(unusable("its checksum differs"));
    }
    let sound = offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last() == Some(&n_events)
        && events.iter().all(|&n| n < n_names);
    if !sound {
        return Err(unusable("its columns do not fit together"));
    }
    Ok(Some(Saved {
        covers,
        names,
        dids,
        offsets,
        ts,
        events,
        seen,
        persons,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analytics::persons::PersonChanges;

    fn project() -> Project {
        let mut p = Project::default();
        let mut n = 0;
        let mut new_id = || {
            n += 1;
            format!("p{n}")
        };
        let mut ch = PersonChanges::default();
        for (who, at, name) in [("ann", 30, "view"), ("bob", 10, "buy"), ("ann", 20, "buy")] {
            let d = p.persons.resolve(who, 1, &mut new_id, &mut ch);
            let e = p.names.intern(name);
            p.cols.push(d, at, e);
        }
        for h in [9u64, 3, 7] {
            assert!(p.first_sight(h));
        }
        p.ready();
        p
    }

    #[test]
    fn a_layout_reads_back_as_written() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_of(dir.path(), "shop's");
        assert!(path.ends_with("73686f702773.layout"));
        assert!(read(&path).expect("none").is_none());
        let p = project();
        let covers = Covers {
            stamp: 42,
            version: 7,
            person_rows: 2,
            link_rows: 3,
        };
        write(&path, &p, covers).expect("write");
        let mut s = read(&path).expect("read").expect("saved");
        assert_eq!(s.covers, covers);
        assert_eq!(s.names, ["view", "buy"]);
        assert_eq!(s.dids, ["ann", "bob"]);
        assert_eq!(s.offsets, [0, 2, 3]);
        assert_eq!(s.ts, [20, 30, 10]);
        assert_eq!(s.events, [1, 0, 1]);
        assert_eq!(s.seen.iter().collect::<Vec<_>>(), [3, 7, 9]);
        let persons = s.take_persons().expect("persons");
        assert_eq!(persons.did("bob"), Some(1));
        let (id, dids, props, created) = persons.person(persons.person_of(0)).expect("ann");
        assert_eq!((id, dids, props, created), ("p1", &[0][..], "{}", 1));
    }

    #[test]
    fn a_damaged_layout_is_refused_not_believed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_of(dir.path(), "shop");
        write(&path, &project(), Covers::default()).expect("write");
        let good = std::fs::read(&path).expect("bytes");
        // One byte changed anywhere, or the end cut off.
        for at in [0, 9, 30, good.len() / 2, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x20;
            std::fs::write(&path, &bad).expect("bad");
            assert!(read(&path).is_err(), "byte {at}");
        }
        std::fs::write(&path, &good[..good.len() - 3]).expect("short");
        assert!(read(&path).is_err());
        std::fs::write(&path, b"LVLAYOUT\x01\0\0\0").expect("stub");
        assert!(read(&path).is_err());
    }
}
