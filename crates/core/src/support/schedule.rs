//! On-call schedules: rotations with a shift length, a hand-off time and a
//! time zone; layers (the higher wins); overrides on top; and "who is on call
//! at time T", exact across daylight-saving changes.
//!
//! Day and week shifts hand off at the same wall-clock time in the rotation's
//! zone, so a shift that spans a DST change is an hour shorter or longer.
//! Hour shifts are exact lengths of elapsed time.

use jiff::civil::{DateTime, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp, ToSpan};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("a rotation needs at least one member")]
    NoMembers,
    #[error(
        "`{0}` is not a shift length: use a positive number of hours, days or weeks, like 12h, 1d or 1w"
    )]
    ShiftLength(String),
    #[error("a restriction needs at least one weekday and two different times")]
    Restriction,
    #[error("an override must end after it starts")]
    Override,
    #[error("unknown time zone `{0}`")]
    TimeZone(String),
}

/// How long each member's turn lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShiftLength {
    Hours(u32),
    Days(u32),
    Weeks(u32),
}

impl ShiftLength {
    pub fn parse(s: &str) -> Result<ShiftLength, ScheduleError> {
        let err = || ScheduleError::ShiftLength(s.to_owned());
        let s = s.trim();
        let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?);
        let n: u32 = num.parse().map_err(|_| err())?;
        if n == 0 || n > 10_000 {
            return Err(err());
        }
        match unit {
            "h" => Ok(ShiftLength::Hours(n)),
            "d" => Ok(ShiftLength::Days(n)),
            "w" => Ok(ShiftLength::Weeks(n)),
            _ => Err(err()),
        }
    }

    fn nominal_secs(self) -> i64 {
        match self {
            ShiftLength::Hours(h) => i64::from(h) * 3600,
            ShiftLength::Days(d) => i64::from(d) * 86_400,
            ShiftLength::Weeks(w) => i64::from(w) * 7 * 86_400,
        }
    }
}

impl std::fmt::Display for ShiftLength {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ShiftLength::Hours(n) => write!(f, "{n}h"),
            ShiftLength::Days(n) => write!(f, "{n}d"),
            ShiftLength::Weeks(n) => write!(f, "{n}w"),
        }
    }
}

pub fn time_zone(name: &str) -> Result<TimeZone, ScheduleError> {
    TimeZone::get(name).map_err(|_| ScheduleError::TimeZone(name.to_owned()))
}

/// Members taking turns, starting with the first at `start` (wall-clock time
/// in `tz`, which is also the hand-off time for day and week shifts).
#[derive(Debug, Clone)]
pub struct Rotation {
    members: Vec<String>,
    start: DateTime,
    tz: TimeZone,
    shift: ShiftLength,
}

/// One member's turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shift<'a> {
    pub user: &'a str,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Rotation {
    pub fn new(
        members: Vec<String>,
        start: DateTime,
        tz: TimeZone,
        shift: ShiftLength,
    ) -> Result<Rotation, ScheduleError> {
        if members.is_empty() {
            return Err(ScheduleError::NoMembers);
        }
        Ok(Rotation {
            members,
            start,
            tz,
            shift,
        })
    }

    pub fn members(&self) -> &[String] {
        &self.members
    }

    pub fn time_zone(&self) -> &TimeZone {
        &self.tz
    }

    /// When shift number `k` (0 = the first) begins.
    fn shift_start(&self, k: i64) -> Option<Timestamp> {
        match self.shift {
            ShiftLength::Hours(h) => {
                let t0 = self.start.to_zoned(self.tz.clone()).ok()?.timestamp();
                let secs = k.checked_mul(i64::from(h))?.checked_mul(3600)?;
                t0.checked_add(SignedDuration::from_secs(secs)).ok()
            }
            ShiftLength::Days(_) | ShiftLength::Weeks(_) => {
                let days = k.checked_mul(self.shift.nominal_secs() / 86_400)?;
                let local = self.start.checked_add(days.days()).ok()?;
                // A hand-off inside a DST gap moves to just after it; inside a
                // fold it takes the first of the two moments.
                local.to_zoned(self.tz.clone()).ok().map(|z| z.timestamp())
            }
        }
    }

    /// The shift covering `t`, or `None` before the rotation starts.
    pub fn shift_at(&self, t: Timestamp) -> Option<Shift<'_>> {
        let first = self.shift_start(0)?;
        if t < first {
            return None;
        }
        let mut k = (t.as_second() - first.as_second()) / self.shift.nominal_secs();
        // The estimate is off by at most one around DST changes.
        while self.shift_start(k + 1).is_some_and(|s| s <= t) {
            k += 1;
        }
        while k > 0 && self.shift_start(k).is_some_and(|s| s > t) {
            k -= 1;
        }
        let start = self.shift_start(k)?;
        let end = self.shift_start(k + 1)?;
        let n = i64::try_from(self.members.len()).ok()?;
        let idx = usize::try_from(k.rem_euclid(n)).ok()?;
        Some(Shift {
            user: &self.members[idx],
            start,
            end,
        })
    }
}

