// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {IProvenanceAnchor} from "./IProvenanceAnchor.sol";
import {RFC9162} from "./RFC9162.sol";

/// @title ProvenanceAnchor
/// @notice On-chain anchor for provlog checkpoints, and RFC 9162 proof verifier. See
///         IProvenanceAnchor for the log id derivation, the anchoring rules and the verifiers.
/// @dev Roles: one owner (two-step transfer) who adds and removes anchorers; anchorers anchor.
///      Storage per anchored checkpoint is two slots: the root, and (timestamp, block number)
///      packed; per log one slot holds the latest anchored size.
contract ProvenanceAnchor is IProvenanceAnchor {
    /// @dev One anchored checkpoint. `timestamp` and `blockNumber` share a slot.
    struct Record {
        bytes32 rootHash;
        uint64 timestamp;
        uint64 blockNumber;
    }

    address private _owner;
    address private _pendingOwner;
    mapping(address account => bool) private _anchorers;
    mapping(bytes32 logId => uint64 treeSize) private _latestSize;
    mapping(bytes32 logId => mapping(uint64 treeSize => Record)) private _records;

    modifier onlyOwner() {
        if (msg.sender != _owner) revert ProvenanceAnchor__NotOwner(msg.sender);
        _;
    }

    /// @param initialOwner Owner, who then adds the anchorers.
    constructor(address initialOwner) {
        if (initialOwner == address(0)) revert ProvenanceAnchor__ZeroAddress();
        _owner = initialOwner;
        emit OwnershipTransferred(address(0), initialOwner);
    }

    // ---------------------------------------------------------------- anchoring

    /// @inheritdoc IProvenanceAnchor
    function anchor(bytes32 logId, uint64 treeSize, bytes32 rootHash) external {
        if (!_anchorers[msg.sender]) revert ProvenanceAnchor__NotAnchorer(msg.sender);
        if (treeSize == 0) revert ProvenanceAnchor__ZeroTreeSize();
        if (rootHash == bytes32(0)) revert ProvenanceAnchor__ZeroRootHash();
        uint64 latestSize = _latestSize[logId];
        if (treeSize <= latestSize) revert ProvenanceAnchor__NonMonotonicSize(latestSize, treeSize);

        _latestSize[logId] = treeSize;
        // Both casts are lossless for the next few billion years / blocks.
        _records[logId][treeSize] = Record(rootHash, uint64(block.timestamp), uint64(block.number));
        emit CheckpointAnchored(logId, treeSize, rootHash, msg.sender);
    }

    /// @inheritdoc IProvenanceAnchor
    function anchoredRoot(bytes32 logId, uint64 treeSize) external view returns (bytes32 rootHash, uint64 timestamp) {
        Record storage r = _records[logId][treeSize];
        return (r.rootHash, r.timestamp);
    }

    /// @inheritdoc IProvenanceAnchor
    function anchorRecord(bytes32 logId, uint64 treeSize)
        external
        view
        returns (bytes32 rootHash, uint64 timestamp, uint64 blockNumber)
    {
        Record storage r = _records[logId][treeSize];
        return (r.rootHash, r.timestamp, r.blockNumber);
    }

    /// @inheritdoc IProvenanceAnchor
    function latest(bytes32 logId) external view returns (uint64 treeSize, bytes32 rootHash) {
        treeSize = _latestSize[logId];
        rootHash = _records[logId][treeSize].rootHash;
    }

    /// @inheritdoc IProvenanceAnchor
    function logIdOf(string calldata origin) external pure returns (bytes32) {
        return keccak256(bytes(origin));
    }

    // ---------------------------------------------------------------- RFC 9162 proofs

    /// @inheritdoc IProvenanceAnchor
    function leafHashOf(bytes calldata data) external pure returns (bytes32) {
        return RFC9162.hashLeaf(data);
    }

    /// @inheritdoc IProvenanceAnchor
    function verifyInclusion(
        uint64 leafIndex,
        uint64 treeSize,
        bytes32 leafHash,
        bytes32[] calldata proof,
        bytes32 root
    ) external pure returns (bool) {
        return RFC9162.verifyInclusion(leafIndex, treeSize, leafHash, proof, root);
    }

    /// @inheritdoc IProvenanceAnchor
    function verifyAnchoredInclusion(
        bytes32 logId,
        uint64 treeSize,
        uint64 leafIndex,
        bytes32 leafHash,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _records[logId][treeSize].rootHash;
        if (root == bytes32(0)) return false;
        return RFC9162.verifyInclusion(leafIndex, treeSize, leafHash, proof, root);
    }

    /// @inheritdoc IProvenanceAnchor
    function verifyConsistency(uint64 size1, uint64 size2, bytes32 root1, bytes32 root2, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return RFC9162.verifyConsistency(size1, size2, root1, root2, proof);
    }

    // ---------------------------------------------------------------- roles

    /// @inheritdoc IProvenanceAnchor
    function owner() external view returns (address) {
        return _owner;
    }

    /// @inheritdoc IProvenanceAnchor
    function pendingOwner() external view returns (address) {
        return _pendingOwner;
    }

    /// @inheritdoc IProvenanceAnchor
    function transferOwnership(address newOwner) external onlyOwner {
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(msg.sender, newOwner);
    }

    /// @inheritdoc IProvenanceAnchor
    function acceptOwnership() external {
        if (msg.sender != _pendingOwner) revert ProvenanceAnchor__NotPendingOwner(msg.sender);
        address previous = _owner;
        _owner = msg.sender;
        delete _pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    /// @inheritdoc IProvenanceAnchor
    function isAnchorer(address account) external view returns (bool) {
        return _anchorers[account];
    }

    /// @inheritdoc IProvenanceAnchor
    function addAnchorer(address account) external onlyOwner {
        if (account == address(0)) revert ProvenanceAnchor__ZeroAddress();
        if (_anchorers[account]) revert ProvenanceAnchor__AlreadyAnchorer(account);
        _anchorers[account] = true;
        emit AnchorerAdded(account);
    }

    /// @inheritdoc IProvenanceAnchor
    function removeAnchorer(address account) external onlyOwner {
        if (!_anchorers[account]) revert ProvenanceAnchor__NotAnchorer(account);
        delete _anchorers[account];
        emit AnchorerRemoved(account);
    }
}
