"""Message-id dedupe and the durable inbox in Redis: grace/messaging/inbox.py's contract when REDIS_URL is set.

Keys (all under `grace:`):
  grace:seen:<tenant>:<channel>:<message id>  a message already delivered, forgotten after SEEN_TTL
  grace:pending:<channel>:<pending id>        an acknowledged turn not done yet: hash of tenant, payload
                                              (JSON) and since (microseconds since the epoch)
  grace:pending-by-age:<channel>              the channel's pending ids scored by `since` (seconds), so
                                              claim_unfinished finds the old ones without a scan
Each read-then-write is one Lua script, which Redis runs alone: a message is first once, and a pending
turn is claimed or taken over by one caller only, whichever process asks. Times are Redis's own clock
(TIME): replicas whose clocks disagree still agree on how old a turn is.

Blocking calls: callers already run these off the event loop. Errors (redis.RedisError) are the
caller's to handle (grace/messaging/inbox.py falls back to SQL).
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import redis

PREFIX = "grace:"
# Providers redeliver for about a day at most; a week leaves room and still bounds memory. An unfinished
# turn older than that is forgotten with it.
SEEN_TTL = timedelta(days=7)
# A Redis that hangs must not hold a webhook's ack for long (redis-py waits forever by default): past
# this the call fails and grace/messaging/inbox.py uses SQL instead.
TIMEOUT_S = 2.0
MAX_ID = 128  # as the SQL inbox's columns, so both backends see the same message as the same
EPOCH = datetime(1970, 1, 1)

# Redis's clock, read inside a script: `now_us` as text (exact, for take_over's comparison), `now_s` as
# a number (a sorted set score; a double keeps microseconds at this magnitude).
_CLOCK = """
local t = redis.call("TIME")
local now_us = t[1] .. string.format("%06d", tonumber(t[2]))
local now_s = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# KEYS: seen, pending, pending-by-age. ARGV: ttl (s), tenant, payload JSON ("" for none), pending id.
# A pending id already taken (by another tenant's message) refuses the whole delivery, as SQL's
# unique constraint rolls back both rows.
_FIRST = _CLOCK + """
if ARGV[3] ~= "" and redis.call("EXISTS", KEYS[2]) == 1 then return 0 end
if not redis.call("SET", KEYS[1], "1", "NX", "EX", ARGV[1]) then return 0 end
if ARGV[3] ~= "" then
  redis.call("HSET", KEYS[2], "tenant", ARGV[2], "payload", ARGV[3], "since", now_us)
  redis.call("EXPIRE", KEYS[2], ARGV[1])
  redis.call("ZADD", KEYS[3], now_s, ARGV[4])
  -- index entries of turns that expired unfinished (never claimed: REST has no replay)
  redis.call("ZREMRANGEBYSCORE", KEYS[3], "-inf", "(" .. (now_s - tonumber(ARGV[1])))
end
return 1
"""

# KEYS: pending-by-age. ARGV: age (s), the channel's pending key prefix. Claimed turns are removed,
# as SQL deletes their rows: the claimer now owns them.
_CLAIM = _CLOCK + """
local payloads = {}
for _, id in ipairs(redis.call("ZRANGEBYSCORE", KEYS[1], "-inf", "(" .. (now_s - tonumber(ARGV[1])))) do
  redis.call("ZREM", KEYS[1], id)
  local payload = redis.call("HGET", ARGV[2] .. id, "payload")
  if payload then
    redis.call("DEL", ARGV[2] .. id)
    table.insert(payloads, payload)
  end
end
return payloads
"""

# KEYS: pending, pending-by-age. ARGV: since as seen (microseconds), pending id, ttl (s).
# 1: taken over; 0: someone else did (or it was restarted); -1: no such pending turn here.
_TAKE_OVER = _CLOCK + """
local since = redis.call("HGET", KEYS[1], "since")
if not since then return -1 end
if since ~= ARGV[1] then return 0 end
redis.call("HSET", KEYS[1], "since", now_us)
redis.call("EXPIRE", KEYS[1], ARGV[3])
redis.call("ZADD", KEYS[2], now_s, ARGV[2])
return 1
"""

