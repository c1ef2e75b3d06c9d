//! Text sinks and sources: a str, a `Display`, latin-1 bytes or a Python 2 byte string fed
//! to the output, a comparison or a hash, as UTF-8, protocol 0's escapes or Python 2's repr.

use super::*;

impl<const MEMO: usize> Sink for Serializer<'_, MEMO> {
    #[inline]
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.write(bytes)
    }
}

/// Where encoded text goes: the output, a comparison or a hash.
pub(super) trait Sink {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error>;
}

/// Compares what is fed with stored bytes.
pub(super) struct Compare<'a> {
    pub(super) rest: &'a [u8],
    pub(super) equal: bool,
}

impl Sink for Compare<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        if self.equal {
            // `strip_prefix` without its `split_at` (a panic path: flash).
            match self.rest.get(..bytes.len()) {
                Some(head) if head == bytes => {
                    self.rest = self.rest.get(bytes.len()..).unwrap_or_default();
                }
                _ => self.equal = false,
            }
        }
        Ok(())
    }
}

/// Measures and hashes what is fed.
pub(super) struct Measure {
    pub(super) len: usize,
    pub(super) hash: StreamHash,
}

impl Sink for Measure {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.len = self.len.saturating_add(bytes.len());
        self.hash.write(bytes);
        Ok(())
    }
}

/// What Python 2's forms need to know of a text before writing it (from its `Form::Plain`
/// bytes).
#[derive(Clone, Copy)]
pub(super) struct Scan {
    pub(super) ascii: bool,
    pub(super) single: bool,
    pub(super) double: bool,
    /// A `\` or `\n`: Python 2 memoizes the replaced copy of such a `unicode` in protocol 0,
    /// so an equal one later is written again.
    pub(super) replaced: bool,
}

impl Scan {
    /// Python 2's repr quote: `"` when the text has `'` and no `"`, else `'`.
    pub(super) fn quote(self) -> u8 {
        if self.single && !self.double {
            b'"'
        } else {
            b'\''
        }
    }
}

impl Sink for Scan {
    fn put(&mut self, bytes: &[u8]) -> Result<(), Error> {
        for &b in bytes {
            self.ascii &= b < 0x80;
            self.single |= b == b'\'';
            self.double |= b == b'"';
            self.replaced |= b == b'\\' || b == b'\n';
        }
        Ok(())
    }
}

/// How text is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Form {
    /// As binary protocols store it: UTF-8 for text, a byte string's own bytes.
    Plain,
    /// Protocol 0's UNICODE argument as CPython 3 writes it: raw-unicode-escape with `\`,
    /// NUL, `\n`, `\r` and `\x1a` escaped.
    Escaped,
    /// Protocol 0's UNICODE argument as Python 2.7 writes it: only `\` and `\n` escaped.
    Py2Escaped,
    /// STRING's argument between its quotes, as Python 2's `repr` of a byte string in
    /// `quote`s: `\\`, the quote, `\t`, `\n`, `\r` escaped, other bytes outside ` `..`~`
    /// as `\xhh`.
    Py2Repr { quote: u8 },
}

impl Form {
    /// Whether the ASCII character `b` is written other than as itself.
    #[inline]
    pub(super) fn escapes_ascii(self, b: u8) -> bool {
        match self {
            Form::Plain => false,
            Form::Escaped => matches!(b, b'\\' | 0 | b'\n' | b'\r' | 0x1a),
            Form::Py2Escaped => matches!(b, b'\\' | b'\n'),
            Form::Py2Repr { quote } => b == quote || b == b'\\' || !(b' '..0x7f).contains(&b),
        }
    }

