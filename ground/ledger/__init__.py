"""The resource ledger on the ground: the RFC 9162 Merkle log of the rover's signed extraction records
(:mod:`~ground.ledger.log`), signed checkpoints and cosignatures (:mod:`~ground.ledger.checkpoint`),
the hub that appends what flight sends (:mod:`~ground.ledger.hub`), bundles (:mod:`~ground.ledger.bundle`)
and reports (:mod:`~ground.ledger.report`). See docs/ledger.md."""
