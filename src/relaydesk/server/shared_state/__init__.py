"""Live state shared by several server nodes through Redis (issue 15, ARCHITECTURE.md "Storage
and scale"): presence, the event broker with its catch-up streams, throttles and lock-outs. Each
is the Redis implementation of an interface whose memory implementation stays the embedded
default; `Runtime.create` picks these when RELAYDESK_REDIS_URL is set."""