    /// Writes character `code` where it is not copied from the source.
    pub(super) fn put_char<S: Sink>(self, sink: &mut S, code: u32) -> Result<(), Error> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let hex = |v: u32| HEX[(v & 0xf) as usize];
        match self {
            Form::Plain => {
                let mut utf8 = [0u8; 4];
                let c = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
                sink.put(c.encode_utf8(&mut utf8).as_bytes())
            }
            Form::Escaped | Form::Py2Escaped if (0x80..0x100).contains(&code) => {
                sink.put(&[code as u8])
            }
            Form::Escaped | Form::Py2Escaped => put_escape(sink, code),
            Form::Py2Repr { .. } => match code {
                0x09 => sink.put(b"\\t"),
                0x0a => sink.put(b"\\n"),
                0x0d => sink.put(b"\\r"),
                0x20..=0x7e => sink.put(&[b'\\', code as u8]),
                0..=0xff => sink.put(&[b'\\', b'x', hex(code >> 4), hex(code)]),
                // Not reached: only ASCII text and bytes are written as byte strings.
                _ => Form::Plain.put_char(sink, code),
            },
        }
    }
}

/// Text that can be written as a Python str (or a Python 2 byte string).
pub(super) trait Text {
    /// Feeds the text to `sink` in `form`.
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error>;

    /// The length and the memo hash (`kind`) of what `feed` gives in `form`.
    fn measure(&self, kind: u64, form: Form) -> Result<(usize, u32), Error> {
        let mut m = Measure {
            len: 0,
            hash: StreamHash::new(),
        };
        self.feed(&mut m, form)?;
        Ok((m.len, m.hash.finish(kind, m.len)))
    }

    /// Whether `stored` (a payload in the output) encodes this text in `form`.
    fn matches(&self, stored: &[u8], form: Form) -> bool {
        let mut c = Compare {
            rest: stored,
            equal: true,
        };
        self.feed(&mut c, form).is_ok() && c.equal && c.rest.is_empty()
    }

    /// What Python 2's forms need to know (see `Scan`).
    fn scan(&self) -> Result<Scan, Error> {
        let mut s = Scan {
            ascii: true,
            single: false,
            double: false,
            replaced: false,
        };
        self.feed(&mut s, Form::Plain)?;
        Ok(s)
    }
}

pub(super) struct Utf8<'a>(pub(super) &'a str);

impl Text for Utf8<'_> {
    #[inline]
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_str(self.0, sink, form)
    }

    #[inline]
    fn measure(&self, kind: u64, form: Form) -> Result<(usize, u32), Error> {
        if form != Form::Plain {
            let mut m = Measure {
                len: 0,
                hash: StreamHash::new(),
            };
            feed_str(self.0, &mut m, form)?;
            return Ok((m.len, m.hash.finish(kind, m.len)));
        }
        Ok((self.0.len(), hash_bytes(kind, self.0.as_bytes())))
    }

    #[inline]
    fn matches(&self, stored: &[u8], form: Form) -> bool {
        if form != Form::Plain {
            let mut c = Compare {
                rest: stored,
                equal: true,
            };
            feed_str(self.0, &mut c, form).is_ok() && c.equal && c.rest.is_empty()
        } else {
            stored == self.0.as_bytes()
        }
    }
}

/// Bytes read as latin-1 (each byte one character), as `bytes.decode('latin1')`; in
/// `Form::Plain` the latin-1 text as UTF-8.
pub(super) struct Latin1<'a>(pub(super) &'a [u8]);

impl Text for Latin1<'_> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_bytes(
            self.0,
            sink,
            form,
            matches!(form, Form::Plain | Form::Py2Repr { .. }),
        )
    }
}

/// A str with lone surrogates, as its 'surrogatepass' UTF-8 (validated): those bytes in
/// `Form::Plain`, its code points in the escaped forms (a surrogate as `\ud800`).
pub(super) struct Surrogates<'a>(pub(super) &'a [u8]);

impl Text for Surrogates<'_> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        if form == Form::Plain {
            return sink.put(self.0);
        }
        for cp in crate::pickle::text::code_points(self.0, crate::pickle::text::TextEncoding::Utf8)
        {
            match u8::try_from(cp) {
                Ok(b) if b.is_ascii() && !form.escapes_ascii(b) => sink.put(&[b])?,
                _ => form.put_char(sink, cp)?,
            }
        }
        Ok(())
    }
}

