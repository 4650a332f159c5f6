//! Reading many blobs out of git's packs in delta order.
//!
//! A pack stores most versions of a file as deltas: instructions to build
//! the object from another one (its base) at an earlier offset, in chains
//! of up to 50 or more. Asking gix for each blob on its own resolves each
//! one's chain from the nearest cached object; on the rails history that
//! inflated about 4 GB and built about 11 GB of objects to produce 5.8 GB
//! of blobs (docs/benchmarks.md). Here the wanted blobs and the bases they
//! need form a forest (each delta's parent is its base), and each family is
//! walked depth first holding the objects on the current path: every entry
//! is inflated once and every delta applied once, to a base in hand.
//!
//! Whatever this reader cannot do on its own (loose objects, a base in
//! another pack, a corrupt entry, an object too large to hold) is handed
//! back and read the ordinary way, one object at a time, so an odd
//! repository costs speed, never a blob.

mod chain;
mod delta;
mod forest;

pub use chain::ChainReader;
use forest::Forest;

use gix::features::zlib;
use gix::odb::pack;
use gix::ObjectId;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The packs of one object database, with their indexes.
pub struct Packs {
    packs: Vec<Pack>,
    /// The pack that held the last object found: objects looked up one
    /// after the other tend to share a pack, and a repository that is
    /// never repacked can have hundreds.
    last_hit: AtomicUsize,
}

struct Pack {
    index: pack::index::File,
    data: pack::data::File,
}

/// Where an object sits: which pack (by position in [`Packs`]) and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Location {
    pub pack: u32,
    pub offset: u64,
}

impl Packs {
    /// Opens every pack in `objects_dir/pack` that has a readable index
    /// and data file; others are left to the ordinary reads.
    pub fn open(objects_dir: &Path, hash: gix::hash::Kind) -> Packs {
        let Ok(entries) = std::fs::read_dir(objects_dir.join("pack")) else {
            return Packs {
                packs: Vec::new(),
                last_hit: AtomicUsize::new(0),
            };
        };
        let mut paths: Vec<_> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|path| path.extension().is_some_and(|ext| ext == "idx"))
            .collect();
        paths.sort();
        let packs = paths
            .into_iter()
            .filter_map(|idx| {
                let index = pack::index::File::at(&idx, hash).ok()?;
                let data = pack::data::File::at(idx.with_extension("pack"), hash).ok()?;
                (data.num_objects() == index.num_objects()).then_some(Pack { index, data })
            })
            .collect();
        Packs {
            packs,
            last_hit: AtomicUsize::new(0),
        }
    }

    /// The packs of `repo`'s object database.
    pub fn of(repo: &gix::Repository) -> Packs {
        Packs::open(repo.objects.store_ref().path(), repo.object_hash())
    }

    /// A pack that has `id` (the last one to answer is asked first), and
    /// where in it.
    pub fn locate(&self, id: &ObjectId) -> Option<Location> {
        let first = self.last_hit.load(Ordering::Relaxed);
        let order = std::iter::once(first).chain((0..self.packs.len()).filter(|&p| p != first));
        order
            .filter_map(|pack| Some((pack, self.packs.get(pack)?)))
            .find_map(|(pack, p)| {
                let entry = p.index.lookup(id)?;
                self.last_hit.store(pack, Ordering::Relaxed);
                Some(Location {
                    pack: pack as u32,
                    offset: p.index.pack_offset_at_index(entry),
                })
            })
    }

    /// The entry header at `at`, if `at` is inside its pack.
    fn entry(&self, at: Location) -> Option<pack::data::Entry> {
        let pack = &self.packs.get(at.pack as usize)?.data;
        // The header is at most ~30 bytes; an offset too close to the end
        // (where the trailing checksum is) would make gix read past it.
        let end = pack.pack_end() as u64;
        if at.offset < 12 || at.offset.saturating_add(32) > end {
            return None;
        }
        pack.entry(at.offset).ok()
    }

    /// Where `at`'s delta base is: `Ok(None)` for a whole object,
    /// `Err(())` for a base this reader cannot find in the same pack.
    fn base_of(&self, at: Location) -> Result<Option<Location>, ()> {
        use pack::data::entry::Header;
        let entry = self.entry(at).ok_or(())?;
        match entry.header {
            Header::OfsDelta { base_distance } => {
                let offset = at.offset.checked_sub(base_distance).ok_or(())?;
                if base_distance == 0 {
                    return Err(());
                }
                Ok(Some(Location {
                    pack: at.pack,
                    offset,
                }))
            }
            Header::RefDelta { base_id } => {
                let pack = &self.packs[at.pack as usize].index;
                let index = pack.lookup(base_id).ok_or(())?;
                Ok(Some(Location {
                    pack: at.pack,
                    offset: pack.pack_offset_at_index(index),
                }))
            }
            _ => Ok(None),
        }
    }

    /// Inflates the entry at `at` into `out`: a whole object's bytes (of
    /// kind `whole`, else an error) or, with `None`, a delta's
    /// instructions. An entry larger than `limit` is not allocated.
    fn inflate(
        &self,
        at: Location,
        whole: Option<gix::object::Kind>,
        limit: u64,
        inflate: &mut zlib::Inflate,
        out: &mut Vec<u8>,
    ) -> Result<(), Unreadable> {
        let entry = self.entry(at).ok_or(Unreadable)?;
        if whole.is_some() && entry.header.as_kind() != whole {
            return Err(Unreadable);
        }
        if entry.decompressed_size > limit {
            return Err(Unreadable);
        }
        let pack = &self.packs[at.pack as usize].data;
        let stream = pack
            .entry_slice(entry.data_offset..pack.pack_end() as u64)
            .ok_or(Unreadable)?;
        out.clear();
        out.resize(entry.decompressed_size as usize, 0);
        // The whole stream, to its end: zlib then checks its checksum, so a
        // corrupt entry is an error here rather than wrong bytes (gix stops
        // when the output is full, before the checksum).
        inflate.state.reset(true);
        let status = inflate
            .state
            .decompress(stream, out, flate2::FlushDecompress::Finish)
            .map_err(|_| Unreadable)?;
        if status != flate2::Status::StreamEnd
            || inflate.state.total_out() != entry.decompressed_size
        {
            return Err(Unreadable);
        }
        Ok(())
    }

    /// Builds the delta at `at` on `base`, its base's bytes: inflates its
    /// instructions into `scratch` and applies them. A result over
    /// `max_size` bytes is refused before it is allocated.
    fn build_on(
        &self,
        at: Location,
        base: &[u8],
        max_size: u64,
        inflate: &mut zlib::Inflate,
        scratch: &mut Vec<u8>,
    ) -> Result<Vec<u8>, Unreadable> {
        // Instructions are rarely longer than what they build.
        let instructions_limit = max_size.saturating_mul(2).max(1 << 20);
        self.inflate(at, None, instructions_limit, inflate, scratch)?;
        let mut built = Vec::new();
        delta::apply(base, scratch, max_size, &mut built).map_err(|_| Unreadable)?;
        Ok(built)
    }
}

