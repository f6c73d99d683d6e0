"""The refusals' tallies (domain/refusals.py) counted in Redis, so that the first refusal of a
window and its summary are audited once for the whole cluster, whichever nodes the refused
attempts landed on (GOV-9, SEC-2).

One hash per open tally, `refusals:tally:{digest of the refusal}` (when its window started, the
count so far, the refusal, and how its first refusal was audited), and a sorted set
`refusals:open` of the open tallies by start. Counting, and taking the tallies whose window
ended, are each one Lua script: atomic, so each window has exactly one first refusal and is
summarised by exactly one node. A tally whose window ended when the next refusal of its kind
comes is moved to the list `refusals:ended` until a node takes it. The times are wall-clock
seconds (every node's clock, kept by NTP).

A node that stops leaves its open windows in Redis: the other nodes (or the next to start)
summarise them when they end, where one process alone summarises them at once."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from typing import Any

from relaydesk.server.domain.audit import Who
from relaydesk.server.domain.refusals import Refusal, Tally
from relaydesk.server.shared_state.node import RedisNode

# A tally nobody takes (every node stopped) is kept this long past its window's end.
KEPT_SECONDS = 24 * 3600

_ADD = """
local started = redis.call('HGET', KEYS[1], 'started')
if started and tonumber(started) + tonumber(ARGV[2]) <= tonumber(ARGV[1]) then
  redis.call('RPUSH', KEYS[3], cjson.encode(redis.call('HGETALL', KEYS[1])))
  redis.call('DEL', KEYS[1])
  redis.call('ZREM', KEYS[2], KEYS[1])
  started = false
end
if not started then
  redis.call('HSET', KEYS[1], 'started', ARGV[1], 'count', 1, 'refusal', ARGV[3])
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  redis.call('ZADD', KEYS[2], ARGV[1], KEYS[1])
  redis.call('EXPIRE', KEYS[3], ARGV[4])
  return 1
end
return redis.call('HINCRBY', KEYS[1], 'count', 1)
"""

_DESCRIBE = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'audited', ARGV[1])
end
return 0
"""

_TAKE_ENDED = """
local taken = redis.call('LRANGE', KEYS[2], 0, -1)
redis.call('DEL', KEYS[2])
for _, key in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])) do
  local fields = redis.call('HGETALL', key)
  if #fields > 0 then
    table.insert(taken, cjson.encode(fields))
  end
  redis.call('DEL', key)
  redis.call('ZREM', KEYS[1], key)
end
return taken
"""


def _tally(encoded: bytes) -> Tally:
    flat: list[str] = json.loads(encoded)
    fields = dict(zip(flat[::2], flat[1::2], strict=True))
    tally = Tally(
        Refusal(**json.loads(fields["refusal"])), float(fields["started"]), int(fields["count"])
    )
    if "audited" in fields:
        audited: dict[str, Any] = json.loads(fields["audited"])
        tally.who = Who(**audited["who"])
        tally.target, tally.details = audited["target"], audited["details"]
    return tally


class RedisTallyBook:
    """A `TallyBook` in Redis, shared by every node."""

    def __init__(self, node: RedisNode) -> None:
        self._node = node
        self._add = node.redis.register_script(_ADD)
        self._describe = node.redis.register_script(_DESCRIBE)
        self._take_ended = node.redis.register_script(_TAKE_ENDED)

    def tally_key(self, refusal: Refusal) -> str:
        digest = hashlib.sha256(json.dumps(dataclasses.astuple(refusal)).encode()).hexdigest()
        return self._node.key("refusals", "tally", digest[:32])

    @property
    def _open(self) -> str:
        return self._node.key("refusals", "open")

    @property
    def _ended(self) -> str:
        return self._node.key("refusals", "ended")

    async def add(self, refusal: Refusal, now: float, window: float) -> int:
        count = await self._add(
            keys=[self.tally_key(refusal), self._open, self._ended],
            args=[
                repr(now),
                repr(window),
                json.dumps(dataclasses.asdict(refusal)),
                int(window) + KEPT_SECONDS,
            ],
        )
        return int(count)

    async def describe(
        self, refusal: Refusal, who: Who, target: str, details: dict[str, Any]
    ) -> None:
        audited = {"who": dataclasses.asdict(who), "target": target, "details": details}
        await self._describe(keys=[self.tally_key(refusal)], args=[json.dumps(audited)])

    async def take_ended(self, now: float, window: float) -> list[Tally]:
        if math.isinf(now):
            return []  # a node stopping: the windows go on for the others (see above)
        taken = await self._take_ended(keys=[self._open, self._ended], args=[repr(now - window)])
        return [_tally(encoded) for encoded in taken]
