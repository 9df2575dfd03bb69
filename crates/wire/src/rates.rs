//! Currency rates as CSV: one `currency,date,rate` row per rate, after an
//! optional header row that starts with `currency`. The CLI imports files
//! of them and the revenue page takes them pasted; what the codes, dates
//! and rates mean is checked where they are kept.

/// One row as written.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLine {
    pub currency: String,
    pub date: String,
    pub rate: f64,
}

/// Why the rows could not be read; rows are counted from 1.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RatesCsvError {
    #[error("row {0}: {1}")]
    Csv(usize, String),
    #[error("row {row}: want currency,date,rate, got {cells} cell(s)")]
    Shape { row: usize, cells: usize },
    #[error("row {row}: {text:?} is not a number")]
    Rate { row: usize, text: String },
    #[error("no rates: want currency,date,rate rows")]
    Empty,
}

/// The rates of a CSV text; blank rows are skipped.
pub fn parse_rates_csv(text: &str) -> Result<Vec<RateLine>, RatesCsvError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .trim(csv::Trim::All)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 1;
        let record = record.map_err(|e| RatesCsvError::Csv(row, e.to_string()))?;
        let cells: Vec<&str> = record.iter().collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        if i == 0
            && cells
                .first()
                .is_some_and(|c| c.eq_ignore_ascii_case("currency"))
        {
            continue;
        }
        let [currency, date, rate] = cells[..] else {
            return Err(RatesCsvError::Shape {
                row,
                cells: cells.len(),
            });
        };
        let rate = rate.parse::<f64>().map_err(|_| RatesCsvError::Rate {
            row,
            text: rate.to_owned(),
        })?;
        out.push(RateLine {
            currency: currency.to_owned(),
            date: date.to_owned(),
            rate,
        });
    }
    if out.is_empty() {
        return Err(RatesCsvError::Empty);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_take_an_optional_header_skip_blanks_and_name_bad_rows() {
        let rates =
            parse_rates_csv("currency,date,rate\nUSD, 2026-01-01 ,0.9\n\r\nGBP,2026-01-15,1.2\n")
                .expect("rates");
        assert_eq!(rates.len(), 2);
        assert_eq!(
            (rates[0].currency.as_str(), rates[0].date.as_str()),
            ("USD", "2026-01-01")
        );
        assert_eq!(rates[1].rate, 1.2);
        assert_eq!(
            parse_rates_csv("USD,2026-01-01,lots"),
            Err(RatesCsvError::Rate {
                row: 1,
                text: "lots".into()
            })
        );
        assert_eq!(
            parse_rates_csv("x\nUSD,2026-01-01"),
            Err(RatesCsvError::Shape { row: 1, cells: 1 })
        );
        assert_eq!(
            parse_rates_csv("currency,date,rate\n"),
            Err(RatesCsvError::Empty)
        );
    }
}
