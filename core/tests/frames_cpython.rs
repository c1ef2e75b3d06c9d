//! FRAME boundaries against CPython's `pickle.py` (issue 22): an opcode's argument that runs
//! past the end of its FRAME, and a FRAME beginning inside another, are refused as
//! `pickle._loads` refuses them, naming the same opcode and offset; valid framed pickles from
//! CPython (protocols 4 and 5, one frame or several) decode as before.
//!
//! `tests/python/frame_cases.py` writes the cases and both CPython unpicklers' answers. Every
//! walker that reads frames must agree: the decoder (the general machine), `from_slice` (the
//! same machine, then serde), and the stream framer (which finds the same pickle boundaries: a frame
//! fault is the decoder's to refuse, and the next pickle is still found).
//!
//! python3 is required: if it is missing this test fails (it does not skip).
// Every test here runs python3, which Miri cannot spawn: skipped under `cargo miri test`.
#![cfg(not(miri))]

use std::process::Command;

use brine_core::pickle::{from_slice, Decoder, Error, Framer, Progress, Value};

fn unhex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// As `shown` in the script: the repr, or its length and first 100 characters.
fn shown(value: &Value<'_>) -> String {
    let text = value.to_string();
    if text.chars().count() <= 1000 {
        return text;
    }
    let head: String = text.chars().take(100).collect();
    format!("{} {head}...", text.chars().count())
}

/// What each of brine's readers makes of `pickle`: the decoder's result, and `from_slice`'s
/// error (which must be the decoder's).
fn brine(pickle: &[u8]) -> Result<String, Error> {
    let mut decoder: Box<Decoder> = Box::default();
    let decoded = decoder.decode(pickle).map(|v| shown(&v));
    let via_serde = from_slice::<serde::de::IgnoredAny>(pickle).map(|_| ());
    assert_eq!(
        via_serde.as_ref().err(),
        decoded.as_ref().err(),
        "from_slice and the decoder disagree"
    );
    decoded
}

#[test]
fn frames_are_checked_as_pickle_py_checks_them() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/frame_cases.py");
    let out = Command::new("python3")
        .arg(script)
        .output()
        .expect("python3 (the CPython oracle) must be installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let (mut valid, mut frame_faults, mut other_faults) = (0, 0, 0);
    for line in text.lines() {
        let mut fields = line.split('\t');
        let (hex, py, c) = (
            fields.next().unwrap(),
            fields.next().unwrap(),
            fields.next().unwrap(),
        );
        let pickle = unhex(hex);
        let got = brine(&pickle);
        let case = || format!("case {hex:.200}: pickle.py {py:.200}; C {c:.200}; brine {got:?}");
        let truncated = c == "err pickle data was truncated";
        if truncated && matches!(got, Err(Error::Truncated { .. })) {
            // A FRAME longer than the rest of the input: the C unpickler refuses it when it
            // reads the FRAME (pickle.py reads what there is and may carry on); so does brine.
            other_faults += 1;
        } else if let Some(fault) = py.strip_prefix("err ") {
            let mut words = fault.splitn(3, ' ');
            let (opname, offset, message) = (
                words.next().unwrap(),
                words.next().unwrap().parse::<usize>().unwrap(),
                words.next().unwrap(),
            );
            if message.contains("end of frame") || message.contains("end of current frame") {
                let Err(Error::InvalidArgument {
                    opcode,
                    offset: at,
                    reason,
                }) = &got
                else {
                    panic!("{}", case());
                };
                assert_eq!(
                    (opcode.name(), *at),
                    (opname, offset),
                    "the opcode and offset pickle.py was executing: {}",
                    case()
                );
                assert!(reason.starts_with(message), "{}", case());
                frame_faults += 1;
            } else {
                assert!(got.is_err(), "{}", case());
                other_faults += 1;
            }
        } else {
            assert!(!truncated, "{}", case());
            // pickle.py and the C unpickler both read it: so does brine, to the same value.
            assert_eq!(Some(c), Some(py), "{}", case());
            assert_eq!(got.as_deref().ok(), py.strip_prefix("ok "), "{}", case());
            valid += 1;
        }
        // The framer finds this pickle's end, then the next pickle, whatever its frames say.
        let mut framer = Framer::new();
        let stream = [&pickle[..], b"K\x07."].concat();
        assert_eq!(
            framer.advance(&stream),
            Ok(Progress::Complete { len: pickle.len() }),
            "{}",
            case()
        );
        assert_eq!(
            framer.advance(&stream[pickle.len()..]),
            Ok(Progress::Complete { len: 3 })
        );
    }
    // The script's cases reach every outcome, many times over.
    println!("{valid} valid, {frame_faults} refused for their frames, {other_faults} other faults");
    assert!(
        valid > 500 && frame_faults > 500 && other_faults > 50,
        "{valid} valid, {frame_faults} refused for their frames, {other_faults} other faults"
    );
}

/// The error as a user reads it, naming the opcode, its offset and pickle.py's words.
#[test]
fn a_frame_fault_names_the_opcode_and_offset() {
    // PROTO 4, then a FRAME of 4 bytes: BINUNICODE's opcode and 3 of its 4 length bytes.
    let pickle = b"\x80\x04\x95\x04\x00\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00a.";
    let mut decoder: Box<Decoder> = Box::default();
    assert_eq!(
        decoder.decode(pickle).unwrap_err().to_string(),
        "invalid pickle: BINUNICODE at byte 11: pickle exhausted before end of frame (the \
         argument runs past its FRAME's end)"
    );
    // Ending exactly at the frame's end is not a fault: the next read leaves the frame.
    let pickle = b"\x80\x04\x95\x05\x00\x00\x00\x00\x00\x00\x00X\x01\x00\x00\x00a.";
    assert_eq!(decoder.decode(pickle).unwrap().to_string(), "'a'");
}
