//! What README.md and core/README.md (brine-core's crate docs) show is what is built: the
//! embassy-net example is `examples/embassy-net/src/lib.rs` to the byte (.ci/run builds that
//! file for thumbv7m-none-eabi), and the feature table with its flash figures is the same in
//! both files, so an update to one that misses the other fails here.

use std::fs;

use brine_e2e::workspace_dir;

const READMES: [&str; 2] = ["README.md", "core/README.md"];
const TABLE_START: &str = "<!-- feature-table:";
const TABLE_END: &str = "<!-- /feature-table -->";

fn read(path: &str) -> String {
    let path = workspace_dir().join(path);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

#[test]
fn the_embassy_net_example_is_the_built_file() {
    let example = read("examples/embassy-net/src/lib.rs");
    let block = format!("```rust,ignore\n{example}```\n");
    for readme in READMES {
        let text = read(readme);
        assert!(
            text.contains(&block),
            "{readme} does not show examples/embassy-net/src/lib.rs as it is (a ```rust,ignore \
             block holding the whole file): copy the file into it"
        );
    }
}

/// The text from the table's start marker to its end marker.
fn feature_table(readme: &str) -> String {
    let text = read(readme);
    let start = text
        .find(TABLE_START)
        .unwrap_or_else(|| panic!("{readme} has no `{TABLE_START}` line"));
    let len = text[start..]
        .find(TABLE_END)
        .unwrap_or_else(|| panic!("{readme} has no `{TABLE_END}` line after its start"));
    text[start..start + len].to_string()
}

#[test]
fn the_feature_table_is_the_same_in_both_readmes() {
    let [a, b] = READMES.map(feature_table);
    assert!(a.contains("| `float-text` |"), "no feature rows: {a}");
    assert_eq!(
        a, b,
        "README.md's and core/README.md's feature tables differ: update both"
    );
}
