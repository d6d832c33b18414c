// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {NaiveMerkle} from "./utils/NaiveMerkle.sol";
import {ProvenanceAnchor} from "../src/ProvenanceAnchor.sol";

/// @notice The contract's RFC 9162 verifiers against a naive recursive reference: exhaustive over
///         small trees, fuzzed over random trees, and with single-bit tampering.
/// @dev Tampering facts these tests pin down (checked exhaustively for small trees):
///      - flipping any bit of the leaf hash, the leaf index, any proof element, root1 or the root
///        always makes a proof fail (the index is bound by the shape of the path for a fixed size);
///      - flipping a bit of the tree size (inclusion) or of size2 (consistency) does NOT always make
///        a proof fail: RFC 9162 proofs do not bind the tree size when paths of two sizes have the
///        same shape (e.g. leaf 0 of 5 leaves and leaf 0 of 7 leaves). The size is bound by the
///        checkpoint that signs (size, root) together, which is why `verifyAnchoredInclusion` looks
///        the root up by size. For size flips the tests require agreement with the reference.
contract RFC9162Test is TestBase {
    ProvenanceAnchor internal pa;

    uint64 internal constant MAX_FUZZ_LEAVES = 40;

    function setUp() public {
        pa = new ProvenanceAnchor(address(this));
    }

    function _leaves(uint256 n, bytes32 seed) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = NaiveMerkle.leafHash(abi.encode(seed, i));
        }
    }

    function _copyFlip(bytes32[] memory a, uint256 j, uint256 bit) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; ++i) {
            b[i] = a[i];
        }
        b[j] = flipBit(b[j], bit);
    }

    function _append(bytes32[] memory a, bytes32 x) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length + 1);
        for (uint256 i = 0; i < a.length; ++i) {
            b[i] = a[i];
        }
        b[a.length] = x;
    }

    function _dropLast(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length - 1);
        for (uint256 i = 0; i < b.length; ++i) {
            b[i] = a[i];
        }
    }

    // ------------------------------------------------------------ known answers

    function test_leafAndNodeHashing() public view {
        // RFC 9162 §2.1.1 on tiny inputs, computed independently with sha256sum.
        vm.assertEq(pa.leafHashOf(""), 0x6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d);
        bytes32[] memory leaves = new bytes32[](2);
        leaves[0] = pa.leafHashOf("");
        leaves[1] = pa.leafHashOf(hex"00");
        bytes32[] memory proof = new bytes32[](1);
        proof[0] = leaves[1];
        bytes32 root = sha256(abi.encodePacked(bytes1(0x01), leaves[0], leaves[1]));
        vm.assertEq(root, NaiveMerkle.root(leaves));
        vm.assertTrue(pa.verifyInclusion(0, 2, leaves[0], proof, root), "2-leaf proof");
    }

    function test_inclusion_singleLeafTree() public view {
        bytes32 leaf = keccak256("leaf");
        bytes32[] memory empty = new bytes32[](0);
        vm.assertTrue(pa.verifyInclusion(0, 1, leaf, empty, leaf), "leaf is root");
        vm.assertFalse(pa.verifyInclusion(1, 1, leaf, empty, leaf), "index == size");
        vm.assertFalse(pa.verifyInclusion(0, 0, leaf, empty, leaf), "empty tree");
        vm.assertFalse(pa.verifyInclusion(0, 1, leaf, _append(empty, leaf), leaf), "leftover element");
    }

    function test_inclusion_maxSizes() public view {
        // The longest paths in the largest tree (2^64 - 1 leaves): 64 elements for leaf 0, 63 for
        // the last leaf. The walk terminates without overflow and checks the length exactly.
        bytes32[] memory proof = new bytes32[](64);
        for (uint256 i = 0; i < 64; ++i) {
            proof[i] = keccak256(abi.encode(i));
        }
        uint64 max = type(uint64).max;
        bytes32 leaf = keccak256("leaf");
        (bool ok, bytes32 r) = NaiveMerkle.rootFromInclusionProof(0, max, leaf, proof);
        vm.assertTrue(ok, "reference: 64 elements for leaf 0");
        vm.assertTrue(pa.verifyInclusion(0, max, leaf, proof, r), "leaf 0");
        vm.assertFalse(pa.verifyInclusion(0, max, leaf, _append(proof, r), r), "leaf 0, too long");
        vm.assertFalse(pa.verifyInclusion(0, max, leaf, _dropLast(proof), r), "leaf 0, too short");

        bytes32[] memory proof63 = _dropLast(proof);
        (ok, r) = NaiveMerkle.rootFromInclusionProof(max - 1, max, leaf, proof63);
        vm.assertTrue(ok, "reference: 63 elements for the last leaf");
        vm.assertTrue(pa.verifyInclusion(max - 1, max, leaf, proof63, r), "last leaf");
        vm.assertFalse(pa.verifyInclusion(max, max, leaf, proof63, r), "index == size");
        vm.assertFalse(pa.verifyInclusion(max - 1, max, leaf, proof, r), "last leaf, too long");
    }

    function test_inclusion_sizeNotBoundByProof() public view {
        // Leaf 0's path in a 5-leaf tree and in a 7-leaf tree have the same shape (three right
        // siblings), so the same proof and root verify for both sizes. See the contract notes.
        bytes32[] memory leaves = _leaves(5, "shape");
        bytes32[] memory proof = NaiveMerkle.inclusionProof(leaves, 0);
        bytes32 root = NaiveMerkle.root(leaves);
        vm.assertTrue(pa.verifyInclusion(0, 5, leaves[0], proof, root), "size 5");
        vm.assertTrue(pa.verifyInclusion(0, 7, leaves[0], proof, root), "size 7, same shape");
        vm.assertFalse(pa.verifyInclusion(0, 4, leaves[0], proof, root), "size 4, other shape");
        vm.assertFalse(pa.verifyInclusion(0, 9, leaves[0], proof, root), "size 9, other shape");
    }

    function test_consistency_edgeCases() public view {
        bytes32 a = keccak256("a");
        bytes32 b = keccak256("b");
        bytes32[] memory empty = new bytes32[](0);
        bytes32[] memory one = _append(empty, a);
        vm.assertTrue(pa.verifyConsistency(0, 0, a, a, empty), "0 -> 0, equal roots");
        vm.assertFalse(pa.verifyConsistency(0, 0, a, b, empty), "0 -> 0, different roots");
        vm.assertTrue(pa.verifyConsistency(0, 9, a, b, empty), "0 -> n");
        vm.assertFalse(pa.verifyConsistency(0, 9, a, b, one), "0 -> n, non-empty proof");
        vm.assertTrue(pa.verifyConsistency(9, 9, a, a, empty), "n -> n");
        vm.assertFalse(pa.verifyConsistency(9, 9, a, b, empty), "n -> n, different roots");
        vm.assertFalse(pa.verifyConsistency(9, 9, a, a, one), "n -> n, non-empty proof");
        vm.assertFalse(pa.verifyConsistency(9, 8, a, b, one), "shrinking");
        vm.assertFalse(pa.verifyConsistency(4, 8, a, b, empty), "empty proof");
        vm.assertFalse(pa.verifyConsistency(3, 8, a, b, empty), "empty proof, size1 not a power of 2");
    }

    // ------------------------------------------------------------ exhaustive, small trees

    /// @dev Every leaf of every tree up to 17 leaves; every (m, n) pair up to 17 leaves.
    function test_exhaustive_smallTrees() public view {
        bytes32[] memory all = _leaves(17, "exhaustive");
        bytes32[18] memory roots;
        for (uint64 n = 0; n <= 17; ++n) {
            bytes32[] memory leaves = _prefix(all, n);
            roots[n] = NaiveMerkle.root(leaves);
            for (uint64 m = 0; m < n; ++m) {
                bytes32[] memory proof = NaiveMerkle.inclusionProof(leaves, m);
                vm.assertTrue(pa.verifyInclusion(m, n, leaves[m], proof, roots[n]), "inclusion");
                // Every other (index, size) for the same proof agrees with the reference.
                uint256 freePtr = _freePtr();
                for (uint64 m2 = 0; m2 < 18; ++m2) {
                    for (uint64 n2 = 0; n2 < 18; ++n2) {
                        _resetFreePtr(freePtr);
                        if (m2 == m && n2 == n) continue;
                        vm.assertEq(
                            pa.verifyInclusion(m2, n2, leaves[m], proof, roots[n]),
                            NaiveMerkle.verifyInclusion(m2, n2, leaves[m], proof, roots[n]),
                            "other index/size"
                        );
                    }
                }
            }
        }
        for (uint64 n = 1; n <= 17; ++n) {
            bytes32[] memory leaves = _prefix(all, n);
            for (uint64 m = 1; m <= n; ++m) {
                bytes32[] memory proof = NaiveMerkle.consistencyProof(leaves, m);
                vm.assertTrue(pa.verifyConsistency(m, n, roots[m], roots[n], proof), "consistency");
                // The same proof for every other pair of sizes (with their true roots).
                uint256 freePtr = _freePtr();
                for (uint64 m2 = 0; m2 <= 17; ++m2) {
                    for (uint64 n2 = m2; n2 <= 17; ++n2) {
                        _resetFreePtr(freePtr);
                        if (m2 == m && n2 == n) continue;
                        vm.assertEq(
                            pa.verifyConsistency(m2, n2, roots[m2], roots[n2], proof),
                            NaiveMerkle.verifyConsistency(m2, n2, roots[m2], roots[n2], proof),
                            "other sizes"
                        );
                    }
                }
            }
        }
    }

    /// @dev The exhaustive loops make ~10^5 external calls; reusing memory keeps them in budget.
    function _freePtr() internal pure returns (uint256 p) {
        assembly ("memory-safe") {
            p := mload(0x40)
        }
    }

    function _resetFreePtr(uint256 p) internal pure {
        assembly ("memory-safe") {
            mstore(0x40, p)
        }
    }

    function _prefix(bytes32[] memory a, uint256 n) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            b[i] = a[i];
        }
    }

    // ------------------------------------------------------------ fuzz: random trees

    /// @dev A random tree: every leaf's proof verifies; for one random leaf, flipping a bit of any
    ///      proof element, of the leaf hash or of the index fails, dropping or adding an element
    ///      fails, and flipping a bit of the size agrees with the reference verifier.
    function testFuzz_inclusion_randomTree(uint256 nSeed, bytes32 seed, uint256 target, uint256 bitSeed) public view {
        uint64 size = boundU64(nSeed, 1, MAX_FUZZ_LEAVES);
        bytes32[] memory leaves = _leaves(size, seed);
        bytes32 root = NaiveMerkle.root(leaves);

        for (uint64 m = 0; m < size; ++m) {
            bytes32[] memory p = NaiveMerkle.inclusionProof(leaves, m);
            vm.assertTrue(pa.verifyInclusion(m, size, leaves[m], p, root), "valid proof");
        }

        uint64 idx = boundU64(target, 0, size - 1);
        _checkInclusionTampering(idx, size, leaves[idx], NaiveMerkle.inclusionProof(leaves, idx), root, bitSeed);
    }

    function _checkInclusionTampering(
        uint64 idx,
        uint64 size,
        bytes32 leaf,
        bytes32[] memory proof,
        bytes32 root,
        uint256 bitSeed
    ) internal view {
        for (uint256 j = 0; j < proof.length; ++j) {
            uint256 bit = uint256(keccak256(abi.encode(bitSeed, j))) % 256;
            vm.assertFalse(pa.verifyInclusion(idx, size, leaf, _copyFlip(proof, j, bit), root), "proof bit");
        }
        vm.assertFalse(pa.verifyInclusion(idx, size, flipBit(leaf, bitSeed), proof, root), "leaf bit");
        vm.assertFalse(pa.verifyInclusion(idx, size, leaf, proof, flipBit(root, bitSeed >> 8)), "root bit");
        vm.assertFalse(pa.verifyInclusion(idx, size, leaf, _append(proof, root), root), "extra element");
        if (proof.length > 0) {
            vm.assertFalse(pa.verifyInclusion(idx, size, leaf, _dropLast(proof), root), "missing element");
        }
        for (uint64 b = 0; b < 64; ++b) {
            uint64 mask = uint64(1) << b;
            vm.assertFalse(pa.verifyInclusion(idx ^ mask, size, leaf, proof, root), "index bit");
            vm.assertEq(
                pa.verifyInclusion(idx, size ^ mask, leaf, proof, root),
                NaiveMerkle.verifyInclusion(idx, size ^ mask, leaf, proof, root),
                "size bit: reference"
            );
        }
    }

    /// @dev Random proofs (not from a tree) for random positions in huge trees: the iterative walk
    ///      computes the same root as the recursive reference, or both reject the proof length.
    function testFuzz_inclusion_matchesReference(uint64 size, uint64 index, bytes32 leaf, bytes32 seed, uint8 len)
        public
        view
    {
        size = boundU64(size, 1, type(uint64).max);
        index = boundU64(index, 0, size - 1);
        bytes32[] memory proof = new bytes32[](bound(len, 0, 65));
        for (uint256 i = 0; i < proof.length; ++i) {
            proof[i] = keccak256(abi.encode(seed, i));
        }
        (bool ok, bytes32 r) = NaiveMerkle.rootFromInclusionProof(index, size, leaf, proof);
        vm.assertEq(pa.verifyInclusion(index, size, leaf, proof, r), ok, "agrees with reference");
        if (ok) {
            vm.assertFalse(pa.verifyInclusion(index, size, leaf, proof, flipBit(r, uint256(seed))), "root bit");
        }
    }

    /// @dev Random tree sizes m <= n: the RFC proof verifies; flipping a bit of any proof element,
    ///      of root1 (size1 > 0) or root2 fails; flipping a bit of size1 fails unless it yields the
    ///      size-0 convention; size2 flips agree with the reference; a changed length fails.
    function testFuzz_consistency_randomTrees(uint256 nSeed, uint256 mSeed, bytes32 seed, uint256 bitSeed) public view {
        uint64 s2 = boundU64(nSeed, 1, MAX_FUZZ_LEAVES);
        uint64 s1 = boundU64(mSeed, 0, s2);
        bytes32[] memory leaves = _leaves(s2, seed);
        bytes32 root1 = NaiveMerkle.root(_prefix(leaves, s1));
        bytes32 root2 = NaiveMerkle.root(leaves);
        bytes32[] memory proof = s1 == 0 ? new bytes32[](0) : NaiveMerkle.consistencyProof(leaves, s1);

        vm.assertTrue(pa.verifyConsistency(s1, s2, root1, root2, proof), "valid proof");
        _checkConsistencyTampering(s1, s2, root1, root2, proof, bitSeed);
    }

    function _checkConsistencyTampering(
        uint64 s1,
        uint64 s2,
        bytes32 root1,
        bytes32 root2,
        bytes32[] memory proof,
        uint256 bitSeed
    ) internal view {
        for (uint256 j = 0; j < proof.length; ++j) {
            uint256 bit = uint256(keccak256(abi.encode(bitSeed, j))) % 256;
            vm.assertFalse(pa.verifyConsistency(s1, s2, root1, root2, _copyFlip(proof, j, bit)), "proof bit");
        }
        if (s1 > 0) {
            vm.assertFalse(pa.verifyConsistency(s1, s2, flipBit(root1, bitSeed), root2, proof), "root1 bit");
        }
        if (s1 > 0 || s2 == 0) {
            vm.assertFalse(pa.verifyConsistency(s1, s2, root1, flipBit(root2, bitSeed >> 8), proof), "root2 bit");
        }
        vm.assertFalse(pa.verifyConsistency(s1, s2, root1, root2, _append(proof, root2)), "extra element");
        if (proof.length > 0) {
            vm.assertFalse(pa.verifyConsistency(s1, s2, root1, root2, _dropLast(proof)), "missing element");
        }
        for (uint64 b = 0; b < 64; ++b) {
            uint64 mask = uint64(1) << b;
            if ((s1 ^ mask) != 0) {
                vm.assertFalse(pa.verifyConsistency(s1 ^ mask, s2, root1, root2, proof), "size1 bit");
            }
            vm.assertEq(
                pa.verifyConsistency(s1, s2 ^ mask, root1, root2, proof),
                NaiveMerkle.verifyConsistency(s1, s2 ^ mask, root1, root2, proof),
                "size2 bit: reference"
            );
        }
    }

    /// @dev Random proofs for random huge sizes: the iterative walk agrees with the reference.
    function testFuzz_consistency_matchesReference(
        uint64 size1,
        uint64 size2,
        bytes32 root1,
        bytes32 seed,
        uint8 len,
        bool useTrueRoot
    ) public view {
        bytes32[] memory proof = new bytes32[](bound(len, 0, 70));
        for (uint256 i = 0; i < proof.length; ++i) {
            proof[i] = keccak256(abi.encode(seed, i));
        }
        // Pick root2 so that the pair has a chance to verify: what the reference computes with the
        // true root1, or a random value.
        bytes32 root2 = useTrueRoot ? _impliedRoot2(size1, size2, root1, proof) : seed;
        vm.assertEq(
            pa.verifyConsistency(size1, size2, root1, root2, proof),
            NaiveMerkle.verifyConsistency(size1, size2, root1, root2, proof),
            "agrees with reference"
        );
    }

    /// @dev root2 that makes `proof` verify if root1 matches, found by trying the walk; bytes32(0)
    ///      when the shape does not fit.
    function _impliedRoot2(uint64 size1, uint64 size2, bytes32 root1, bytes32[] memory proof)
        internal
        pure
        returns (bytes32)
    {
        if (size1 == 0 || size1 >= size2 || proof.length == 0) return root1;
        // Run the RFC walk without checking fr, like the contract does, to get sr.
        uint256 i;
        bytes32 fr = proof[0];
        if (size1 & (size1 - 1) == 0) {
            fr = root1;
        } else {
            i = 1;
        }
        bytes32 sr = fr;
        uint64 fn = size1 - 1;
        uint64 sn = size2 - 1;
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        for (; i < proof.length; ++i) {
            if (sn == 0) return 0;
            if (fn & 1 == 1 || fn == sn) {
                sr = NaiveMerkle.nodeHash(proof[i], sr);
                while (fn & 1 == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                sr = NaiveMerkle.nodeHash(sr, proof[i]);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sr;
    }
}
