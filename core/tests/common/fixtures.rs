// Byte fixtures of the lab protocol, produced by CPython 3.11 (`pickle.dumps`, protocol 4 unless
// noted). Shared by the session's unit tests (through `include!`) and the integration tests.

/// `pickle.dumps({'clientid': 54321})`
pub const CLIENT_ID: &[u8] =
    b"\x80\x04\x95\x12\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94M1\xd4s.";
/// `pickle.dumps({'clientid': 'abc'})`
pub const CLIENT_ID_STR: &[u8] =
    b"\x80\x04\x95\x15\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x08clientid\x94\x8c\x03abc\x94s.";
/// `pickle.dumps({'clientid': 54321}, 2)`
pub const CLIENT_ID_V2: &[u8] = b"\x80\x02}q\x00X\x08\x00\x00\x00clientidq\x01M1\xd4s.";
/// `pickle.dumps('Server got the data')`
pub const ACK: &[u8] =
    b"\x80\x04\x95\x17\x00\x00\x00\x00\x00\x00\x00\x8c\x13Server got the data\x94.";
/// `pickle.dumps([1, 2, 3])`
pub const LIST: &[u8] = b"\x80\x04\x95\x0b\x00\x00\x00\x00\x00\x00\x00]\x94(K\x01K\x02K\x03e.";
/// A protocol-0 pickle of `os.system('echo pwned')` (GLOBAL + REDUCE): refused, never run.
pub const EVIL: &[u8] = b"cos\nsystem\n(S'echo pwned'\ntR.";
/// `pickle.dumps({'name': 'Jose Ortiz', 'email': 'jose@sfsu.edu', 'student_id': 917654321,
/// 'github_username': 'jortiz'})`: the identity the lab client sends.
pub const IDENTITY: &[u8] = b"\x80\x04\x95^\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x04name\x94\x8c\nJose Ortiz\x94\x8c\x05email\x94\x8c\rjose@sfsu.edu\x94\x8c\nstudent_id\x94J1K\xb26\x8c\x0fgithub_username\x94\x8c\x06jortiz\x94u.";

/// `pickle.dumps('x' * 5000)`: larger than the default 4096-byte receive buffer.
pub fn big_message() -> [u8; 5018] {
    let mut p = [b'x'; 5018];
    p[..16].copy_from_slice(b"\x80\x04\x95\x8f\x13\x00\x00\x00\x00\x00\x00X\x88\x13\x00\x00");
    p[5016..].copy_from_slice(b"\x94.");
    p
}
