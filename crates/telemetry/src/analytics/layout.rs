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
//! A start checks the whole file against its checksum by reading it, then
//! maps it and reads the columns and hashes in place ([`super::mapped`]),
//! so they take no memory of their own until a query or an ingest touches
//! them. A save maps the file it just wrote in place of the arrays it
//! wrote out, when nothing has changed them meanwhile.
//!
//! Layout, little-endian: `LVLAYOUT`, version (u32), the [`Covers`] (four
//! 64-bit numbers), then counts of names (u32), distinct ids (u64), events
//! (u64), ids seen (u64) and persons (u64); each name and distinct id as a
//! u32 length and its UTF-8 bytes; zeros up to a multiple of 8 bytes; the
//! offsets (u64, distinct ids + 1), times (i64) and name numbers (u32);
//! zeros up to a multiple of 8; the ids seen as [`SortedHashes`] keeps
//! them: run starts (u64, none or 65,537), low bits (u32), zeros up to a
//! multiple of 8, middle bits (u16), zeros up to a multiple of 8; each
//! person's id and properties (as texts) and creation time (i64); each
//! distinct id's person (u32); and a CRC-32 of everything before it.

use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::mapped::{Col, Mapping};
use super::persons::Persons;
use super::{Project, SortedHashes};
use crate::{Result, TelemetryError};

const MAGIC: &[u8; 8] = b"LVLAYOUT";
const VERSION: u32 = 3;

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
    pub cols: InPlace,
    /// The persons, with the distinct ids by their saved numbers.
    pub persons: Persons,
}

/// The arrays of a layout file, read in place: the columns (offsets,
/// times, name numbers) and the ids seen.
#[derive(Debug, Default)]
pub(crate) struct InPlace {
    pub cols: (Col<u64>, Col<i64>, Col<u32>),
    pub seen: SortedHashes,
}

/// Where each array starts in a layout file, in bytes, and how many values
/// it holds.
#[derive(Debug, Default, Clone, Copy)]
struct Sections {
    offsets: (u64, u64),
    ts: (u64, u64),
    events: (u64, u64),
    starts: (u64, u64),
    low: (u64, u64),
    mid: (u64, u64),
}

impl Sections {
    /// The arrays, read in place from `map`; `None` when they do not fit
    /// it or each other.
    fn in_place(&self, map: &Arc<Mapping>) -> Option<InPlace> {
        fn col<T: bytemuck::Pod>(map: &Arc<Mapping>, (at, n): (u64, u64)) -> Option<Col<T>> {
            Col::mapped(map, usize::try_from(at).ok()?, usize::try_from(n).ok()?).ok()
        }
        let seen = SortedHashes::from_parts(
            col(map, self.starts)?,
            col(map, self.low)?,
            col(map, self.mid)?,
        )?;
        Some(InPlace {
            cols: (
                col(map, self.offsets)?,
                col(map, self.ts)?,
                col(map, self.events)?,
            ),
            seen,
        })
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
    /// Bytes written so far.
    at: u64,
}

/// Zeros from `at` up to the next multiple of 8.
fn padding(at: u64) -> usize {
    ((8 - at % 8) % 8) as usize
}

impl<W: Write> Out<W> {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        self.crc.update(bytes);
        self.w.write_all(bytes)?;
        self.at += bytes.len() as u64;
        Ok(())
    }

    fn align(&mut self) -> Result<()> {
        self.put(&[0; 8][..padding(self.at)])
    }

    /// `values` in little-endian, `N` bytes each; returns where they start
    /// and how many.
    fn array<const N: usize, T: Copy>(
        &mut self,
        values: impl IntoIterator<Item = T>,
        le: impl Fn(T) -> [u8; N],
    ) -> Result<(u64, u64)> {
        let from = self.at;
        let mut buf = Vec::with_capacity(1 << 16);
        let mut n = 0u64;
        for v in values {
            buf.extend_from_slice(&le(v));
            n += 1;
            if buf.len() >= 1 << 16 {
                self.put(&buf)?;
                buf.clear();
            }
        }
        self.put(&buf)?;
        Ok((from, n))
    }

    fn text(&mut self, s: &str) -> Result<()> {
        let len = u32::try_from(s.len())
            .map_err(|_| TelemetryError::Ingest("a name too long to save".into()))?;
        self.put(&len.to_le_bytes())?;
        self.put(s.as_bytes())
    }
}

