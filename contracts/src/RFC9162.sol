// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title RFC9162
/// @notice RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proof verification with
///         SHA-256, as used by provlog and C2SP tlog-checkpoint logs.
/// @dev Hashing (RFC 9162 §2.1.1): leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).
///      Verifiers follow the RFC's fn/sn walks (§2.1.3.2 inclusion, §2.1.4.2 consistency) step by
///      step. They never revert on malformed input: every invalid proof, index or size yields `false`.
library RFC9162 {
    /// @notice Leaf hash of `data`: SHA-256(0x00 || data).
    function hashLeaf(bytes calldata data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice Interior node hash: SHA-256(0x01 || left || right).
    /// @dev Restores the free memory pointer afterwards, so a proof walk hashes in constant memory
    ///      instead of growing memory by 65 bytes per level. Nothing allocated here outlives the call.
    function hashChildren(bytes32 left, bytes32 right) internal pure returns (bytes32 h) {
        uint256 freePtr;
        assembly ("memory-safe") {
            freePtr := mload(0x40)
        }
        h = sha256(abi.encodePacked(bytes1(0x01), left, right));
        assembly ("memory-safe") {
            mstore(0x40, freePtr)
        }
    }

    /// @notice Root implied by an inclusion proof, by the walk of RFC 9162 §2.1.3.2.
    /// @return ok False if `leafIndex >= treeSize` or the proof is too short or too long for the
    ///         position; `root` is then meaningless.
    /// @return root The computed root when `ok`.
    function rootFromInclusionProof(uint64 leafIndex, uint64 treeSize, bytes32 leafHash, bytes32[] calldata proof)
        internal
        pure
        returns (bool ok, bytes32 root)
    {
        // 1. leaf_index must lie inside the tree.
        if (leafIndex >= treeSize) return (false, bytes32(0));
        // 2-3. fn = leaf_index, sn = tree_size - 1, r = hash.
        uint64 fn = leafIndex;
        uint64 sn = treeSize - 1;
        bytes32 r = leafHash;
        // 4. For each p in the proof:
        for (uint256 i = 0; i < proof.length; ++i) {
            // a. A proof longer than the path fails.
            if (sn == 0) return (false, bytes32(0));
            bytes32 p = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                // b. r is a right child (or the last node of its level, promoted).
                r = hashChildren(p, r);
                // Skip the levels where r is the last node and has no right sibling.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = hashChildren(r, p);
            }
            // c. Go up one level.
            fn >>= 1;
            sn >>= 1;
        }
        // 5. A proof shorter than the path leaves sn > 0.
        if (sn != 0) return (false, bytes32(0));
        return (true, r);
    }

    /// @notice RFC 9162 §2.1.3.2 inclusion verification: true iff `proof` proves that `leafHash`
    ///         is the leaf at `leafIndex` of the tree of `treeSize` leaves whose root is `root`.
    function verifyInclusion(
        uint64 leafIndex,
        uint64 treeSize,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) internal pure returns (bool) {
        (bool ok, bytes32 computed) = rootFromInclusionProof(leafIndex, treeSize, leafHash, proof);
        return ok && computed == root;
    }

    /// @notice RFC 9162 §2.1.4.2 consistency verification: true iff `proof` proves that the tree of
    ///         `size1` leaves with root `root1` is a prefix of the tree of `size2` leaves with root
    ///         `root2`.
    /// @dev Edge cases (as in transparency-dev/merkle): size1 > size2 is invalid; size1 == size2
    ///      needs an empty proof and root1 == root2; size1 == 0 (and size2 > 0) needs an empty proof
    ///      and is valid whatever the roots; otherwise an empty proof is invalid.
    function verifyConsistency(uint64 size1, uint64 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        internal
        pure
        returns (bool)
    {
        if (size1 > size2) return false;
        if (size1 == size2) return proof.length == 0 && root1 == root2;
        if (size1 == 0) return proof.length == 0;
        // 1. An empty proof fails.
        if (proof.length == 0) return false;
        // 2. If size1 is a power of two, root1 is (virtually) prepended to the proof.
        uint256 i;
        bytes32 fr;
        if (size1 & (size1 - 1) == 0) {
            fr = root1;
        } else {
            fr = proof[0];
            i = 1;
        }
        // 3. fn = first - 1, sn = second - 1.
        uint64 fn = size1 - 1;
        uint64 sn = size2 - 1;
        // 4. Drop the trailing set bits of fn (levels where the first tree's edge is a right child).
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        // 5. fr = sr = first proof value.
        bytes32 sr = fr;
        // 6. For each subsequent value c:
        for (; i < proof.length; ++i) {
            // a. A proof longer than the path fails.
            if (sn == 0) return false;
            bytes32 c = proof[i];
            if (fn & 1 == 1 || fn == sn) {
                // b. c is a left sibling on both paths.
                fr = hashChildren(c, fr);
                sr = hashChildren(c, sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                // c is a right sibling that only the second tree has.
                sr = hashChildren(sr, c);
            }
            // c. Go up one level.
            fn >>= 1;
            sn >>= 1;
        }
        // 7. Both roots must match and the path must be fully consumed.
        return fr == root1 && sr == root2 && sn == 0;
    }
}
