"""Answers about the business: hours, policies, FAQs. Each resumes the funnel after."""
from __future__ import annotations

from actions.base import GraceAction, Turn, log_fallback
from actions.support import answer_from_model
from grace.tenancy.hours import days_mentioned, describe_opening, fmt_time
from grace.understanding.questions import best_answer


class ActionAnswerHours(GraceAction):
    action_name = "action_answer_hours"

    def act(self, turn: Turn) -> None:
        say_hours(turn, week=True)
        turn.resume()


def say_hours(turn: Turn, week: bool) -> None:
    """The days asked about, else whether the shop is open now (and, with `week`, the whole week)."""
    hours, tz = turn.tenant.hours, turn.tenant.timezone.key
    days = days_mentioned(turn.text)
    if days:
        turn.say("hours_days", days="\n".join(hours.describe_day(d) for d in days))
        return
    now = turn.tenant.now()
    if hours.is_open(now):
        closes = hours.closing_today(now)
        assert closes is not None  # open now, so it closes today
        turn.say("hours_open_now", closes=fmt_time(closes), timezone=tz)
    else:
        opening = hours.next_opening(now)
        turn.say("hours_closed_now", next_open=describe_opening(now, opening) if opening else "soon", timezone=tz)
    if week:
        turn.say("hours_week", week=hours.describe_week(), timezone=tz)


class ActionAnswerPolicy(GraceAction):
    action_name = "action_answer_policy"

    def act(self, turn: Turn) -> None:
        topic = "returns" if turn.intent == "ask_returns" else "delivery"
        turn.say(f"policy_{topic}", policy=turn.tenant.policies[topic])
        turn.resume()


class ActionAnswerFaq(GraceAction):
    """The business's own answer to the question, matched by meaning (grace.understanding.questions);
    a question its facts cannot answer goes to the model when one is configured, else it is honestly
    noted for the team."""

    action_name = "action_answer_faq"

    def act(self, turn: Turn) -> None:
        match = best_answer(turn.text, turn.tenant.faq)
        if match:
            turn.say(text=match.entry.a)
            turn.resume()
            return
        if answer_from_model(turn):
            log_fallback(turn, "model:faq")
            return
        turn.say("faq_unknown")
        turn.resume()
        log_fallback(turn, "faq_unknown")  # after the nudge back, so the log holds the whole answer
