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
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // The TOML text, for strict validation (`rules check`, tests) with line
    // numbers in errors; and the same data as JSON, for loading.
    let mut out = String::from("pub static EMBEDDED_PATTERNS: &[(&str, &str)] = &[\n");
    let mut json = String::from("pub static EMBEDDED_PATTERNS_JSON: &[(&str, &str)] = &[\n");
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
        let text = fs::read_to_string(path).expect("read a pattern file");
        let value: toml::Value = toml::from_str(&text)
            .unwrap_or_else(|e| panic!("patterns/{name} is not valid TOML: {e}"));
        let as_json = serde_json::to_string(&value).expect("TOML values convert to JSON");
        let json_path = out_dir.join(format!("{name}.json"));
        fs::write(&json_path, as_json).expect("write a pattern file's JSON");
        json.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            json_path.display().to_string()
        ));
    }
    out.push_str("];\n");
    json.push_str("];\n");
    out.push_str(&json);
    fs::write(out_dir.join("embedded_patterns.rs"), out).expect("write embedded_patterns.rs");
}
