"""One grounded answer from the model, or None (then the canned library answers). The guard judges
the answer against the tenant's facts and this conversation's (its selection and history, the
customer's message), so what was worked out here (a total, a deposit) may be said again.

The model is the first thing a business's plan stops (grace.tenancy.usage.model_stopped): asked before
every call, so a conversation that reaches the limit mid-way goes on with the canned library. Each call
the model answers is counted with its tokens."""
from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from grace.llm.client import ModelUnavailable, complete
from grace.llm.grounding import problems
from grace.llm.prompt import Context, asks_about_payment, build_messages
from grace.store import session_scope
from grace.tenancy.plans import MODEL_CALLS, MODEL_TOKENS, PlansFileError
from grace.tenancy.registry import Tenant
from grace.tenancy.usage import add, model_stopped

log = logging.getLogger("grace.llm")
CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text with OpenAI's tokenisers


def grounded_answer(tenant: Tenant, text: str, context: Context) -> str | None:
    """The model's answer if everything it claims is the tenant's; regenerated once if not."""
    messages = build_messages(tenant, text, context)
    model = tenant.extra.get("llm_model") or None
    account_allowed = asks_about_payment(text)
    for attempt in range(2):
        if stopped := plan_stops_model(tenant.id):
            log.info("model not asked for %s: %s", tenant.id, stopped)
            return None
        try:
            answer = complete(messages, model, tenant.id)
        except ModelUnavailable as exc:
            log.info("model unavailable for %s: %s", tenant.id, exc)
            return None
        count_call(tenant.id, estimated_tokens(messages, answer))
        wrong = problems(answer, tenant, account_allowed, context, text)
        if not wrong:
            return answer
        log.warning("ungrounded model answer for %s (attempt %d): %s", tenant.id, attempt + 1, "; ".join(wrong))
        messages = messages + [{"role": "assistant", "content": answer}, {"role": "system", "content": (
            "That answer is not allowed: " + "; ".join(wrong) + ". Answer again using only the facts given.")}]
    return None


def plan_stops_model(tenant_id: str) -> str | None:
    """Why the business's plan stops the model now, or None. A broken plans file is the operator's to mend:
    logged, and the model answers meanwhile (customers are not the ones to pay for it)."""
    try:
        with session_scope() as session:
            return model_stopped(session, tenant_id)
    except PlansFileError as exc:
        log.error("plans file unreadable, model limits not applied: %s", exc)
        return None


def count_call(tenant_id: str, tokens: int) -> None:
    """One model call and its tokens, in one transaction; a failure to count never withholds the answer."""
    try:
        with session_scope() as session:
            add(session, tenant_id, MODEL_CALLS)
            add(session, tenant_id, MODEL_TOKENS, tokens)
    except (SQLAlchemyError, PlansFileError):
        log.exception("model call of %s not counted", tenant_id)


def estimated_tokens(messages: list[dict], answer: str) -> int:
    """The call's tokens, prompt and answer, estimated from their length: the client hands back the answer's
    text only, not the provider's token count."""
    chars = sum(len(str(m.get("content") or "")) for m in messages) + len(answer)
    return -(-chars // CHARS_PER_TOKEN)
