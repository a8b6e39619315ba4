//! CustomResourceDefinitions: the structural schema (validation, pruning,
//! defaulting), CEL rules, and serving custom resources.
//!
//! `registry` holds what is served; `controller` turns stored CRDs into
//! served resources (NamesAccepted/Established) and cleans up on delete;
//! `engine` runs a version's schema; `strategy` is the custom-resource
//! strategy the handlers call; `table` and `openapi` publish the CRD's
//! printer columns and schema.

pub mod cel;
pub mod controller;
pub mod engine;
pub mod jsonpath;
pub mod registry;
pub mod schema;
pub mod strategy;
pub mod table;
