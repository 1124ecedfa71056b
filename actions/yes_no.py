"""Yes and no: what they mean depends on where the customer is in the funnel.

Deciding here, in code, rather than with rules conditioned on the stage keeps
every rule "intent → action": a rule conditioned on a slot its own action
changes stops matching right after that action, and the policies then guess.
"""
from __future__ import annotations

from actions.base import GraceAction, Turn
from actions.fabrics import ActionOfferFabrics
from actions.ordering import ActionConfirmOrder
from actions.resume import resume_prompt


class ActionAnswerYesNo(GraceAction):
    action_name = "action_answer_yes_no"

    def act(self, turn: Turn) -> None:
        yes, stage = turn.intent == "affirm", turn.stage
        if yes and stage == "reviewing":
            ActionConfirmOrder().act(turn)  # yes to the order summary
        elif yes and stage == "upsell":
            ActionOfferFabrics().act(turn)  # yes to "shall I show you more like it?"
        elif not yes and stage == "reviewing":
            turn.say("resume_review_deny")
        elif not yes and stage == "upsell":
            turn.say("upsell_declined")
            turn.set("funnel_stage", "paid")
        elif yes and stage == "start":
            turn.say("ask_style")
        else:
            resume_prompt(turn)
