//! Embeds every `patterns/*.toml` file into the binary so the rule library
//! ships with it; user rules load from configuration at run time.
use std::{env, fs, path::PathBuf};

fn main() {
    // Lets tests ask cargo about this platform's dependency graph only.
    println!(
        "cargo:rustc-env=LEAKSTOP_BUILD_TARGET={}",
        env::var("TARGET").expect("cargo sets TARGET")
    );
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("patterns");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("patterns/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut out = String::from("pub static EMBEDDED_PATTERNS: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("utf-8 file name");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            path.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("embedded_patterns.rs");
    fs::write(dest, out).expect("write embedded_patterns.rs");
}
