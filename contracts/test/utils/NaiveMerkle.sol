// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @notice Naive recursive RFC 9162 reference (§2.1.1 MTH, §2.1.3.1 PATH, §2.1.4.1 PROOF/SUBPROOF)
///         and recursive reference verifiers, to check the contract's iterative fn/sn walks against.
/// @dev Written for clarity, not gas: every call recomputes subtrees from the leaves.
library NaiveMerkle {
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), data));
    }

    function nodeHash(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x01), left, right));
    }

    /// @dev Largest power of two strictly smaller than n (n >= 2).
    function split(uint256 n) internal pure returns (uint256 k) {
        k = 1;
        while (k << 1 < n) k <<= 1;
    }

    /// @notice MTH(leaves[start:end]); SHA-256("") for the empty tree.
    function mth(bytes32[] memory leaves, uint256 start, uint256 end) internal pure returns (bytes32) {
        uint256 n = end - start;
        if (n == 0) return sha256("");
        if (n == 1) return leaves[start];
        uint256 k = split(n);
        return nodeHash(mth(leaves, start, start + k), mth(leaves, start + k, end));
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        return mth(leaves, 0, leaves.length);
    }

    /// @notice PATH(m, leaves): the inclusion proof of leaf m, leaf-level sibling first.
    function inclusionProof(bytes32[] memory leaves, uint256 m) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](64);
        uint256 len = _path(leaves, m, 0, leaves.length, proof, 0);
        assembly ("memory-safe") {
            mstore(proof, len)
        }
    }

    function _path(bytes32[] memory leaves, uint256 m, uint256 start, uint256 end, bytes32[] memory out, uint256 len)
        private
        pure
        returns (uint256)
    {
        uint256 n = end - start;
        if (n <= 1) return len;
        uint256 k = split(n);
        if (m < k) {
            len = _path(leaves, m, start, start + k, out, len);
            out[len] = mth(leaves, start + k, end);
        } else {
            len = _path(leaves, m - k, start + k, end, out, len);
            out[len] = mth(leaves, start, start + k);
        }
        return len + 1;
    }

    /// @notice PROOF(m, leaves): the consistency proof from the first m leaves to all of them.
    function consistencyProof(bytes32[] memory leaves, uint256 m) internal pure returns (bytes32[] memory proof) {
        proof = new bytes32[](128);
        uint256 len = _subproof(leaves, m, 0, leaves.length, true, proof, 0);
        assembly ("memory-safe") {
            mstore(proof, len)
        }
    }

    function _subproof(
        bytes32[] memory leaves,
        uint256 m,
        uint256 start,
        uint256 end,
        bool b,
        bytes32[] memory out,
        uint256 len
    ) private pure returns (uint256) {
        uint256 n = end - start;
        if (m == n) {
            if (b) return len;
            out[len] = mth(leaves, start, end);
            return len + 1;
        }
        uint256 k = split(n);
        if (m <= k) {
            len = _subproof(leaves, m, start, start + k, b, out, len);
            out[len] = mth(leaves, start + k, end);
        } else {
            len = _subproof(leaves, m - k, start + k, end, false, out, len);
            out[len] = mth(leaves, start, start + k);
        }
        return len + 1;
    }

    // ------------------------------------------------------------ recursive reference verifiers

    /// @notice Root implied by an inclusion proof, by following PATH's recursion top-down (the
    ///         last proof element is the root's other child). ok = false if the proof length does
    ///         not fit the tree shape.
    function rootFromInclusionProof(uint256 m, uint256 n, bytes32 leaf, bytes32[] memory proof)
        internal
        pure
        returns (bool ok, bytes32 r)
    {
        if (m >= n) return (false, 0);
        return _incl(m, n, leaf, proof, proof.length);
    }

    function _incl(uint256 m, uint256 n, bytes32 leaf, bytes32[] memory proof, uint256 end)
        private
        pure
        returns (bool, bytes32)
    {
        if (n == 1) return (end == 0, leaf);
        if (end == 0) return (false, 0);
        uint256 k = split(n);
        bytes32 sibling = proof[end - 1];
        if (m < k) {
            (bool ok, bytes32 sub) = _incl(m, k, leaf, proof, end - 1);
            return (ok, nodeHash(sub, sibling));
        }
        (bool ok2, bytes32 sub2) = _incl(m - k, n - k, leaf, proof, end - 1);
        return (ok2, nodeHash(sibling, sub2));
    }

    function verifyInclusion(uint256 m, uint256 n, bytes32 leaf, bytes32[] memory proof, bytes32 expectedRoot)
        internal
        pure
        returns (bool)
    {
        (bool ok, bytes32 r) = rootFromInclusionProof(m, n, leaf, proof);
        return ok && r == expectedRoot;
    }

    /// @notice Consistency verification by following SUBPROOF's recursion top-down, with the same
    ///         edge-case conventions as the contract.
    function verifyConsistency(uint256 m, uint256 n, bytes32 root1, bytes32 root2, bytes32[] memory proof)
        internal
        pure
        returns (bool)
    {
        if (m > n) return false;
        if (m == n) return proof.length == 0 && root1 == root2;
        if (m == 0) return proof.length == 0;
        (bool ok, uint256 used, bytes32 oldRoot, bytes32 newRoot) = _cons(m, n, true, root1, proof, proof.length);
        return ok && used == proof.length && oldRoot == root1 && newRoot == root2;
    }

    /// @return ok whether the shape fits, used how many elements (from the end) were consumed,
    ///         and the implied old and new subtree roots.
    function _cons(uint256 m, uint256 n, bool b, bytes32 root1, bytes32[] memory proof, uint256 end)
        private
        pure
        returns (bool ok, uint256 used, bytes32 oldRoot, bytes32 newRoot)
    {
        if (m == n) {
            if (b) return (true, 0, root1, root1);
            if (end == 0) return (false, 0, 0, 0);
            return (true, 1, proof[end - 1], proof[end - 1]);
        }
        if (end == 0) return (false, 0, 0, 0);
        uint256 k = split(n);
        bytes32 sibling = proof[end - 1];
        if (m <= k) {
            (ok, used, oldRoot, newRoot) = _cons(m, k, b, root1, proof, end - 1);
            // The old tree lies entirely in the left subtree: only the new root gains the sibling.
            return (ok, used + 1, oldRoot, nodeHash(newRoot, sibling));
        }
        (ok, used, oldRoot, newRoot) = _cons(m - k, n - k, false, root1, proof, end - 1);
        return (ok, used + 1, nodeHash(sibling, oldRoot), nodeHash(sibling, newRoot));
    }
}
