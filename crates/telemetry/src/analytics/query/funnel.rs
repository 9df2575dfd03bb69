//! Funnels: conversion through ordered steps, with breakdowns and drop-off paths.

use super::*;

pub(crate) fn funnel(s: &impl Source, project: &str, q: &FunnelQuery) -> Result<FunnelAnswer> {
    if q.steps.is_empty() || q.steps.len() > MAX_STEPS {
        return Err(TelemetryError::Query(format!(
            "a funnel needs 1 to {MAX_STEPS} steps"
        )));
    }
    let labels: Vec<String> = q.steps.iter().map(|s| s.join(" or ")).collect();
    let first_touch = match &q.breakdown {
        Some(FunnelBreakdown::Event(key)) => {
            let first = q.steps.first().map(Vec::as_slice).unwrap_or(&[]);
            if first.is_empty() {
                Some(Vec::new())
            } else {
                Some(s.property_values(project, first, q.from_ms, q.to_ms, key)?)
            }
        }
        _ => None,
    };
    // Drop-off paths follow whatever people did next, and a strict funnel
    // fails on any event between steps; otherwise only the steps' and
    // exclusions' events matter.
    let mut names: Vec<String> = Vec::new();
    if q.dropoff_after.is_none()
        && q.order != FunnelOrder::Strict
        && q.steps.iter().all(|s| !s.is_empty())
        && q.exclusions.iter().all(|e| !e.0.is_empty())
    {
        names.extend(q.steps.iter().flatten().cloned());
        names.extend(q.exclusions.iter().flat_map(|e| e.0.iter().cloned()));
    }
    // Breakdowns read properties and distinct ids, and drop-offs name
    // the persons they sample; other funnels only count persons.
    let mut need = Need::events(&names, q.from_ms, q.to_ms);
    if q.breakdown.is_none() && q.dropoff_after.is_none() && !q.converted {
        need = need.counting();
    }
    let answer = s.read(project, &need, |p| -> Result<FunnelAnswer> {
        // Step-1 events' breakdown values, by distinct id and time.
        let touch: HashMap<(u32, i64), String> = first_touch
            .iter()
            .flatten()
            .filter_map(|(did, ts, value)| {
                let value = value.clone().unwrap_or_else(|| "(none)".into());
                Some(((p.persons.did(did)?, *ts), value))
            })
            .collect();
        let mut sets: Vec<Vec<u32>> = q.steps.iter().map(|s| ids(&p.names, s)).collect();
        let mut exclusions = Vec::new();
        for (events, after, before) in &q.exclusions {
            exclusions.push(Exclusion {
                set: sets.len(),
                after: *after,
                before: *before,
            });
            sets.push(ids(&p.names, events));
        }
        let funnel = Funnel {
            masks: NameMasks::new(&sets),
            steps: q.steps.len(),
            window_ms: q.window_ms,
            order: q.order,
            exclusions,
        };
        struct Acc {
            scratch: Scratch,
            totals: FunnelTotals,
            by: HashMap<String, FunnelTotals>,
            excluded: u64,
            dropped: u64,
            sample: Vec<u32>,
            next: HashMap<u32, u64>,
            paths: HashMap<Vec<u32>, u64>,
            converted: Vec<u32>,
        }
        let n = q.steps.len();
        let parts = scan(
            p,
            q.from_ms,
            q.to_ms,
            q.persons.as_ref(),
            || Acc {
                scratch: Scratch::default(),
                totals: FunnelTotals::new(n),
                by: HashMap::new(),
                excluded: 0,
                dropped: 0,
                sample: Vec::new(),
                next: HashMap::new(),
                paths: HashMap::new(),
                converted: Vec::new(),
            },
            |acc, person, ts, names| {
                let Some(level) = funnel.run_with(ts, names, &mut acc.scratch) else {
                    acc.excluded += 1;
                    return;
                };
                if level == 0 {
                    return;
                }
                let times = acc.scratch.times();
                acc.totals.add(level, times);
                if q.converted && level == n {
                    acc.converted.push(person);
                }
                let value = match &q.breakdown {
                    Some(FunnelBreakdown::Person(key)) => {
                        let props = p.persons.person(person).map_or("", |x| x.2);
                        Some(person_prop(props, key))
                    }
                    Some(FunnelBreakdown::Event(_)) => {
                        let dids = p.persons.person(person).map_or(&[][..], |x| x.1);
                        Some(
                            dids.iter()
                                .find_map(|d| touch.get(&(*d, times[0])))
                                .cloned()
                                .unwrap_or_else(|| "(none)".into()),
                        )
                    }
                    None => None,
                };
                if let Some(value) = value {
                    acc.by
                        .entry(value)
                        .or_insert_with(|| FunnelTotals::new(n))
                        .add(level, times);
                }
                if q.dropoff_after == Some(level) && level < n {
                    acc.dropped += 1;
                    if acc.sample.len() < 100 {
                        acc.sample.push(person);
                    }
                    let last = times[level - 1];
                    let at = ts.partition_point(|&t| t <= last);
                    if let Some(&next) = names.get(at) {
                        *acc.next.entry(next).or_default() += 1;
                    }
                    let mut path: Vec<u32> = Vec::with_capacity(PATH_LENGTH);
                    for &name in &names[at..] {
                        if path.len() == PATH_LENGTH {
                            break;
                        }
                        if path.last() != Some(&name) {
                            path.push(name);
                        }
                    }
                    *acc.paths.entry(path).or_default() += 1;
                }
            },
        )?;
        let mut totals = FunnelTotals::new(n);
        let mut by: HashMap<String, FunnelTotals> = HashMap::new();
        let (mut excluded, mut dropped) = (0, 0);
        let mut sample = Vec::new();
        let mut next: HashMap<u32, u64> = HashMap::new();
        let mut paths: HashMap<Vec<u32>, u64> = HashMap::new();
        let mut converted = Vec::new();
        for part in parts {
            for person in part.converted {
                let dids = p.persons.person(person).map_or(&[][..], |x| x.1);
                converted.extend(dids.iter().map(|&d| p.persons.did_name(d).to_owned()));
            }
            totals.merge(part.totals);
            for (k, v) in part.by {
                by.entry(k).or_insert_with(|| FunnelTotals::new(n)).merge(v);
            }
            excluded += part.excluded;
            dropped += part.dropped;
            sample.extend(part.sample);
            for (k, v) in part.next {
                *next.entry(k).or_default() += v;
            }
            for (k, v) in part.paths {
                *paths.entry(k).or_default() += v;
            }
        }
        let mut breakdown: Vec<(String, Vec<FunnelStep>)> = by
            .into_iter()
            .map(|(k, mut v)| (k, steps_of(&labels, &mut v)))
            .collect();
        breakdown.sort_by(|a, b| {
            b.1.first()
                .map(|s| s.count)
                .cmp(&a.1.first().map(|s| s.count))
                .then_with(|| a.0.cmp(&b.0))
        });
        let dropoff = q.dropoff_after.map(|after| {
            let mut next: Vec<(String, u64)> = next
                .into_iter()
                .map(|(k, v)| (p.names.name(k).to_owned(), v))
                .collect();
            next.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            next.truncate(10);
            let mut paths: Vec<(Vec<String>, u64)> = paths
                .into_iter()
                .map(|(k, v)| (k.iter().map(|&n| p.names.name(n).to_owned()).collect(), v))
                .collect();
            paths.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            paths.truncate(10);
            sample.truncate(100);
            DropOff {
                after_step: after,
                total: dropped,
                persons: sample
                    .iter()
                    .filter_map(|&person| {
                        p.persons
                            .person(person)
                            .and_then(|x| x.1.first().copied())
                            .map(|d| p.persons.did_name(d).to_owned())
                    })
                    .collect(),
                next_events: next,
                paths,
            }
        });
        Ok(FunnelAnswer {
            steps: steps_of(&labels, &mut totals),
            breakdown,
            dropoff,
            excluded,
            converted,
        })
    })?;
    match answer {
        Some(a) => a,
        None => Ok(FunnelAnswer {
            steps: steps_of(&labels, &mut FunnelTotals::new(q.steps.len())),
            breakdown: Vec::new(),
            dropoff: None,
            excluded: 0,
            converted: Vec::new(),
        }),
    }
}