/// Limits a layer to certain hours of certain weekdays, in the rotation's zone.
/// `from` after `to` means the window runs overnight into the next day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    weekdays: Vec<Weekday>,
    from: Time,
    to: Time,
}

impl Restriction {
    pub fn new(weekdays: Vec<Weekday>, from: Time, to: Time) -> Result<Restriction, ScheduleError> {
        if weekdays.is_empty() || from == to {
            return Err(ScheduleError::Restriction);
        }
        Ok(Restriction { weekdays, from, to })
    }

    fn covers(&self, local: DateTime) -> bool {
        let day_ok = |d: Weekday| self.weekdays.contains(&d);
        let time = local.time();
        if self.from < self.to {
            day_ok(local.weekday()) && time >= self.from && time < self.to
        } else {
            (time >= self.from && day_ok(local.weekday()))
                || (time < self.to && day_ok(local.weekday().previous()))
        }
    }
}

/// A rotation, perhaps limited to certain hours.
#[derive(Debug, Clone)]
pub struct Layer {
    pub rotation: Rotation,
    pub restriction: Option<Restriction>,
}

impl Layer {
    fn on_call_at(&self, t: Timestamp) -> Option<&str> {
        if let Some(r) = &self.restriction {
            let local = t.to_zoned(self.rotation.tz.clone()).datetime();
            if !r.covers(local) {
                return None;
            }
        }
        self.rotation.shift_at(t).map(|s| s.user)
    }
}

/// Someone standing in for the schedule from `start` until `end`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Override {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Override {
    pub fn new(user: String, start: Timestamp, end: Timestamp) -> Result<Override, ScheduleError> {
        if end <= start {
            return Err(ScheduleError::Override);
        }
        Ok(Override { user, start, end })
    }
}

/// Layers, lowest first, with overrides (later ones win) on top.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub layers: Vec<Layer>,
    pub overrides: Vec<Override>,
}

/// Why someone is on call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Override,
    Layer(usize),
}

/// A stretch of time with one person on call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub user: String,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// Longest span `final_shifts` walks, so a request cannot make it loop for ages.
const MAX_SEGMENT_WINDOW_DAYS: i64 = 400;

impl Schedule {
    /// Who is on call at `t`, and why.
    pub fn on_call_at(&self, t: Timestamp) -> Option<(&str, Source)> {
        if let Some(o) = self
            .overrides
            .iter()
            .rev()
            .find(|o| o.start <= t && t < o.end)
        {
            return Some((o.user.as_str(), Source::Override));
        }
        self.layers
            .iter()
            .enumerate()
            .rev()
            .find_map(|(i, l)| l.on_call_at(t).map(|u| (u, Source::Layer(i))))
    }

