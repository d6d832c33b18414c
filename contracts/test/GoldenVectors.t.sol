// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

import {TestBase} from "./utils/Vm.sol";
import {ProvenanceAnchor} from "../src/ProvenanceAnchor.sol";

/// @notice The shared golden vectors in ../tests/vectors (written by the Rust core's generator and
///         also read by the Rust tests): every case's verifier result must equal its `valid` flag.
/// @dev Cases are decoded with `parseJsonTypeArray` and an explicit type description, so decoding
///      goes by key name and declared type (no inference from values, no alphabetical-order struct).
contract GoldenVectorsTest is TestBase {
    struct InclusionCase {
        string desc;
        uint64 treeSize;
        uint64 leafIndex;
        bytes32 leafHash;
        bytes32 root;
        bytes32[] proof;
        bool valid;
    }

    struct ConsistencyCase {
        string desc;
        uint64 size1;
        uint64 size2;
        bytes32 root1;
        bytes32 root2;
        bytes32[] proof;
        bool valid;
    }

    string internal constant INCLUSION_TYPE = "InclusionCase(string desc,uint64 treeSize,uint64 leafIndex,"
        "bytes32 leafHash,bytes32 root,bytes32[] proof,bool valid)";
    string internal constant CONSISTENCY_TYPE = "ConsistencyCase(string desc,uint64 size1,uint64 size2,"
        "bytes32 root1,bytes32 root2,bytes32[] proof,bool valid)";

    ProvenanceAnchor internal pa;

    function setUp() public {
        pa = new ProvenanceAnchor(address(this));
    }

    function _inclusionCases() internal view returns (InclusionCase[] memory) {
        string memory json = vm.readFile("../tests/vectors/inclusion.json");
        return abi.decode(vm.parseJsonTypeArray(json, ".cases", INCLUSION_TYPE), (InclusionCase[]));
    }

    function _consistencyCases() internal view returns (ConsistencyCase[] memory) {
        string memory json = vm.readFile("../tests/vectors/consistency.json");
        return abi.decode(vm.parseJsonTypeArray(json, ".cases", CONSISTENCY_TYPE), (ConsistencyCase[]));
    }

    function test_golden_inclusion() public view {
        InclusionCase[] memory cases = _inclusionCases();
        vm.assertGt(cases.length, 0, "no inclusion cases");
        uint256 valid;
        for (uint256 i = 0; i < cases.length; ++i) {
            InclusionCase memory c = cases[i];
            bool got = pa.verifyInclusion(c.leafIndex, c.treeSize, c.leafHash, c.proof, c.root);
            vm.assertEq(got, c.valid, string.concat("inclusion case ", vm.toString(i), ": ", c.desc));
            if (c.valid) ++valid;
        }
        // Both kinds must be present, or the file is not testing what it claims.
        vm.assertGt(valid, 0, "no valid inclusion case");
        vm.assertGt(cases.length - valid, 0, "no invalid inclusion case");
    }

    function test_golden_consistency() public view {
        ConsistencyCase[] memory cases = _consistencyCases();
        vm.assertGt(cases.length, 0, "no consistency cases");
        uint256 valid;
        for (uint256 i = 0; i < cases.length; ++i) {
            ConsistencyCase memory c = cases[i];
            bool got = pa.verifyConsistency(c.size1, c.size2, c.root1, c.root2, c.proof);
            vm.assertEq(got, c.valid, string.concat("consistency case ", vm.toString(i), ": ", c.desc));
            if (c.valid) ++valid;
        }
        vm.assertGt(valid, 0, "no valid consistency case");
        vm.assertGt(cases.length - valid, 0, "no invalid consistency case");
    }

    /// @dev The vectors include a 2^24-leaf case, which the gas goal is stated for.
    function test_golden_inclusion_hasLargeTree() public view {
        InclusionCase[] memory cases = _inclusionCases();
        bool found;
        for (uint256 i = 0; i < cases.length; ++i) {
            if (cases[i].treeSize == 1 << 24 && cases[i].valid && cases[i].proof.length == 24) found = true;
        }
        vm.assertTrue(found, "no valid 2^24-leaf case with a 24-element proof");
    }
}
