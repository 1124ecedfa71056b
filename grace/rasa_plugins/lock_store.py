"""Rasa's Redis ticket lock with atomic updates.

endpoints.yml: `type: grace.rasa_plugins.lock_store.AtomicRedisLockStore`.

Rasa's RedisLockStore issues a ticket by reading the lock, adding a ticket in Python and writing it
back (GET then SET). Two replicas taking a message of one conversation at the same moment read the
same lock: both get the same ticket number, or one ticket is lost, and two turns of one
conversation run at once (rasa#9213; fixed only in Rasa Pro). Here every read-modify-write of a lock
is one Lua script, which Redis runs alone. The stored value, key prefix and ticket lifetimes are
Rasa's own, so Rasa's TicketLock reads it unchanged.

Rasa calls the lock store from its event loop; `lock()` runs each Redis call in a worker thread.
"""
from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

from grace.concurrency import off_loop

# Shared by every script: the lock's tickets without the expired ones (Rasa: time.time() > expires),
# and how to write a lock back exactly as TicketLock.dumps() does (a JSON list of JSON strings).
# Tickets are kept as the strings they were stored as, so nothing is re-rounded.
_PRELUDE = """
local function live_tickets(raw, now)
  local tickets = {}
  if raw then
    for _, encoded in ipairs(cjson.decode(raw)["tickets"] or {}) do
      local ticket = cjson.decode(encoded)
      if not (now > ticket["expires"]) then
        table.insert(tickets, {number = ticket["number"], encoded = encoded})
      end
    end
  end
  return tickets
end

local function save(key, conversation_id, tickets)
  local parts = {}
  for i, ticket in ipairs(tickets) do parts[i] = cjson.encode(ticket.encoded) end
  redis.call("SET", key, '{"conversation_id": ' .. cjson.encode(conversation_id) ..
    ', "tickets": [' .. table.concat(parts, ", ") .. "]}")
end

local function without_ticket(tickets, number)
  local kept = {}
  for _, ticket in ipairs(tickets) do
    if ticket.number ~= number then table.insert(kept, ticket) end
  end
  return kept
end
"""

# KEYS[1] lock key; ARGV: conversation id, now, expiry of the new ticket (as Python wrote it).
_ISSUE = _PRELUDE + """
local tickets = live_tickets(redis.call("GET", KEYS[1]), tonumber(ARGV[2]))
local number = 0
if #tickets > 0 then number = tickets[#tickets].number + 1 end
table.insert(tickets, {number = number,
  encoded = string.format('{"number": %d, "expires": %s}', number, ARGV[3])})
save(KEYS[1], ARGV[1], tickets)
return number
"""

# ARGV: conversation id, now, ticket number to remove (-1: none), delete the lock when empty (0/1).
_PRUNE = _PRELUDE + """
local raw = redis.call("GET", KEYS[1])
if not raw then return 0 end
local tickets = without_ticket(live_tickets(raw, tonumber(ARGV[2])), tonumber(ARGV[3]))
if #tickets == 0 and ARGV[4] == "1" then
  return redis.call("DEL", KEYS[1])
end
save(KEYS[1], ARGV[1], tickets)
return 0
"""

NO_TICKET = -1


def _redis_url_kwargs(url: str) -> dict[str, Any]:
    """`redis://[user:password@]host[:port][/db]` as RedisLockStore's arguments (`rediss://`: TLS)."""
    parsed = urlparse(url)
    kwargs: dict[str, Any] = {"host": parsed.hostname or "localhost", "port": parsed.port or 6379,
                              "use_ssl": parsed.scheme == "rediss"}
    if parsed.path.strip("/"):
        kwargs["db"] = int(parsed.path.strip("/"))
    if parsed.username:
        kwargs["username"] = unquote(parsed.username)
    if parsed.password:
        kwargs["password"] = unquote(parsed.password)
    return kwargs


class AtomicRedisLockStore(RedisLockStore):
    """RedisLockStore whose ticket issue, ticket removal and expiry are each one atomic step."""

    def __init__(self, endpoint_config: EndpointConfig | None = None, **kwargs: Any) -> None:
        # Rasa builds custom lock stores as `cls(endpoint_config=...)`; `url` is a host name (as
        # for Rasa's `type: redis`) or a redis:// URL such as REDIS_URL.
        if endpoint_config is not None:
            kwargs = {**endpoint_config.kwargs, **kwargs}
            if endpoint_config.url:
                kwargs.setdefault("host", endpoint_config.url)
        host = str(kwargs.pop("host", "localhost"))
        kwargs = {**kwargs, **_redis_url_kwargs(host)} if "://" in host else {**kwargs, "host": host}
        super().__init__(**kwargs)
        self._issue = self.red.register_script(_ISSUE)
        self._prune = self.red.register_script(_PRUNE)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        now = time.time()
        try:
            # json.dumps writes the expiry as TicketLock would (repr of the float).
            return int(self._issue(keys=[self.key_prefix + conversation_id],
                                   args=[conversation_id, repr(now), json.dumps(now + lock_lifetime)]))
        except Exception as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def _prune_lock(self, conversation_id: str, ticket_number: int, delete_if_empty: bool) -> None:
        self._prune(keys=[self.key_prefix + conversation_id],
                    args=[conversation_id, repr(time.time()), ticket_number, int(delete_if_empty)])

    def update_lock(self, conversation_id: str) -> None:
        self._prune_lock(conversation_id, NO_TICKET, delete_if_empty=False)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self._prune_lock(conversation_id, ticket_number, delete_if_empty=False)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        # Rasa removes the ticket, then deletes the lock if nobody waits: in two steps a ticket
        # issued in between would be deleted with the lock. One script here.
        self._prune_lock(conversation_id, ticket_number, delete_if_empty=True)

    @asynccontextmanager
    async def lock(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME,
                   wait_time_in_seconds: float = 1) -> AsyncIterator[TicketLock]:
        """Rasa's ticket lock, with each Redis call off the event loop."""
        ticket = await off_loop(self.issue_ticket, conversation_id, lock_lifetime)
        try:
            yield await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
        finally:
            await off_loop(self.cleanup, conversation_id, ticket)

    async def _acquire_lock(self, conversation_id: str, ticket: int, wait_time_in_seconds: float) -> TicketLock:
        while True:
            lock = await off_loop(self.get_lock, conversation_id)
            if not lock:  # expired and deleted meanwhile
                break
            if not lock.is_locked(ticket):
                return lock
            await asyncio.sleep(wait_time_in_seconds)
            await off_loop(self.update_lock, conversation_id)
        raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
