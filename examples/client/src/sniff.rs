//! What a first message that is not a pickle looks like: its first bytes, escaped, and a
//! guess (HTTP, JSON, text, a length prefix) with what to do about it.

use std::fmt::Write as _;

/// `the server sent b'...': <guess>`, or `None` when nothing arrived.
pub fn describe(first: &[u8]) -> Option<String> {
    if first.is_empty() {
        return None;
    }
    Some(format!(
        "the server sent {} (its first {} bytes): {}",
        bytes_repr(first),
        first.len(),
        guess(first)
    ))
}

/// Python's repr of `bytes` (`b'GET / HTTP/1.1\r\n'`), ASCII only.
fn bytes_repr(bytes: &[u8]) -> String {
    let mut out = String::from("b'");
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\'' => out.push_str("\\'"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('\'');
    out
}

/// What the bytes most likely are, and what to do.
fn guess(first: &[u8]) -> &'static str {
    const PROTO: u8 = 0x80;
    let starts = |p: &[u8]| first.starts_with(p);
    if starts(b"HTTP/") || starts(b"<!DOCTYPE") || starts(b"<html") {
        return "this looks like HTTP: a web server answers on this port, not the lab server \
                (check the port; brine-server's --web page has a port of its own)";
    }
    if starts(b"SSH-") {
        return "this looks like an SSH server, not the lab server: check the port";
    }
    let be = |b: &[u8]| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize;
    let le = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    if first.len() > 8 && first[8] == PROTO && first[4..8] == [0; 4] && be(first) > 0 {
        return "this looks like an 8-byte length prefix (Python's struct.pack(\"L\", \
                socket.htonl(n))) before a pickle: brine reads pickles as the lab sends them, \
                each ended by its STOP opcode, without a prefix";
    }
    if first.len() > 4 && first[4] == PROTO && (be(first) < 1 << 24 || le(first) < 1 << 24) {
        return "this looks like a 4-byte length prefix before a pickle: brine reads pickles \
                as the lab sends them, each ended by its STOP opcode, without a prefix";
    }
    let text = std::str::from_utf8(first).ok().filter(|t| {
        t.chars()
            .all(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
    });
    // The last char may be cut in the middle by the 64-byte window: judge what is whole.
    let text = text.or_else(|| {
        let valid = std::str::from_utf8(first).err()?.valid_up_to();
        (first.len() - valid < 4)
            .then(|| std::str::from_utf8(&first[..valid]).ok())
            .flatten()
            .filter(|t| t.chars().all(|c| !c.is_control() || c.is_whitespace()))
    });
    match text.map(str::trim_start) {
        Some(t) if t.starts_with(['{', '[', '"']) => {
            "this looks like JSON: the server sends json.dumps(...).encode(), not \
             pickle.dumps(...); brine speaks pickle only"
        }
        Some(_) => {
            "this looks like text: the server sends a str's bytes (e.g. conn.send(b\"...\")), \
             not pickle.dumps(...); brine speaks pickle only"
        }
        None => {
            "binary data that is not a pickle (a pickle of protocol 2 or later starts with \\x80)"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() {
        let d = |b: &[u8]| describe(b).unwrap();
        assert_eq!(describe(b""), None);
        let http = d(b"HTTP/1.1 400 Bad Request\r\n");
        assert!(http.starts_with(
            "the server sent b'HTTP/1.1 400 Bad Request\\r\\n' (its first 26 bytes): this looks like HTTP"
        ), "{http}");
        assert!(d(b"{\"clientid\": 1}").contains("looks like JSON"));
        assert!(d(b"Your id is 7\n").contains("looks like text"));
        // "é" cut after its first byte at the end of the window is still text.
        assert!(d(b"Bienvenid\xc3").contains("looks like text"));
        assert!(d(b"\x00\x00\x00\x14\x80\x04\x95").contains("4-byte length prefix"));
        assert!(d(b"\x14\x00\x00\x00\x80\x04\x95").contains("4-byte length prefix"));
        assert!(d(b"\x00\x00\x00\x14\x00\x00\x00\x00\x80\x04").contains("8-byte length prefix"));
        let binary = d(b"\x01\x02'\\");
        assert!(binary.contains("b'\\x01\\x02\\'\\\\'"), "{binary}");
        assert!(binary.contains("binary data"), "{binary}");
    }
}
