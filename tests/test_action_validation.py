"""Rasa's check of a custom action's answer, with the schema's validator built once
(grace/rasa_plugins/action_validation.py): it must accept and refuse exactly what Rasa's did."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError, validate
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

import grace.rasa_plugins.tracker_store  # noqa: F401  (Rasa loads it at start; it installs the check)

GOOD = [
    {"events": [], "responses": []},
    {"events": [{"event": "slot", "name": "fabric", "value": "AKN-001"}],
     "responses": [{"text": "₦4,500 per yard", "buttons": [], "image": None}]},
]
BAD = [
    {"events": "not a list", "responses": []},
    {"events": [{"name": "no event key"}], "responses": []},
    {"events": [], "responses": "hello"},
]


def action() -> RemoteAction:
    return RemoteAction("action_show_fabrics", EndpointConfig("http://127.0.0.1:5055/webhook"))


@pytest.mark.parametrize("answer", GOOD)
def test_a_well_formed_answer_is_accepted(answer):
    assert action()._validate_action_result(answer) is True


@pytest.mark.parametrize("answer", BAD)
def test_a_malformed_answer_is_refused_as_rasa_refuses_it(answer):
    with pytest.raises(ValidationError) as rasa_says:
        validate(answer, RemoteAction.action_response_format_spec())
    with pytest.raises(ValidationError) as refused:
        action()._validate_action_result(answer)
    assert refused.value.message.startswith(rasa_says.value.message)
    assert "Failed to validate Action server response" in refused.value.message


def test_the_schema_is_no_longer_checked_on_every_answer(monkeypatch):
    checked = []
    for cls in (validator for validator in __import__("jsonschema").validators.meta_schemas.values()):
        monkeypatch.setattr(cls, "check_schema", classmethod(lambda c, schema: checked.append(schema)))
    action()._validate_action_result(GOOD[1])
    assert checked == []
