"""Remember processed message ids so a redelivered webhook is handled once."""
from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from grace.store import session_scope
from grace.store.models import InboundMessage


def first_delivery(tenant_id: str, channel: str, message_id: str) -> bool:
    """True the first time a (tenant, channel, message id) is seen; False for repeats."""
    try:
        with session_scope() as session:
            session.add(InboundMessage(tenant_id=tenant_id, channel=channel, message_id=message_id[:128]))
    except IntegrityError:
        return False
    return True
