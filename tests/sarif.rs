//! SARIF output checked against the official SARIF 2.1.0 JSON schema (as
//! shipped in the `serde-sarif` crate, which cargo fetches as a
//! dev-dependency) and against GitHub code scanning's extra requirements.

mod common;

use common::*;
use std::path::PathBuf;

/// The SARIF 2.1.0 schema file inside the serde-sarif package, located with `cargo metadata`.
fn sarif_schema_path() -> PathBuf {
    let output = std::process::Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--offline",
            "--filter-platform",
            env!("LEAKSTOP_BUILD_TARGET"),
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("metadata json");
    let manifest = metadata["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif package (dev-dependency)");
    PathBuf::from(manifest)
        .parent()
        .expect("package dir")
        .join("src/schema.json")
}

fn sarif_report() -> serde_json::Value {
    let tree = Tree::new();
    tree.write(
        "src/config.js",
        format!("const token = '{GITHUB_PAT}';\nconst other = '{GITHUB_OAUTH}';\n"),
    )
    .write("dir with space/é.env", format!("T={GITHUB_PAT}\n"));
    let out = tree.leakstop(&["scan", "--format", "sarif", "."]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    serde_json::from_str(&out.stdout).expect("sarif is json")
}

#[test]
fn sarif_validates_against_the_2_1_0_schema() {
    let schema_path = sarif_schema_path();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&schema_path).expect("schema file"))
            .expect("schema json");
    assert_eq!(
        schema["title"],
        "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    );
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler
        .add_resource("sarif-schema.json", schema)
        .expect("add schema");
    let index = compiler
        .compile("sarif-schema.json", &mut schemas)
        .expect("compile schema");

    let report = sarif_report();
    if let Err(error) = schemas.validate(&report, index) {
        panic!("SARIF does not validate: {error:#}");
    }
    // The validator does reject a broken document (so this check can fail).
    let mut broken = report.clone();
    broken["runs"][0]["results"][0]["level"] = serde_json::json!("fatal");
    assert!(schemas.validate(&broken, index).is_err());

    // And it deserialises into serde-sarif's typed model.
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(report).expect("typed SARIF");
    assert_eq!(typed.runs.len(), 1);
}

#[test]
fn sarif_meets_github_code_scanning_requirements() {
    let report = sarif_report();
    let run = &report["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        vec!["github.pat-classic", "github.oauth"],
        "each rule exactly once"
    );
    for rule in rules {
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(!rule[field]["text"].as_str().unwrap().is_empty(), "{field}");
        }
        assert!(rule["properties"]["security-severity"].as_str().is_some());
    }
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3);
    for result in results {
        let region = &result["locations"][0]["physicalLocation"]["region"];
        for field in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(region[field].as_u64().unwrap() >= 1, "{field}");
        }
        assert!(result["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .is_some());
        assert!(!result.to_string().contains(GITHUB_PAT));
        let index = result["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], result["ruleId"]);
    }
    let uris: Vec<&str> = results
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(uris.contains(&"dir%20with%20space/%C3%A9.env"), "{uris:?}");
    // Same secret in two files: two distinct alerts.
    let hashes: std::collections::HashSet<&str> = results
        .iter()
        .map(|r| {
            r["partialFingerprints"]["primaryLocationLineHash"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(hashes.len(), 3);
}
