//! One record's text as `logging.Formatter.format` writes it, from the dict a `SocketHandler`
//! or `DatagramHandler` sent (the cookbook's receiver makes a record of it with
//! `logging.makeLogRecord`; the same defaults fill the fields a sender left out).

use std::borrow::Cow;

use brine_core::pickle::{Dict, Value};

use super::clock::Clock;
use super::percent::{str_of, Field, Refusal, Template};

/// A record's fields by name, read once from its dict (a key given twice: its last value, as
/// in the dict Python builds). Lookups compare names only: a `Dict::get` per field would
/// validate every key's text again (60% of the time per record, measured with callgrind).
pub struct Record<'v> {
    fields: Vec<(Cow<'v, str>, Value<'v>)>,
}

impl<'v> Record<'v> {
    /// The fields of `dict` with str keys (others cannot be named in a format).
    pub fn new(dict: Dict<'v>) -> Self {
        let fields = dict
            .iter()
            .filter_map(|(key, value)| match key {
                Value::Str(s) => Some((
                    s.as_str()
                        .map_or_else(|| Cow::Owned(s.chars().collect()), Cow::Borrowed),
                    value,
                )),
                _ => None,
            })
            .collect();
        Record { fields }
    }

    /// The value of field `key`.
    pub fn get(&self, key: &str) -> Option<Value<'v>> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| *v)
    }
}

/// `logging.BASIC_FORMAT`.
pub const BASIC_FORMAT: &str = "%(levelname)s:%(name)s:%(message)s";

/// A `logging.Formatter`: a `%`-style format and `asctime`'s clock.
pub struct Formatter {
    template: Template,
    clock: Clock,
    uses_time: bool,
    /// `default_msec_format`'s `%03d`.
    msecs: Template,
}

impl Formatter {
    /// As `logging.Formatter(format, datefmt)`: fails on a format Python's `PercentStyle`
    /// refuses (no field at all, or one `%` would refuse).
    pub fn new(format: &str, datefmt: Option<&str>) -> Result<Formatter, String> {
        let template =
            Template::parse(format).map_err(|e| format!("--log-format '{format}': {e}"))?;
        if template.fields().next().is_none() {
            return Err(format!(
                "--log-format '{format}': invalid format for '%' style (no field such as %(message)s)"
            ));
        }
        Ok(Formatter {
            // logging's usesTime: the text `%(asctime)` anywhere in the format.
            uses_time: format.contains("%(asctime)"),
            template,
            clock: Clock::new(datefmt)?,
            msecs: Template::parse("%(msecs)03d")?,
        })
    }

    /// Appends the record's text to `out` (several lines when it has `exc_text` or
    /// `stack_info`), without the final newline; its fields are cut past `limit` bytes.
    /// Fails as `Formatter.format` would (a missing field, a value `%` refuses).
    pub fn format(
        &mut self,
        record: &Record<'_>,
        out: &mut String,
        limit: usize,
    ) -> Result<(), Refusal> {
        let field = |key: &str| attribute(record, key);
        // record.getMessage(): str(msg), then `% args` when args is not empty.
        let msg = field("msg").unwrap_or(Field::Text(""));
        let mut message = String::new();
        match field("args") {
            Some(Field::Value(Value::Dict(args))) if !args.is_empty() => {
                let template =
                    Template::parse(&str_of(msg, limit)).map_err(|e| format!("msg % args: {e}"))?;
                template.render(&mut message, limit, |key| args.get(key).map(Field::Value))?;
            }
            Some(Field::Value(Value::Tuple(args) | Value::List(args))) if !args.is_empty() => {
                return Err("msg % args with positional args is not supported (SocketHandler sends them applied)".into());
            }
            _ => message = str_of(msg, limit).into_owned(),
        }
        let asctime = if self.uses_time {
            Some(self.asctime(record)?)
        } else {
            None
        };
        self.template.render(out, limit, |key| match key {
            "message" => Some(Field::Text(&message)),
            "asctime" => asctime.as_deref().map(Field::Text),
            _ => attribute(record, key),
        })?;
        for key in ["exc_text", "stack_info"] {
            if let Some(Field::Value(Value::Str(text))) = field(key) {
                if text.chars().next().is_some() {
                    if !out.ends_with('\n') {
                        out.push('\n');
                    }
                    out.extend(text.chars().take(limit.saturating_sub(out.len())));
                }
            }
        }
        Ok(())
    }

    /// `formatTime(record, datefmt)`.
    fn asctime(&mut self, record: &Record<'_>) -> Result<String, Refusal> {
        let number = |key: &str| match record.get(key) {
            Some(Value::Float(x)) => Some(x),
            Some(Value::Int(i)) => Some(i as f64),
            _ => None,
        };
        let created = number("created").ok_or("the record has no number 'created' for asctime")?;
        let with_msecs = self.clock.with_msecs();
        let mut text = self
            .clock
            .format(created)
            .ok_or_else(|| format!("created {created} is out of the C library's time range"))?
            .to_owned();
        if with_msecs {
            // default_msec_format '%s,%03d' % (text, record.msecs)
            let msecs = record
                .get("msecs")
                .ok_or("the record has no 'msecs' for asctime")?;
            text.push(',');
            self.msecs
                .render(&mut text, usize::MAX, |_| Some(Field::Value(msecs)))?;
        }
        Ok(text)
    }
}

/// A record attribute: the sender's value, else what `makeLogRecord`'s blank record holds
/// (`LogRecord(None, None, "", 0, "", (), None, None)`); `None` where that depends on the
/// receiving process (`thread`, `process`, ...) or for a name no record has.
pub fn attribute<'v>(record: &Record<'v>, key: &str) -> Option<Field<'v>> {
    if let Some(value) = record.get(key) {
        return Some(Field::Value(value));
    }
    Some(match key {
        "name" | "levelno" | "funcName" | "exc_info" | "exc_text" | "stack_info" => {
            Field::Value(Value::None)
        }
        "msg" | "pathname" | "filename" => Field::Text(""),
        "levelname" => Field::Text("Level None"),
        "module" => Field::Text("Unknown module"),
        "lineno" => Field::Value(Value::Int(0)),
        _ => return None,
    })
}

/// The record's `levelno` if it is an int (0 otherwise, as a handler's level check treats a
/// level it cannot compare... and as NOTSET).
pub fn levelno(record: &Record<'_>) -> i64 {
    record.get("levelno").and_then(|v| v.as_i64()).unwrap_or(0)
}

/// True if `filter`'s logger name is the record's or an ancestor's (`logging.Filter(name)`).
pub fn name_matches(record: &Record<'_>, filter: &str) -> bool {
    match record.get("name") {
        Some(Value::Str(name)) => {
            let name: String = name.chars().collect();
            name == filter
                || (name.starts_with(filter) && name[filter.len()..].starts_with('.'))
                || filter.is_empty()
        }
        _ => filter.is_empty(),
    }
}
