//! Python's printf-style `%` formatting (`'%(name)-8s' % record.__dict__`), for
//! `logging.Formatter`'s format strings: every conversion (`s r a c d i u o x X e E f F g G`),
//! flags (`-+ #0`), width and precision, as CPython's `PyUnicode_Format` writes them.
//!
//! A [`Template`] is parsed once; [`Template::render`] fills it from a lookup of the fields by
//! name. Widths and precisions count characters, as Python's do.

use std::borrow::Cow;
use std::fmt::Write as _;

use brine_core::pickle::{to_vec, Budget, HeapDecoder, Protocol, Value};

/// One `%` field: `%(key)` flags, width, precision and conversion.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// The name inside `%(...)`.
    pub key: String,
    left: bool,
    zero: bool,
    plus: bool,
    space: bool,
    alt: bool,
    width: usize,
    precision: Option<usize>,
    conversion: char,
}

#[derive(Clone, Debug, PartialEq)]
enum Part {
    Text(String),
    Field(Spec),
}

/// A parsed `%`-style format string whose fields all have a name.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    parts: Vec<Part>,
}

/// Why a value cannot be formatted (Python's `TypeError`/`ValueError` text).
pub type Refusal = String;

impl Template {
    /// Parses `format` as Python's `%` operator with a mapping does. Fails on a field without
    /// a `(name)`, a `*` width or precision, an unknown conversion or a format that ends
    /// inside a field, with Python's words where it has them.
    pub fn parse(format: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut text = String::new();
        let mut chars = format.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                text.push(c);
                continue;
            }
            if chars.peek() == Some(&'%') {
                chars.next();
                text.push('%');
                continue;
            }
            if chars.next_if_eq(&'(').is_none() {
                return Err("every field needs a name, as in %(message)s".into());
            }
            // Nested parentheses belong to the key, as in CPython.
            let mut key = String::new();
            let mut depth = 1;
            loop {
                let c = chars.next().ok_or("incomplete format key")?;
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                key.push(c);
            }
            let mut spec = Spec {
                key,
                left: false,
                zero: false,
                plus: false,
                space: false,
                alt: false,
                width: 0,
                precision: None,
                conversion: 's',
            };
            while let Some(&flag) = chars.peek() {
                match flag {
                    '-' => spec.left = true,
                    '+' => spec.plus = true,
                    ' ' => spec.space = true,
                    '#' => spec.alt = true,
                    '0' => spec.zero = true,
                    _ => break,
                }
                chars.next();
            }
            if chars.peek() == Some(&'*') {
                return Err("* wants int (a width from the arguments needs a tuple)".into());
            }
            spec.width = digits(&mut chars)?.unwrap_or(0);
            if chars.next_if_eq(&'.').is_some() {
                if chars.peek() == Some(&'*') {
                    return Err("* wants int (a precision from the arguments needs a tuple)".into());
                }
                spec.precision = Some(digits(&mut chars)?.unwrap_or(0));
            }
            while chars.next_if(|c| matches!(c, 'h' | 'l' | 'L')).is_some() {}
            match chars.next() {
                None => return Err("incomplete format".into()),
                Some('%') => text.push('%'),
                Some(c) if "sracdiuoxXeEfFgG".contains(c) => {
                    spec.conversion = c;
                    if !text.is_empty() {
                        parts.push(Part::Text(std::mem::take(&mut text)));
                    }
                    parts.push(Part::Field(spec));
                }
                Some(c) => {
                    return Err(format!(
                        "unsupported format character '{c}' (0x{:x})",
                        c as u32
                    ))
                }
            }
        }
        if !text.is_empty() {
            parts.push(Part::Text(text));
        }
        Ok(Template { parts })
    }

    /// The fields, in order.
    pub fn fields(&self) -> impl Iterator<Item = &Spec> {
        self.parts.iter().filter_map(|part| match part {
            Part::Field(spec) => Some(spec),
            Part::Text(_) => None,
        })
    }

    /// Appends the formatted text to `out`; `lookup` gives each field's value (`None`:
    /// Python's `KeyError`). A field's text past `limit` bytes of `out` is cut.
    pub fn render<'v>(
        &self,
        out: &mut String,
        limit: usize,
        mut lookup: impl FnMut(&str) -> Option<Field<'v>>,
    ) -> Result<(), Refusal> {
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Field(spec) => {
                    let value = lookup(&spec.key).ok_or_else(|| {
                        format!("Formatting field not found in record: '{}'", spec.key)
                    })?;
                    format_field(out, spec, value, limit)?;
                }
            }
        }
        Ok(())
    }
}

