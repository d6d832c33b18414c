//! Anchoring transactions on both backends (see `backends`): the database keeps one pending
//! transaction per target and one confirmation per size, and status changes are
//! compare-and-set.
#![allow(clippy::unwrap_used)]

mod backends;

use provlog_core::Hash;
use provlog_store::{AnchorFilter, AnchorStatus, AnchorTarget, MinedBlock, NewAnchor, Store};

backends::on_both_backends!(
    one_pending_transaction_per_target,
    each_size_is_confirmed_once,
    a_reorged_anchor_is_pending_again,
);

fn target(chain_id: u64) -> AnchorTarget {
    AnchorTarget {
        origin: "example.com/provlog/anchor-test".into(),
        chain_id,
        contract: [0xc0; 20],
        log_id: [0x1d; 32],
    }
}

fn tx(size: u64, nonce: u64, fee: u128) -> NewAnchor {
    NewAnchor {
        tree_size: size,
        root: Hash::sha256(&size.to_be_bytes()),
        sender: [0xaa; 20],
        nonce,
        tx_hash: *Hash::sha256(format!("tx {size} {nonce} {fee}").as_bytes()).as_bytes(),
        raw_tx: vec![0x02, size as u8, nonce as u8],
        gas_limit: 100_000,
        max_fee_per_gas: fee,
        max_priority_fee_per_gas: fee / 10,
    }
}

/// Block `number`, with a hash and a timestamp of its own.
fn block(number: u64) -> MinedBlock {
    MinedBlock {
        number,
        hash: [number as u8; 32],
        timestamp: 1_764_633_600 + number * 12,
    }
}

/// Stores `anchor` as `t`'s pending transaction (there must be none), at `at_ms`; its id.
async fn insert_pending(store: &Store, t: &AnchorTarget, anchor: NewAnchor, at_ms: i64) -> i64 {
    store
        .insert_pending_anchor(t, &anchor, at_ms)
        .await
        .unwrap()
        .expect("no pending transaction for the target yet")
}

