//! `--record FILE`: the attendance record, one row per student per run of the server.
//!
//! CSV with a header, or JSON lines when the file name ends in `.jsonl`. The file is opened
//! for appending (rows from earlier runs stay; the CSV header is written only to an empty
//! file) and each row goes to the OS in one `write` as soon as the client identifies, from a
//! thread of its own, so a server killed at any moment keeps every row written before; each
//! batch of rows is then synced to the disk. A student who identifies again in the same run
//! (a reconnect: the same student id, else the same name and GitHub user name) updates that
//! row instead: this run's rows are written again after the earlier runs' into a new file,
//! synced, and renamed over the record, so a crash leaves the old file or the new one, whole.
//! This run's rows are kept in memory for that (one line per student).

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;

use crate::roster::{Roster, Row};

/// The CSV file's header line.
pub const CSV_HEADER: &str = "time,client_id,peer,student_name,sid,github_username,email,other";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Format {
    Csv,
    JsonLines,
}

/// An open record file.
pub(crate) struct Record {
    file: File,
    path: PathBuf,
    format: Format,
    /// The length of the earlier runs' part of the file (header included).
    earlier: u64,
    /// This run's lines, one per student (`None`: a row without a student to match).
    lines: Vec<(Option<String>, Vec<u8>)>,
}

/// What [`Record::open`] found, for the line that confirms the record at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    /// The file, absolute.
    pub path: PathBuf,
    /// `CSV` or `JSON lines`.
    pub format: &'static str,
    /// Rows of earlier runs already in it.
    pub rows: u64,
}

impl Record {
    /// Opens (or creates) `path` for appending. A CSV file that is not empty must start with
    /// [`CSV_HEADER`]; a last line cut short by a crash is ended before the next row.
    ///
    /// # Errors
    ///
    /// The OS's, or `InvalidData` for a CSV file with another first line.
    pub(crate) fn open(path: &Path) -> io::Result<Record> {
        let format = if path.extension().is_some_and(|ext| ext == "jsonl") {
            Format::JsonLines
        } else {
            Format::Csv
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)?;
        let len = file.metadata()?.len();
        if len == 0 {
            if format == Format::Csv {
                file.write_all(format!("{CSV_HEADER}\n").as_bytes())?;
            }
        } else {
            if format == Format::Csv {
                let mut first = Vec::new();
                file.seek(SeekFrom::Start(0))?;
                Read::by_ref(&mut file)
                    .take(CSV_HEADER.len() as u64 + 1)
                    .read_to_end(&mut first)?;
                let first = String::from_utf8_lossy(&first);
                let first = first.lines().next().unwrap_or_default();
                if first != CSV_HEADER {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "its first line is not brine-server's header {CSV_HEADER:?} \
                             (choose another file, or one ending in .jsonl)"
                        ),
                    ));
                }
            }
            let mut last = [0u8; 1];
            file.seek(SeekFrom::End(-1))?;
            file.read_exact(&mut last)?;
            if last[0] != b'\n' {
                file.write_all(b"\n")?;
            }
        }
        let earlier = file.metadata()?.len();
        Ok(Record {
            file,
            path: path.to_owned(),
            format,
            earlier,
            lines: Vec::new(),
        })
    }

    /// The file, its format and its rows of earlier runs (lines, less the CSV header).
    pub(crate) fn opened(&self) -> io::Result<Opened> {
        let mut text = Vec::new();
        File::open(&self.path)?.read_to_end(&mut text)?;
        let lines = text.iter().filter(|b| **b == b'\n').count() as u64;
        Ok(Opened {
            path: std::path::absolute(&self.path)?,
            format: match self.format {
                Format::Csv => "CSV",
                Format::JsonLines => "JSON lines",
            },
            rows: lines.saturating_sub(u64::from(self.format == Format::Csv)),
        })
    }

    /// `row` as one line of the file, with its newline.
    fn line(&self, row: &Row) -> Vec<u8> {
        let time = humantime::format_rfc3339_millis(row.time).to_string();
        let id = row.identity.clone();
        match self.format {
            Format::JsonLines => {
                let mut line = serde_json::json!({
                    "time": time,
                    "client_id": row.id,
                    "peer": row.peer,
                    "student_name": id.name,
                    "sid": id.sid,
                    "github_username": id.github,
                    "email": id.email,
                    "identity": row.json,
                })
                .to_string()
                .into_bytes();
                line.push(b'\n');
                line
            }
            Format::Csv => {
                let other = id.other.map(|other| other.to_string()).unwrap_or_default();
                let cells = [
                    time,
                    row.id.to_string(),
                    row.peer.clone(),
                    id.name.unwrap_or_default(),
                    id.sid.unwrap_or_default(),
                    id.github.unwrap_or_default(),
                    id.email.unwrap_or_default(),
                    other,
                ];
                let mut writer = csv::WriterBuilder::new()
                    .terminator(csv::Terminator::Any(b'\n'))
                    .from_writer(Vec::new());
                // Writing to a Vec cannot fail.
                let _ = writer.write_record(cells.iter().map(|cell| inert(cell)));
                writer.into_inner().unwrap_or_default()
            }
        }
    }

    /// Writes `row`: appended in one write, or, for a student who already has a row in this
    /// run, that row replaced (the file rewritten, see the module's documentation).
    fn write(&mut self, row: &Row) -> io::Result<()> {
        let line = self.line(row);
        let same = row
            .student
            .as_ref()
            .and_then(|s| self.lines.iter().position(|(k, _)| k.as_ref() == Some(s)));
        match same {
            None => {
                self.file.write_all(&line)?;
                self.lines.push((row.student.clone(), line));
                Ok(())
            }
            Some(at) => {
                self.lines[at].1 = line;
                self.rewrite()
            }
        }
    }

    /// The earlier runs' part, then this run's lines, into `FILE.tmp`, synced and renamed
    /// over the record; the record is then reopened for appending.
    fn rewrite(&mut self) -> io::Result<()> {
        let mut earlier = Vec::new();
        File::open(&self.path)?
            .take(self.earlier)
            .read_to_end(&mut earlier)?;
        let mut name = self.path.as_os_str().to_owned();
        name.push(".tmp");
        let temp = PathBuf::from(name);
        let mut out = File::create(&temp)?;
        out.write_all(&earlier)?;
        for (_, line) in &self.lines {
            out.write_all(line)?;
        }
        out.sync_data()?;
        std::fs::rename(&temp, &self.path)?;
        self.file = OpenOptions::new().append(true).open(&self.path)?;
        Ok(())
    }
}