/// Writes `p` (folded in: call [`Project::ready`] first) as covering what
/// `covers` says. Returns the file's arrays read in place, to use instead
/// of `p`'s own (`None` when the file could not be mapped; it is saved
/// all the same).
pub(crate) fn write(path: &Path, p: &Project, covers: Covers) -> Result<Option<InPlace>> {
    let (offsets, ts, events) = p.cols.parts();
    // Hashes seen since the last settle are merged in; usually there are
    // none and the held ones are written as they are.
    let merged;
    let seen = if p.seen.is_empty() {
        &p.seen_saved
    } else {
        merged = p.seen_all();
        &merged
    };
    let persons = p.persons.saved_order();
    let dids = p.persons.did_count();
    let tmp = path.with_extension("layout.tmp");
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)?;
    let mut out = Out {
        w: BufWriter::with_capacity(1 << 20, file),
        crc: crc32fast::Hasher::new(),
        at: 0,
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
    out.put(&(persons.live.len() as u64).to_le_bytes())?;
    for n in 0..p.names.len() {
        out.text(p.names.name(n as u32))?;
    }
    for d in 0..dids {
        out.text(p.persons.did_name(d as u32))?;
    }
    out.align()?;
    // The columns cover every distinct id, with empty runs at the end for
    // ids that have no events yet.
    let last = offsets.last().copied().unwrap_or(0);
    let mut at = Sections {
        offsets: out.array(
            (0..=dids).map(|d| offsets.get(d).copied().unwrap_or(last)),
            u64::to_le_bytes,
        )?,
        ts: out.array(ts.iter().copied(), i64::to_le_bytes)?,
        events: out.array(events.iter().copied(), u32::to_le_bytes)?,
        ..Sections::default()
    };
    out.align()?;
    let (starts, low, mid) = seen.parts();
    at.starts = out.array(starts.iter().copied(), u64::to_le_bytes)?;
    at.low = out.array(low.iter().copied(), u32::to_le_bytes)?;
    out.align()?;
    at.mid = out.array(mid.iter().copied(), u16::to_le_bytes)?;
    out.align()?;
    for &slot in &persons.live {
        let (id, _, props, created) = p
            .persons
            .person(slot)
            .ok_or_else(|| TelemetryError::Ingest("a saved person is gone".into()))?;
        out.text(&id.text())?;
        out.text(props)?;
        out.put(&created.to_le_bytes())?;
    }
    let did_person = (0..dids).map(|d| persons.did_person.get(d).copied().unwrap_or(u32::MAX));
    out.array(did_person, u32::to_le_bytes)?;
    let crc = out.crc.clone().finalize();
    out.w.write_all(&crc.to_le_bytes())?;
    let file = out
        .w
        .into_inner()
        .map_err(|e| TelemetryError::Io(e.into_error()))?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    // The mapping follows the file, not its name.
    let in_place = match Mapping::of(&file) {
        Ok(map) => at.in_place(&map),
        Err(e) => {
            tracing::warn!(error = %e, "a saved analytics layout could not be mapped");
            None
        }
    };
    Ok(in_place)
}

/// Reads and checks what it is asked for.
struct In<R: Read> {
    r: R,
    crc: crc32fast::Hasher,
    /// Bytes read so far.
    at: u64,
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
        self.at += buf.len() as u64;
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

    /// Reads past a text, into `scratch`; returns its length.
    fn skip_text(&mut self, scratch: &mut Vec<u8>) -> Result<usize> {
        let len = self.u32()? as usize;
        if len > 1 << 20 {
            return Err(unusable("a name is too long"));
        }
        scratch.resize(len, 0);
        self.take(scratch)?;
        Ok(len)
    }

    /// The zeros up to the next multiple of 8.
    fn align(&mut self) -> Result<()> {
        let mut zeros = [0u8; 8];
        let k = padding(self.at);
        self.take(&mut zeros[..k])?;
        if zeros.iter().any(|&b| b != 0) {
            return Err(unusable("its padding is not zeros"));
        }
        Ok(())
    }

