//! Printing results as aligned text for people or JSON for scripts.

use serde_json::Value;

use crate::cli::Format;

/// Writes to standard output. A reader that has gone away ends the program
/// at once with success, since nobody is left to read the rest; any other
/// failure to write (a full disk) ends it with status 1 and says why.
pub fn stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    if let Err(e) = std::io::stdout().lock().write_fmt(args) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
        eprintln!("error: could not write the output: {e}");
        std::process::exit(1);
    }
}

/// A progress line for a long operation, on standard error: a spinner with
/// `message`, the count so far (`unit`: `records`, `bytes`, or none) and
/// the time taken. Only on a terminal, and never in JSON mode, where
/// whatever reads the output expects nothing else. The caller clears it
/// with `finish_and_clear` before printing its result.
pub fn progress(format: Format, message: &str, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if format == Format::Json || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let count = match unit {
        "" => String::new(),
        "bytes" => " {bytes}".to_owned(),
        unit => format!(" {{pos}} {unit}"),
    };
    let style = indicatif::ProgressStyle::with_template(&format!(
        "{{spinner}} {{msg}}{count} ({{elapsed}})"
    ))
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
    let bar = indicatif::ProgressBar::new_spinner()
        .with_style(style)
        .with_message(message.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Prints one record: `key  value` lines, or a JSON object.
pub fn record(format: Format, fields: &[(&str, Value)]) {
    match format {
        Format::Json => {
            let obj: serde_json::Map<String, Value> = fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), v.clone()))
                .collect();
            println!("{}", Value::Object(obj));
        }
        Format::Table | Format::Sarif => {
            let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
            for (k, v) in fields {
                println!("{k:width$}  {}", plain(v));
            }
        }
    }
}

/// Prints rows under headers, or the JSON value the rows came from.
pub fn table(format: Format, json: &Value, headers: &[&str], rows: &[Vec<String>]) {
    match format {
        Format::Json => println!("{json}"),
        Format::Table | Format::Sarif => {
            if rows.is_empty() {
                println!("(none)");
                return;
            }
            let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
            for row in rows {
                for (i, cell) in row.iter().enumerate() {
                    if let Some(w) = widths.get_mut(i) {
                        *w = (*w).max(cell.chars().count());
                    }
                }
            }
            let line = |cells: Vec<&str>| {
                let parts: Vec<String> = cells
                    .iter()
                    .zip(&widths)
                    .map(|(c, w)| format!("{c:w$}"))
                    .collect();
                println!("{}", parts.join("  ").trim_end());
            };
            line(headers.to_vec());
            for row in rows {
                line(row.iter().map(String::as_str).collect());
            }
        }
    }
}

/// A JSON value as a person reads it: strings without quotes, null as `-`.
pub fn plain(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        Value::Array(items) => items.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}
