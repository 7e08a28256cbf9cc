//! The readers of what an outsider sends, for the fuzz targets in fuzz/
//! (feature `fuzzing`). Not public API: names and signatures change freely.

use crate::framing;

/// Reads a save file's header as [`Context::restore`](crate::Context::restore)
/// does: the config's JSON, and `r` left at libxl's stream.
pub fn read_save_header(r: &mut impl std::io::Read) -> Result<String, String> {
    framing::read_config(r, crate::saverestore::MAGIC)
}

/// Reads a migration sender's header as
/// [`Context::migrate_receive`](crate::Context::migrate_receive) does.
pub fn read_migration_header(r: &mut impl std::io::Read) -> Result<String, String> {
    framing::read_config(r, crate::migrate::MAGIC)
}

/// Checks the first 24 bytes of libxl's stream as a restore does.
pub fn check_stream_header(b: &[u8; 24]) -> Result<(), String> {
    framing::stream_header(b)
}

/// The canonical text [`types::check_libxl_json`](crate::types::check_libxl_json)
/// hands libxl in place of `json`.
pub fn canonical_libxl_json(json: &str) -> crate::Result<String> {
    crate::types::untrusted::canonical_libxl_json(json)
}

/// Where the xl.cfg grammar check refuses `text` (1-based line, column),
/// and whether libxlutil's own parser takes it: a file the check refuses
/// never reaches libxlutil, so libxlutil must refuse it too.
pub fn xl_cfg_grammar(text: &str) -> (Option<(usize, usize)>, bool) {
    crate::xlcfg::grammar_and_libxlutil(text)
}
