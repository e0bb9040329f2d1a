"""Task names: the API and the relay send tasks by these names and never import worker code."""

GENERATE_DERIVATIVES = "thumbnails.generate"
RELAY_OUTBOX = "media.relay_outbox"
SWEEP_STUCK = "media.sweep_stuck"
REMOVE_ORPHAN_ORIGINALS = "media.remove_orphan_originals"
PRUNE_OUTBOX = "media.prune_outbox"
DELIVER_WEBHOOKS = "media.deliver_webhooks"
PRUNE_WEBHOOKS = "media.prune_webhooks"
