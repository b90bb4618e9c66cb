"""Several `vagus serve` nodes as one service, on NATS (`server.cluster`, `vagus serve --cluster`).

WebRTC media goes straight to the address in the SDP answer, so the node that answers an offer owns
the session for its whole life: the cluster needs no shared session state, only a registry of live
nodes with their load (`registry.py`, fed by each node's heartbeat: `node.py`) and an offer router
(`router.py`) that forwards each offer to the least-loaded healthy node by NATS request/reply and
returns that node's answer. Per-frame work never crosses the network.
"""
