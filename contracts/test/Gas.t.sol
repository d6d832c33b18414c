// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {NaiveMerkle} from "./utils/NaiveMerkle.sol";
import {ProvenanceAnchor} from "../src/ProvenanceAnchor.sol";

/// @notice Gas budgets. Figures are the callee's execution gas (`vm.lastCallGas`): no 21,000 base
///         cost, no calldata cost. `vm.cool` makes the contract's storage cold, as at the start of a
///         real transaction. Under `--gas-report` forge runs every top-level call as its own
///         transaction (isolation), so lastCallGas includes the transaction's intrinsic cost and
///         nothing is warm: the budgets are then logged but not enforced.
contract GasTest is TestBase {
    ProvenanceAnchor internal pa;
    bytes32 internal constant LOG = keccak256("provlog.example/gas");

    uint256 internal constant ANCHOR_FIRST_BUDGET = 75_000;
    uint256 internal constant ANCHOR_NEXT_BUDGET = 55_000;
    uint256 internal constant ANCHOR_WARM_BUDGET = 50_000;
    uint256 internal constant INCLUSION_2_24_BUDGET = 25_000;
    uint256 internal constant CONSISTENCY_2_24_BUDGET = 25_000;

    function setUp() public {
        pa = new ProvenanceAnchor(address(this));
        pa.addAnchorer(address(this));
    }

    function _gas() internal view returns (uint256) {
        return vm.lastCallGas().gasTotalUsed;
    }

    /// @dev Logs `gas` and checks it against `budget`, unless calls run as separate transactions.
    function _budget(string memory what, uint256 gas, uint256 budget) internal {
        emit log_named_uint(what, gas);
        // A non-view call that does nothing costs > 21,000 only if calls run as transactions.
        new Noop().poke();
        if (_gas() > 21_000) return;
        vm.assertLe(gas, budget, what);
    }

    /// @dev First anchor of a log: its latest-size slot goes from zero to non-zero.
    function test_gas_anchor_firstOfLog() public {
        vm.cool(address(pa));
        pa.anchor(LOG, 1000, keccak256("r1"));
        _budget("anchor, first of a log, cold", _gas(), ANCHOR_FIRST_BUDGET);
    }

    /// @dev A later anchor in its own transaction: all slots cold, latest-size slot non-zero.
    function test_gas_anchor_next_cold() public {
        pa.anchor(LOG, 1000, keccak256("r1"));
        vm.cool(address(pa));
        pa.anchor(LOG, 2000, keccak256("r2"));
        _budget("anchor, later, cold", _gas(), ANCHOR_NEXT_BUDGET);
    }

    /// @dev A later anchor whose log slot and role slot are already warm (e.g. a batch that anchors
    ///      the same log twice in one transaction): only the two new record slots are cold.
    function test_gas_anchor_next_warmLogSlot() public {
        pa.anchor(LOG, 1000, keccak256("r1"));
        pa.anchor(LOG, 2000, keccak256("r2"));
        _budget("anchor, later, warm log slot", _gas(), ANCHOR_WARM_BUDGET);
    }

    function _bigProof()
        internal
        pure
        returns (uint64 idx, uint64 size, bytes32 leaf, bytes32[] memory proof, bytes32 root)
    {
        size = 1 << 24;
        idx = 0x5a5a5a;
        leaf = NaiveMerkle.leafHash("gas leaf");
        proof = new bytes32[](24);
        for (uint256 i = 0; i < 24; ++i) {
            proof[i] = keccak256(abi.encode("gas proof", i));
        }
        bool ok;
        (ok, root) = NaiveMerkle.rootFromInclusionProof(idx, size, leaf, proof);
        require(ok, "shape");
    }

    function test_gas_verifyInclusion_2pow24() public {
        (uint64 idx, uint64 size, bytes32 leaf, bytes32[] memory proof, bytes32 root) = _bigProof();
        bool ok = pa.verifyInclusion(idx, size, leaf, proof, root);
        uint256 g = _gas();
        vm.assertTrue(ok, "valid");
        _budget("verifyInclusion, 2^24 leaves, 24-element proof", g, INCLUSION_2_24_BUDGET);
    }

    function test_gas_verifyAnchoredInclusion_2pow24() public {
        (uint64 idx, uint64 size, bytes32 leaf, bytes32[] memory proof, bytes32 root) = _bigProof();
        pa.anchor(LOG, size, root);
        vm.cool(address(pa));
        bool ok = pa.verifyAnchoredInclusion(LOG, size, idx, leaf, proof);
        uint256 g = _gas();
        vm.assertTrue(ok, "valid");
        _budget("verifyAnchoredInclusion, 2^24 leaves, cold", g, INCLUSION_2_24_BUDGET);
    }

    /// @dev Consistency from 12,345,677 to 2^24 leaves (a 25-element proof): random proof values,
    ///      with the two roots they imply, checked by the recursive reference.
    function test_gas_verifyConsistency_2pow24() public {
        uint64 size1 = 12_345_677;
        uint64 size2 = 1 << 24;
        bytes32[] memory proof = new bytes32[](_consistencyLength(size1, size2));
        for (uint256 i = 0; i < proof.length; ++i) {
            proof[i] = keccak256(abi.encode("gas consistency", i));
        }
        (bytes32 root1, bytes32 root2) = _rootsFromConsistencyProof(size1, size2, proof);
        vm.assertTrue(NaiveMerkle.verifyConsistency(size1, size2, root1, root2, proof), "reference");
        bool ok = pa.verifyConsistency(size1, size2, root1, root2, proof);
        uint256 g = _gas();
        vm.assertTrue(ok, "valid");
        vm.assertEq(proof.length, 25);
        _budget("verifyConsistency 12345677 -> 2^24, 25-element proof", g, CONSISTENCY_2_24_BUDGET);
    }

    event log_named_uint(string key, uint256 val);

    /// @dev Length of PROOF(m, D[n]) (RFC 9162 §2.1.4.1), by its recursion.
    function _consistencyLength(uint256 m, uint256 n) internal pure returns (uint256) {
        return _subLen(m, n, true);
    }

    function _subLen(uint256 m, uint256 n, bool b) internal pure returns (uint256) {
        if (m == n) return b ? 0 : 1;
        uint256 k = NaiveMerkle.split(n);
        if (m <= k) return _subLen(m, k, b) + 1;
        return _subLen(m - k, n - k, false) + 1;
    }

    /// @dev (root1, root2) for which `proof` is a valid consistency proof (size1 not a power of 2).
    function _rootsFromConsistencyProof(uint64 size1, uint64 size2, bytes32[] memory proof)
        internal
        pure
        returns (bytes32 fr, bytes32 sr)
    {
        require(size1 & (size1 - 1) != 0, "size1 must not be a power of 2");
        fr = proof[0];
        sr = fr;
        uint64 fn = size1 - 1;
        uint64 sn = size2 - 1;
        while (fn & 1 == 1) {
            fn >>= 1;
            sn >>= 1;
        }
        for (uint256 i = 1; i < proof.length; ++i) {
            if (fn & 1 == 1 || fn == sn) {
                fr = NaiveMerkle.nodeHash(proof[i], fr);
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
    }
}

/// @dev Probe for isolation mode (see GasTest._budget).
contract Noop {
    function poke() external {}
}
