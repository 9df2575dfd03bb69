//! Feature usage: adoption, frequency and ranking of named features.

use super::*;

/// Adoption, frequency and ranking of features over `[from, to)`.
pub(crate) fn features(
    s: &impl Source,
    project: &str,
    features: &[Feature],
    from_ms: i64,
    to_ms: i64,
) -> Result<FeatureReport> {
    let empty = FeatureReport {
        active_users: 0,
        features: features
            .iter()
            .map(|f| FeatureUse {
                name: f.name.clone(),
                users: 0,
                adoption: 0.0,
                events: 0,
                per_user: 0.0,
            })
            .collect(),
    };
    let features = &features[..features.len().min(64)];
    let Some(out) = s.read(
        project,
        &Need::events(&[], from_ms, to_ms).counting(),
        |p| -> Result<FeatureReport> {
            let masks = NameMasks::new(
                &features
                    .iter()
                    .map(|f| ids(&p.names, &f.events))
                    .collect::<Vec<_>>(),
            );
            let k = features.len();
            // (active people, per feature: users, events)
            let parts = scan(
                p,
                from_ms,
                to_ms,
                None,
                || (0u64, vec![(0u64, 0u64); k]),
                |acc, _, _, names| {
                    acc.0 += 1;
                    let mut used = 0u64;
                    for &n in names {
                        let m = masks.of(n);
                        if m != 0 {
                            used |= m;
                            let mut bits = m;
                            while bits != 0 {
                                let i = bits.trailing_zeros() as usize;
                                bits &= bits - 1;
                                acc.1[i].1 += 1;
                            }
                        }
                    }
                    while used != 0 {
                        let i = used.trailing_zeros() as usize;
                        used &= used - 1;
                        acc.1[i].0 += 1;
                    }
                },
            )?;
            let mut active = 0;
            let mut per = vec![(0u64, 0u64); k];
            for (a, v) in parts {
                active += a;
                for (x, y) in per.iter_mut().zip(v) {
                    x.0 += y.0;
                    x.1 += y.1;
                }
            }
            let mut list: Vec<FeatureUse> = features
                .iter()
                .zip(per)
                .map(|(f, (users, events))| FeatureUse {
                    name: f.name.clone(),
                    users,
                    adoption: if active == 0 {
                        0.0
                    } else {
                        users as f64 / active as f64
                    },
                    events,
                    per_user: if users == 0 {
                        0.0
                    } else {
                        events as f64 / users as f64
                    },
                })
                .collect();
            list.sort_by(|a, b| b.users.cmp(&a.users).then_with(|| a.name.cmp(&b.name)));
            Ok(FeatureReport {
                active_users: active,
                features: list,
            })
        },
    )?
    else {
        return Ok(empty);
    };
    out
}