async fn one_pending_transaction_per_target(store: Store) {
    let t = target(31337);
    let first = insert_pending(&store, &t, tx(10, 0, 1_000), 1).await;
    // A second pending transaction for the same target is refused, and nothing is stored.
    assert_eq!(
        store
            .insert_pending_anchor(&t, &tx(11, 1, 1_000), 2)
            .await
            .unwrap(),
        None
    );
    // Another chain is another target.
    assert!(store
        .insert_pending_anchor(&target(1), &tx(10, 0, 1_000), 2)
        .await
        .unwrap()
        .is_some());
    let pending = store.pending_anchor(&t).await.unwrap().unwrap();
    assert_eq!((pending.id, pending.tx.tree_size), (first, 10));
    assert_eq!(pending.tx, tx(10, 0, 1_000));
    assert_eq!(pending.target, t);

    // A fee bump replaces it atomically; a second bump of the same old row changes nothing.
    let bumped = store
        .replace_pending_anchor(first, &t, &tx(10, 0, 2_000), 3)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .replace_pending_anchor(first, &t, &tx(10, 0, 3_000), 4)
            .await
            .unwrap(),
        None
    );
    let same_nonce = store
        .anchors_with_nonce(31337, &[0xaa; 20], 0)
        .await
        .unwrap();
    assert_eq!(
        same_nonce
            .iter()
            .map(|a| (a.id, a.status, a.tx.max_fee_per_gas))
            .collect::<Vec<_>>(),
        [
            (first, AnchorStatus::Replaced, 1_000),
            (bumped, AnchorStatus::Pending, 2_000)
        ]
    );
    // Compare-and-set.
    assert!(!store
        .set_anchor_status(first, AnchorStatus::Pending, AnchorStatus::Failed, 5)
        .await
        .unwrap());
    assert!(store
        .set_anchor_status(bumped, AnchorStatus::Pending, AnchorStatus::Failed, 5)
        .await
        .unwrap());
    assert!(store.pending_anchor(&t).await.unwrap().is_none());

    // Fees that do not fit BIGINT are refused before anything is written.
    assert!(store
        .insert_pending_anchor(&t, &tx(12, 2, u128::MAX), 6)
        .await
        .is_err());
    assert!(store.pending_anchor(&t).await.unwrap().is_none());

    let listed = store
        .anchors(
            &t.origin,
            &AnchorFilter {
                status: Some(AnchorStatus::Failed),
                before: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert_eq!(listed.iter().map(|a| a.id).collect::<Vec<_>>(), [bumped]);
    let page = store
        .anchors(
            &t.origin,
            &AnchorFilter {
                status: None,
                before: Some(bumped + 1),
                limit: 2,
            },
        )
        .await
        .unwrap();
    assert!(page.windows(2).all(|w| w[0].id > w[1].id), "newest first");
    assert_eq!(page.len(), 2);
}

async fn each_size_is_confirmed_once(store: Store) {
    let t = target(31337);
    let a = insert_pending(&store, &t, tx(10, 0, 1_000), 1).await;
    store
        .set_anchor_block(a, Some((7, [7; 32])), 2)
        .await
        .unwrap();
    let mined = store.pending_anchor(&t).await.unwrap().unwrap();
    assert_eq!(
        (mined.block_number, mined.block_hash),
        (Some(7), Some([7; 32]))
    );
    let b = store
        .replace_pending_anchor(a, &t, &tx(10, 0, 2_000), 3)
        .await
        .unwrap()
        .unwrap();
    // The replaced transaction is the one that got mined: it is confirmed, and the pending
    // replacement is marked replaced in the same transaction.
    assert!(store.confirm_anchor(a, &block(8), 4).await.unwrap());
    assert!(store.pending_anchor(&t).await.unwrap().is_none());
    let rows = store
        .anchors_with_nonce(31337, &[0xaa; 20], 0)
        .await
        .unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.id, r.status, r.confirmed_ms))
            .collect::<Vec<_>>(),
        [
            (a, AnchorStatus::Confirmed, Some(4)),
            (b, AnchorStatus::Replaced, None)
        ]
    );
    // The confirmed row keeps the block it was confirmed in, with the block's time.
    assert_eq!(
        (
            rows[0].block_number,
            rows[0].block_hash,
            rows[0].block_timestamp
        ),
        (Some(8), Some([8; 32]), Some(block(8).timestamp))
    );
    // The same size once more (another transaction for it): its confirmation is refused and
    // changes nothing.
    let c = insert_pending(&store, &t, tx(10, 1, 1_000), 5).await;
    assert!(!store.confirm_anchor(c, &block(9), 6).await.unwrap());
    assert_eq!(
        store.pending_anchor(&t).await.unwrap().map(|r| r.id),
        Some(c)
    );
    assert!(!store.confirm_anchor(a, &block(9), 6).await.unwrap());

    store
        .set_anchor_status(c, AnchorStatus::Pending, AnchorStatus::Failed, 7)
        .await
        .unwrap();
    let d = insert_pending(&store, &t, tx(20, 2, 1_000), 8).await;
    assert!(store.confirm_anchor(d, &block(12), 9).await.unwrap());
    let confirmed = store.confirmed_anchors(&t, 10).await.unwrap();
    assert_eq!(
        confirmed.iter().map(|r| r.tx.tree_size).collect::<Vec<_>>(),
        [20, 10]
    );
    // Receipts use the smallest confirmed anchor whose tree holds the leaf.
    let covering = |index| {
        let store = store.clone();
        let t = t.clone();
        async move {
            store
                .anchor_covering(&t, index)
                .await
                .unwrap()
                .map(|r| r.tx.tree_size)
        }
    };
    assert_eq!(covering(0).await, Some(10));
    assert_eq!(covering(9).await, Some(10));
    assert_eq!(covering(10).await, Some(20));
    assert_eq!(covering(20).await, None);
    assert_eq!(
        store
            .confirmed_anchor_at(&t, 20)
            .await
            .unwrap()
            .map(|r| r.id),
        Some(d)
    );
    assert!(store.confirmed_anchor_at(&t, 15).await.unwrap().is_none());
}

async fn a_reorged_anchor_is_pending_again(store: Store) {
    let t = target(31337);
    let a = insert_pending(&store, &t, tx(10, 0, 1_000), 1).await;
    assert!(store.confirm_anchor(a, &block(8), 2).await.unwrap());
    let again = store.reorg_anchor(a, 3).await.unwrap().unwrap();
    let pending = store.pending_anchor(&t).await.unwrap().unwrap();
    assert_eq!(pending.id, again);
    // The same signed bytes, to be rebroadcast.
    assert_eq!(pending.tx, tx(10, 0, 1_000));
    assert_eq!(
        (pending.block_number, pending.block_timestamp),
        (None, None)
    );
    // Only a confirmed row can be reorged.
    assert_eq!(store.reorg_anchor(a, 4).await.unwrap(), None);
    let old = store
        .anchors_with_nonce(31337, &[0xaa; 20], 0)
        .await
        .unwrap();
    assert_eq!(old[0].status, AnchorStatus::Reorged);
    // While another transaction is pending, a reorg of a confirmed row changes nothing.
    assert!(store.confirm_anchor(again, &block(9), 5).await.unwrap());
    let b = insert_pending(&store, &t, tx(20, 1, 1_000), 6).await;
    assert_eq!(store.reorg_anchor(again, 7).await.unwrap(), None);
    assert_eq!(
        store.pending_anchor(&t).await.unwrap().map(|r| r.id),
        Some(b)
    );
    assert_eq!(
        store.confirmed_anchors(&t, 10).await.unwrap()[0].id,
        again,
        "the rolled-back reorg left the row confirmed"
    );
}
