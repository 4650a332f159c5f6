//! `scan url`: fetch a deployed app, then scan everything fetched as
//! client-side code, with the fetched source maps for bundle positions.

use super::{finish, Collector, ScanOutput};
use crate::blob::{Admission, Blob, BlobSink};
use crate::bundle::{BundleOptions, BundleScanner, MapLookup};
use crate::engine::Engine;
use crate::provenance::Provenance;
use crate::source::web::{self, Crawl, UrlOptions};
use crate::stats::StatsCollector;
use std::time::Instant;

/// A URL scan's findings, and what the crawl fetched.
pub struct WebScan {
    pub output: ScanOutput,
    /// Resources fetched.
    pub resources: usize,
    /// Framework payloads found in the page (`__NEXT_DATA__`, …).
    pub payloads: Vec<String>,
}

/// Crawls from `options.start` and scans every resource fetched.
pub fn run(
    options: &UrlOptions,
    admission: Admission,
    bundle: BundleOptions,
    engine: &Engine,
) -> WebScan {
    let started = Instant::now();
    let stats = StatsCollector::default();
    let crawl = web::crawl(options, &stats);
    let maps = CrawledMaps { crawl: &crawl };
    let collector = Collector::new(
        BundleScanner {
            engine,
            options: BundleOptions {
                all_client_side: true,
                ..bundle
            },
            maps: Some(&maps),
        },
        &stats,
    );
    for resource in &crawl.resources {
        let origin = Provenance::Url(resource.url.to_string());
        if let Some(kind) = admission.admit(&resource.body, &origin.display_path(), &stats) {
            collector.blob(&Blob {
                data: &resource.body,
                provenance: &origin,
                kind,
                lines: None,
                commit: None,
                previous: None,
                also_in: 0,
            });
        }
    }
    let (findings, stats) = finish(collector.into_findings(), stats, started);
    WebScan {
        output: ScanOutput {
            findings,
            stats,
            commits: None,
        },
        resources: crawl.resources.len(),
        payloads: crawl.payloads.iter().map(|p| p.to_string()).collect(),
    }
}

/// The source maps a crawl fetched, by the script that names them.
struct CrawledMaps<'a> {
    crawl: &'a Crawl,
}

impl MapLookup for CrawledMaps<'_> {
    fn map_for(
        &self,
        bundle: &Provenance,
        _reference: Option<&str>,
    ) -> Option<Result<Vec<u8>, String>> {
        let Provenance::Url(url) = bundle else {
            return None;
        };
        let map_url = self.crawl.maps.get(url.as_str())?;
        self.crawl
            .resources
            .iter()
            .find(|r| &r.url.to_string() == map_url)
            .map(|r| Ok(r.body.clone()))
    }
}