/// An object this reader could not build (missing from the packs,
/// corrupt, too large): the caller reads it the ordinary way, which also
/// reports what is wrong with it.
#[derive(Debug)]
struct Unreadable;

/// Bounds on what the delta-order reader builds and holds.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The scan's blob size limit: a larger object is never built here.
    pub max_size: u64,
    /// Bytes of bases held at once per family.
    pub path_budget: usize,
    /// Wanted blobs placed in one forest (tens of bytes each).
    pub forest_blobs: usize,
}

/// Reads `count` wanted blobs (`id_of` names each by its position) in
/// pack order, at most `limits.forest_blobs` per forest so the forest's
/// memory does not grow with the history (git writes a file's versions
/// next to each other, so a family is rarely split between two forests,
/// and a split one only builds its base twice). `visit` gets each blob's
/// position and bytes. Returns the positions it could not read, in pack
/// order, for the ordinary reads.
pub fn read_in_pack_order(
    packs: &Packs,
    count: u32,
    id_of: &(dyn Fn(u32) -> ObjectId + Sync),
    limits: ReadLimits,
    visit: &(dyn Fn(u32, &[u8]) + Sync),
) -> Vec<u32> {
    let mut located: Vec<(Option<Location>, u32)> = (0..count)
        .map(|at| (packs.locate(&id_of(at)), at))
        .collect();
    located.sort_unstable();
    let mut leftovers = Vec::new();
    for chunk in located.chunks(limits.forest_blobs.max(1)) {
        let wanted: Vec<Option<Location>> = chunk.iter().map(|&(at, _)| at).collect();
        let forest = Forest::build(packs, &wanted);
        drop(wanted);
        let left = read_forest(
            packs,
            &forest,
            limits.max_size,
            limits.path_budget,
            &|k, data| visit(chunk[k as usize].1, data),
        );
        leftovers.extend(left.into_iter().map(|k| chunk[k as usize]));
    }
    leftovers.sort_unstable();
    leftovers.into_iter().map(|(_, at)| at).collect()
}

