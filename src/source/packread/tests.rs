use super::*;
use std::collections::HashMap;
use std::process::Command;
use std::sync::Mutex;

fn git(dir: &Path, args: &[&str]) -> Vec<u8> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    out.stdout
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8_lossy(&bytes).trim().to_string()
}

/// A repository whose files have many versions, packed with long delta
/// chains (and so families with several children per base), plus one
/// loose blob. Returns the directory and every blob id.
fn repository_with_delta_chains() -> (tempfile::TempDir, Vec<ObjectId>) {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path();
    git(repo, &["init", "-q"]);
    let mut lines: Vec<String> = (0..300).map(|i| format!("line {i} of the file")).collect();
    for version in 0..40 {
        lines[(version * 7) % 300] = format!("changed in version {version}");
        if version % 5 == 0 {
            lines.push(format!("appended in version {version}"));
        }
        std::fs::write(repo.join("a.txt"), lines.join("\n")).expect("write");
        std::fs::write(repo.join("b.txt"), lines[..100 + version].join("\n")).expect("write");
        // A tree of many entries, one of which changes: tree deltas.
        std::fs::create_dir_all(repo.join("many")).expect("dir");
        std::fs::write(
            repo.join(format!("many/{}.txt", version % 60)),
            format!("{version}"),
        )
        .expect("write");
        git(repo, &["add", "."]);
        git(
            repo,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-qm",
                "v",
            ],
        );
    }
    git(repo, &["repack", "-adfq", "--depth=20", "--window=50"]);
    std::fs::write(repo.join("loose.txt"), "not packed\n").expect("write");
    git(repo, &["hash-object", "-w", "loose.txt"]);
    let listed = text(git(
        repo,
        &[
            "cat-file",
            "--batch-all-objects",
            "--batch-check=%(objectname) %(objecttype)",
        ],
    ));
    let blobs = listed
        .lines()
        .filter(|line| line.ends_with(" blob"))
        .map(|line| ObjectId::from_hex(&line.as_bytes()[..40]).expect("id"))
        .collect();
    (dir, blobs)
}

fn read_all(repo: &Path, wanted: &[ObjectId], budget: usize) -> (HashMap<u32, Vec<u8>>, Vec<u32>) {
    let packs = Packs::open(&repo.join(".git/objects"), gix::hash::Kind::Sha1);
    let located: Vec<Option<Location>> = wanted.iter().map(|id| packs.locate(id)).collect();
    let forest = Forest::build(&packs, &located);
    let read = Mutex::new(HashMap::new());
    let left = read_forest(&packs, &forest, u64::MAX >> 1, budget, &|at, data| {
        let previous = read.lock().expect("lock").insert(at, data.to_vec());
        assert!(previous.is_none(), "blob {at} read twice");
    });
    (read.into_inner().expect("lock"), left)
}

#[test]
fn every_packed_blob_is_read_once_with_its_content_and_the_loose_one_is_left() {
    let (dir, blobs) = repository_with_delta_chains();
    let repo = dir.path();
    let chains = text(git(repo, &["verify-pack", "-s", &pack_index(repo)]));
    assert!(
        chains.contains("chain length = 5"),
        "deltas expected:\n{chains}"
    );
    let (read, left) = read_all(repo, &blobs, 64 << 20);
    let loose = text(git(repo, &["hash-object", "loose.txt"]));
    assert_eq!(left.len(), 1);
    assert_eq!(blobs[left[0] as usize].to_string(), loose);
    assert_eq!(read.len(), blobs.len() - 1);
    for (at, data) in read {
        let id = blobs[at as usize].to_string();
        assert_eq!(data, git(repo, &["cat-file", "blob", &id]), "blob {id}");
    }
}

#[test]
fn a_family_over_the_budget_is_left_to_ordinary_reads_not_lost() {
    let (dir, blobs) = repository_with_delta_chains();
    // No room for any base on the path: only roots and their children fit.
    let (read, left) = read_all(dir.path(), &blobs, 0);
    assert_eq!(read.len() + left.len(), blobs.len());
    assert!(left.len() > 1, "deep deltas must be left over");
    for (at, data) in read {
        let id = blobs[at as usize].to_string();
        assert_eq!(data, git(dir.path(), &["cat-file", "blob", &id]));
    }
}

#[test]
fn a_corrupt_pack_gives_correct_blobs_or_leftovers_never_a_panic() {
    let (dir, blobs) = repository_with_delta_chains();
    let repo = dir.path();
    let expected: HashMap<u32, Vec<u8>> = (0..blobs.len() as u32)
        .filter_map(|at| {
            let id = blobs[at as usize].to_string();
            let out = Command::new("git")
                .args(["cat-file", "blob", &id])
                .current_dir(repo)
                .output()
                .ok()?;
            Some((at, out.stdout))
        })
        .collect();
    let pack = pack_index(repo).replace(".idx", ".pack");
    let mut bytes = std::fs::read(&pack).expect("pack");
    let mut permissions = std::fs::metadata(&pack).expect("meta").permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    std::fs::set_permissions(&pack, permissions).expect("writable");
    // Scribble over the middle of the pack, every few bytes.
    let len = bytes.len();
    for at in (len / 3..2 * len / 3).step_by(7) {
        bytes[at] ^= 0x5a;
    }
    std::fs::write(&pack, bytes).expect("write pack");
    let (read, left) = read_all(repo, &blobs, 64 << 20);
    assert_eq!(read.len() + left.len(), blobs.len());
    assert!(left.len() > 1, "corrupt entries must be left over");
    for (at, data) in read {
        assert_eq!(Some(&data), expected.get(&at), "blob {at} read wrong");
    }
}

