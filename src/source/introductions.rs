//! What a history scan remembers between walking the commits and reading
//! the blobs, kept compact so that private memory follows the number of
//! distinct blobs (tens of bytes each), not the number of (commit, path)
//! introductions, which on a large history with many merged branches is
//! many times larger: the first introduction of each blob with its path
//! interned, how many places introduced it, and each commit's id, author
//! (interned) and date as numbers rather than strings.

use super::odb::Introduced;
use crate::finding::CommitInfo;
use gix::ObjectId;
use std::collections::HashMap;
use std::sync::Arc;

/// Strings stored once each, named by a number.
#[derive(Default)]
pub struct Interner {
    ids: HashMap<Arc<str>, u32>,
    strings: Vec<Arc<str>>,
}

impl Interner {
    pub fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = u32::try_from(self.strings.len()).unwrap_or(u32::MAX);
        let text: Arc<str> = Arc::from(text);
        self.strings.push(Arc::clone(&text));
        self.ids.insert(text, id);
        id
    }

    pub fn get(&self, id: u32) -> &str {
        self.strings.get(id as usize).map_or("", |s| s)
    }
}

/// Marks "no commit" in [`First::commit`].
const NO_COMMIT: u32 = u32::MAX;

/// The first (commit, path) that introduced a blob.
pub struct First {
    pub blob: ObjectId,
    /// The file's blob before that commit, if it had one.
    pub old_blob: Option<ObjectId>,
    commit: u32,
    path: u32,
    /// How many (commit, path) places introduced this blob in all.
    places: u32,
}

/// Each distinct blob's first introduction, in the order blobs were first
/// introduced (the history's order), and how many places introduced it.
#[derive(Default)]
pub struct Introductions {
    index: HashMap<ObjectId, u32>,
    firsts: Vec<First>,
    paths: Interner,
}

impl Introductions {
    /// Records one introduction; only the first of a blob keeps its place.
    pub fn add(&mut self, item: Introduced) {
        if let Some(&at) = self.index.get(&item.new_blob) {
            let first = &mut self.firsts[at as usize];
            first.places = first.places.saturating_add(1);
            return;
        }
        let at = u32::try_from(self.firsts.len()).unwrap_or(u32::MAX);
        self.index.insert(item.new_blob, at);
        self.firsts.push(First {
            blob: item.new_blob,
            old_blob: item.old_blob,
            commit: item
                .commit
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(NO_COMMIT),
            path: self.paths.intern(&item.provenance.display_path()),
            places: 1,
        });
    }

    pub fn contains(&self, blob: &ObjectId) -> bool {
        self.index.contains_key(blob)
    }

    pub fn firsts(&self) -> &[First] {
        &self.firsts
    }

    pub fn path(&self, first: &First) -> &str {
        self.paths.get(first.path)
    }

    /// Index into the scanned commits, if a commit introduced the blob.
    pub fn commit(&self, first: &First) -> Option<usize> {
        (first.commit != NO_COMMIT).then_some(first.commit as usize)
    }

    /// How many other places introduced the same blob.
    pub fn also_in(&self, first: &First) -> usize {
        first.places.saturating_sub(1) as usize
    }
}

/// One scanned commit, as numbers: its author is interned in [`Commits`].
struct Commit {
    id: ObjectId,
    author: Option<u32>,
    /// Seconds since the epoch and the UTC offset in seconds.
    date: Option<(i64, i32)>,
}

/// The scanned commits in history order; [`CommitInfo`] strings are built
/// only for the blobs being scanned.
#[derive(Default)]
pub struct Commits {
    commits: Vec<Commit>,
    authors: Interner,
}

impl Commits {
    pub fn push(&mut self, id: ObjectId, author: Option<&str>, date: Option<(i64, i32)>) {
        let author = author.map(|a| self.authors.intern(a));
        self.commits.push(Commit { id, author, date });
    }

    pub fn len(&self) -> usize {
        self.commits.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commits.is_empty()
    }

    /// The commit as a finding reports it (an unreadable commit has only its id).
    pub fn info(&self, index: usize) -> Option<CommitInfo> {
        let commit = self.commits.get(index)?;
        Some(CommitInfo {
            id: commit.id.to_string(),
            author: commit
                .author
                .map_or_else(String::new, |a| self.authors.get(a).to_string()),
            date: commit
                .date
                .map_or_else(String::new, |(seconds, offset)| iso8601(seconds, offset)),
        })
    }
}

/// `2024-05-01T12:30:00+02:00`, as `git log --format=%aI` prints it.
fn iso8601(seconds: i64, offset: i32) -> String {
    let local = seconds + offset as i64;
    let days = local.div_euclid(86_400);
    let second_of_day = local.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    let sign = if offset < 0 { '-' } else { '+' };
    let offset_minutes = offset.unsigned_abs() / 60;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}{sign}{:02}:{:02}",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        offset_minutes / 60,
        offset_minutes % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_print_like_git_iso_strict() {
        assert_eq!(iso8601(0, 0), "1970-01-01T00:00:00+00:00");
        assert_eq!(iso8601(1_714_559_400, 7200), "2024-05-01T12:30:00+02:00");
        assert_eq!(iso8601(951_782_400, -19_800), "2000-02-28T18:30:00-05:30");
        assert_eq!(iso8601(951_782_400, 0), "2000-02-29T00:00:00+00:00");
        assert_eq!(iso8601(-86_400, 0), "1969-12-31T00:00:00+00:00");
    }

    #[test]
    fn only_the_first_introduction_keeps_its_place_and_all_are_counted() {
        let id = |n: u8| ObjectId::from_bytes_or_panic(&[n; 20]);
        let mut table = Introductions::default();
        let intro = |commit, path: &str, blob| Introduced {
            commit,
            provenance: crate::provenance::Provenance::File(path.to_string()),
            old_blob: None,
            new_blob: blob,
        };
        table.add(intro(Some(0), "a.txt", id(1)));
        table.add(intro(Some(1), "b.txt", id(2)));
        table.add(intro(Some(2), "c/a.txt", id(1)));
        table.add(intro(None, "tag:a.txt", id(1)));
        let firsts = table.firsts();
        assert_eq!(firsts.len(), 2);
        assert_eq!(table.path(&firsts[0]), "a.txt");
        assert_eq!(table.commit(&firsts[0]), Some(0));
        assert_eq!(table.also_in(&firsts[0]), 2);
        assert_eq!(table.also_in(&firsts[1]), 0);
        assert!(table.contains(&id(2)) && !table.contains(&id(3)));
    }

    #[test]
    fn commits_rebuild_their_info_from_numbers() {
        let mut commits = Commits::default();
        let id = ObjectId::from_bytes_or_panic(&[7; 20]);
        commits.push(id, Some("A <a@example.com>"), Some((0, 3600)));
        commits.push(id, None, None);
        let info = commits.info(0).expect("first commit");
        assert_eq!(info.author, "A <a@example.com>");
        assert_eq!(info.date, "1970-01-01T01:00:00+01:00");
        assert_eq!(commits.info(1).map(|i| i.author), Some(String::new()));
        assert!(commits.info(2).is_none());
    }
}