/// Reads the blobs of `forest`, each family depth first on one thread,
/// handing each wanted blob's bytes to `visit`. Returns the wanted blobs
/// it could not read; the caller reads those the ordinary way.
///
/// `max_size` is the scan's blob size limit: an object larger than that
/// is never built here (a wanted one comes back, and the ordinary read
/// reports it as too large from its header). `path_budget` bounds the
/// bytes of bases held at once per family.
fn read_forest(
    packs: &Packs,
    forest: &Forest,
    max_size: u64,
    path_budget: usize,
    visit: &(dyn Fn(u32, &[u8]) + Sync),
) -> Vec<u32> {
    use rayon::prelude::*;
    let leftovers = std::sync::Mutex::new(forest.unplaced().to_vec());
    forest.roots().par_iter().for_each_init(
        || (zlib::Inflate::default(), Vec::new()),
        |(inflate, scratch), &root| {
            let mut reader = FamilyReader {
                packs,
                forest,
                max_size,
                path_budget,
                inflate,
                scratch,
                left: Vec::new(),
            };
            let mut visited = Vec::new();
            let read = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                reader.read(root, &mut |wanted, data| {
                    visited.push(wanted);
                    visit(wanted, data)
                })
            }));
            let mut left = std::mem::take(&mut reader.left);
            if read.is_err() {
                // A pack so corrupt that gix panicked: the rest of this
                // family goes back to the ordinary reads, which report it.
                let done: std::collections::HashSet<u32> = visited.into_iter().collect();
                left = forest
                    .wanted_under(root)
                    .into_iter()
                    .filter(|wanted| !done.contains(wanted))
                    .collect();
            }
            if !left.is_empty() {
                leftovers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .extend(left);
            }
        },
    );
    let mut leftovers = leftovers.into_inner().unwrap_or_else(|e| e.into_inner());
    leftovers.sort_unstable();
    leftovers.dedup();
    leftovers
}

/// One thread's walk of one family.
struct FamilyReader<'a> {
    packs: &'a Packs,
    forest: &'a Forest,
    max_size: u64,
    path_budget: usize,
    inflate: &'a mut zlib::Inflate,
    /// A delta's instructions, inflated.
    scratch: &'a mut Vec<u8>,
    /// Wanted blobs this walk could not read.
    left: Vec<u32>,
}

/// An object on the current path, with the children still to read.
struct Frame {
    data: Vec<u8>,
    next_child: Option<u32>,
}

impl FamilyReader<'_> {
    fn read(&mut self, root: u32, visit: &mut dyn FnMut(u32, &[u8])) {
        let mut data = Vec::new();
        let at = self.forest.node(root).location;
        if self
            .packs
            .inflate(
                at,
                Some(gix::object::Kind::Blob),
                self.max_size,
                self.inflate,
                &mut data,
            )
            .is_err()
        {
            self.left.extend(self.forest.wanted_under(root));
            return;
        }
        let mut stack = Vec::new();
        let mut held = 0usize;
        self.enter(root, data, &mut stack, &mut held, visit);
        while let Some(top) = stack.last_mut() {
            let Some(child) = top.next_child else {
                if let Some(done) = stack.pop() {
                    held -= done.data.len();
                }
                continue;
            };
            top.next_child = self.forest.node(child).next_sibling;
            let at = self.forest.node(child).location;
            let built =
                self.packs
                    .build_on(at, &top.data, self.max_size, self.inflate, self.scratch);
            let Some(built) = built.ok().filter(|b| held + b.len() <= self.path_budget) else {
                self.left.extend(self.forest.wanted_under(child));
                continue;
            };
            self.enter(child, built, &mut stack, &mut held, visit);
        }
    }

    /// Hands a built object to `visit` if it is wanted, and keeps it on the
    /// path if it has children.
    fn enter(
        &mut self,
        node: u32,
        data: Vec<u8>,
        stack: &mut Vec<Frame>,
        held: &mut usize,
        visit: &mut dyn FnMut(u32, &[u8]),
    ) {
        let entry = self.forest.node(node);
        if let Some(wanted) = entry.wanted() {
            visit(wanted, &data);
        }
        if let Some(first) = entry.first_child {
            *held += data.len();
            stack.push(Frame {
                data,
                next_child: Some(first),
            });
        }
    }
}

#[cfg(test)]
mod tests;