/// A field's value: a decoded Python value, or text logging computed (`message`, `asctime`).
#[derive(Clone, Copy, Debug)]
pub enum Field<'v> {
    /// A value of the record.
    Value(Value<'v>),
    /// A `str` computed on this side.
    Text(&'v str),
}

/// Decimal digits, if any; a number past `usize` is Python's "width too big".
fn digits(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Result<Option<usize>, String> {
    let mut n: Option<usize> = None;
    while let Some(d) = chars.next_if(char::is_ascii_digit) {
        let digit = d as usize - '0' as usize;
        n = Some(
            n.unwrap_or(0)
                .checked_mul(10)
                .and_then(|n| n.checked_add(digit))
                .filter(|&n| n <= i32::MAX as usize)
                .ok_or("width too big")?,
        );
    }
    Ok(n)
}

/// One field into `out`.
fn format_field(
    out: &mut String,
    spec: &Spec,
    field: Field<'_>,
    limit: usize,
) -> Result<(), Refusal> {
    let value = match field {
        Field::Text(text) if spec.conversion == 's' => return pad_text(out, spec, text, limit),
        Field::Text(text) => {
            // A computed str (message, asctime) in any other conversion: as a decoded str,
            // through the codec, so `%(message)r` is Python's repr.
            let pickled = to_vec(&text, Protocol::V4).map_err(|e| e.to_string())?;
            let mut decoder = HeapDecoder::new();
            let value = decoder.decode(&pickled).map_err(|e| e.to_string())?;
            return format_field(out, spec, Field::Value(value), limit);
        }
        Field::Value(value) => value,
    };
    match spec.conversion {
        's' => pad_text(out, spec, &str_of(field, limit), limit),
        'r' => pad_text(out, spec, &repr(&value, limit), limit),
        'a' => pad_text(out, spec, &ascii(&repr(&value, limit)), limit),
        'c' => {
            let c =
                match value {
                    Value::Str(s) if s.chars().count() == 1 => s.chars().next(),
                    Value::Str(_) => return Err(
                        "%c requires an int or a unicode character, not a string of length != 1"
                            .into(),
                    ),
                    _ => match value.as_i64() {
                        Some(i) => Some(
                            u32::try_from(i)
                                .ok()
                                .and_then(char::from_u32)
                                .ok_or("%c arg not in range(0x110000)")?,
                        ),
                        None => None,
                    },
                };
            let c = c.ok_or_else(|| {
                format!(
                    "%c requires an int or a unicode character, not {}",
                    value.type_name()
                )
            })?;
            pad_text(out, spec, c.encode_utf8(&mut [0; 4]), limit)
        }
        'd' | 'i' | 'u' => {
            let digits = match value {
                Value::Float(x) if !x.is_finite() => {
                    return Err(format!(
                        "cannot convert float {} to integer",
                        if x.is_nan() { "NaN" } else { "infinity" }
                    ))
                }
                // int(x): toward zero, every digit.
                Value::Float(x) if x.trunc() == 0.0 => "0".to_owned(),
                Value::Float(x) => format!("{:.0}", x.trunc()),
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => repr_int(&value),
                _ => {
                    return Err(format!(
                        "%{} format: a real number is required, not {}",
                        spec.conversion,
                        value.type_name()
                    ))
                }
            };
            let (negative, digits) = split_sign(&digits);
            pad_number(
                out,
                spec,
                negative,
                "",
                &with_precision(digits, spec.precision),
            );
            Ok(())
        }
        'o' | 'x' | 'X' => {
            let decimal = match value {
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => repr_int(&value),
                _ => {
                    return Err(format!(
                        "%{} format: an integer is required, not {}",
                        spec.conversion,
                        value.type_name()
                    ))
                }
            };
            let (negative, magnitude) = split_sign(&decimal);
            let digits = in_base(magnitude, if spec.conversion == 'o' { 3 } else { 4 });
            let digits = if spec.conversion == 'X' {
                digits.to_uppercase()
            } else {
                digits
            };
            let prefix = match (spec.alt, spec.conversion) {
                (false, _) => "",
                (true, 'o') => "0o",
                (true, 'x') => "0x",
                (true, _) => "0X",
            };
            pad_number(
                out,
                spec,
                negative,
                prefix,
                &with_precision(&digits, spec.precision),
            );
            Ok(())
        }
        _ => {
            let x = match value {
                Value::Float(x) => x,
                Value::Int(_) | Value::Bool(_) | Value::BigInt(_) => {
                    // float(int): correctly rounded, as Rust's parse of the digits.
                    let x: f64 = repr_int(&value).parse().map_err(|_| "not a number")?;
                    if x.is_infinite() {
                        return Err("int too large to convert to float".into());
                    }
                    x
                }
                _ => return Err(format!("must be real number, not {}", value.type_name())),
            };
            let text = format_float(x, spec.conversion, spec.precision.unwrap_or(6), spec.alt);
            let (negative, body) = split_sign(&text);
            pad_number(out, spec, negative, "", body);
            Ok(())
        }
    }
}

/// Decimal digits in base 8 (`bits` 3) or 16 (`bits` 4), lower case: through 32-bit limbs,
/// for ints of any size.
fn in_base(decimal: &str, bits: u32) -> String {
    let mut limbs: Vec<u32> = Vec::new(); // least significant first
    for chunk in decimal.as_bytes().chunks(9) {
        let chunk_value: u64 = chunk.iter().fold(0, |n, d| n * 10 + u64::from(d - b'0'));
        let mut carry = chunk_value;
        let scale = 10u64.pow(chunk.len() as u32);
        for limb in &mut limbs {
            let n = u64::from(*limb) * scale + carry;
            *limb = n as u32;
            carry = n >> 32;
        }
        if carry > 0 {
            limbs.push(carry as u32);
        }
    }
    let total_bits = limbs.len() as u32 * 32;
    let bit = |i: u32| (limbs[(i / 32) as usize] >> (i % 32)) & 1;
    let mut out = String::new();
    let mut top = total_bits.div_ceil(bits) * bits;
    while top > 0 {
        top -= bits;
        let digit = (0..bits)
            .filter(|b| top + b < total_bits)
            .fold(0, |d, b| d | (bit(top + b) << b));
        if digit != 0 || !out.is_empty() {
            out.push(char::from_digit(digit, 16).unwrap_or('?'));
        }
    }
    if out.is_empty() {
        out.push('0');
    }
    out
}

/// `str(value)`: a str as its text, anything else as its repr (cut at `limit` bytes).
pub fn str_of(field: Field<'_>, limit: usize) -> Cow<'_, str> {
    match field {
        Field::Text(text) => Cow::Borrowed(text),
        // Borrowed text as is; text with escapes (protocol 0) decoded.
        Field::Value(Value::Str(s)) => s
            .as_str()
            .map_or_else(|| Cow::Owned(s.chars().collect()), Cow::Borrowed),
        Field::Value(value) => Cow::Owned(repr(&value, limit)),
    }
}

/// `repr(value)`, cut at `limit` bytes.
fn repr(value: &Value<'_>, limit: usize) -> String {
    let mut text = String::new();
    let mut bounded = Budget::new(&mut text, limit);
    if let Ok(false) = bounded.write_display(value) {
        text.push_str(&brine_json::too_long("repr", limit));
    }
    text
}

/// Python's `ascii()` of a repr: non-ASCII characters as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`.
fn ascii(repr: &str) -> String {
    let mut out = String::with_capacity(repr.len());
    for c in repr.chars() {
        let _ = match c as u32 {
            0..=0x7f => {
                out.push(c);
                Ok(())
            }
            n @ 0x80..=0xff => write!(out, "\\x{n:02x}"),
            n @ 0x100..=0xffff => write!(out, "\\u{n:04x}"),
            n => write!(out, "\\U{n:08x}"),
        };
    }
    out
}

/// The decimal digits of an int or bool (bool as 0/1, as `'%d' % True` prints).
fn repr_int(value: &Value<'_>) -> String {
    match value {
        Value::Bool(b) => u8::from(*b).to_string(),
        other => other.to_string(),
    }
}

/// `("-", "12")` → `(true, "12")`.
fn split_sign(text: &str) -> (bool, &str) {
    match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    }
}

/// An int's digits zero-filled to `precision`, as `'%.3d' % 5` → `005`.
fn with_precision(digits: &str, precision: Option<usize>) -> String {
    match precision {
        Some(p) if p > digits.len() => format!("{}{digits}", "0".repeat(p - digits.len())),
        _ => digits.to_owned(),
    }
}

/// A number's sign, prefix and body, padded to the width.
fn pad_number(out: &mut String, spec: &Spec, negative: bool, prefix: &str, body: &str) {
    let sign = if negative {
        "-"
    } else if spec.plus {
        "+"
    } else if spec.space {
        " "
    } else {
        ""
    };
    let len = sign.len() + prefix.len() + body.chars().count();
    let fill = spec.width.saturating_sub(len);
    if spec.left {
        out.extend([sign, prefix, body]);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero {
        out.extend([sign, prefix]);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(body);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.extend([sign, prefix, body]);
    }
}

/// Text cut to the precision (in characters) and padded with spaces to the width.
fn pad_text(out: &mut String, spec: &Spec, text: &str, limit: usize) -> Result<(), Refusal> {
    let text = match spec.precision {
        Some(p) => text
            .char_indices()
            .nth(p)
            .map_or(text, |(at, _)| &text[..at]),
        None => text,
    };
    let room = limit.saturating_sub(out.len());
    let text = if text.len() > room {
        let mut cut = room;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        &text[..cut]
    } else {
        text
    };
    let fill = spec.width.saturating_sub(text.chars().count());
    if spec.left {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
    Ok(())
}

/// A float in `%e`/`%f`/`%g` (and upper case) with `precision`, as `PyOS_double_to_string`
/// writes it: correctly rounded, `e+XX` exponents of at least two digits, `#` keeping the
/// point and `%g`'s trailing zeros; `inf`/`nan` (upper case for `EFG`).
pub fn format_float(x: f64, conversion: char, precision: usize, alt: bool) -> String {
    let upper = conversion.is_ascii_uppercase();
    if !x.is_finite() {
        let text = if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        };
        return if upper {
            text.to_uppercase()
        } else {
            text.into()
        };
    }
    let text = match conversion.to_ascii_lowercase() {
        'f' => {
            let mut s = format!("{x:.precision$}");
            if alt && precision == 0 {
                s.push('.');
            }
            s
        }
        'e' => exponent_form(x, precision, alt),
        _ => {
            let p = precision.max(1);
            let exp = decimal_exponent(x, p);
            if (-4..p as i32).contains(&exp) {
                let decimals = (p as i32 - 1 - exp) as usize;
                let mut s = format!("{x:.decimals$}");
                if alt {
                    if !s.contains('.') {
                        s.push('.');
                    }
                } else {
                    strip_zeros(&mut s);
                }
                s
            } else {
                let s = exponent_form(x, p - 1, alt);
                if alt {
                    s
                } else {
                    let (mantissa, exponent) = s.split_at(s.find('e').unwrap_or(s.len()));
                    let mut mantissa = mantissa.to_owned();
                    strip_zeros(&mut mantissa);
                    mantissa + exponent
                }
            }
        }
    };
    if upper {
        text.to_uppercase()
    } else {
        text
    }
}

/// The exponent of `x` written with `significant` digits (after rounding).
fn decimal_exponent(x: f64, significant: usize) -> i32 {
    let s = format!("{:.*e}", significant - 1, x);
    s[s.find('e').map_or(s.len(), |e| e + 1)..]
        .parse()
        .unwrap_or(0)
}

/// `1.500000e+02`: Rust's `{:e}` with Python's exponent (sign, at least two digits).
fn exponent_form(x: f64, decimals: usize, alt: bool) -> String {
    let s = format!("{x:.decimals$e}");
    let (mantissa, exponent) = s.split_at(s.find('e').unwrap_or(s.len()));
    let exponent: i32 = exponent[1..].parse().unwrap_or(0);
    let point = if alt && decimals == 0 { "." } else { "" };
    let sign = if exponent < 0 { '-' } else { '+' };
    format!("{mantissa}{point}e{sign}{:02}", exponent.unsigned_abs())
}

/// `1.500` → `1.5`, `2.000` → `2`.
fn strip_zeros(s: &mut String) {
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every conversion, flag, width and precision on ints, floats, strs, bools, None,
    /// bytes, big ints and containers, against CPython's `fmt % {'v': value}` (the value
    /// pickled in protocol 1, as SocketHandler sends records). A refusal must be a refusal.
    #[test]
    fn agrees_with_cpython() {
        let script = r#"
import json, pickle
values = [0, 5, -42, 255, 3.14159, -0.0, 1e20, 1.5e-7, 123456.789, 0.5, 2.5, 1e16,
          9.999999e-5, 0.0001, 123456789.0, float('nan'), float('inf'), float('-inf'),
          True, False, None, 'héllo', 'x', '', '€', 2**70, -(2**70), 2**200, b'ab',
          [1, 'a'], {'k': (1,)}, 65, 0x1F600, -1, 1.0, 100.0, 1e-5, 5e-324]
fmts = ['%(v)s', '%(v)r', '%(v)a', '%(v)d', '%(v)5d', '%(v)-5d|', '%(v)05d', '%(v)+d',
        '%(v) d', '%(v).3d', '%(v)08.3d', '%(v)x', '%(v)#X', '%(v)#o', '%(v)#010x',
        '%(v)-#8x|', '%(v)f', '%(v).2f', '%(v)10.3f', '%(v)-10.1f|', '%(v)+.0f',
        '%(v)#.0f', '%(v)e', '%(v).3E', '%(v)g', '%(v).3g', '%(v)#g', '%(v)G',
        '%(v)010.2e', '%(v)c', '%(v).2s', '%(v)8s|', '%(v)-8r|', 'a%%b%(v)s', '%(v)i',
        '%(v)u', '%(v)F', '%(v).0e', '%(v)#.0e', '%(v).10g', '%(v).0g', '%(v)05s',
        '%(v) 8.3f', '%(v)+08d', '%(v)-08d', '%(v)05f', '%(v)+g', '%(v).3a', '%(v)ld',
        '%(v)#.3g', '%(v)20.15g', '%(v).1f', '%(v).17g', '%(v)#x']
for f in fmts:
    for v in values:
        try:
            out = f % {'v': v}
        except Exception as e:
            out = None
        print(json.dumps({'fmt': f, 'pickle': pickle.dumps(v, 1).hex(), 'out': out}))
print(json.dumps({'fmt': '%(a(b))s', 'pickle': pickle.dumps('nested', 1).hex(), 'out': 'nested'}))
"#;
        let out = std::process::Command::new("python3")
            .args(["-c", script])
            .output()
            .expect("python3 (the CPython oracle) must be installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut decoder = HeapDecoder::new();
        let mut checked = 0;
        let mut failures = Vec::new();
        for line in String::from_utf8(out.stdout).unwrap().lines() {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            let fmt = case["fmt"].as_str().unwrap();
            let hex = case["pickle"].as_str().unwrap();
            let bytes: Vec<u8> = (0..hex.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                .collect();
            let value = decoder.decode(&bytes).unwrap();
            let mut got = String::new();
            let result = Template::parse(fmt)
                .and_then(|t| t.render(&mut got, usize::MAX, |_| Some(Field::Value(value))));
            let want = case["out"].as_str();
            let agrees = match want {
                Some(want) => result.is_ok() && got == want,
                None => result.is_err(),
            };
            if !agrees {
                failures.push(format!(
                    "{fmt} % {value}: CPython {want:?}, brine {result:?} {got:?}"
                ));
            }
            checked += 1;
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
        assert!(checked > 2000, "only {checked} cases");
    }

    #[test]
    fn refuses_what_python_refuses_to_parse() {
        for bad in ["%s", "%(a", "%(a)", "%(a)*d", "%(a).*f", "%(a)y", "%(a)5"] {
            assert!(Template::parse(bad).is_err(), "{bad}");
        }
        let t = Template::parse("%(levelname)s:%(name)s:%(message)s").unwrap();
        assert_eq!(t.fields().count(), 3);
    }

    #[test]
    fn fields_past_the_limit_are_cut() {
        let t = Template::parse("%(a)s|%(b)s").unwrap();
        let mut out = String::new();
        t.render(&mut out, 4, |k| {
            Some(Field::Text(if k == "a" { "abc" } else { "xyz" }))
        })
        .unwrap();
        assert_eq!(out, "abc|");
    }

    /// Computed text (message, asctime) takes every conversion as a str would.
    #[test]
    fn computed_text_as_a_str() {
        let render = |format: &str, text: &str| {
            let mut out = String::new();
            Template::parse(format)
                .unwrap()
                .render(&mut out, usize::MAX, |_| Some(Field::Text(text)))
                .map(|()| out)
        };
        assert_eq!(
            render("%(m)r", "it's \u{e9}\n").unwrap(),
            "\"it's \u{e9}\\n\""
        );
        assert_eq!(render("%(m)a", "\u{e9}").unwrap(), "'\\xe9'");
        assert_eq!(render("%(m)-4s|", "ab").unwrap(), "ab  |");
        assert!(render("%(m)d", "12").is_err());
    }
}
