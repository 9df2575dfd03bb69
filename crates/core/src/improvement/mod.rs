//! Continuous improvement: the DORA four keys over a range, with their
//! performance levels.

pub mod dora;
