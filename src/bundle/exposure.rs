//! The client-exposure policy (docs/client-side.md): which files ship to
//! browsers and devices, where a server-only secret is an emergency and a
//! publishable key is expected.

use crate::provenance::Provenance;

/// Scripts that can carry a `sourceMappingURL`: by their name, or anything
/// fetched over HTTP(S) (a served script need not end in `.js`).
pub(super) fn is_script(origin: &Provenance) -> bool {
    let name = origin.file_name();
    [".js", ".mjs", ".cjs", ".jsx", ".css"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || matches!(origin, Provenance::Url(_))
}

/// Directories a web server serves as they are: everything in them is public.
const SERVED_DIRS: &[&str] = &["public", "www", "static"];

/// Build output directories: their web assets ship to browsers (a Java or
/// Python `build/` also holds server code, which does not).
const BUILD_DIRS: &[&str] = &["dist", "build"];

/// What a browser loads from a build directory.
const WEB_ASSETS: &[&str] = &[
    ".js",
    ".mjs",
    ".cjs",
    ".jsx",
    ".css",
    ".html",
    ".htm",
    ".map",
    ".json",
    ".webmanifest",
];

/// Archives whose content ships to devices.
const CLIENT_ARCHIVES: &[&str] = &[".apk", ".aar", ".ipa", ".xpi", ".crx"];

/// A line this long in a script's head means minified bundle output.
const MINIFIED_LINE: usize = 1000;

/// True if `path` is client-side (docs/client-side.md): anything under
/// `public/`, `www/`, `static/` or `.next/static/`, web assets under `dist/`
/// or `build/`, a source map, an entry of a mobile app or browser extension,
/// or a minified script.
pub fn is_client_side(origin: &Provenance, data: &[u8]) -> bool {
    let segments = origin.segments();
    let dirs = &segments[..segments.len().saturating_sub(1)];
    let name = origin.file_name();
    let web_asset = WEB_ASSETS.iter().any(|ext| name.ends_with(ext));
    if dirs.iter().any(|d| SERVED_DIRS.contains(d))
        || (web_asset && dirs.iter().any(|d| BUILD_DIRS.contains(d)))
        || dirs.windows(2).any(|pair| pair == [".next", "static"])
    {
        return true;
    }
    let in_client_archive = origin
        .archive_names()
        .iter()
        .any(|archive| CLIENT_ARCHIVES.iter().any(|ext| archive.ends_with(ext)));
    if in_client_archive || name.ends_with(".map") {
        return true;
    }
    if !is_script(origin) {
        return false;
    }
    if [".min.", ".bundle.", ".chunk."]
        .iter()
        .any(|m| name.contains(m))
    {
        return true;
    }
    let head = &data[..data.len().min(64 << 10)];
    let mut start = 0;
    for newline in memchr::memchr_iter(b'\n', head).chain(std::iter::once(head.len())) {
        if newline - start >= MINIFIED_LINE {
            return true;
        }
        start = newline + 1;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> Provenance {
        Provenance::File(path.to_string())
    }

    #[test]
    fn client_side_paths() {
        assert!(is_client_side(&file("dist/app.js"), b"x"));
        assert!(is_client_side(&file("public/.env"), b"x"));
        assert!(!is_client_side(
            &file("build/resources/main/application.properties"),
            b"x"
        ));
        assert!(is_client_side(&file("web/.next/static/chunks/a.js"), b"x"));
        assert!(is_client_side(
            &file("app.apk").entry("assets/index.js"),
            b"x"
        ));
        assert!(is_client_side(&file("src/vendor.min.js"), b"x"));
        assert!(is_client_side(&file("src/a.js"), &[b'a'; 2000]));
        assert!(!is_client_side(&file("src/a.js"), b"const a = 1;\n"));
        assert!(!is_client_side(&file("server/config.py"), &[b'a'; 2000]));
        assert!(!is_client_side(&file("dist"), b"x"));
    }

    #[test]
    fn names_that_look_like_archive_entries_are_files() {
        // A file literally named `app.apk!x.txt` is not inside an app.
        assert!(!is_client_side(&file("notes/app.apk!x.txt"), b"x"));
        assert!(is_script(&Provenance::Url(
            "https://example.test/app".into()
        )));
        assert!(!is_script(&file("https:/x")));
    }
}
