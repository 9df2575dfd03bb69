//! Persons: looking people up by distinct id, their events, and the event names.

use super::*;

impl Analytics {
    /// The person a distinct id belongs to.
    pub fn person(&self, project: &str, distinct_id: &str) -> Option<PersonView> {
        self.read(project, |p| {
            let d = p.persons.did(distinct_id)?;
            let (id, dids, props, created) = p.persons.person(p.persons.person_of(d))?;
            Some(PersonView {
                id: id.to_owned(),
                distinct_ids: dids
                    .iter()
                    .map(|d| p.persons.did_name(*d).to_owned())
                    .collect(),
                properties: props.to_owned(),
                created_at: created,
            })
        })
        .flatten()
    }

    /// Persons, newest first, whose distinct id contains `search`.
    pub fn persons(&self, project: &str, search: Option<&str>, limit: usize) -> Vec<PersonView> {
        self.read(project, |p| {
            let mut out = Vec::new();
            for slot in (0..p.persons.person_slots() as u32).rev() {
                let Some((id, dids, props, created)) = p.persons.person(slot) else {
                    continue;
                };
                let names: Vec<String> = dids
                    .iter()
                    .map(|d| p.persons.did_name(*d).to_owned())
                    .collect();
                if let Some(s) = search
                    && !names.iter().any(|n| n.contains(s))
                    && id != s
                {
                    continue;
                }
                out.push(PersonView {
                    id: id.to_owned(),
                    distinct_ids: names,
                    properties: props.to_owned(),
                    created_at: created,
                });
                if out.len() >= limit {
                    break;
                }
            }
            out
        })
        .unwrap_or_default()
    }

    /// A person's latest events, newest first.
    pub fn person_events(
        &self,
        project: &str,
        distinct_ids: &[String],
        limit: usize,
    ) -> Result<Vec<StoredEvent>> {
        if distinct_ids.is_empty() {
            return Ok(Vec::new());
        }
        let marks = vec!["?"; distinct_ids.len()].join(", ");
        let sql = format!(
            "SELECT uuid, event, distinct_id, ts, properties FROM analytics_events \
             WHERE project_id = ? AND distinct_id IN ({marks}) ORDER BY ts DESC LIMIT {limit}"
        );
        let mut args = vec![DuckValue::Text(project.to_owned())];
        args.extend(distinct_ids.iter().map(|d| DuckValue::Text(d.clone())));
        self.with_read_conn(|c| {
            let mut stmt = c.prepare(&sql)?;
            let rows = stmt
                .query_map(duckdb::params_from_iter(args.iter()), |r| {
                    Ok(StoredEvent {
                        uuid: r.get(0)?,
                        event: r.get(1)?,
                        distinct_id: r.get(2)?,
                        at_ms: r.get(3)?,
                        properties: r.get(4)?,
                    })
                })?
                .collect::<std::result::Result<Vec<_>, _>>()?;
            Ok(rows)
        })
    }

    /// Event names seen in a project, with how many events each.
    pub fn event_names(&self, project: &str) -> Vec<(String, u64)> {
        self.read(project, |p| {
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
        })
        .unwrap_or_default()
    }
}
