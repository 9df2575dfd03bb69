//! Cohorts: who belongs to one now, and how many belonged at each of a
//! series of moments. The rules are the core's ([`Window`]); this reads the
//! persons and events they look at.

use liveops_core::analytics::cohort::Window;

use super::*;

/// A cohort as the stores evaluate it.
#[derive(Debug, Clone, PartialEq)]
pub enum CohortQuery {
    /// The persons who did `event` often enough in the window ending at
    /// `at_ms`; with `did` false, every other person.
    Behavioural {
        event: String,
        window: Window,
        did: bool,
        at_ms: i64,
    },
    /// The persons whose properties match every filter.
    Property { filters: Vec<PropertyFilter> },
    /// The persons these distinct ids belong to; an id nobody has sent
    /// events with yet stands for itself.
    Static { distinct_ids: Vec<String> },
}

fn width(window: Window) -> i64 {
    i64::from(window.days) * DAY_MS
}

/// The persons who did `event` at least `window.min_count` times in
/// `[at - days, at)`.
fn did(s: &impl Source, project: &str, event: &str, window: Window, at: i64) -> Result<Members> {
    let names = vec![event.to_owned()];
    let need = Need::events(&names, at - width(window), at).counting();
    let who = s.read(project, &need, |p| -> Result<Vec<String>> {
        let Some(id) = p.names.get(event) else {
            return Ok(Vec::new());
        };
        let parts = scan(
            p,
            at - width(window),
            at,
            None,
            || (Vec::new(), Vec::new()),
            |(acc, times): &mut (Vec<u32>, Vec<i64>), person, ts, names| {
                times.clear();
                times.extend(
                    ts.iter()
                        .zip(names)
                        .filter(|(_, n)| **n == id)
                        .map(|(t, _)| *t),
                );
                if window.did_by(times, at) {
                    acc.push(person);
                }
            },
        )?;
        Ok(parts
            .into_iter()
            .flat_map(|(slots, _)| slots)
            .filter_map(|slot| p.persons.person(slot).map(|v| v.0.to_string()))
            .collect())
    })?;
    Ok(Members::new(who.transpose()?.unwrap_or_default()))
}

/// Every person.
fn everyone(s: &impl Source, project: &str) -> Result<Vec<String>> {
    Ok(s.read(project, &Need::persons(), |p| {
        (0..p.persons.person_slots() as u32)
            .filter_map(|slot| p.persons.person(slot))
            .map(|v| v.0.to_string())
            .collect()
    })?
    .unwrap_or_default())
}

/// When each person with an event before `to` did their first, sorted.
fn first_seen(s: &impl Source, project: &str, to: i64) -> Result<Vec<i64>> {
    let need = Need::events(&[], i64::MIN, to).counting();
    let firsts = s.read(project, &need, |p| -> Result<Vec<i64>> {
        let parts = scan(
            p,
            i64::MIN,
            to,
            None,
            Vec::new,
            |acc: &mut Vec<i64>, _, ts, _| acc.extend(ts.first()),
        )?;
        let mut all: Vec<i64> = parts.into_iter().flatten().collect();
        all.sort_unstable();
        Ok(all)
    })?;
    Ok(firsts.transpose()?.unwrap_or_default())
}

/// Who belongs to a cohort now.
pub(crate) fn cohort(s: &impl Source, project: &str, q: &CohortQuery) -> Result<Members> {
    match q {
        CohortQuery::Behavioural {
            event,
            window,
            did: true,
            at_ms,
        } => did(s, project, event, *window, *at_ms),
        CohortQuery::Behavioural {
            event,
            window,
            did: false,
            at_ms,
        } => {
            let done = did(s, project, event, *window, *at_ms)?;
            Ok(Members::new(
                everyone(s, project)?
                    .into_iter()
                    .filter(|id| !done.contains(id))
                    .collect(),
            ))
        }
        CohortQuery::Property { filters } => Ok(Members::new(
            s.read(project, &Need::persons(), |p| {
                (0..p.persons.person_slots() as u32)
                    .filter_map(|slot| p.persons.person(slot))
                    .filter(|(_, _, props, _)| {
                        filters
                            .iter()
                            .all(|f| f.condition.test(property_text(props, &f.key).as_deref()))
                    })
                    .map(|v| v.0.to_string())
                    .collect()
            })?
            .unwrap_or_default(),
        )),
        CohortQuery::Static { distinct_ids } => Ok(Members::new(who(s, project, distinct_ids)?)),
    }
}

/// Who each distinct id is, as cohorts name persons: its person's id, or
/// the id itself when nobody has sent events with it.
pub(crate) fn who(s: &impl Source, project: &str, distinct_ids: &[String]) -> Result<Vec<String>> {
    let got = s.read(project, &Need::persons(), |p| {
        distinct_ids
            .iter()
            .map(|d| {
                p.persons
                    .did(d)
                    .and_then(|x| p.persons.person(p.persons.person_of(x)))
                    .map_or_else(|| d.clone(), |v| v.0.to_string())
            })
            .collect::<Vec<String>>()
    })?;
    Ok(got.unwrap_or_else(|| distinct_ids.to_vec()))
}

/// How many persons a behavioural cohort held at each of `ends`
/// (ascending): at each moment, who had done the event often enough in
/// the window before it, or, with `did` false, who had sent an event by
/// then and had not.
pub(crate) fn cohort_sizes(
    s: &impl Source,
    project: &str,
    event: &str,
    window: Window,
    did: bool,
    ends: &[i64],
) -> Result<Vec<u64>> {
    let (Some(&first), Some(&last)) = (ends.first(), ends.last()) else {
        return Ok(Vec::new());
    };
    if ends.windows(2).any(|w| w[0] > w[1]) {
        return Err(TelemetryError::Query(
            "cohort sizes are asked for moments in order".into(),
        ));
    }
    let names = vec![event.to_owned()];
    let from = first - width(window);
    let need = Need::events(&names, from, last).counting();
    let counts = s
        .read(project, &need, |p| -> Result<Vec<u64>> {
            let Some(id) = p.names.get(event) else {
                return Ok(vec![0; ends.len()]);
            };
            let parts = scan(
                p,
                from,
                last,
                None,
                || (vec![0u64; ends.len()], Vec::new()),
                |(counts, times): &mut (Vec<u64>, Vec<i64>), _, ts, names| {
                    times.clear();
                    times.extend(
                        ts.iter()
                            .zip(names)
                            .filter(|(_, n)| **n == id)
                            .map(|(t, _)| *t),
                    );
                    window.tally(times, ends, counts);
                },
            )?;
            let mut total = vec![0u64; ends.len()];
            for (part, _) in parts {
                for (a, b) in total.iter_mut().zip(part) {
                    *a += b;
                }
            }
            Ok(total)
        })?
        .transpose()?
        .unwrap_or_else(|| vec![0; ends.len()]);
    if did {
        return Ok(counts);
    }
    let firsts = first_seen(s, project, last)?;
    Ok(ends
        .iter()
        .zip(counts)
        .map(|(&end, done)| {
            let seen = firsts.partition_point(|&c| c < end) as u64;
            seen.saturating_sub(done)
        })
        .collect())
}
