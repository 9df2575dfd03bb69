//! Arrays that are either held in memory or read in place from a saved
//! layout file.
//!
//! A start maps the layout file instead of copying its columns and event
//! id hashes into memory: the pages are read from the file when a query or
//! an ingest first touches them, and, being clean copies of the file, the
//! kernel can drop them again under memory pressure. Anything that changes
//! an array makes it an owned `Vec` first; a later save maps the new file
//! in its place.
//!
//! Layout files are written whole under a temporary name, synced and
//! renamed into place, never changed in place, so the bytes behind a
//! mapping stay as they were while it lives (a rename leaves the mapped
//! file intact until the last mapping of it goes).

use std::ops::Deref;
use std::sync::Arc;

use bytemuck::Pod;

/// A saved layout file, mapped read-only.
pub(crate) struct Mapping(memmap2::Mmap);

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mapping({} bytes)", self.0.len())
    }
}

impl Mapping {
    /// Maps the whole of `file`, read-only.
    #[allow(unsafe_code)]
    pub(crate) fn of(file: &std::fs::File) -> std::io::Result<Arc<Mapping>> {
        // SAFETY: a mapping is undefined behaviour only if the file changes
        // underneath it. Only layout files are mapped, and liveops never
        // changes one in place: `layout::write` writes a new file under a
        // temporary name and renames it over the old one, which leaves the
        // mapped file's bytes as they are. Only a process editing files in
        // liveops' data directory by hand could break this.
        let map = unsafe { memmap2::Mmap::map(file)? };
        Ok(Arc::new(Mapping(map)))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

/// An array of `T`: owned, or `len` values starting `at` bytes into a
/// mapping (aligned for `T`, checked when made).
pub(crate) struct Col<T> {
    owned: Vec<T>,
    mapped: Option<(Arc<Mapping>, usize, usize)>,
}

impl<T> Default for Col<T> {
    fn default() -> Self {
        Col {
            owned: Vec::new(),
            mapped: None,
        }
    }
}

impl<T: Clone> Clone for Col<T> {
    fn clone(&self) -> Self {
        Col {
            owned: self.owned.clone(),
            mapped: self.mapped.clone(),
        }
    }
}

impl<T> std::fmt::Debug for Col<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.mapped {
            None => write!(f, "Owned({} values)", self.owned.len()),
            Some((_, _, len)) => write!(f, "Mapped({len} values)"),
        }
    }
}

impl<T> From<Vec<T>> for Col<T> {
    fn from(owned: Vec<T>) -> Self {
        Col {
            owned,
            mapped: None,
        }
    }
}

/// Why a stretch of a mapping cannot be read as an array.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Unmappable {
    /// The stretch runs past the end of the file.
    OutOfRange,
    /// The file is little-endian and this machine is not.
    BigEndian,
}

impl<T: Pod> Col<T> {
    /// `len` little-endian values of `T` from byte `at` of `map`: read in
    /// place when aligned, otherwise copied out.
    pub(crate) fn mapped(map: &Arc<Mapping>, at: usize, len: usize) -> Result<Col<T>, Unmappable> {
        if cfg!(target_endian = "big") {
            return Err(Unmappable::BigEndian);
        }
        let end = len
            .checked_mul(size_of::<T>())
            .and_then(|n| n.checked_add(at))
            .filter(|&end| end <= map.len())
            .ok_or(Unmappable::OutOfRange)?;
        let bytes = &map.0[at..end];
        Ok(match bytemuck::try_cast_slice::<u8, T>(bytes) {
            Ok(_) => Col {
                owned: Vec::new(),
                mapped: Some((map.clone(), at, len)),
            },
            Err(_) => bytes
                .chunks_exact(size_of::<T>())
                .map(bytemuck::pod_read_unaligned)
                .collect::<Vec<T>>()
                .into(),
        })
    }

    /// The values, to change: a mapped array is copied out first.
    pub(crate) fn to_mut(&mut self) -> &mut Vec<T> {
        if self.mapped.is_some() {
            self.owned = self.deref().to_vec();
            self.mapped = None;
        }
        &mut self.owned
    }

    /// Bytes held in memory (a mapped array holds none of its own).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.owned.capacity() * size_of::<T>()
    }

    pub(crate) fn is_mapped(&self) -> bool {
        self.mapped.is_some()
    }
}

impl<T: Pod> Deref for Col<T> {
    type Target = [T];

    #[inline]
    fn deref(&self) -> &[T] {
        match &self.mapped {
            None => &self.owned,
            // `mapped` checked the range and the alignment.
            Some((map, at, len)) => bytemuck::cast_slice(&map.0[*at..*at + *len * size_of::<T>()]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_mapped_array_reads_what_the_file_holds_and_copies_out_to_change() {
        let mut f = tempfile::tempfile().expect("file");
        let mut bytes = vec![0u8; 8];
        for v in [1u64, 2, u64::MAX] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        bytes.push(9);
        f.write_all(&bytes).expect("write");
        let map = Mapping::of(&f).expect("map");
        let mut col: Col<u64> = Col::mapped(&map, 8, 3).expect("in range");
        assert!(col.is_mapped());
        assert_eq!(&col[..], &[1, 2, u64::MAX]);
        assert_eq!(col.heap_bytes(), 0);
        // Not aligned: copied out, same values.
        let odd: Col<u32> = Col::mapped(&map, 9, 2).expect("in range");
        assert!(!odd.is_mapped());
        assert_eq!(&odd[..], &[0, 0x0200_0000]);
        assert_eq!(
            Col::<u64>::mapped(&map, 8, 4).err(),
            Some(Unmappable::OutOfRange)
        );
        assert_eq!(
            Col::<u64>::mapped(&map, usize::MAX, 2).err(),
            Some(Unmappable::OutOfRange)
        );
        col.to_mut().push(4);
        assert!(!col.is_mapped());
        assert_eq!(&col[..], &[1, 2, u64::MAX, 4]);
        assert!(col.heap_bytes() >= 32);
    }
}
