//! Reading single objects out of packs while keeping every object built on
//! the way, for readers that walk delta chains from their far end.
//!
//! A history scan compares trees oldest commit first. git deltifies old
//! versions against new ones, so the oldest tree is the deepest delta of
//! its chain and each later read asks for the object one step nearer the
//! base. gix caches only the objects asked for, so each of those reads
//! rebuilds the chain from its base; here the whole chain built for the
//! first read is kept (up to a byte cap, oldest first out), and the next
//! read is a lookup.

use super::{Location, Packs};
use gix::features::zlib;
use gix::ObjectId;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

/// Longest chain followed; a longer one (git's default is 50, its
/// `--depth` maximum 4095) is read the ordinary way.
const MAX_CHAIN: usize = 4096;

/// One thread's reader: an inflater, a delta buffer and a cache.
pub struct ChainReader<'a> {
    packs: &'a Packs,
    /// Objects larger than this are not built here.
    max_size: u64,
    cache: ChainCache,
    inflate: zlib::Inflate,
    scratch: Vec<u8>,
}

impl<'a> ChainReader<'a> {
    pub fn new(packs: &'a Packs, cache_bytes: usize, max_size: u64) -> Self {
        ChainReader {
            packs,
            max_size,
            cache: ChainCache::new(cache_bytes),
            inflate: zlib::Inflate::default(),
            scratch: Vec::new(),
        }
    }

    /// The object `id` if it is a packed object of `kind` this reader can
    /// build; `None` sends the caller to the ordinary read, which also
    /// reports whatever is wrong with it.
    pub fn read(&mut self, id: &ObjectId, kind: gix::object::Kind) -> Option<Arc<Vec<u8>>> {
        let at = self.packs.locate(id)?;
        let mut chain = Vec::new();
        let mut cursor = at;
        let mut current = loop {
            if let Some((cached_kind, data)) = self.cache.get(cursor) {
                if cached_kind != kind {
                    return None;
                }
                break data;
            }
            match self.packs.base_of(cursor) {
                Ok(Some(base)) if chain.len() < MAX_CHAIN => {
                    chain.push(cursor);
                    cursor = base;
                }
                Ok(None) => {
                    let mut data = Vec::new();
                    self.packs
                        .inflate(
                            cursor,
                            Some(kind),
                            self.max_size,
                            &mut self.inflate,
                            &mut data,
                        )
                        .ok()?;
                    let data = Arc::new(data);
                    self.cache.put(cursor, kind, Arc::clone(&data));
                    break data;
                }
                _ => return None,
            }
        };
        for &step in chain.iter().rev() {
            let built = self
                .packs
                .build_on(
                    step,
                    &current,
                    self.max_size,
                    &mut self.inflate,
                    &mut self.scratch,
                )
                .ok()?;
            current = Arc::new(built);
            self.cache.put(step, kind, Arc::clone(&current));
        }
        Some(current)
    }
}

/// Built objects by location, evicted oldest first past a byte cap.
struct ChainCache {
    cap: usize,
    held: usize,
    entries: HashMap<Location, (gix::object::Kind, Arc<Vec<u8>>)>,
    order: VecDeque<Location>,
}

impl ChainCache {
    fn new(cap: usize) -> Self {
        ChainCache {
            cap,
            held: 0,
            entries: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn get(&self, at: Location) -> Option<(gix::object::Kind, Arc<Vec<u8>>)> {
        self.entries
            .get(&at)
            .map(|(kind, data)| (*kind, Arc::clone(data)))
    }

    fn put(&mut self, at: Location, kind: gix::object::Kind, data: Arc<Vec<u8>>) {
        if data.len() > self.cap || self.entries.contains_key(&at) {
            return;
        }
        self.held += data.len();
        self.entries.insert(at, (kind, data));
        self.order.push_back(at);
        while self.held > self.cap {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some((_, gone)) = self.entries.remove(&oldest) {
                self.held -= gone.len();
            }
        }
    }
}
