// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title IProvenanceAnchor
/// @notice Anchors signed provlog checkpoints (C2SP tlog-checkpoint of an RFC 9162 SHA-256 Merkle
///         log) on an EVM chain, and verifies RFC 9162 inclusion and consistency proofs on chain.
/// @dev Log identity: `logId = keccak256(bytes(origin))`, where `origin` is the checkpoint's first
///      line (the log origin) as UTF-8 bytes without the trailing newline. `logIdOf` computes it.
///
///      Anchors of a log are append-only and strictly increasing in tree size, so the chain holds a
///      monotonic history of the log. The contract checks neither checkpoint signatures nor
///      consistency between anchored roots: anchorers are trusted to anchor only checkpoints they
///      have verified, and anyone can check consistency with `verifyConsistency`.
///
///      All proof verifiers are total: an invalid proof, index or size returns `false`, never
///      reverts.
interface IProvenanceAnchor {
    // ---------------------------------------------------------------- events

    /// @notice A checkpoint (logId, treeSize, rootHash) was anchored by `anchorer`.
    event CheckpointAnchored(bytes32 indexed logId, uint64 indexed treeSize, bytes32 rootHash, address anchorer);

    /// @notice `account` was granted the anchorer role.
    event AnchorerAdded(address indexed account);

    /// @notice `account` lost the anchorer role.
    event AnchorerRemoved(address indexed account);

    /// @notice The owner offered ownership to `newOwner` (address(0): offer withdrawn).
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);

    /// @notice Ownership moved from `previousOwner` to `newOwner`.
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // ---------------------------------------------------------------- errors

    /// @notice `caller` is not the owner.
    error ProvenanceAnchor__NotOwner(address caller);

    /// @notice `caller` is not the pending owner.
    error ProvenanceAnchor__NotPendingOwner(address caller);

    /// @notice The zero address was given where an account is required.
    error ProvenanceAnchor__ZeroAddress();

    /// @notice `account` does not hold the anchorer role.
    error ProvenanceAnchor__NotAnchorer(address account);

    /// @notice `account` already holds the anchorer role.
    error ProvenanceAnchor__AlreadyAnchorer(address account);

    /// @notice A tree size of 0 cannot be anchored.
    error ProvenanceAnchor__ZeroTreeSize();

    /// @notice A root hash of 0 cannot be anchored (0 means "not anchored" in the getters).
    error ProvenanceAnchor__ZeroRootHash();

    /// @notice `given` is not strictly greater than the log's latest anchored size `latest`.
    error ProvenanceAnchor__NonMonotonicSize(uint64 latest, uint64 given);

    // ---------------------------------------------------------------- anchoring

    /// @notice Anchors the checkpoint (`logId`, `treeSize`, `rootHash`). Only anchorers.
    /// @dev Checks in this order and reverts with: NotAnchorer (caller lacks the role),
    ///      ZeroTreeSize, ZeroRootHash, NonMonotonicSize (unless `treeSize` > the log's latest
    ///      anchored size). Emits CheckpointAnchored.
    function anchor(bytes32 logId, uint64 treeSize, bytes32 rootHash) external;

    /// @notice Root anchored for (`logId`, `treeSize`) and the block timestamp of its anchoring;
    ///         (0, 0) if that size was never anchored.
    function anchoredRoot(bytes32 logId, uint64 treeSize) external view returns (bytes32 rootHash, uint64 timestamp);

    /// @notice Like `anchoredRoot`, plus the block number of the anchoring; all 0 if none.
    function anchorRecord(bytes32 logId, uint64 treeSize)
        external
        view
        returns (bytes32 rootHash, uint64 timestamp, uint64 blockNumber);

    /// @notice The log's latest anchored checkpoint; (0, 0) if the log was never anchored.
    function latest(bytes32 logId) external view returns (uint64 treeSize, bytes32 rootHash);

    /// @notice `keccak256(bytes(origin))`: the log id of a checkpoint whose first line is `origin`.
    function logIdOf(string calldata origin) external pure returns (bytes32);

    // ---------------------------------------------------------------- RFC 9162 proofs

    /// @notice RFC 9162 leaf hash of `data`: SHA-256(0x00 || data).
    function leafHashOf(bytes calldata data) external pure returns (bytes32);

    /// @notice RFC 9162 §2.1.3.2: true iff `proof` proves `leafHash` is leaf `leafIndex` of the
    ///         tree of `treeSize` leaves with root `root`. False (no revert) for any invalid input,
    ///         including `leafIndex >= treeSize` and proofs too short or too long.
    function verifyInclusion(
        uint64 leafIndex,
        uint64 treeSize,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external pure returns (bool);

    /// @notice `verifyInclusion` against the root anchored for (`logId`, `treeSize`); false if that
    ///         size was never anchored.
    function verifyAnchoredInclusion(
        bytes32 logId,
        uint64 treeSize,
        uint64 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool);

    /// @notice RFC 9162 §2.1.4.2: true iff `proof` proves that the tree (`size1`, `root1`) is a
    ///         prefix of the tree (`size2`, `root2`). Conventions: size1 > size2 is invalid;
    ///         size1 == size2 needs an empty proof and root1 == root2; size1 == 0 needs an empty
    ///         proof and is valid. False (no revert) for any invalid input.
    function verifyConsistency(uint64 size1, uint64 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        external
        pure
        returns (bool);

    // ---------------------------------------------------------------- roles

    /// @notice Current owner: manages anchorers and ownership.
    function owner() external view returns (address);

    /// @notice Account offered ownership, which it must accept; address(0) if none.
    function pendingOwner() external view returns (address);

    /// @notice Step 1 of 2: offers ownership to `newOwner` (address(0) withdraws the offer). Only owner.
    function transferOwnership(address newOwner) external;

    /// @notice Step 2 of 2: the pending owner takes ownership.
    function acceptOwnership() external;

    /// @notice Whether `account` may anchor.
    function isAnchorer(address account) external view returns (bool);

    /// @notice Grants the anchorer role to `account`. Only owner.
    function addAnchorer(address account) external;

    /// @notice Revokes the anchorer role from `account`. Only owner.
    function removeAnchorer(address account) external;
}
