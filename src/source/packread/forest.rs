//! The wanted blobs and the bases they are built from, as a forest: each
//! delta is a child of its base, each whole object a root.

use super::{Location, Packs};
use std::collections::HashMap;

/// One object of a family: a wanted blob, or a base one needs.
#[derive(Debug, Clone)]
pub struct Node {
    pub location: Location,
    /// Position in the wanted list, or [`NOT_WANTED`].
    wanted: u32,
    pub first_child: Option<u32>,
    pub next_sibling: Option<u32>,
}

const NOT_WANTED: u32 = u32::MAX;

impl Node {
    pub fn wanted(&self) -> Option<u32> {
        (self.wanted != NOT_WANTED).then_some(self.wanted)
    }
}

/// Every family that holds a wanted blob, and the wanted blobs that are in
/// none (not in a pack, or in a chain this reader cannot follow).
#[derive(Debug, Default)]
pub struct Forest {
    nodes: Vec<Node>,
    roots: Vec<u32>,
    unplaced: Vec<u32>,
}

impl Forest {
    /// Places each wanted blob, given by where [`Packs::locate`] found it
    /// (its position in the list names it; `None`: in no pack), with the
    /// chain of bases under it, following each chain down only until it
    /// meets a node already placed.
    pub fn build(packs: &Packs, wanted: &[Option<Location>]) -> Forest {
        let mut forest = Forest::default();
        let mut placed: HashMap<Location, u32> = HashMap::with_capacity(wanted.len());
        for (position, &at) in wanted.iter().enumerate() {
            let position = u32::try_from(position).unwrap_or(NOT_WANTED - 1);
            let Some(at) = at else {
                forest.unplaced.push(position);
                continue;
            };
            let (node, fresh) = forest.place(&mut placed, at);
            if forest.nodes[node as usize].wanted != NOT_WANTED {
                // The same object listed twice: read it the ordinary way.
                forest.unplaced.push(position);
                continue;
            }
            forest.nodes[node as usize].wanted = position;
            if fresh {
                forest.link_down(&mut placed, packs, node);
            }
        }
        forest
            .roots
            .sort_unstable_by_key(|&root| forest.nodes[root as usize].location);
        forest.unplace_unreachable();
        forest
    }

    fn place(&mut self, placed: &mut HashMap<Location, u32>, at: Location) -> (u32, bool) {
        if let Some(&node) = placed.get(&at) {
            return (node, false);
        }
        let node = self.nodes.len() as u32;
        self.nodes.push(Node {
            location: at,
            wanted: NOT_WANTED,
            first_child: None,
            next_sibling: None,
        });
        placed.insert(at, node);
        (node, true)
    }

    /// Follows `node`'s chain of bases until a whole object (a root) or a
    /// node that was already placed (and so already linked).
    fn link_down(&mut self, placed: &mut HashMap<Location, u32>, packs: &Packs, mut node: u32) {
        loop {
            let at = self.nodes[node as usize].location;
            let Ok(Some(base_at)) = packs.base_of(at) else {
                // A whole object, or a base this reader cannot reach:
                // reading it as a root fails and its family is left over.
                self.roots.push(node);
                return;
            };
            let (base, fresh) = self.place(placed, base_at);
            self.nodes[node as usize].next_sibling = self.nodes[base as usize].first_child;
            self.nodes[base as usize].first_child = Some(node);
            if !fresh {
                return;
            }
            node = base;
        }
    }

    /// A corrupt pack can make bases point at each other in a loop that
    /// no root reaches; the wanted blobs in it are left to ordinary reads.
    fn unplace_unreachable(&mut self) {
        let mut reached = vec![false; self.nodes.len()];
        for &root in &self.roots {
            self.each_under(root, |node| reached[node as usize] = true);
        }
        for (node, seen) in self.nodes.iter().zip(reached) {
            if !seen {
                if let Some(wanted) = node.wanted() {
                    self.unplaced.push(wanted);
                }
            }
        }
    }

    fn each_under(&self, root: u32, mut visit: impl FnMut(u32)) {
        let mut pending = vec![root];
        while let Some(node) = pending.pop() {
            visit(node);
            let mut child = self.nodes[node as usize].first_child;
            while let Some(c) = child {
                pending.push(c);
                child = self.nodes[c as usize].next_sibling;
            }
        }
    }

    /// The wanted blobs in `root`'s family at or under `root`.
    pub fn wanted_under(&self, root: u32) -> Vec<u32> {
        let mut found = Vec::new();
        self.each_under(root, |node| {
            if let Some(wanted) = self.nodes[node as usize].wanted() {
                found.push(wanted);
            }
        });
        found
    }

    pub fn node(&self, node: u32) -> &Node {
        &self.nodes[node as usize]
    }

    /// The family roots, in pack order.
    pub fn roots(&self) -> &[u32] {
        &self.roots
    }

    /// Wanted blobs in no family.
    pub fn unplaced(&self) -> &[u32] {
        &self.unplaced
    }
}
