//! Puts `memory.x` where cortex-m-rt's `link.x` finds it, and pickles the identity from the
//! build-time settings (`BRINE_NAME`, ..., `BRINE_KEYS`, as `src/lab.rs` reads them) into
//! `$OUT_DIR/identity.pickle`: brine-core's pickler runs here, on the host, so a firmware
//! built without it (feature `pickler` off) still sends the identity CPython would write.

use std::{env, fs, path::PathBuf};

use brine_core::pickle::{to_slice, Protocol};
use brine_core::Identity;

/// The keys and values, shared with `src/lab.rs`.
#[path = "src/keys.rs"]
mod keys;

/// The identity's settings: (environment variable, default), as in `src/lab.rs`.
const SETTINGS: [(&str, &str); 4] = [
    ("BRINE_NAME", "Jose Ortiz"),
    ("BRINE_EMAIL", "jose@sfsu.edu"),
    ("BRINE_STUDENT_ID", "917654321"),
    ("BRINE_GITHUB", "jortiz"),
];

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    fs::write(out.join("memory.x"), include_bytes!("memory.x")).expect("write memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");
    println!("cargo:rerun-if-changed=build.rs");

    let values = SETTINGS.map(|(var, default)| {
        println!("cargo:rerun-if-env-changed={var}");
        env::var(var)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| default.to_string())
    });
    println!("cargo:rerun-if-env-changed=BRINE_KEYS");
    let keys = keys::Keys::from_setting(env::var("BRINE_KEYS").ok().as_deref());
    let mut identity = Identity::<4>::new();
    for (key, value) in keys::fields(keys, values.each_ref().map(String::as_str)) {
        identity.insert(key, value).expect("four slots");
    }
    let mut buf = [0u8; 1024];
    let pickle = to_slice(&identity, &mut buf, Protocol::V4).expect("the identity pickles");
    fs::write(out.join("identity.pickle"), pickle).expect("write identity.pickle");
}