    /// `n` values of `N` bytes each, read in chunks, each given to `f`;
    /// returns where they start and how many.
    fn each<const N: usize>(
        &mut self,
        n: u64,
        mut f: impl FnMut([u8; N]) -> Result<()>,
    ) -> Result<(u64, u64)> {
        let from = self.at;
        let mut chunk = vec![0u8; N * 8192];
        let mut left = n;
        while left > 0 {
            let k = left.min(8192) as usize;
            let bytes = &mut chunk[..k * N];
            self.take(bytes)?;
            for c in bytes.chunks_exact(N) {
                let mut a = [0u8; N];
                a.copy_from_slice(c);
                f(a)?;
            }
            left -= k as u64;
        }
        Ok((from, n))
    }

    /// `n` values of `N` bytes each.
    fn many<const N: usize, T>(&mut self, n: u64, f: impl Fn([u8; N]) -> T) -> Result<Vec<T>> {
        let n = usize::try_from(n).map_err(|_| unusable("too many values"))?;
        let mut out = Vec::with_capacity(n);
        self.each(n as u64, |a| {
            out.push(f(a));
            Ok(())
        })?;
        Ok(out)
    }
}

/// Reads a saved layout; `None` when there is none. A file that does not
/// read back whole and unchanged is an error (the caller rebuilds). The
/// whole file is read once to check it; its arrays are then mapped, not
/// copied, and the persons and distinct ids read again straight into
/// [`Persons`], sized beforehand, so no copy of them is left behind.
pub(crate) fn read(path: &Path) -> Result<Option<Saved>> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let size = file.metadata()?.len();
    let mut i = In {
        r: BufReader::with_capacity(1 << 20, &file),
        crc: crc32fast::Hasher::new(),
        at: 0,
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
        .saturating_add(n_seen.saturating_mul(6))
        .saturating_add(n_persons.saturating_mul(16))
        .saturating_add(n_dids.saturating_mul(8));
    if fixed > size {
        return Err(unusable("its counts do not fit its size"));
    }
    let names = (0..n_names).map(|_| i.text()).collect::<Result<Vec<_>>>()?;
    let mut scratch = Vec::new();
    let dids_at = i.at;
    let mut did_bytes = 0;
    for _ in 0..n_dids {
        did_bytes += i.skip_text(&mut scratch)?;
    }
    let apart = || unusable("its columns do not fit together");
    i.align()?;
    // Offsets start at 0, never fall and end at the number of events;
    // every name number names a name.
    let mut prev: Option<u64> = None;
    let offsets = i.each(n_dids + 1, |a| {
        let o = u64::from_le_bytes(a);
        match prev {
            None if o != 0 => return Err(apart()),
            Some(p) if o < p => return Err(apart()),
            _ => {}
        }
        prev = Some(o);
        Ok(())
    })?;
    if prev != Some(n_events) {
        return Err(apart());
    }
    let mut at = Sections {
        offsets,
        ts: i.each::<8>(n_events, |_| Ok(()))?,
        events: i.each(n_events, |a| {
            if u32::from_le_bytes(a) < n_names {
                Ok(())
            } else {
                Err(apart())
            }
        })?,
        ..Sections::default()
    };
    i.align()?;
    // The hashes' order is the writer's, kept by the checksum; their run
    // starts are checked once mapped.
    let runs = if n_seen == 0 {
        0
    } else {
        super::RUNS as u64 + 1
    };
    at.starts = i.each::<8>(runs, |_| Ok(()))?;
    at.low = i.each::<4>(n_seen, |_| Ok(()))?;
    i.align()?;
    at.mid = i.each::<2>(n_seen, |_| Ok(()))?;
    i.align()?;
    let persons_at = i.at;
    let mut props = (0, 0);
    for _ in 0..n_persons {
        i.skip_text(&mut scratch)?;
        let len = i.skip_text(&mut scratch)?;
        if scratch != b"{}" {
            props = (props.0 + 1, props.1 + len);
        }
        i.u64()?;
    }
    let did_person = i.many(n_dids, u32::from_le_bytes)?;
    let want = i.crc.clone().finalize();
    let mut crc = [0u8; 4];
    i.r.read_exact(&mut crc)
        .map_err(|_| unusable("it ends early"))?;
    if u32::from_le_bytes(crc) != want {
        return Err(unusable("its checksum differs"));
    }
    drop(i);
    let map = Mapping::of(&file)?;
    let cols = at
        .in_place(&map)
        .ok_or_else(|| unusable("its arrays do not fit together"))?;
    // Checked: now the persons, then their distinct ids, in place.
    let count = |n: u64| usize::try_from(n).map_err(|_| unusable("too many values"));
    let mut persons = Persons::default();
    persons.reserve(count(n_persons)?, props, count(n_dids)?, did_bytes);
    let again = |from: u64| -> Result<In<BufReader<&std::fs::File>>> {
        (&file).seek(SeekFrom::Start(from))?;
        Ok(In {
            r: BufReader::with_capacity(1 << 16, &file),
            crc: crc32fast::Hasher::new(),
            at: from,
        })
    };
    let mut i = again(persons_at)?;
    for _ in 0..n_persons {
        let (id, props) = (i.text()?, i.text()?);
        persons.load_person(id, props, i.u64()? as i64);
    }
    let mut i = again(dids_at)?;
    for (d, &p) in did_person.iter().enumerate() {
        if !persons.restore_did(d, &i.text()?, p) {
            return Err(unusable("its persons do not fit together"));
        }
    }
    Ok(Some(Saved {
        covers,
        names,
        cols,
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
        let s = read(&path).expect("read").expect("saved");
        assert_eq!(s.covers, covers);
        assert_eq!(s.names, ["view", "buy"]);
        assert_eq!(
            (s.persons.did_name(0), s.persons.did_name(1)),
            ("ann", "bob")
        );
        let (offsets, ts, events) = &s.cols.cols;
        assert_eq!(
            (&offsets[..], &ts[..], &events[..]),
            (&[0, 2, 3][..], &[20, 30, 10][..], &[1, 0, 1][..])
        );
        assert!(ts.is_mapped() && s.cols.seen.is_mapped(), "read in place");
        assert_eq!(s.cols.seen.iter().collect::<Vec<_>>(), [3, 7, 9]);
        let persons = &s.persons;
        assert_eq!(persons.did("bob"), Some(1));
        let (id, dids, props, created) = persons.person(persons.person_of(0)).expect("ann");
        assert_eq!(
            (id.to_string().as_str(), dids, props, created),
            ("p1", &[0][..], "{}", 1)
        );
    }

    /// After a save the project reads its arrays from the file, with the
    /// same answers; a change since the save keeps the arrays in memory.
    #[test]
    fn a_save_reads_its_arrays_in_place_when_nothing_changed() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = path_of(dir.path(), "shop");
        let mut p = project();
        p.settle_seen();
        let before = (p.cols.of(0), p.cols.of(1));
        let (before, seen) = (
            (
                before.0.0.to_vec(),
                before.0.1.to_vec(),
                before.1.0.to_vec(),
            ),
            p.seen_saved.iter().collect::<Vec<_>>(),
        );
        let generation = p.cols.generation();
        let in_place = write(&path, &p, Covers::default())
            .expect("write")
            .expect("mapped");
        assert!(p.use_in_place(generation, in_place), "taken");
        assert!(p.cols.is_mapped() && p.seen_saved.is_mapped());
        let after = (p.cols.of(0), p.cols.of(1));
        assert_eq!(
            (after.0.0.to_vec(), after.0.1.to_vec(), after.1.0.to_vec()),
            before
        );
        assert_eq!(p.seen_saved.iter().collect::<Vec<_>>(), seen);
        assert!(
            !p.first_sight(7) && p.first_sight(8),
            "ids seen still known"
        );
        // The file goes; the mapping keeps what it read.
        std::fs::remove_file(&path).expect("gone");
        assert_eq!(p.cols.of(1).0, &[10]);
        // A new event folds into memory; a save from before it is refused.
        p.settle_seen();
        let generation = p.cols.generation();
        let stale = write(&path, &p, Covers::default())
            .expect("write")
            .expect("mapped");
        let e = p.names.intern("buy");
        p.cols.push(1, 5, e);
        p.ready();
        assert!(!p.cols.is_mapped());
        assert_eq!(p.cols.of(1).0, &[5, 10]);
        assert!(!p.use_in_place(generation, stale), "stale");
        assert_eq!(p.cols.of(1).0, &[5, 10]);
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
