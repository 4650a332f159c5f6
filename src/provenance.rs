//! Where a blob came from, as a type. Reports render it as one display path
//! (`dist/app.js`, `app.apk!assets/index.js`, `https://…/main.js`,
//! `unreachable/<blob id>`); the pipeline decides on the variants, so a file
//! whose name contains `!` or starts like a URL is still just a file.

use std::borrow::Cow;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Provenance {
    /// A file, relative to the scan root with `/` separators (also a path in
    /// a git tree or the index).
    File(String),
    /// A page, script or map fetched over HTTP(S) (`scan url`).
    Url(String),
    /// A file inside an archive, which itself came from somewhere (archives
    /// nest).
    ArchiveEntry {
        archive: Box<Provenance>,
        /// The entry's name inside the archive, as the archive stores it.
        entry: String,
    },
    /// A file in a tree that a tag points at directly, not through a
    /// commit (`tag:path`).
    TaggedTree { tag: String, path: String },
    /// A blob that a tag points at directly (the tag's name).
    TaggedBlob { tag: String },
    /// A blob in the object database that no commit reaches
    /// (`scan --git --all-objects`).
    Unreachable { blob: String },
}

impl Provenance {
    /// An entry of the archive at `self`.
    pub fn entry(&self, name: impl Into<String>) -> Provenance {
        Provenance::ArchiveEntry {
            archive: Box::new(self.clone()),
            entry: name.into(),
        }
    }

    /// The last path segment: the file's own name (for an archive entry,
    /// the entry's; for a URL, the last segment of its path).
    pub fn file_name(&self) -> &str {
        let path = match self {
            Provenance::File(path) | Provenance::Url(path) => path.as_str(),
            Provenance::ArchiveEntry { entry, .. } => entry.as_str(),
            Provenance::TaggedTree { path, .. } => path.as_str(),
            Provenance::TaggedBlob { tag } => tag.as_str(),
            Provenance::Unreachable { blob } => blob.as_str(),
        };
        path.rsplit('/').next().unwrap_or(path)
    }

    /// Every directory and file name from the outermost container inwards
    /// (`app.apk!assets/index.js` gives `app.apk`, `assets`, `index.js`).
    pub fn segments(&self) -> Vec<&str> {
        match self {
            Provenance::File(path) | Provenance::TaggedTree { path, .. } => {
                path.split('/').collect()
            }
            Provenance::ArchiveEntry { archive, entry } => {
                let mut segments = archive.segments();
                segments.extend(entry.split('/'));
                segments
            }
            Provenance::Url(_) | Provenance::TaggedBlob { .. } | Provenance::Unreachable { .. } => {
                vec![self.file_name()]
            }
        }
    }

    /// The outermost origin: the file or URL an archive entry came from.
    pub fn outermost(&self) -> &Provenance {
        match self {
            Provenance::ArchiveEntry { archive, .. } => archive.outermost(),
            other => other,
        }
    }

    /// True for an entry of an archive, at any depth.
    pub fn in_archive(&self) -> bool {
        matches!(self, Provenance::ArchiveEntry { .. })
    }

    /// True if the outermost origin was fetched over HTTP(S).
    pub fn is_url(&self) -> bool {
        matches!(self.outermost(), Provenance::Url(_))
    }

    /// The display path without allocating where it is stored as is.
    pub fn display_path(&self) -> Cow<'_, str> {
        match self {
            Provenance::File(path) | Provenance::Url(path) => Cow::Borrowed(path),
            Provenance::TaggedBlob { tag } => Cow::Borrowed(tag),
            other => Cow::Owned(other.to_string()),
        }
    }

    /// The archives this entry is inside, innermost first, by their own name.
    pub fn archive_names(&self) -> Vec<&str> {
        let mut names = Vec::new();
        let mut current = self;
        while let Provenance::ArchiveEntry { archive, .. } = current {
            names.push(archive.file_name());
            current = archive;
        }
        names
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Provenance::File(path) | Provenance::Url(path) => f.write_str(path),
            Provenance::ArchiveEntry { archive, entry } => write!(f, "{archive}!{entry}"),
            Provenance::TaggedTree { tag, path } => write!(f, "{tag}:{path}"),
            Provenance::TaggedBlob { tag } => f.write_str(tag),
            Provenance::Unreachable { blob } => write!(f, "unreachable/{blob}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_as_reports_always_did() {
        let apk = Provenance::File("out/app.apk".into());
        let nested = apk.entry("lib/core.jar").entry("a/B.class");
        assert_eq!(nested.to_string(), "out/app.apk!lib/core.jar!a/B.class");
        assert_eq!(nested.file_name(), "B.class");
        assert_eq!(
            nested.segments(),
            ["out", "app.apk", "lib", "core.jar", "a", "B.class"]
        );
        assert_eq!(nested.archive_names(), ["core.jar", "app.apk"]);
        assert_eq!(nested.outermost(), &apk);
        let blob = Provenance::Unreachable {
            blob: "ab12".into(),
        };
        assert_eq!(blob.to_string(), "unreachable/ab12");
        let url = Provenance::Url("https://example.test/static/main.js".into());
        assert_eq!(url.file_name(), "main.js");
        assert!(url.entry("x.js").is_url());
        let tagged = Provenance::TaggedTree {
            tag: "v1.0".into(),
            path: "config/keys.yml".into(),
        };
        assert_eq!(tagged.display_path(), "v1.0:config/keys.yml");
        assert_eq!(tagged.file_name(), "keys.yml");
    }

    #[test]
    fn a_file_name_with_separators_stays_a_file() {
        let odd = Provenance::File("notes/a!b.js".into());
        assert!(!odd.in_archive());
        assert_eq!(odd.file_name(), "a!b.js");
        assert_eq!(odd.segments(), ["notes", "a!b.js"]);
    }
}