/// A cell that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first)
/// gets a leading `'`, so opening the record never runs what a student typed as a name.
fn inert(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_owned(),
    }
}

/// Starts the thread that writes the roster's rows to `record` until the roster is closed.
/// `report` gets a line for each row that could not be written.
pub(crate) fn spawn(
    mut record: Record,
    roster: Arc<Roster>,
    report: impl Fn(String) + Send + 'static,
) -> io::Result<JoinHandle<()>> {
    std::thread::Builder::new()
        .name("brine-record".into())
        .spawn(move || {
            while let Some((rows, lost)) = roster.wait_rows() {
                if lost > 0 {
                    report(format!(
                        "{lost} attendance rows were not recorded in {}: the disk is not \
                         keeping up",
                        record.path.display()
                    ));
                }
                for row in &rows {
                    if let Err(e) = record.write(row) {
                        report(format!(
                            "cannot record client {}'s row in {}: {e}; the row: {}",
                            row.id,
                            record.path.display(),
                            String::from_utf8_lossy(&record.line(row)).trim_end()
                        ));
                    }
                }
                let _ = record.file.sync_data();
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::Identity;
    use std::time::{Duration, UNIX_EPOCH};

    fn row(json: serde_json::Value) -> Row {
        Row {
            time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            id: 1000,
            peer: "127.0.0.1:5000".into(),
            student: Identity::from_json(&json).student(),
            identity: Identity::from_json(&json),
            json,
        }
    }

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("brine-record-{}-{name}", std::process::id()));
        let _ = std::fs::remove_file(&dir);
        dir
    }

    #[test]
    fn csv_rows_are_quoted_and_appended_under_one_header() {
        let path = temp("a.csv");
        let hostile = serde_json::json!({
            "student_name": "=HYPERLINK(\"x\")", "sid": 917, "github_username": "a,b", "email": "e\nf"
        });
        Record::open(&path).unwrap().write(&row(hostile)).unwrap();
        // Reopened (a restart), and after a crash cut the last line short.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"2023-11-14T22:13:20.123Z,1001")
            .unwrap();
        let mut again = Record::open(&path).unwrap();
        again
            .write(&row(serde_json::json!({"name": "Bo"})))
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!(
                "{CSV_HEADER}\n\
                 2023-11-14T22:13:20.123Z,1000,127.0.0.1:5000,\"'=HYPERLINK(\"\"x\"\")\",917,\"a,b\",\"e\nf\",\n\
                 2023-11-14T22:13:20.123Z,1001\n\
                 2023-11-14T22:13:20.123Z,1000,127.0.0.1:5000,Bo,,,,\n"
            )
        );
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_student_who_reconnects_keeps_one_row_in_this_run() {
        let path = temp("again.csv");
        // A row of an earlier run stays as it was.
        std::fs::write(&path, format!("{CSV_HEADER}\nearlier,1,p,Ana,917,,,\n")).unwrap();
        let mut record = Record::open(&path).unwrap();
        let ana = serde_json::json!({"student_name": "Ana", "sid": 917, "email": "a@x"});
        record.write(&row(ana.clone())).unwrap();
        record
            .write(&row(serde_json::json!({"name": "Bo"})))
            .unwrap();
        let mut again = row(ana);
        again.id = 1002;
        record.write(&again).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!(
                "{CSV_HEADER}\nearlier,1,p,Ana,917,,,\n\
                 2023-11-14T22:13:20.123Z,1002,127.0.0.1:5000,Ana,917,,a@x,\n\
                 2023-11-14T22:13:20.123Z,1000,127.0.0.1:5000,Bo,,,,\n"
            )
        );
        // Appending goes on in the new file.
        record
            .write(&row(serde_json::json!({"name": "Cy"})))
            .unwrap();
        assert!(std::fs::read_to_string(&path)
            .unwrap()
            .ends_with(",Cy,,,,\n"));
        let opened = Record::open(&path).unwrap().opened().unwrap();
        assert_eq!((opened.format, opened.rows), ("CSV", 4));
        assert!(opened.path.is_absolute());
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn a_csv_file_with_another_header_is_refused() {
        let path = temp("other.csv");
        std::fs::write(&path, "name,grade\nAna,A\n").unwrap();
        let err = Record::open(&path).err().unwrap();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn json_lines_keep_the_whole_identity() {
        let path = temp("a.jsonl");
        let json = serde_json::json!({"name": "</script>", "student_id": "1", "x": [1]});
        Record::open(&path).unwrap().write(&row(json)).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\"time\":\"2023-11-14T22:13:20.123Z\",\"client_id\":1000,\"peer\":\"127.0.0.1:5000\",\
             \"student_name\":\"</script>\",\"sid\":\"1\",\"github_username\":null,\
             \"email\":null,\"identity\":{\"name\":\"</script>\",\"student_id\":\"1\",\"x\":[1]}}\n"
        );
        std::fs::remove_file(&path).unwrap();
    }
}
