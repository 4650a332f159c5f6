//! Archives: nested two deep, npm tarballs, gz, app packages, a zip bomb,
//! `../` entries, nesting past the limit, corrupt archives.

mod common;

use common::*;
use serde_json::Value;
use std::io::Write;

/// A fake Stripe restricted key (scripts/fake_token.py).
const STRIPE_RK: &str = "rk_live_9CeKZCcPqgLHisNUvxKaBpimypUBIVPnkL6s";

fn tar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, name, *data)
            .expect("tar entry");
    }
    builder.into_inner().expect("tar finish")
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(data).expect("gzip");
    encoder.finish().expect("gzip finish")
}

/// `(path, message)` of the refused entries: errors of kind `archive_refused`
/// (what was not scanned makes the scan incomplete).
fn refusals(report: &Value) -> Vec<(String, String)> {
    report["stats"]["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .filter(|e| e["kind"] == "archive_refused")
        .map(|w| {
            (
                w["path"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn nested_archives_tarballs_and_gz_report_inner_paths() {
    let tree = Tree::new();
    let properties = format!("# app\ngithub.token={GITHUB_PAT}\n");
    let jar = zip(&[("config/app.properties", properties.as_bytes())]);
    tree.write(
        "release.zip",
        zip(&[("lib/app.jar", &jar), ("README", b"hello\n")]),
    );
    let index = format!("module.exports={{t:\"{GITHUB_OAUTH}\"}};\n");
    tree.write(
        "pkg-1.0.0.tgz",
        gzip(&tar(&[("package/dist/index.js", index.as_bytes())])),
    );
    tree.write(
        "notes.txt.gz",
        gzip(format!("\n\nkey {GITHUB_PAT_2}\n").as_bytes()),
    );
    tree.write(
        "app.apk",
        zip(&[(
            "assets/www/main.js",
            format!("var k=\"{STRIPE_RK}\";").as_bytes(),
        )]),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![
            loc("stripe.restricted-key", "app.apk!assets/www/main.js", 1, 8),
            loc("github.pat-classic", "notes.txt.gz!notes.txt", 3, 5),
            loc("github.oauth", "pkg-1.0.0.tgz!package/dist/index.js", 1, 20),
            loc(
                "github.pat-classic",
                "release.zip!lib/app.jar!config/app.properties",
                2,
                14
            ),
        ]
    );
    let exposed: Vec<bool> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["client_exposed"].as_bool().unwrap())
        .collect();
    assert_eq!(exposed, vec![true, false, true, false]);
    assert_eq!(report["findings"][0]["severity"], "critical");
    // Entries are what was scanned: 5 files inside 4 archives.
    assert_eq!(report["stats"]["files_scanned"], 5);

    let (out, plain) = tree.scan_json(&["--no-archives"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(plain["stats"]["skipped"]["binary"], 4);
    // The same from the config.
    tree.write(".leakstop.toml", "[scan]\narchives = false\n");
    let (out, configured) = tree.scan_json(&[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(configured["stats"]["skipped"]["binary"], 4);
}

#[test]
fn zip_bomb_and_escaping_names_are_refused_as_errors_and_the_rest_is_scanned() {
    let tree = Tree::new();
    let zeros = vec![0u8; 30 << 20];
    let good = format!("token={GITHUB_PAT}\n");
    let evil = format!("token={GITHUB_PAT_2}\n");
    tree.write(
        "bomb.zip",
        zip(&[("zeros.bin", &zeros), ("ok.txt", good.as_bytes())]),
    );
    tree.write(
        "evil.zip",
        zip(&[
            ("../../etc/cron.d/job", evil.as_bytes()),
            ("/abs.txt", evil.as_bytes()),
        ]),
    );
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "bomb.zip!ok.txt", 1, 7)]
    );
    let warnings = refusals(&report);
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert_eq!(warnings[0].0, "bomb.zip!zeros.bin");
    assert!(warnings[0].1.contains("compression ratio"), "{warnings:?}");
    assert_eq!(warnings[1].0, "evil.zip!../../etc/cron.d/job");
    assert!(warnings[1].1.contains("escapes the archive"));
    assert_eq!(warnings[2].0, "evil.zip!/abs.txt");
    assert!(
        out.stderr.contains("  bomb.zip!zeros.bin: refused"),
        "{}",
        out.stderr
    );
}

#[test]
fn nesting_past_the_limit_is_refused_and_corrupt_archives_make_the_scan_incomplete() {
    let tree = Tree::new();
    let secret = format!("t={GITHUB_PAT}\n");
    let mut inner = zip(&[("deep.txt", secret.as_bytes())]);
    for level in (1..=3).rev() {
        inner = zip(&[(&format!("level{level}.zip"), &inner)]);
    }
    tree.write("outer.zip", &inner);
    tree.write("broken.jar", b"PK\x03\x04 this is not really a zip file");
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 3, "{}", out.stderr);
    assert_eq!(
        refusals(&report),
        vec![(
            "outer.zip!level1.zip!level2.zip!level3.zip".to_string(),
            "refused: archive nested more than 3 deep".to_string()
        )]
    );
    let errors = report["stats"]["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["path"], "broken.jar");
    assert_eq!(errors[0]["kind"], "corrupt");
    assert!(out.stderr.contains("INCOMPLETE"));
}

#[test]
fn entries_over_the_size_limit_are_refused_and_counted() {
    let tree = Tree::new();
    let big = format!("{}\nt={GITHUB_PAT}\n", "# padding line\n".repeat(400));
    let small = format!("t={GITHUB_PAT_2}\n");
    tree.write(
        "app.zip",
        zip(&[("big.txt", big.as_bytes()), ("small.txt", small.as_bytes())]),
    );
    let (out, report) = tree.scan_json(&["--max-file-size", "4K"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "app.zip!small.txt", 1, 3)]
    );
    assert_eq!(
        refusals(&report),
        vec![(
            "app.zip!big.txt".to_string(),
            "refused: 5.9 KiB uncompressed, over the 4.0 KiB size limit".to_string()
        )]
    );
    assert_eq!(report["stats"]["skipped"]["too_large"], 1);
}

/// A zip whose `count` central-directory entries (`e00`, `e01`, …) all
/// point at one local entry holding `data`: a small file that expands to
/// `count` × `data` (the "overlapping entries" bomb).
fn overlapping_zip(data: &[u8], count: usize) -> Vec<u8> {
    let single = zip(&[("e00", data)]);
    let eocd = single.len() - 22;
    assert_eq!(&single[eocd..eocd + 4], b"PK\x05\x06");
    let u32_at = |at: usize| u32::from_le_bytes(single[at..at + 4].try_into().unwrap()) as usize;
    let (cd_size, cd_offset) = (u32_at(eocd + 12), u32_at(eocd + 16));
    let entry = &single[cd_offset..cd_offset + cd_size];
    let mut out = single[..cd_offset].to_vec();
    for i in 0..count {
        let mut copy = entry.to_vec();
        let name = format!("e{i:02}");
        copy[46..49].copy_from_slice(name.as_bytes());
        out.extend_from_slice(&copy);
    }
    let mut end = single[eocd..].to_vec();
    end[8..10].copy_from_slice(&(count as u16).to_le_bytes());
    end[10..12].copy_from_slice(&(count as u16).to_le_bytes());
    end[12..16].copy_from_slice(&((cd_size * count) as u32).to_le_bytes());
    out.extend_from_slice(&end);
    out
}

/// Issue 14 item 8: 40 entries sharing one compressed stream each pass the
/// per-entry ratio check; the archive's total expansion is budgeted (100×
/// its size, at least 8 MiB) instead, and going past it is an error.
#[test]
fn overlapping_entries_are_budgeted_per_archive() {
    let tree = Tree::new();
    // Just under the 1 MiB below which entries are not ratio-checked.
    let text = format!("{}t={GITHUB_PAT}\n", " ".repeat((1 << 20) - 100));
    let archive = overlapping_zip(text.as_bytes(), 40);
    assert!(archive.len() < 10_000, "{}", archive.len());
    tree.write("overlap.zip", &archive);
    let (out, report) = tree.scan_json(&[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let scanned = report["findings"].as_array().unwrap().len();
    assert!((1..=8).contains(&scanned), "{scanned} entries scanned");
    let refused = refusals(&report);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(
        refused[0].1.contains("the archive expands past 8.0 MiB"),
        "{refused:?}"
    );
}

/// Issue 14 item 8: a .tgz is streamed entry by entry (it was inflated
/// whole, up to 1 GiB per worker, and refused whole past 100× its size):
/// entries before the budget runs out are scanned, and the rest refused.
#[test]
fn tarballs_are_streamed_and_budgeted() {
    let tree = Tree::new();
    let first = format!("t={GITHUB_PAT}\n");
    let filler = vec![b'\n'; 12 << 20];
    let last = format!("t={GITHUB_PAT_2}\n");
    tree.write(
        "pkg.tgz",
        gzip(&tar(&[
            ("package/a.js", first.as_bytes()),
            ("package/filler.txt", &filler),
            ("package/z.js", last.as_bytes()),
        ])),
    );
    let (out, report) = tree.scan_json(&["--max-file-size", "20M"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        locations(&report),
        vec![loc("github.pat-classic", "pkg.tgz!package/a.js", 1, 3)]
    );
    let refused = refusals(&report);
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert!(refused[0].0.starts_with("pkg.tgz"), "{refused:?}");
}
