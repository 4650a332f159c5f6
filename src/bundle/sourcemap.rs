//! Source maps: the original sources a bundler embeds in `sourcesContent`
//! (scanned as files of their own, reported at their place in the map), the
//! `sourceMappingURL` a bundle points to, and bundle → original position
//! lookups through the mappings (the `sourcemap` crate, only for bundles
//! that have findings: decoding mappings costs more than scanning).

use super::decode::{
    decode_base64_into, decode_escapes_into, decode_percent_into, Decoded, Encoding,
};
use crate::finding::OriginalLocation;
use std::ops::Range;

/// Problems reading a source map.
#[derive(Debug, thiserror::Error)]
pub enum MapError {
    #[error("not a JSON source map: {0} at byte {1}")]
    Syntax(&'static str, usize),
    #[error("invalid source map: {0}")]
    Invalid(#[from] sourcemap::Error),
    #[error("unsupported source map: {0}")]
    Unsupported(&'static str),
}

/// The parts of a source map that are scanned: source names and where each
/// `sourcesContent` string is in the map's bytes (between its quotes).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MapSources {
    pub source_root: Option<String>,
    pub sources: Vec<Option<String>>,
    pub contents: Vec<Option<Range<usize>>>,
}

impl MapSources {
    /// The display name of source `index`: `sourceRoot` + source, or a
    /// placeholder when the map does not name it.
    pub fn name(&self, index: usize) -> String {
        let source = self
            .sources
            .get(index)
            .cloned()
            .flatten()
            .unwrap_or_else(|| format!("<source {index}>"));
        match &self.source_root {
            Some(root) if !root.is_empty() && !source.contains("://") => {
                format!("{}/{}", root.trim_end_matches('/'), source)
            }
            _ => source,
        }
    }
}

/// One embedded original source: its text, and for each of its bytes the
/// offset in the map it came from (JSON escapes decoded).
pub fn source_content(map: &[u8], range: Range<usize>) -> Decoded {
    let mut content = Decoded::new(Encoding::JsEscape);
    decode_escapes_into(map, range.clone(), &mut content);
    match content.finish(range.end) {
        Some(content) => content,
        None => Decoded::new(Encoding::JsEscape),
    }
}

/// True for a file that is a source map by name and shape.
pub fn is_source_map(file_name: &str, data: &[u8]) -> bool {
    file_name.ends_with(".map") && json_start(data).is_some()
}

/// Where the JSON object starts, after whitespace and an XSSI guard (`)]}'`).
fn json_start(data: &[u8]) -> Option<usize> {
    let mut at = skip_ws(data, 0);
    if data[at..].starts_with(b")]}'") {
        at = skip_ws(data, at + 4);
    }
    (data.get(at) == Some(&b'{')).then_some(at)
}

/// Reads `sources`, `sourceRoot` and the positions of `sourcesContent` from
/// a map's top-level object, in one linear pass without building a tree.
pub fn parse_sources(map: &[u8]) -> Result<MapSources, MapError> {
    let mut at = json_start(map).ok_or(MapError::Syntax("expected `{`", 0))? + 1;
    let mut out = MapSources::default();
    loop {
        at = skip_ws(map, at);
        match map.get(at) {
            Some(b'}') => break,
            Some(b',') => {
                at += 1;
                continue;
            }
            Some(b'"') => {}
            _ => return Err(MapError::Syntax("expected a key", at)),
        }
        let key = string_end(map, at)?;
        let name = &map[at + 1..key - 1];
        at = skip_ws(map, key);
        if map.get(at) != Some(&b':') {
            return Err(MapError::Syntax("expected `:`", at));
        }
        at = skip_ws(map, at + 1);
        match name {
            b"sources" => {
                let (items, end) = string_array(map, at)?;
                out.sources = items.into_iter().map(|r| r.map(|r| text(map, r))).collect();
                at = end;
            }
            b"sourcesContent" => {
                let (items, end) = string_array(map, at)?;
                out.contents = items;
                at = end;
            }
            b"sourceRoot" if map.get(at) == Some(&b'"') => {
                let end = string_end(map, at)?;
                out.source_root = Some(text(map, at + 1..end - 1));
                at = end;
            }
            _ => at = skip_value(map, at)?,
        }
    }
    Ok(out)
}

fn text(map: &[u8], range: Range<usize>) -> String {
    let mut decoded = Decoded::new(Encoding::JsEscape);
    decode_escapes_into(map, range, &mut decoded);
    String::from_utf8_lossy(&decoded.bytes).into_owned()
}

fn skip_ws(data: &[u8], mut at: usize) -> usize {
    while data.get(at).is_some_and(|b| b.is_ascii_whitespace()) {
        at += 1;
    }
    at
}

/// The offset just past the JSON string starting at `at` (a `"`).
fn string_end(data: &[u8], at: usize) -> Result<usize, MapError> {
    // The next quote that an even run of backslashes (none, or escaped
    // backslashes) precedes: one search per escaped quote, not one per
    // escape (embedded sources have a `\n` on every line).
    let body = at + 1;
    let mut i = body;
    loop {
        let Some(found) = memchr::memchr(b'"', data.get(i..).unwrap_or_default()) else {
            return Err(MapError::Syntax("unterminated string", at));
        };
        let quote = i + found;
        let backslashes = data[body..quote]
            .iter()
            .rev()
            .take_while(|&&b| b == b'\\')
            .count();
        if backslashes % 2 == 0 {
            return Ok(quote + 1);
        }
        i = quote + 1;
    }
}

/// An array of strings and nulls: the content range of each string.
#[allow(clippy::type_complexity)]
fn string_array(data: &[u8], at: usize) -> Result<(Vec<Option<Range<usize>>>, usize), MapError> {
    if data.get(at) != Some(&b'[') {
        return Err(MapError::Syntax("expected an array", at));
    }
    let mut items = Vec::new();
    let mut i = at + 1;
    loop {
        i = skip_ws(data, i);
        match data.get(i) {
            Some(b']') => return Ok((items, i + 1)),
            Some(b',') => i += 1,
            Some(b'"') => {
                let end = string_end(data, i)?;
                items.push(Some(i + 1..end - 1));
                i = end;
            }
            Some(b'n') if data[i..].starts_with(b"null") => {
                items.push(None);
                i += 4;
            }
            _ => return Err(MapError::Syntax("expected a string or null", i)),
        }
    }
}

/// Skips any JSON value (nesting tracked by a counter, strings skipped whole).
fn skip_value(data: &[u8], at: usize) -> Result<usize, MapError> {
    let mut depth = 0usize;
    let mut i = at;
    while let Some(&b) = data.get(i) {
        match b {
            b'"' => {
                i = string_end(data, i)?;
                if depth == 0 {
                    return Ok(i);
                }
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                if depth == 0 {
                    return Ok(i);
                }
                depth -= 1;
                if depth == 0 {
                    return Ok(i + 1);
                }
            }
            b',' if depth == 0 => return Ok(i),
            _ => {}
        }
        i += 1;
    }
    Err(MapError::Syntax("unexpected end", i))
}

/// The `sourceMappingURL` a bundle declares (`//# sourceMappingURL=…` or
/// `/*# … */`, the last one wins as in browsers): the byte range of its value.
pub fn source_mapping_url(js: &[u8]) -> Option<Range<usize>> {
    // The comment ends the file: it is on one of the last two lines, either
    // at the start of its own line (an inline map makes that line long) or
    // at the end of a line of code. Only those places are searched, so a
    // 50 MB one-line bundle costs nothing here.
    let trimmed = js.trim_ascii_end().len();
    let last_start = memchr::memrchr(b'\n', &js[..trimmed]).map_or(0, |i| i + 1);
    let previous_start =
        memchr::memrchr(b'\n', &js[..last_start.saturating_sub(1)]).map_or(0, |i| i + 1);
    let lines = [
        last_start..trimmed,
        previous_start..last_start.saturating_sub(1),
    ];
    for line in lines.into_iter().filter(|l| l.start < l.end) {
        let head = line.start..(line.start + LINE_HEAD).min(line.end);
        let tail = line.end.saturating_sub(LINE_TAIL).max(line.start)..line.end;
        for window in [tail, head] {
            if let Some(found) = mapping_comment_in(js, window) {
                return Some(found);
            }
        }
    }
    None
}

/// How far into a line a `//# sourceMappingURL=` comment may start.
const LINE_HEAD: usize = 256;
/// How far from a line's end a comment after code may start.
const LINE_TAIL: usize = 4096;

/// The value of the last mapping comment starting in `window`.
fn mapping_comment_in(js: &[u8], window: Range<usize>) -> Option<Range<usize>> {
    const KEY: &[u8] = b"sourceMappingURL=";
    let mut search_end = window.end;
    while let Some(found) =
        memchr::memmem::rfind(&js[window.start..search_end], KEY).map(|i| i + window.start)
    {
        let marker = js[..found].trim_ascii_end();
        let is_comment = marker.ends_with(b"//#")
            || marker.ends_with(b"//@")
            || marker.ends_with(b"/*#")
            || marker.ends_with(b"/*@");
        if is_comment {
            let start = found + KEY.len();
            let len = js[start..]
                .iter()
                .position(|&b| b.is_ascii_whitespace() || b == b'*' || b == b'"' || b == b'\'')
                .unwrap_or(js.len() - start);
            return (len > 0).then_some(start..start + len);
        }
        search_end = found;
    }
    None
}

/// An inline `data:` source map's JSON, with offsets into the bundle.
pub fn inline_map(js: &[u8], url: Range<usize>) -> Option<Decoded> {
    let value = &js[url.clone()];
    if !value.starts_with(b"data:") {
        return None;
    }
    let comma = memchr::memchr(b',', value)?;
    let header = &value[..comma];
    let payload = url.start + comma + 1..url.end;
    if memchr::memmem::find(header, b";base64").is_some() {
        let mut map = Decoded::new(Encoding::DataUri);
        if !decode_base64_into(js, payload.clone(), &mut map) {
            return None;
        }
        return map.finish(payload.end);
    }
    // A percent-encoded JSON map.
    let mut map = Decoded::new(Encoding::DataUri);
    decode_percent_into(js, payload.clone(), &mut map);
    map.finish(payload.end)
}

/// A bundle's decoded mappings, for position lookups.
pub struct BundleMap {
    map: sourcemap::SourceMap,
}

impl BundleMap {
    pub fn parse(bytes: &[u8]) -> Result<Self, MapError> {
        let map = match sourcemap::decode_slice(bytes)? {
            sourcemap::DecodedMap::Regular(map) => map,
            sourcemap::DecodedMap::Index(index) => index
                .flatten()
                .map_err(|_| MapError::Unsupported("an index map that cannot be flattened"))?,
            sourcemap::DecodedMap::Hermes(_) => {
                return Err(MapError::Unsupported("a Hermes (React Native) map"))
            }
        };
        Ok(BundleMap { map })
    }

    /// The original position of generated 0-based `line` and UTF-16 `column`:
    /// the mapping at or before it on the same line, plus the distance from
    /// it (minifiers copy string literals, so a secret inside one keeps its
    /// offset from the literal's start).
    pub fn original(&self, line: u32, column: u32) -> Option<OriginalLocation> {
        let token = self.map.lookup_token(line, column)?;
        if token.get_dst_line() != line {
            return None;
        }
        let source = token.get_source()?;
        let delta = column.checked_sub(token.get_dst_col())?;
        Some(OriginalLocation {
            path: source.to_string(),
            line: token.get_src_line() as usize + 1,
            column: (token.get_src_col() + delta) as usize + 1,
        })
    }
}

/// 0-based UTF-16 column of byte `offset` within a line starting at `line_start`.
pub fn utf16_column(data: &[u8], line_start: usize, offset: usize) -> u32 {
    let text = String::from_utf8_lossy(&data[line_start..offset]);
    text.chars().map(char::len_utf16).sum::<usize>() as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_and_content_positions() {
        let map = br#"{"version":3,"file":"a.js","sourceRoot":"","sources":["src/a.ts",null],"names":[],"sourcesContent":["let k = \"x\";\n",null],"mappings":"AAAA"}"#;
        let parsed = parse_sources(map).unwrap();
        assert_eq!(parsed.sources, vec![Some("src/a.ts".into()), None]);
        assert_eq!(parsed.contents.len(), 2);
        let range = parsed.contents[0].clone().unwrap();
        let content = source_content(map, range.clone());
        assert_eq!(&content.bytes[..], b"let k = \"x\";\n");
        assert_eq!(content.origin(0), range.start);
        assert_eq!(parsed.name(1), "<source 1>");
    }

    #[test]
    fn nested_values_are_skipped() {
        let map = br#"{"x_google_ignoreList":[0],"extra":{"a":["]"]},"sources":["s.js"],"sourcesContent":["ok"]}"#;
        let parsed = parse_sources(map).unwrap();
        assert_eq!(parsed.sources, vec![Some("s.js".into())]);
        assert_eq!(parsed.contents.len(), 1);
        assert!(parse_sources(b"{\"sources\":[1]}").is_err());
        assert!(parse_sources(b"{\"sourcesContent\":[\"abc").is_err());
    }

    #[test]
    fn truncated_maps_and_comments_are_errors_not_panics() {
        let map = br#"{"version":3,"sourceRoot":"r","sources":["a\u0041.js",null],"x":{"y":[1,"]"]},"sourcesContent":["s\"\\n",null],"mappings":"AAAA"}"#;
        for end in 0..map.len() {
            let _ = parse_sources(&map[..end]);
        }
        assert!(parse_sources(map).is_ok());
        let js = b"x;\n//# sourceMappingURL=data:application/json;base64,eyJhIjoxfQ==\n";
        for end in 0..=js.len() {
            if let Some(url) = source_mapping_url(&js[..end]) {
                let _ = inline_map(&js[..end], url);
            }
        }
    }

    #[test]
    fn finds_the_last_mapping_url_comment() {
        let js = b"var a='sourceMappingURL=x';\n//# sourceMappingURL=app.js.map\n";
        let range = source_mapping_url(js).unwrap();
        assert_eq!(&js[range], b"app.js.map");
        assert!(source_mapping_url(b"var a='sourceMappingURL=x';").is_none());
        // Appended to a long line of code, or after a long line.
        let mut long = vec![b'a'; 100_000];
        long.extend_from_slice(b";//# sourceMappingURL=long.js.map");
        let range = source_mapping_url(&long).unwrap();
        assert_eq!(&long[range], b"long.js.map");
        let mut after = vec![b'a'; 100_000];
        after.extend_from_slice(b"\n/*# sourceMappingURL=style.css.map */\n\n");
        let range = source_mapping_url(&after).unwrap();
        assert_eq!(&after[range], b"style.css.map");
    }

    #[test]
    fn inline_base64_maps_decode_with_offsets() {
        // {"a":1} in base64.
        let js = b"x;\n//# sourceMappingURL=data:application/json;base64,eyJhIjoxfQ==\n";
        let url = source_mapping_url(js).unwrap();
        let map = inline_map(js, url.clone()).unwrap();
        assert_eq!(&map.bytes[..], b"{\"a\":1}");
        assert!(map.origin(0) >= url.start);
    }

    /// The end of a string the slow way: escape by escape.
    fn string_end_by_escapes(data: &[u8], at: usize) -> Option<usize> {
        let mut i = at + 1;
        loop {
            match data.get(i)? {
                b'\\' => i += 2,
                b'"' => return Some(i + 1),
                _ => i += 1,
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn a_string_ends_at_its_first_unescaped_quote(
            body in proptest::collection::vec(
                proptest::sample::select(b"ab\\\"n ".to_vec()),
                0..40,
            ),
        ) {
            let mut data = b"\"".to_vec();
            data.extend(&body);
            proptest::prop_assert_eq!(string_end(&data, 0).ok(), string_end_by_escapes(&data, 0));
        }
    }
}