fn pack_index(repo: &Path) -> String {
    std::fs::read_dir(repo.join(".git/objects/pack"))
        .expect("pack dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("an index")
        .display()
        .to_string()
}

#[test]
fn the_chain_reader_builds_trees_oldest_first_like_git_and_declines_the_rest() {
    let (dir, blobs) = repository_with_delta_chains();
    let repo = dir.path();
    let packs = Packs::open(&repo.join(".git/objects"), gix::hash::Kind::Sha1);
    let mut reader = ChainReader::new(&packs, 1 << 20, 1 << 30);
    let trees = text(git(repo, &["log", "--reverse", "--format=%T"]));
    let mut built = 0;
    for tree in trees.lines() {
        let id = ObjectId::from_hex(tree.as_bytes()).expect("id");
        // Twice: the second read comes from the kept chain.
        for _ in 0..2 {
            let data = reader
                .read(&id, gix::object::Kind::Tree)
                .expect("a packed tree");
            assert_eq!(*data, git(repo, &["cat-file", "tree", tree]));
            built += 1;
        }
    }
    assert_eq!(built, 80);
    let listing = text(git(repo, &["verify-pack", "-v", &pack_index(repo)]));
    let tree_deltas = listing
        .lines()
        .filter(|line| line.split_whitespace().nth(1) == Some("tree"))
        .filter(|line| line.split_whitespace().count() == 7)
        .count();
    assert!(tree_deltas > 20, "trees in delta chains: {tree_deltas}");
    // A blob asked for as a tree, and a loose object, are the caller's.
    for id in &blobs {
        assert!(
            reader.read(id, gix::object::Kind::Tree).is_none(),
            "{id} is not a tree"
        );
    }
    // With no room to keep anything, reads still build every tree.
    let mut tight = ChainReader::new(&packs, 0, 1 << 30);
    for tree in trees.lines() {
        let id = ObjectId::from_hex(tree.as_bytes()).expect("id");
        let data = tight
            .read(&id, gix::object::Kind::Tree)
            .expect("a packed tree");
        assert_eq!(*data, git(repo, &["cat-file", "tree", tree]));
    }
}

#[test]
fn a_panic_mid_family_leaves_the_rest_of_it_over_and_reads_nothing_twice() {
    let (dir, blobs) = repository_with_delta_chains();
    let packs = Packs::open(&dir.path().join(".git/objects"), gix::hash::Kind::Sha1);
    let located: Vec<Option<Location>> = blobs.iter().map(|id| packs.locate(id)).collect();
    let forest = Forest::build(&packs, &located);
    let seen = Mutex::new(Vec::new());
    let left = read_forest(&packs, &forest, u64::MAX >> 1, 64 << 20, &|at, _data| {
        let mut seen = seen.lock().unwrap_or_else(|e| e.into_inner());
        seen.push(at);
        if seen.len() % 7 == 3 {
            drop(seen);
            panic!("a reader bug on blob {at}");
        }
    });
    let mut seen = seen.into_inner().unwrap_or_else(|e| e.into_inner());
    assert!(left.len() > 1, "the families after a panic are left over");
    seen.extend(&left);
    seen.sort_unstable();
    let all: Vec<u32> = (0..blobs.len() as u32).collect();
    assert_eq!(seen, all, "every blob once: visited or left over");
}

#[test]
fn small_forests_in_pack_order_still_read_every_packed_blob_once() {
    let (dir, blobs) = repository_with_delta_chains();
    let packs = Packs::open(&dir.path().join(".git/objects"), gix::hash::Kind::Sha1);
    let read = Mutex::new(HashMap::new());
    let limits = ReadLimits {
        max_size: u64::MAX >> 1,
        path_budget: 64 << 20,
        // Families split between forests: their bases are built again.
        forest_blobs: 3,
    };
    let left = read_in_pack_order(
        &packs,
        blobs.len() as u32,
        &|at| blobs[at as usize],
        limits,
        &|at, data| {
            let previous = read.lock().expect("lock").insert(at, data.to_vec());
            assert!(previous.is_none(), "blob {at} read twice");
        },
    );
    let read = read.into_inner().expect("lock");
    let loose = text(git(dir.path(), &["hash-object", "loose.txt"]));
    assert_eq!(left.len(), 1);
    assert_eq!(blobs[left[0] as usize].to_string(), loose);
    assert_eq!(read.len(), blobs.len() - 1);
    for (at, data) in read {
        let id = blobs[at as usize].to_string();
        assert_eq!(
            data,
            git(dir.path(), &["cat-file", "blob", &id]),
            "blob {id}"
        );
    }
}
