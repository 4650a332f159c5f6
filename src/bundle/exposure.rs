//! The client-exposure policy (docs/client-side.md): which files ship to
//! browsers and devices, where a server-only secret is an emergency and a
//! publishable key is expected.

/// Scripts that can carry a `sourceMappingURL`.
pub(super) fn is_script(path: &str) -> bool {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    [".js", ".mjs", ".cjs", ".jsx", ".css"]
        .iter()
        .any(|ext| name.ends_with(ext))
        || path.starts_with("http://")
        || path.starts_with("https://")
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
const CLIENT_ARCHIVES: &[&str] = &[".apk!", ".aar!", ".ipa!", ".xpi!", ".crx!"];

/// A line this long in a script's head means minified bundle output.
const MINIFIED_LINE: usize = 1000;

/// True if `path` is client-side (docs/client-side.md): anything under
/// `public/`, `www/`, `static/` or `.next/static/`, web assets under `dist/`
/// or `build/`, a source map, an entry of a mobile app or browser extension,
/// or a minified script.
pub fn is_client_side(path: &str, data: &[u8]) -> bool {
    let segments: Vec<&str> = path.split(['/', '!']).collect();
    let dirs = &segments[..segments.len().saturating_sub(1)];
    let name = segments.last().copied().unwrap_or(path);
    let web_asset = WEB_ASSETS.iter().any(|ext| name.ends_with(ext));
    if dirs.iter().any(|d| SERVED_DIRS.contains(d))
        || (web_asset && dirs.iter().any(|d| BUILD_DIRS.contains(d)))
        || path.contains(".next/static/")
    {
        return true;
    }
    if CLIENT_ARCHIVES.iter().any(|a| path.contains(a)) || path.ends_with(".map") {
        return true;
    }
    if !is_script(path) {
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

    #[test]
    fn client_side_paths() {
        assert!(is_client_side("dist/app.js", b"x"));
        assert!(is_client_side("public/.env", b"x"));
        assert!(!is_client_side(
            "build/resources/main/application.properties",
            b"x"
        ));
        assert!(is_client_side("web/.next/static/chunks/a.js", b"x"));
        assert!(is_client_side("app.apk!assets/index.js", b"x"));
        assert!(is_client_side("src/vendor.min.js", b"x"));
        assert!(is_client_side("src/a.js", &[b'a'; 2000]));
        assert!(!is_client_side("src/a.js", b"const a = 1;\n"));
        assert!(!is_client_side("server/config.py", &[b'a'; 2000]));
        assert!(!is_client_side("dist", b"x"));
    }
}
