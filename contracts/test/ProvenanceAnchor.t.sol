// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {NaiveMerkle} from "./utils/NaiveMerkle.sol";
import {IProvenanceAnchor} from "../src/IProvenanceAnchor.sol";
import {ProvenanceAnchor} from "../src/ProvenanceAnchor.sol";

/// @notice Roles, anchoring rules, events, errors and getters of ProvenanceAnchor.
contract ProvenanceAnchorTest is TestBase {
    ProvenanceAnchor internal pa;

    address internal constant OWNER = address(0xA11CE);
    address internal constant ANCHORER = address(0xB0B);
    address internal constant STRANGER = address(0xBAD);

    string internal constant ORIGIN = "provlog.example/log/1";
    bytes32 internal logId;

    function setUp() public {
        pa = new ProvenanceAnchor(OWNER);
        vm.prank(OWNER);
        pa.addAnchorer(ANCHORER);
        logId = keccak256(bytes(ORIGIN));
    }

    function _anchor(uint64 size, bytes32 root) internal {
        vm.prank(ANCHORER);
        pa.anchor(logId, size, root);
    }

    // ------------------------------------------------------------ deployment and log ids

    function test_constructor_setsOwner() public view {
        vm.assertEq(pa.owner(), OWNER);
        vm.assertEq(pa.pendingOwner(), address(0));
    }

    function test_constructor_emitsOwnershipTransferred() public {
        vm.expectEmit();
        emit IProvenanceAnchor.OwnershipTransferred(address(0), OWNER);
        new ProvenanceAnchor(OWNER);
    }

    function test_constructor_revertsOnZeroOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__ZeroAddress.selector));
        new ProvenanceAnchor(address(0));
    }

    function test_logIdOf_isKeccakOfOrigin() public view {
        vm.assertEq(pa.logIdOf(ORIGIN), keccak256(bytes(ORIGIN)));
        vm.assertEq(pa.logIdOf(""), keccak256(""));
        // UTF-8 bytes, no trailing newline.
        vm.assertEq(pa.logIdOf(unicode"ex.org/log-é"), keccak256(hex"65782e6f72672f6c6f672dc3a9"));
    }

    function testFuzz_logIdOf(string calldata origin) public view {
        vm.assertEq(pa.logIdOf(origin), keccak256(bytes(origin)));
    }

    // ------------------------------------------------------------ roles

    function test_addAnchorer_grantsRoleAndEmits() public {
        address a = address(0xC0FFEE);
        vm.expectEmit(address(pa));
        emit IProvenanceAnchor.AnchorerAdded(a);
        vm.prank(OWNER);
        pa.addAnchorer(a);
        vm.assertTrue(pa.isAnchorer(a), "granted");
    }

    function test_addAnchorer_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotOwner.selector, ANCHORER));
        vm.prank(ANCHORER);
        pa.addAnchorer(STRANGER);
    }

    function test_addAnchorer_revertsOnZeroAddress() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__ZeroAddress.selector));
        vm.prank(OWNER);
        pa.addAnchorer(address(0));
    }

    function test_addAnchorer_revertsIfAlreadyAnchorer() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__AlreadyAnchorer.selector, ANCHORER));
        vm.prank(OWNER);
        pa.addAnchorer(ANCHORER);
    }

    function test_removeAnchorer_revokesRoleAndEmits() public {
        vm.expectEmit(address(pa));
        emit IProvenanceAnchor.AnchorerRemoved(ANCHORER);
        vm.prank(OWNER);
        pa.removeAnchorer(ANCHORER);
        vm.assertFalse(pa.isAnchorer(ANCHORER), "revoked");

        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotAnchorer.selector, ANCHORER));
        _anchor(1, bytes32(uint256(1)));
    }

    function test_removeAnchorer_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotOwner.selector, STRANGER));
        vm.prank(STRANGER);
        pa.removeAnchorer(ANCHORER);
    }

    function test_removeAnchorer_revertsIfNotAnchorer() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotAnchorer.selector, STRANGER));
        vm.prank(OWNER);
        pa.removeAnchorer(STRANGER);
    }

    function test_ownerIsNotImplicitlyAnchorer() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotAnchorer.selector, OWNER));
        vm.prank(OWNER);
        pa.anchor(logId, 1, bytes32(uint256(1)));
    }

    function test_transferOwnership_isTwoStep() public {
        address next = address(0xD00D);
        vm.expectEmit(address(pa));
        emit IProvenanceAnchor.OwnershipTransferStarted(OWNER, next);
        vm.prank(OWNER);
        pa.transferOwnership(next);
        // Nothing changes until accepted.
        vm.assertEq(pa.owner(), OWNER);
        vm.assertEq(pa.pendingOwner(), next);

        vm.expectEmit(address(pa));
        emit IProvenanceAnchor.OwnershipTransferred(OWNER, next);
        vm.prank(next);
        pa.acceptOwnership();
        vm.assertEq(pa.owner(), next);
        vm.assertEq(pa.pendingOwner(), address(0));

        // The old owner lost its powers, the new one has them.
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotOwner.selector, OWNER));
        vm.prank(OWNER);
        pa.addAnchorer(STRANGER);
        vm.prank(next);
        pa.addAnchorer(STRANGER);
        vm.assertTrue(pa.isAnchorer(STRANGER), "new owner manages anchorers");
    }

    function test_transferOwnership_onlyOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotOwner.selector, STRANGER));
        vm.prank(STRANGER);
        pa.transferOwnership(STRANGER);
    }

    function test_acceptOwnership_onlyPendingOwner() public {
        vm.prank(OWNER);
        pa.transferOwnership(address(0xD00D));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotPendingOwner.selector, STRANGER));
        vm.prank(STRANGER);
        pa.acceptOwnership();
    }

    function test_acceptOwnership_revertsWithoutPendingTransfer() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotPendingOwner.selector, OWNER));
        vm.prank(OWNER);
        pa.acceptOwnership();
    }

    function test_transferOwnership_toZeroCancels() public {
        address next = address(0xD00D);
        vm.startPrank(OWNER);
        pa.transferOwnership(next);
        pa.transferOwnership(address(0));
        vm.stopPrank();
        vm.assertEq(pa.pendingOwner(), address(0));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotPendingOwner.selector, next));
        vm.prank(next);
        pa.acceptOwnership();
    }

    // ------------------------------------------------------------ anchoring

    function test_anchor_storesRecordAndLatest() public {
        bytes32 root = keccak256("root 7");
        vm.warp(1_700_000_000);
        vm.roll(12_345);
        _anchor(7, root);

        (bytes32 r, uint64 ts) = pa.anchoredRoot(logId, 7);
        vm.assertEq(r, root);
        vm.assertEq(ts, 1_700_000_000);
        (bytes32 r2, uint64 ts2, uint64 bn) = pa.anchorRecord(logId, 7);
        vm.assertEq(r2, root);
        vm.assertEq(ts2, 1_700_000_000);
        vm.assertEq(bn, 12_345);
        (uint64 size, bytes32 latestRoot) = pa.latest(logId);
        vm.assertEq(size, 7);
        vm.assertEq(latestRoot, root);
    }

    function test_anchor_emitsCheckpointAnchored() public {
        bytes32 root = keccak256("root 3");
        vm.expectEmit(address(pa));
        emit IProvenanceAnchor.CheckpointAnchored(logId, 3, root, ANCHORER);
        _anchor(3, root);
    }

    function test_anchor_keepsHistory() public {
        _anchor(1, keccak256("a"));
        vm.warp(block.timestamp + 60);
        _anchor(5, keccak256("b"));
        vm.warp(block.timestamp + 60);
        _anchor(9, keccak256("c"));

        (bytes32 r1,) = pa.anchoredRoot(logId, 1);
        (bytes32 r5,) = pa.anchoredRoot(logId, 5);
        (bytes32 r9,) = pa.anchoredRoot(logId, 9);
        vm.assertEq(r1, keccak256("a"));
        vm.assertEq(r5, keccak256("b"));
        vm.assertEq(r9, keccak256("c"));
        (uint64 size, bytes32 root) = pa.latest(logId);
        vm.assertEq(size, 9);
        vm.assertEq(root, keccak256("c"));
    }

    function test_getters_unknownReturnZero() public view {
        (bytes32 r, uint64 ts) = pa.anchoredRoot(logId, 42);
        vm.assertEq(r, bytes32(0));
        vm.assertEq(ts, 0);
        (bytes32 r2, uint64 ts2, uint64 bn) = pa.anchorRecord(logId, 42);
        vm.assertEq(r2, bytes32(0));
        vm.assertEq(ts2, 0);
        vm.assertEq(bn, 0);
        (uint64 size, bytes32 root) = pa.latest(logId);
        vm.assertEq(size, 0);
        vm.assertEq(root, bytes32(0));
    }

    function test_anchor_logsAreIndependent() public {
        bytes32 other = keccak256("provlog.example/log/2");
        _anchor(10, keccak256("x"));
        vm.prank(ANCHORER);
        pa.anchor(other, 3, keccak256("y"));
        (uint64 s1,) = pa.latest(logId);
        (uint64 s2, bytes32 r2) = pa.latest(other);
        vm.assertEq(s1, 10);
        vm.assertEq(s2, 3);
        vm.assertEq(r2, keccak256("y"));
    }

    function test_anchor_onlyAnchorer() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NotAnchorer.selector, STRANGER));
        vm.prank(STRANGER);
        pa.anchor(logId, 1, bytes32(uint256(1)));
    }

    function test_anchor_revertsOnZeroTreeSize() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__ZeroTreeSize.selector));
        _anchor(0, bytes32(uint256(1)));
    }

    function test_anchor_revertsOnZeroRoot() public {
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__ZeroRootHash.selector));
        _anchor(1, bytes32(0));
    }

    function test_anchor_revertsOnEqualSize() public {
        _anchor(5, keccak256("a"));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NonMonotonicSize.selector, 5, 5));
        _anchor(5, keccak256("b"));
        // The first anchor is untouched.
        (bytes32 r,) = pa.anchoredRoot(logId, 5);
        vm.assertEq(r, keccak256("a"));
    }

    function test_anchor_revertsOnSmallerSize() public {
        _anchor(5, keccak256("a"));
        vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__NonMonotonicSize.selector, 5, 4));
        _anchor(4, keccak256("b"));
    }

    function test_anchor_maxTreeSize() public {
        _anchor(type(uint64).max, keccak256("max"));
        (uint64 size,) = pa.latest(logId);
        vm.assertEq(size, type(uint64).max);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProvenanceAnchor.ProvenanceAnchor__NonMonotonicSize.selector, type(uint64).max, type(uint64).max
            )
        );
        _anchor(type(uint64).max, keccak256("again"));
    }

    /// @dev Random sequences of sizes: every strictly larger size is accepted, every other one
    ///      rejected with the latest and given sizes, and accepted history stays intact.
    function testFuzz_anchor_monotonic(uint64[8] calldata sizes, bytes32 rootSeed) public {
        uint64 latestSize;
        uint64[8] memory accepted;
        uint256 nAccepted;
        for (uint256 i = 0; i < sizes.length; ++i) {
            uint64 size = sizes[i];
            bytes32 root = keccak256(abi.encode(rootSeed, i));
            if (size == 0) {
                vm.expectRevert(abi.encodeWithSelector(IProvenanceAnchor.ProvenanceAnchor__ZeroTreeSize.selector));
            } else if (size <= latestSize) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IProvenanceAnchor.ProvenanceAnchor__NonMonotonicSize.selector, latestSize, size
                    )
                );
            } else {
                vm.expectEmit(address(pa));
                emit IProvenanceAnchor.CheckpointAnchored(logId, size, root, ANCHORER);
            }
            _anchor(size, root);
            if (size > latestSize) {
                latestSize = size;
                accepted[nAccepted++] = size;
            }
            (uint64 s,) = pa.latest(logId);
            vm.assertEq(s, latestSize);
        }
        for (uint256 j = 0; j < nAccepted; ++j) {
            (bytes32 r,) = pa.anchoredRoot(logId, accepted[j]);
            vm.assertTrue(r != bytes32(0), "accepted size keeps its root");
        }
    }

    /// @dev Increasing sizes with random roots and times round-trip through the getters.
    function testFuzz_anchor_roundTrip(uint64 start, uint32[4] calldata steps, bytes32 root, uint40 time) public {
        vm.assume(root != bytes32(0));
        uint64 size = uint64(bound(start, 1, type(uint64).max - 4 * uint256(type(uint32).max) - 4));
        for (uint256 i = 0; i < steps.length; ++i) {
            vm.warp(uint256(time) + i);
            vm.roll(1000 + i);
            bytes32 r = keccak256(abi.encode(root, i));
            _anchor(size, r);
            (bytes32 got, uint64 ts, uint64 bn) = pa.anchorRecord(logId, size);
            vm.assertEq(got, r);
            vm.assertEq(ts, uint256(time) + i);
            vm.assertEq(bn, 1000 + i);
            (uint64 ls, bytes32 lr) = pa.latest(logId);
            vm.assertEq(ls, size);
            vm.assertEq(lr, r);
            size += uint64(steps[i]) + 1;
        }
    }

    // ------------------------------------------------------------ anchored inclusion

    function test_verifyAnchoredInclusion() public {
        bytes32[] memory leaves = new bytes32[](7);
        for (uint256 i = 0; i < leaves.length; ++i) {
            leaves[i] = pa.leafHashOf(abi.encodePacked("entry ", vm.toString(i)));
        }
        bytes32[] memory leaves5 = new bytes32[](5);
        for (uint256 i = 0; i < leaves5.length; ++i) {
            leaves5[i] = leaves[i];
        }
        bytes32 root5 = NaiveMerkle.root(leaves5);
        bytes32[] memory proof = NaiveMerkle.inclusionProof(leaves5, 0);

        // Not anchored yet: false even though the proof is right.
        vm.assertFalse(pa.verifyAnchoredInclusion(logId, 5, 0, leaves[0], proof), "not anchored");
        _anchor(5, root5);
        vm.assertTrue(pa.verifyAnchoredInclusion(logId, 5, 0, leaves[0], proof), "anchored");
        vm.assertFalse(pa.verifyAnchoredInclusion(logId, 5, 1, leaves[0], proof), "wrong index");
        vm.assertFalse(pa.verifyAnchoredInclusion(logId, 5, 0, leaves[1], proof), "wrong leaf");
        vm.assertFalse(pa.verifyAnchoredInclusion(keccak256("other"), 5, 0, leaves[0], proof), "other log");

        // An RFC 9162 proof does not bind the tree size: leaf 0's proof in a 5-leaf tree has the
        // shape of one in a 7-leaf tree, so the pure verifier accepts it with size 7 and the same
        // root. The anchored verifier takes the root for size 7 from the chain, so it does not.
        vm.assertTrue(pa.verifyInclusion(0, 7, leaves[0], proof, root5), "pure verifier: size unbound");
        _anchor(7, NaiveMerkle.root(leaves));
        vm.assertFalse(pa.verifyAnchoredInclusion(logId, 7, 0, leaves[0], proof), "size bound by anchor");
        vm.assertTrue(
            pa.verifyAnchoredInclusion(logId, 7, 0, leaves[0], NaiveMerkle.inclusionProof(leaves, 0)), "size 7"
        );
    }

    function test_leafHashOf() public view {
        vm.assertEq(pa.leafHashOf(""), sha256(hex"00"));
        vm.assertEq(pa.leafHashOf(hex"0102"), sha256(hex"000102"));
    }
}