    /// The final schedule between `from` and `to`: who is on call when, with
    /// neighbouring stretches of the same person merged. Capped at 400 days.
    pub fn final_shifts(&self, from: Timestamp, to: Timestamp) -> Vec<Segment> {
        let cap = from
            .checked_add(SignedDuration::from_hours(24 * MAX_SEGMENT_WINDOW_DAYS))
            .unwrap_or(to);
        let to = to.min(cap);
        if to <= from {
            return Vec::new();
        }
        let mut edges = vec![from, to];
        for o in &self.overrides {
            edges.extend([o.start, o.end]);
        }
        for layer in &self.layers {
            let rot = &layer.rotation;
            let mut t = from;
            // Walk shift boundaries; a rotation not yet started begins at its first shift.
            if rot.shift_at(t).is_none()
                && let Some(first) = rot.shift_start(0)
            {
                edges.push(first);
                t = first;
            }
            while t < to {
                match rot.shift_at(t) {
                    Some(s) if s.end > t => {
                        edges.push(s.end);
                        t = s.end;
                    }
                    _ => break,
                }
            }
            if let Some(r) = &layer.restriction {
                let first = from.to_zoned(rot.tz.clone()).date();
                let last = to.to_zoned(rot.tz.clone()).date();
                let mut day = first.yesterday().unwrap_or(first);
                while day <= last {
                    for time in [r.from, r.to] {
                        if let Ok(z) = day.to_datetime(time).to_zoned(rot.tz.clone()) {
                            edges.push(z.timestamp());
                        }
                    }
                    match day.tomorrow() {
                        Ok(next) => day = next,
                        Err(_) => break,
                    }
                }
            }
        }
        edges.retain(|e| *e >= from && *e <= to);
        edges.sort();
        edges.dedup();
        let mut out: Vec<Segment> = Vec::new();
        for pair in edges.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            let Some((user, _)) = self.on_call_at(a) else {
                continue;
            };
            match out.last_mut() {
                Some(last) if last.user == user && last.end == a => last.end = b,
                _ => out.push(Segment {
                    user: user.to_owned(),
                    start: a,
                    end: b,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn berlin() -> TimeZone {
        time_zone("Europe/Berlin").expect("tz")
    }

    fn at(tz: &TimeZone, y: i16, mo: i8, d: i8, h: i8, mi: i8) -> Timestamp {
        date(y, mo, d)
            .at(h, mi, 0, 0)
            .to_zoned(tz.clone())
            .expect("zoned")
            .timestamp()
    }

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| (*s).to_owned()).collect()
    }

    fn daily(start: DateTime, tz: TimeZone) -> Rotation {
        Rotation::new(
            names(&["ann", "bob", "cyd"]),
            start,
            tz,
            ShiftLength::Days(1),
        )
        .expect("rotation")
    }

    #[test]
    fn shift_lengths_parse() {
        assert_eq!(ShiftLength::parse("12h"), Ok(ShiftLength::Hours(12)));
        assert_eq!(ShiftLength::parse("1w"), Ok(ShiftLength::Weeks(1)));
        for bad in ["", "0d", "1y", "d", "-1d"] {
            assert!(ShiftLength::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn daily_handoff_keeps_wall_clock_time_across_spring_forward() {
        let tz = berlin();
        // Hand-off at 09:00; on 2024-03-31 Berlin jumps from 02:00 to 03:00.
        let rot = daily(date(2024, 3, 29).at(9, 0, 0, 0), tz.clone());
        let s = rot.shift_at(at(&tz, 2024, 3, 31, 8, 59)).expect("shift");
        assert_eq!(s.user, "bob");
        assert_eq!(s.start, at(&tz, 2024, 3, 30, 9, 0));
        assert_eq!(s.end, at(&tz, 2024, 3, 31, 9, 0));
        // That shift lasted 23 hours of real time.
        assert_eq!(s.end.as_second() - s.start.as_second(), 23 * 3600);
        assert_eq!(
            rot.shift_at(at(&tz, 2024, 3, 31, 9, 0)).map(|s| s.user),
            Some("cyd")
        );
    }

    #[test]
    fn daily_handoff_across_fall_back_lasts_25_hours() {
        let tz = berlin();
        let rot = daily(date(2024, 10, 26).at(9, 0, 0, 0), tz.clone());
        let s = rot.shift_at(at(&tz, 2024, 10, 27, 2, 30)).expect("shift");
        assert_eq!(s.user, "ann");
        assert_eq!(s.end.as_second() - s.start.as_second(), 25 * 3600);
        assert_eq!(
            rot.shift_at(at(&tz, 2024, 10, 27, 9, 0)).map(|s| s.user),
            Some("bob")
        );
    }

    #[test]
    fn handoff_inside_a_dst_gap_moves_after_it() {
        let tz = berlin();
        // 02:30 does not exist on 2024-03-31 in Berlin.
        let rot = daily(date(2024, 3, 30).at(2, 30, 0, 0), tz.clone());
        let s = rot.shift_at(at(&tz, 2024, 3, 31, 3, 0)).expect("shift");
        assert_eq!(s.user, "ann", "still the first shift at 03:00");
        assert_eq!(s.end, at(&tz, 2024, 3, 31, 3, 30));
        assert_eq!(
            rot.shift_at(at(&tz, 2024, 4, 1, 2, 30)).map(|s| s.user),
            Some("cyd")
        );
    }

    #[test]
    fn weekly_rotation_over_many_dst_changes() {
        let tz = time_zone("America/New_York").expect("tz");
        let rot = Rotation::new(
            names(&["ann", "bob"]),
            date(2024, 1, 1).at(10, 0, 0, 0),
            tz.clone(),
            ShiftLength::Weeks(1),
        )
        .expect("rotation");
        // 2024-11-04 is a Monday, 44 weeks after 2024-01-01: an even week.
        assert_eq!(
            rot.shift_at(at(&tz, 2024, 11, 4, 9, 59)).map(|s| s.user),
            Some("bob")
        );
        assert_eq!(
            rot.shift_at(at(&tz, 2024, 11, 4, 10, 0)).map(|s| s.user),
            Some("ann")
        );
        assert_eq!(
            rot.shift_at(at(&tz, 2023, 12, 31, 10, 0)),
            None,
            "before the start"
        );
    }

    #[test]
    fn hour_shifts_are_exact_lengths() {
        let tz = berlin();
        let rot = Rotation::new(
            names(&["ann", "bob"]),
            date(2024, 3, 30).at(20, 0, 0, 0),
            tz.clone(),
            ShiftLength::Hours(12),
        )
        .expect("rotation");
        // 20:00 CET + 12h = 09:00 CEST (08:00 + the lost hour).
        let s = rot.shift_at(at(&tz, 2024, 3, 31, 8, 30)).expect("shift");
        assert_eq!(s.user, "ann");
        assert_eq!(s.end, at(&tz, 2024, 3, 31, 9, 0));
    }

    #[test]
    fn higher_layers_win_within_their_hours_and_overrides_win_always() {
        let tz = berlin();
        let base = Layer {
            rotation: daily(date(2024, 6, 3).at(9, 0, 0, 0), tz.clone()),
            restriction: None,
        };
        // Business hours on weekdays, a single person.
        let day = Layer {
            rotation: Rotation::new(
                names(&["dee"]),
                date(2024, 6, 3).at(0, 0, 0, 0),
                tz.clone(),
                ShiftLength::Weeks(1),
            )
            .expect("rotation"),
            restriction: Some(
                Restriction::new(
                    vec![
                        Weekday::Monday,
                        Weekday::Tuesday,
                        Weekday::Wednesday,
                        Weekday::Thursday,
                        Weekday::Friday,
                    ],
                    Time::constant(9, 0, 0, 0),
                    Time::constant(17, 0, 0, 0),
                )
                .expect("restriction"),
            ),
        };
        let mut s = Schedule {
            layers: vec![base, day],
            overrides: vec![],
        };
        // Monday 2024-06-03.
        assert_eq!(
            s.on_call_at(at(&tz, 2024, 6, 3, 12, 0)),
            Some(("dee", Source::Layer(1)))
        );
        assert_eq!(
            s.on_call_at(at(&tz, 2024, 6, 3, 18, 0)),
            Some(("ann", Source::Layer(0)))
        );
        // Saturday: the business-hours layer is off.
        assert_eq!(
            s.on_call_at(at(&tz, 2024, 6, 8, 12, 0)).map(|x| x.0),
            Some("cyd")
        );
        s.overrides.push(
            Override::new(
                "eve".into(),
                at(&tz, 2024, 6, 3, 11, 0),
                at(&tz, 2024, 6, 3, 13, 0),
            )
            .expect("override"),
        );
        assert_eq!(
            s.on_call_at(at(&tz, 2024, 6, 3, 12, 0)),
            Some(("eve", Source::Override))
        );
        assert_eq!(
            s.on_call_at(at(&tz, 2024, 6, 3, 13, 0)).map(|x| x.0),
            Some("dee")
        );
    }

    #[test]
    fn overnight_restriction_wraps_midnight() {
        let r = Restriction::new(
            vec![Weekday::Friday],
            Time::constant(22, 0, 0, 0),
            Time::constant(6, 0, 0, 0),
        )
        .expect("restriction");
        assert!(r.covers(date(2024, 6, 7).at(23, 0, 0, 0)), "friday night");
        assert!(
            r.covers(date(2024, 6, 8).at(5, 59, 0, 0)),
            "saturday early morning"
        );
        assert!(!r.covers(date(2024, 6, 8).at(6, 0, 0, 0)));
        assert!(
            !r.covers(date(2024, 6, 8).at(23, 0, 0, 0)),
            "saturday night is not friday"
        );
    }

    #[test]
    fn final_shifts_merge_and_cover_the_window() {
        let tz = berlin();
        let mut s = Schedule {
            layers: vec![Layer {
                rotation: daily(date(2024, 3, 30).at(9, 0, 0, 0), tz.clone()),
                restriction: None,
            }],
            overrides: vec![],
        };
        s.overrides.push(
            Override::new(
                "eve".into(),
                at(&tz, 2024, 3, 31, 12, 0),
                at(&tz, 2024, 3, 31, 14, 0),
            )
            .expect("override"),
        );
        let segs = s.final_shifts(at(&tz, 2024, 3, 30, 0, 0), at(&tz, 2024, 4, 1, 12, 0));
        let got: Vec<(&str, Timestamp)> = segs.iter().map(|g| (g.user.as_str(), g.start)).collect();
        assert_eq!(
            got,
            vec![
                ("ann", at(&tz, 2024, 3, 30, 9, 0)),
                ("bob", at(&tz, 2024, 3, 31, 9, 0)),
                ("eve", at(&tz, 2024, 3, 31, 12, 0)),
                ("bob", at(&tz, 2024, 3, 31, 14, 0)),
                ("cyd", at(&tz, 2024, 4, 1, 9, 0)),
            ]
        );
        assert_eq!(segs.last().map(|g| g.end), Some(at(&tz, 2024, 4, 1, 12, 0)));
    }
}
