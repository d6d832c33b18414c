//! The bindings against the real contract on a real anvil node (from contracts/node_modules).
#![allow(clippy::unwrap_used)]

use provlog_chain::anvil::{dev_key, Anvil, AnvilOptions, CHAIN_ID};
use provlog_chain::primitives::{Address, B256};
use provlog_chain::{deploy, log_id, AnchorCall, Broadcast, Chain, ChainError, Reader};

async fn anvil() -> Anvil {
    Anvil::start(AnvilOptions::default())
        .await
        .expect("anvil starts (npm ci in contracts/ installs it)")
}

/// The error of estimating an anchor transaction the contract refuses (`why` names the refusal
/// expected, should it not come).
async fn refusal(
    chain: &Chain,
    contract: Address,
    id: B256,
    size: u64,
    root: B256,
    why: &str,
) -> ChainError {
    chain
        .estimate_anchor_gas(&AnchorCall {
            contract,
            log_id: id,
            size,
            root,
        })
        .await
        .expect_err(why)
}

/// Signs, broadcasts and waits for one anchor transaction from `chain`'s account.
async fn anchor(
    chain: &Chain,
    contract: Address,
    id: B256,
    size: u64,
    root: B256,
) -> Result<u64, ChainError> {
    let reader = chain.reader();
    let call = AnchorCall {
        contract,
        log_id: id,
        size,
        root,
    };
    let gas = chain.estimate_anchor_gas(&call).await?;
    let nonce = reader.mined_nonce(chain.address()).await?;
    let tx = chain.sign_anchor(&call, nonce, gas, reader.fees().await?)?;
    assert_eq!(reader.broadcast(&tx.raw).await?, Broadcast::Accepted);
    // Automine mines it right after it enters the pool.
    let mut mined = None;
    for _ in 0..100 {
        mined = reader.inclusion(tx.hash).await?;
        if mined.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let mined = mined.expect("automined");
    assert!(mined.success);
    // docs/anchoring.md quotes these (cargo test -p provlog-chain --test contract -- --nocapture).
    println!(
        "anchor size {size}: gasUsed {} (estimate with margin {gas})",
        mined.gas_used
    );
    assert!(mined.gas_used <= gas);
    assert_eq!(reader.broadcast(&tx.raw).await?, Broadcast::NonceTooLow);
    Ok(mined.block_number)
}

#[tokio::test]
async fn deploy_anchor_read_back_and_refuse_what_the_contract_refuses() {
    let node = anvil().await;
    let owner = dev_key(0);
    let anchorer = dev_key(1);
    let d = deploy(&node.url(), CHAIN_ID, &owner, &[anchorer.address()])
        .await
        .expect("deploys");
    assert_eq!(d.owner, owner.address());
    let reader = Reader::new(&node.url()).unwrap();
    reader.require_contract(d.contract).await.unwrap();
    assert!(reader
        .is_anchorer(d.contract, anchorer.address())
        .await
        .unwrap());
    assert!(!reader
        .is_anchorer(d.contract, owner.address())
        .await
        .unwrap());

    let id = log_id("example.com/log");
    // The contract's own derivation agrees with ours.
    assert_eq!(
        id,
        provlog_chain::bindings::IProvenanceAnchor::new(d.contract, reader_provider(&node))
            .logIdOf("example.com/log".into())
            .call()
            .await
            .unwrap()
    );
    assert_eq!(
        reader.latest(d.contract, id).await.unwrap(),
        (0, B256::ZERO)
    );

    let chain = Chain::connect(&node.url(), CHAIN_ID, anchorer.clone())
        .await
        .unwrap();
    let root = B256::repeat_byte(7);
    let block = anchor(&chain, d.contract, id, 10, root).await.unwrap();
    anchor(&chain, d.contract, id, 10_010, root).await.unwrap();
    assert_eq!(reader.latest(d.contract, id).await.unwrap(), (10_010, root));
    let held = reader
        .anchored(d.contract, id, 10)
        .await
        .unwrap()
        .expect("anchored");
    assert_eq!((held.root, held.block_number), (root, block));
    assert_eq!(reader.anchored(d.contract, id, 9).await.unwrap(), None);

    // Sizes must grow: equal and smaller sizes revert, with the contract's reason decoded.
    for size in [10_010, 3] {
        let e = refusal(&chain, d.contract, id, size, root, "non-monotonic").await;
        assert!(
            matches!(&e, ChainError::Reverted(r) if r.contains("not above the latest anchored size 10010")),
            "{e}"
        );
    }
    // Only anchorers may anchor, even the owner.
    let outsider = Chain::connect(&node.url(), CHAIN_ID, owner).await.unwrap();
    let e = refusal(&outsider, d.contract, id, 20_000, root, "not an anchorer").await;
    assert!(
        matches!(&e, ChainError::Reverted(r) if r.contains("is not an anchorer")),
        "{e}"
    );
    // Another log's anchors are separate.
    anchor(&chain, d.contract, log_id("other.example/log"), 1, root)
        .await
        .unwrap();
}

fn reader_provider(node: &Anvil) -> impl alloy::providers::Provider + Clone {
    alloy::providers::ProviderBuilder::new()
        .disable_recommended_fillers()
        .connect_http(node.url().parse().unwrap())
}

#[tokio::test]
async fn the_wrong_chain_and_a_dead_endpoint_are_told_apart() {
    let node = Anvil::start(AnvilOptions {
        chain_id: Some(4242),
        ..AnvilOptions::default()
    })
    .await
    .unwrap();
    let e = Chain::connect(&node.url(), CHAIN_ID, dev_key(0))
        .await
        .expect_err("wrong chain");
    assert!(
        matches!(
            e,
            ChainError::WrongChain {
                expected: CHAIN_ID,
                found: 4242
            }
        ),
        "{e}"
    );
    assert!(!e.is_transient());
    let url = node.url();
    drop(node);
    let e = Chain::connect(&url, 4242, dev_key(0))
        .await
        .expect_err("down");
    assert!(e.is_transient(), "{e}");
    assert!(matches!(
        Reader::new("ftp://example.com"),
        Err(ChainError::Url { .. })
    ));
}

#[tokio::test]
async fn state_survives_a_stop_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = Anvil::start(AnvilOptions {
        state: Some(dir.path().join("state.json")),
        ..AnvilOptions::default()
    })
    .await
    .unwrap();
    let d = deploy(&node.url(), CHAIN_ID, &dev_key(0), &[dev_key(0).address()])
        .await
        .unwrap();
    let chain = Chain::connect(&node.url(), CHAIN_ID, dev_key(0))
        .await
        .unwrap();
    let id = log_id("example.com/log");
    anchor(&chain, d.contract, id, 5, B256::repeat_byte(1))
        .await
        .unwrap();
    node.stop();
    assert!(chain.reader().chain_id().await.unwrap_err().is_transient());
    node.restart().await.unwrap();
    assert_eq!(
        chain.reader().latest(d.contract, id).await.unwrap(),
        (5, B256::repeat_byte(1))
    );
}
