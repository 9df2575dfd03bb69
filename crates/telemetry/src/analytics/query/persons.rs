//! Persons: looking people up by distinct id, and the event names in use.

use super::*;

/// The person a distinct id belongs to.
pub(crate) fn person(
    s: &impl Source,
    project: &str,
    distinct_id: &str,
) -> Result<Option<PersonView>> {
    Ok(s.read(project, &Need::persons(), |p| {
        let d = p.persons.did(distinct_id)?;
        view(p, p.persons.person_of(d))
    })?
    .flatten())
}

fn view(p: &Project, slot: u32) -> Option<PersonView> {
    let (id, dids, props, created) = p.persons.person(slot)?;
    // In name order: the order ids joined a person depends on how the
    // store was loaded.
    let mut distinct_ids: Vec<String> = dids
        .iter()
        .map(|d| p.persons.did_name(*d).to_owned())
        .collect();
    distinct_ids.sort_unstable();
    Some(PersonView {
        id: id.to_string(),
        distinct_ids,
        properties: props.to_owned(),
        created_at: created,
    })
}

/// Persons, newest first, whose distinct id contains `search`.
pub(crate) fn persons(
    s: &impl Source,
    project: &str,
    search: Option<&str>,
    limit: usize,
) -> Result<Vec<PersonView>> {
    Ok(s.read(project, &Need::persons(), |p| {
        let mut slots: Vec<u32> = (0..p.persons.person_slots() as u32)
            .filter(|&slot| p.persons.person(slot).is_some())
            .collect();
        // Newest first; the id (a time-ordered UUID) breaks ties.
        slots.sort_by(|&a, &b| {
            let (x, y) = (p.persons.person(a), p.persons.person(b));
            let key = |v: Option<(crate::analytics::texts::IdOf<'_>, &[u32], &str, i64)>| {
                v.map(|v| (v.3, v.0.to_string()))
            };
            key(y).cmp(&key(x))
        });
        let mut out = Vec::new();
        for slot in slots {
            let Some(v) = view(p, slot) else {
                continue;
            };
            if let Some(s) = search
                && !v.distinct_ids.iter().any(|n| n.contains(s))
                && v.id != s
            {
                continue;
            }
            out.push(v);
            if out.len() >= limit {
                break;
            }
        }
        out
    })?
    .unwrap_or_default())
}

/// Event names seen in a project, with how many events each.
pub(crate) fn event_names(s: &impl Source, project: &str) -> Result<Vec<(String, u64)>> {
    Ok(
        s.read(project, &Need::events(&[], i64::MIN, i64::MAX), |p| {
            let mut counts = vec![0u64; p.names.len()];
            for person in 0..p.persons.did_count() as u32 {
                for &n in p.cols.of(person).1 {
                    counts[n as usize] += 1;
                }
            }
            let mut out: Vec<(String, u64)> = counts
                .into_iter()
                .enumerate()
                .map(|(i, c)| (p.names.name(i as u32).to_owned(), c))
                .filter(|(_, c)| *c > 0)
                .collect();
            out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            out
        })?
        .unwrap_or_default(),
    )
}