TAKEN, LOST, ABSENT = 1, 0, -1


@dataclass(frozen=True)
class _Inbox:
    client: redis.Redis
    first: redis.commands.core.Script
    claim: redis.commands.core.Script
    take_over: redis.commands.core.Script


@functools.cache
def _inbox(url: str) -> _Inbox:
    """One connection pool per URL for the process; scripts run by hash, reloaded if Redis restarted."""
    client = redis.Redis.from_url(url, decode_responses=True, socket_timeout=TIMEOUT_S,
                                  socket_connect_timeout=TIMEOUT_S, health_check_interval=30)
    return _Inbox(client, client.register_script(_FIRST), client.register_script(_CLAIM),
                  client.register_script(_TAKE_OVER))


def _seen_key(tenant_id: str, channel: str, message_id: str) -> str:
    return f"{PREFIX}seen:{tenant_id}:{channel}:{message_id[:MAX_ID]}"


def _pending_prefix(channel: str) -> str:
    return f"{PREFIX}pending:{channel}:"


def _by_age_key(channel: str) -> str:
    return f"{PREFIX}pending-by-age:{channel}"


def _as_datetime(microseconds: str) -> datetime:
    return EPOCH + timedelta(microseconds=int(microseconds))  # naive UTC, as the SQL inbox's times


def _as_microseconds(moment: datetime) -> str:
    return str((moment - EPOCH) // timedelta(microseconds=1))


def first_delivery(url: str, tenant_id: str, channel: str, message_id: str, pending: dict | None = None,
                   pending_id: str | None = None) -> bool:
    member = (pending_id or message_id)[:MAX_ID]
    inbox = _inbox(url)
    return inbox.first(keys=[_seen_key(tenant_id, channel, message_id), _pending_prefix(channel) + member,
                             _by_age_key(channel)],
                       args=[int(SEEN_TTL.total_seconds()), tenant_id,
                             "" if pending is None else json.dumps(pending), member]) == 1


def finish_turn(url: str, channel: str, message_id: str) -> None:
    member = message_id[:MAX_ID]
    with _inbox(url).client.pipeline(transaction=True) as both:
        both.delete(_pending_prefix(channel) + member)
        both.zrem(_by_age_key(channel), member)
        both.execute()


def claim_unfinished(url: str, channel: str, older_than: timedelta) -> list[dict]:
    claimed = _inbox(url).claim(keys=[_by_age_key(channel)],
                                args=[older_than.total_seconds(), _pending_prefix(channel)])
    return [json.loads(payload) for payload in claimed]


def pending_since(url: str, channel: str, message_id: str) -> datetime | None:
    since = _inbox(url).client.hget(_pending_prefix(channel) + message_id[:MAX_ID], "since")
    return None if since is None else _as_datetime(since)


def take_over(url: str, channel: str, message_id: str, seen: datetime) -> int:
    """TAKEN, LOST (another caller took it, or it was restarted) or ABSENT (not pending in Redis)."""
    member = message_id[:MAX_ID]
    return int(_inbox(url).take_over(keys=[_pending_prefix(channel) + member, _by_age_key(channel)],
                                     args=[_as_microseconds(seen), member, int(SEEN_TTL.total_seconds())]))


def forget_pending(url: str, tenant_id: str, words: str) -> int:
    """Remove the business's unfinished turns whose payload holds `words` (an erased customer's number), on
    every channel; how many. A scan of the pending keys: they are few (turns finish in seconds)."""
    client = _inbox(url).client
    removed = 0
    for key in client.scan_iter(match=f"{PREFIX}pending:*", count=500):
        tenant, payload = client.hmget(key, "tenant", "payload")
        if tenant != tenant_id or words not in (payload or ""):
            continue
        channel, member = key[len(f"{PREFIX}pending:"):].split(":", 1)
        with client.pipeline(transaction=True) as both:
            both.delete(key)
            both.zrem(_by_age_key(channel), member)
            both.execute()
        removed += 1
    return removed
