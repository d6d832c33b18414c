//! URLs and C2SP tlog-tiles paths, as pure functions so they are tested without a server.

use provlog_core::Hash;
use reqwest::Url;

use crate::ClientError;

/// Entries or hashes in a full tile (C2SP tlog-tiles fixes the height at 8).
pub const TILE_WIDTH: u64 = 256;

/// Parses a base URL; a path prefix (`http://host/provlog`) is kept, with or without a
/// trailing slash.
pub fn base_url(base: &str) -> Result<Url, ClientError> {
    let mut url = Url::parse(base).map_err(|e| ClientError::InvalidUrl {
        url: base.to_string(),
        reason: e.to_string(),
    })?;
    if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError::InvalidUrl {
            url: base.to_string(),
            reason: "expected an http or https URL".into(),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// One path segment, percent-encoded (ids are restricted to safe characters, but a caller's
/// typo should not turn into another route).
pub fn segment(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~:".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// `path` (relative, e.g. `v1/records/7`) under `base`, with `query` pairs percent-encoded;
/// pairs whose value is `None` are left out.
pub fn join(base: &Url, path: &str, query: &[(&str, Option<String>)]) -> Result<Url, ClientError> {
    let mut url = base
        .join(path.trim_start_matches('/'))
        .map_err(|e| ClientError::InvalidUrl {
            url: format!("{base}{path}"),
            reason: e.to_string(),
        })?;
    let present: Vec<(&str, &String)> = query
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (*k, v)))
        .collect();
    if !present.is_empty() {
        url.query_pairs_mut().extend_pairs(present);
    }
    Ok(url)
}

/// The tile index `N` as C2SP path elements: groups of three digits, all but the last
/// prefixed with `x` (1234067 → `x001/x234/067`).
pub fn tile_index(n: u64) -> String {
    let digits = n.to_string();
    let pad = (3 - digits.len() % 3) % 3;
    let digits = format!("{}{digits}", "0".repeat(pad));
    let groups: Vec<&str> = digits
        .as_bytes()
        .chunks(3)
        .map(|c| std::str::from_utf8(c).unwrap_or("000"))
        .collect();
    let last = groups.len() - 1;
    groups
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i < last {
                format!("x{g}")
            } else {
                g.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn width_suffix(width: u64) -> String {
    if width == TILE_WIDTH {
        String::new()
    } else {
        format!(".p/{width}")
    }
}

/// Path of hash tile `n` at tile level `level` with `width` hashes (256 is a full tile).
pub fn hash_tile_path(level: u8, n: u64, width: u64) -> String {
    format!("tile/{level}/{}{}", tile_index(n), width_suffix(width))
}

/// Path of entries tile `n` with `width` entries (256 is a full tile).
pub fn entries_tile_path(n: u64, width: u64) -> String {
    format!("tile/entries/{}{}", tile_index(n), width_suffix(width))
}

/// `(n, width)` of every entries (or level-0 hash) tile covering a tree of `size` leaves:
/// full tiles, then a partial one for the remainder.
pub fn tiles_for(size: u64) -> Vec<(u64, u64)> {
    let mut tiles: Vec<(u64, u64)> = (0..size / TILE_WIDTH).map(|n| (n, TILE_WIDTH)).collect();
    if !size.is_multiple_of(TILE_WIDTH) {
        tiles.push((size / TILE_WIDTH, size % TILE_WIDTH));
    }
    tiles
}

/// Splits an entries tile into its entries (each a big-endian `u16` length, then the bytes).
pub fn decode_entries(tile: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut entries = vec![];
    let mut rest = tile;
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<2>()
            .ok_or_else(|| format!("entry {}: truncated length", entries.len()))?;
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            return Err(format!(
                "entry {}: {len} bytes announced, {} left",
                entries.len(),
                tail.len()
            ));
        }
        let (entry, tail) = tail.split_at(len);
        entries.push(entry);
        rest = tail;
    }
    Ok(entries)
}

/// Splits a hash tile into its hashes.
pub fn decode_hashes(tile: &[u8]) -> Result<Vec<Hash>, String> {
    if !tile.len().is_multiple_of(32) {
        return Err(format!(
            "{} bytes is not a whole number of hashes",
            tile.len()
        ));
    }
    tile.chunks(32)
        .map(|c| Hash::from_slice(c).map_err(|e| e.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base_urls_keep_their_prefix() {
        for (base, want) in [
            (
                "http://127.0.0.1:8080",
                "http://127.0.0.1:8080/v1/records/7",
            ),
            (
                "http://127.0.0.1:8080/",
                "http://127.0.0.1:8080/v1/records/7",
            ),
            (
                "https://example.com/provlog",
                "https://example.com/provlog/v1/records/7",
            ),
            (
                "https://example.com/provlog/?x=1#f",
                "https://example.com/provlog/v1/records/7",
            ),
        ] {
            let url = join(&base_url(base).unwrap(), "/v1/records/7", &[]).unwrap();
            assert_eq!(url.as_str(), want, "{base}");
        }
        for bad in [
            "127.0.0.1:8080",
            "ftp://example.com",
            "not a url",
            "mailto:a@b",
        ] {
            assert!(
                matches!(base_url(bad), Err(ClientError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn query_values_are_encoded_and_absent_ones_dropped() {
        let base = base_url("http://h").unwrap();
        let url = join(
            &base,
            "v1/records",
            &[
                ("source", Some("acme signals".into())),
                ("leaf_hash", Some("ab+c/d==".into())),
                ("since", Some("2026-11-27T00:00:00.000Z".into())),
                ("after", None),
                ("limit", Some("5".into())),
            ],
        )
        .unwrap();
        assert_eq!(
            url.as_str(),
            "http://h/v1/records?source=acme+signals&leaf_hash=ab%2Bc%2Fd%3D%3D&since=2026-11-27T00%3A00%3A00.000Z&limit=5"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[1].1, "ab+c/d==");
        assert_eq!(
            join(&base, "v1/log", &[("x", None)]).unwrap().as_str(),
            "http://h/v1/log"
        );
    }

    #[test]
    fn tile_paths_follow_c2sp() {
        assert_eq!(tile_index(0), "000");
        assert_eq!(tile_index(7), "007");
        assert_eq!(tile_index(999), "999");
        assert_eq!(tile_index(1000), "x001/000");
        assert_eq!(tile_index(1234067), "x001/x234/067");
        assert_eq!(hash_tile_path(0, 1234067, 256), "tile/0/x001/x234/067");
        assert_eq!(hash_tile_path(1, 0, 39), "tile/1/000.p/39");
        assert_eq!(entries_tile_path(1, 44), "tile/entries/001.p/44");
        assert_eq!(entries_tile_path(12, 256), "tile/entries/012");
    }

    #[test]
    fn tiles_cover_a_tree_exactly() {
        assert_eq!(tiles_for(0), vec![]);
        assert_eq!(tiles_for(1), vec![(0, 1)]);
        assert_eq!(tiles_for(256), vec![(0, 256)]);
        assert_eq!(tiles_for(300), vec![(0, 256), (1, 44)]);
        let n: u64 = tiles_for(10_000).iter().map(|(_, w)| w).sum();
        assert_eq!(n, 10_000);
    }

    #[test]
    fn entries_and_hashes_decode_and_refuse_truncation() {
        let tile = [&[0u8, 2][..], b"ab", &[0, 0], &[0, 3], b"xyz"].concat();
        assert_eq!(
            decode_entries(&tile).unwrap(),
            vec![&b"ab"[..], &b""[..], &b"xyz"[..]]
        );
        assert!(decode_entries(&tile[..tile.len() - 1]).is_err());
        assert!(decode_entries(&[0]).is_err());
        assert_eq!(decode_entries(&[]).unwrap(), Vec::<&[u8]>::new());
        let h = Hash::sha256(b"x");
        let bytes = [h.as_bytes().as_slice(), h.as_bytes()].concat();
        assert_eq!(decode_hashes(&bytes).unwrap(), vec![h, h]);
        assert!(decode_hashes(&bytes[1..]).is_err());
    }
}
