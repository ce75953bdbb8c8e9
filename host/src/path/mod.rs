//! HyperBEAM's path syntax (`spec/codecs.md` §9.1): `/~dev@1.0/key?x=1`, `key&k=v` segments,
//! typed `k+integer=5`, `key~dev@1.0` steps, `/<id>~dev@1.0/…` and `( … )` sub-resolutions.
//!
//! [`parse`] turns a request target into [`Step`]s; the resolver executes them in order.

mod segment;

pub use segment::{is_id, parse, Param, PathError, Route, Step};
