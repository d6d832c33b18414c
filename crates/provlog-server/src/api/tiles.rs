//! The C2SP tlog-tiles read API (`/tile/<L>/<N>[.p/<W>]`, `/tile/entries/<N>[.p/<W>]`; the
//! checkpoint is `/checkpoint`), so existing tlog clients can audit the whole log without our
//! code. Tiles are cut from the tree of the latest signed checkpoint. Full tiles never change
//! and are served as immutable; partial ones only until the tree grows.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use provlog_core::log::stored_index;

use super::State;
use crate::error::{Problem, ReadErrors, PROBLEM_JSON};
use crate::ApiError;

/// Tile height fixed by C2SP tlog-tiles: 256 hashes or entries per full tile.
const HEIGHT: u8 = 8;
const FULL: u64 = 1 << HEIGHT;

fn not_found(path: &str) -> ApiError {
    ApiError::NotFound(format!("no tile {path:?} in the latest checkpoint's tree"))
}

/// A tile of the tree of the latest signed checkpoint (C2SP tlog-tiles, height 8).
#[utoipa::path(
    get,
    path = "/tile/{path}",
    tag = "tlog-tiles",
    security((), ("bearer" = ["read"])),
    params(("path" = String, Path,
        description = "The rest of the tile's path; it contains `/`, sent unescaped. Hash tiles: \
            `<L>/<N>` (a full tile of 256 hashes) or `<L>/<N>.p/<W>` (a partial tile of W < 256 \
            hashes), where L is the tile level (0–63) and N the tile index, written as \
            3-digit groups, all but the last prefixed with `x` (1234067 is `x001/x234/067`). \
            Entries tiles: `entries/<N>` or `entries/<N>.p/<W>`.",
        example = "0/x001/234.p/7")),
    responses(
        (status = 200, description = "Hash tiles: W consecutive 32-byte hashes. Entries tiles: W records, each as a \
            2-byte big-endian length and the record's canonical bytes. Full tiles never change and are sent \
            with `Cache-Control: public, max-age=31536000, immutable`; partial ones with `no-cache`.",
            body = [u8], content_type = "application/octet-stream"),
        (status = 404, description = "Not a tile path, or the tile is not in the latest checkpoint's tree (`not-found`)",
            body = Problem, content_type = PROBLEM_JSON),
        ReadErrors,
    )
)]
pub(crate) async fn tile(state: State, Path(path): Path<String>) -> Result<Response, ApiError> {
    let full_path = format!("tile/{path}");
    // The tlog crate parses Go's sumdb layout, which also names the height: tile/H/L/N[.p/W].
    let go_path = match path.strip_prefix("entries/") {
        Some(rest) => format!("tile/{HEIGHT}/data/{rest}"),
        None => format!("tile/{HEIGHT}/{path}"),
    };
    let tile = tlog_tiles_path(&go_path).ok_or_else(|| not_found(&full_path))?;
    let size = state
        .store
        .latest_checkpoint()
        .await?
        .map(|c| c.size)
        .ok_or_else(|| not_found(&full_path))?;
    let (level, n, width, is_data) = tile;
    let width = u64::from(width);
    let first = n.checked_mul(FULL).ok_or_else(|| not_found(&full_path))?;
    // Nodes at tree level HEIGHT*level covering leaves up to the checkpoint's size.
    let shift = u32::from(HEIGHT) * u32::from(level);
    let available = if shift >= 64 { 0 } else { size >> shift };
    if first.saturating_add(width) > available {
        return Err(not_found(&full_path));
    }
    let body = if is_data {
        let leaves = state.store.leaves(first, width).await?;
        let mut out = Vec::new();
        for leaf in leaves {
            let len = u16::try_from(leaf.len())
                .map_err(|_| ApiError::Internal("a record longer than 65535 bytes".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&leaf);
        }
        out
    } else {
        let level = u8::try_from(shift).map_err(|_| not_found(&full_path))?;
        let indexes: Vec<u64> = (first..first + width)
            .map(|i| stored_index(level, i))
            .collect();
        let hashes = state.store.read_nodes(&indexes).await?;
        hashes.iter().flat_map(|h| h.as_bytes().to_vec()).collect()
    };
    let cache = if width == FULL {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response())
}

/// (level, N, width, is_data) of a valid tile path, via the tlog crate's strict parser.
fn tlog_tiles_path(path: &str) -> Option<(u8, u64, u32, bool)> {
    // The parser panics on a partial width of 0 (`….p/0`): refuse it first, and never let a
    // panic of the parser take the connection down.
    if let Some((_, width)) = path.rsplit_once(".p/") {
        if !matches!(width.parse::<u32>(), Ok(1..=255)) {
            return None;
        }
    }
    let t = std::panic::catch_unwind(|| tlog_tiles::Tile::from_path(path))
        .ok()?
        .ok()?;
    Some((t.level(), t.level_index(), t.width(), t.is_data()))
}
