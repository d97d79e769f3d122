//! gridcircle-tools: the development tools of gridcircle, kept out of the service library.
//!
//! - [`synth`]: the scale generator, N×N shifted copies of a real extract with joined street
//!   networks (`gridcircle-tools synth`; the benches use [`synth::tile_import`]);
//! - [`demo`]: the drawer of the illustrative demo layers in `data/demo/`
//!   (`gridcircle-tools demo-layers`);
//! - the benchmark worker of `bench/compare` (`gridcircle-tools bench-compare`), in the binary.

pub mod demo;
pub mod synth;
