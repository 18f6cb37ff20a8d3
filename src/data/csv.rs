//! Minimal line-oriented CSV reading for the log formats: a header row, one record per line,
//! a single-character separator, and simple double-quoted fields. Streaming: one line at a time.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Result};

/// Splits one line on `sep`, honouring double quotes (`""` inside quotes is a quote).
pub fn split_line(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.trim_end_matches(['\r', '\n']).chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// A CSV file read record by record, with columns found by name.
pub struct CsvReader<R> {
    lines: std::io::Lines<R>,
    sep: char,
    columns: HashMap<String, usize>,
    path: String,
    line_no: usize,
}

/// One record, with the line it came from for error messages.
pub struct Record<'a> {
    fields: Vec<String>,
    columns: &'a HashMap<String, usize>,
    path: &'a str,
    line_no: usize,
}

impl CsvReader<std::io::BufReader<std::fs::File>> {
    /// Opens `path`; the first line is the header. Column names are trimmed, and RecBole's
    /// `name:type` headers are reduced to `name`.
    pub fn open(path: &Path, sep: char) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        Self::new(std::io::BufReader::new(file), sep, &path.display().to_string())
    }
}

impl<R: BufRead> CsvReader<R> {
    pub fn new(reader: R, sep: char, path: &str) -> Result<Self> {
        let mut lines = reader.lines();
        let header = match lines.next() {
            Some(Ok(h)) => h,
            Some(Err(e)) => return Err(Error::io(path, e)),
            None => return Err(Error::Io { path: path.into(), message: "the file is empty".into() }),
        };
        let columns = split_line(header.trim_start_matches('\u{feff}'), sep)
            .into_iter()
            .enumerate()
            .map(|(i, name)| (name.trim().split(':').next().unwrap_or_default().to_owned(), i))
            .collect();
        Ok(CsvReader { lines, sep, columns, path: path.to_owned(), line_no: 1 })
    }

    pub fn has_column(&self, name: &str) -> bool {
        self.columns.contains_key(name)
    }

    /// Fails unless every named column is present.
    pub fn require(&self, names: &[&str]) -> Result<()> {
        for n in names {
            if !self.has_column(n) {
                return Err(Error::Io { path: self.path.clone(), message: format!("line 1: missing column '{n}'") });
            }
        }
        Ok(())
    }

    /// The next non-empty record, or `None` at the end.
    pub fn next_record(&mut self) -> Result<Option<Record<'_>>> {
        loop {
            self.line_no += 1;
            match self.lines.next() {
                None => return Ok(None),
                Some(Err(e)) => return Err(Error::io(&self.path, format!("line {}: {e}", self.line_no))),
                Some(Ok(line)) if line.trim().is_empty() => continue,
                Some(Ok(line)) => {
                    return Ok(Some(Record {
                        fields: split_line(&line, self.sep),
                        columns: &self.columns,
                        path: &self.path,
                        line_no: self.line_no,
                    }))
                }
            }
        }
    }
}

impl Record<'_> {
    /// The field of column `name` (empty when the row is short).
    pub fn get(&self, name: &str) -> Result<&str> {
        let i = *self.columns.get(name).ok_or_else(|| self.error(format!("missing column '{name}'")))?;
        Ok(self.fields.get(i).map_or("", |s| s.trim()))
    }

    /// Column `name` parsed as a number.
    pub fn number(&self, name: &str) -> Result<f64> {
        let v = self.get(name)?;
        v.parse::<f64>().map_err(|_| self.error(format!("column '{name}': '{v}' is not a number")))
    }

    /// Column `name` as a boolean (`True`/`False`, `true`/`false`, `1`/`0`).
    pub fn boolean(&self, name: &str) -> Result<bool> {
        match self.get(name)? {
            "True" | "true" | "1" => Ok(true),
            "False" | "false" | "0" => Ok(false),
            v => Err(self.error(format!("column '{name}': '{v}' is not a boolean"))),
        }
    }

    pub fn error(&self, message: String) -> Error {
        Error::Io { path: self.path.to_owned(), message: format!("line {}: {message}", self.line_no) }
    }
}