/// A Python 2 byte string: its bytes, as they are in `Form::Plain`.
pub(super) struct ByteString<'a>(pub(super) &'a [u8]);

impl Text for ByteString<'_> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        feed_bytes(self.0, sink, form, matches!(form, Form::Py2Repr { .. }))
    }
}

/// Feeds `bytes` as characters in `form`; bytes from 0x80 are written by `Form::put_char`
/// when `convert_high`, else copied.
pub(super) fn feed_bytes<S: Sink>(
    bytes: &[u8],
    sink: &mut S,
    form: Form,
    convert_high: bool,
) -> Result<(), Error> {
    let mut run = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let special = if b < 0x80 {
            form.escapes_ascii(b)
        } else {
            convert_high
        };
        if !special {
            continue;
        }
        sink.put(bytes.get(run..i).unwrap_or_default())?;
        run = i + 1;
        form.put_char(sink, u32::from(b))?;
    }
    sink.put(bytes.get(run..).unwrap_or_default())
}

/// Feeds `s` in `form`: `Form::Plain` is its UTF-8; otherwise ASCII characters the form
/// keeps are copied, others written by `Form::put_char`.
pub(super) fn feed_str<S: Sink>(s: &str, sink: &mut S, form: Form) -> Result<(), Error> {
    if form == Form::Plain {
        return sink.put(s.as_bytes());
    }
    let bytes = s.as_bytes();
    let mut run = 0;
    for (i, c) in s.char_indices() {
        if c.is_ascii() && !form.escapes_ascii(c as u8) {
            continue;
        }
        sink.put(bytes.get(run..i).unwrap_or_default())?;
        run = i + c.len_utf8();
        form.put_char(sink, u32::from(c))?;
    }
    sink.put(bytes.get(run..).unwrap_or_default())
}

/// The output of a `Display` value (for `collect_str`); formatted once to measure it, again
/// to compare with remembered strs, and once more into the output (and once to scan it, in
/// Python 2's forms).
pub(super) struct Shown<'a, T: ?Sized>(pub(super) &'a T);

impl<T: Display + ?Sized> Text for Shown<'_, T> {
    fn feed<S: Sink>(&self, sink: &mut S, form: Form) -> Result<(), Error> {
        let mut w = FmtSink {
            sink,
            form,
            error: None,
        };
        match write!(w, "{}", self.0) {
            Ok(()) => Ok(()),
            Err(_) => Err(w
                .error
                .unwrap_or_else(|| Error::message("a Display implementation returned an error"))),
        }
    }
}

/// A `fmt::Write` feeding a sink, keeping the sink's error.
pub(super) struct FmtSink<'s, S> {
    pub(super) sink: &'s mut S,
    pub(super) form: Form,
    pub(super) error: Option<Error>,
}

impl<S: Sink> fmt::Write for FmtSink<'_, S> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        feed_str(s, self.sink, self.form).map_err(|e| {
            self.error = Some(e);
            fmt::Error
        })
    }
}

/// `\uXXXX`, or `\UXXXXXXXX` from U+10000, lowercase hex (raw-unicode-escape).
pub(super) fn put_escape<S: Sink>(sink: &mut S, code: u32) -> Result<(), Error> {
    pub(super) const HEX: &[u8; 16] = b"0123456789abcdef";
    let (letter, digits) = if code >= 0x1_0000 {
        (b'U', 8)
    } else {
        (b'u', 4)
    };
    let mut out = [0u8; 10];
    out[0] = b'\\';
    out[1] = letter;
    for (k, o) in out.iter_mut().skip(2).take(digits).enumerate() {
        let shift = 4 * (digits - 1 - k);
        *o = HEX[((code >> shift) & 0xf) as usize];
    }
    sink.put(out.get(..2 + digits).unwrap_or_default())
}
