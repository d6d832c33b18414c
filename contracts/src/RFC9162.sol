// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title RFC9162
/// @notice RFC 9162 (Certificate Transparency 2.0) Merkle tree hashing and proof verification with
///         SHA-256, as used by provlog and C2SP tlog-checkpoint logs.
/// @dev Hashing (RFC 9162 §2.1.1): leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || left || right).
///      Verifiers follow the RFC's fn/sn walks (§2.1.3.2 inclusion, §2.1.4.2 consistency) step by
///      step. They never revert on malformed input: every invalid proof, index or size yields `false`.
///
///      Gas: node hashes call the SHA-256 precompile (address 2) from assembly, about 40% cheaper
///      per proof level than `sha256(abi.encodePacked(...))`. Solidity classes any `staticcall` in
///      assembly as reading state, so the walks are written as `view` functions and exposed as
///      `pure` through a function-pointer cast (`_asPure*`). That is sound: the precompile reads no
///      state, and Solidity's own `sha256` is `pure`.
library RFC9162 {
    /// @notice Leaf hash of `data`: SHA-256(0x00 || data).
    function hashLeaf(bytes calldata data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    /// @notice Interior node hash: SHA-256(0x01 || left || right).
    function hashChildren(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return _asPureNode(_node)(left, right);
    }

    /// @notice Root implied by an inclusion proof, by the walk of RFC 9162 §2.1.3.2.
    /// @return ok False if `leafIndex >= treeSize` or the proof is too short or too long for the
    ///         position; `root` is then 0.
    /// @return root The computed root when `ok`.
    function rootFromInclusionProof(uint64 leafIndex, uint64 treeSize, bytes32 leafHash, bytes32[] calldata proof)
        internal
        pure
        returns (bool ok, bytes32 root)
    {
        return _asPureInclusion(_rootFromInclusionProof)(leafIndex, treeSize, leafHash, proof);
    }

    /// @notice RFC 9162 §2.1.3.2 inclusion verification: true iff `proof` proves that `leafHash`
    ///         is the leaf at `leafIndex` of the tree of `treeSize` leaves whose root is `root`.
    /// @dev The proof does not bind `treeSize` on its own (paths of different sizes can have the
    ///      same shape): take `treeSize` and `root` together from a trusted checkpoint.
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
        return _asPureConsistency(_verifyConsistency)(size1, size2, root1, root2, proof);
    }

    // ------------------------------------------------------------ implementation

    /// @dev SHA-256(0x01 || left || right), with the 65-byte input in unallocated memory past the
    ///      free memory pointer and the output in scratch space.
    function _node(bytes32 left, bytes32 right) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 0x01), left)
            mstore(add(p, 0x21), right)
            if iszero(staticcall(gas(), 0x02, p, 0x41, 0x00, 0x20)) { revert(0x00, 0x00) }
            h := mload(0x00)
        }
    }

    function _rootFromInclusionProof(uint64 leafIndex, uint64 treeSize, bytes32 leafHash, bytes32[] calldata proof)
        private
        view
        returns (bool, bytes32)
    {
        // 1. leaf_index must lie inside the tree.
        if (leafIndex >= treeSize) return (false, bytes32(0));
        // 2-3. fn = leaf_index, sn = tree_size - 1, r = hash.
        uint256 fn = leafIndex;
        uint256 sn = treeSize - 1;
        bytes32 r = leafHash;
        // 4. For each p in the proof:
        for (uint256 i = 0; i < proof.length; ++i) {
            // a. A proof longer than the path fails.
            if (sn == 0) return (false, bytes32(0));
            if (fn & 1 == 1 || fn == sn) {
                // b. p is a left sibling: r is a right child, or the last node of its level.
                r = _node(proof[i], r);
                // Skip the levels where r is the last node and has no sibling.
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                // p is a right sibling.
                r = _node(r, proof[i]);
            }
            // c. Go up one level.
            fn >>= 1;
            sn >>= 1;
        }
        // 5. A proof shorter than the path leaves sn > 0.
        if (sn != 0) return (false, bytes32(0));
        return (true, r);
    }

    function _verifyConsistency(uint64 size1, uint64 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        private
        view
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
        uint256 fn = size1 - 1;
        uint256 sn = size2 - 1;
        // 4. Skip the levels where the old tree's last node is a right child.
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
            if (fn & 1 == 1 || fn == sn) {
                // b. c is a left sibling on both paths.
                bytes32 c = proof[i];
                fr = _node(c, fr);
                sr = _node(c, sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                // c is a right sibling that only the new tree has.
                sr = _node(sr, proof[i]);
            }
            // c. Go up one level.
            fn >>= 1;
            sn >>= 1;
        }
        // 7. Both roots must match and the path must be fully consumed.
        return fr == root1 && sr == root2 && sn == 0;
    }

    // ------------------------------------------------------------ view -> pure casts (see above)

    function _asPureNode(function(bytes32, bytes32) view returns (bytes32) f)
        private
        pure
        returns (function(bytes32, bytes32) pure returns (bytes32) g)
    {
        assembly ("memory-safe") {
            g := f
        }
    }

    function _asPureInclusion(function(uint64, uint64, bytes32, bytes32[] calldata) view returns (bool, bytes32) f)
        private
        pure
        returns (function(uint64, uint64, bytes32, bytes32[] calldata) pure returns (bool, bytes32) g)
    {
        assembly ("memory-safe") {
            g := f
        }
    }

    function _asPureConsistency(function(uint64, uint64, bytes32, bytes32, bytes32[] calldata) view returns (bool) f)
        private
        pure
        returns (function(uint64, uint64, bytes32, bytes32, bytes32[] calldata) pure returns (bool) g)
    {
        assembly ("memory-safe") {
            g := f
        }
    }
}
