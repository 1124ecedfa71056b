"""Writing first on Meta's Cloud API: outside the 24-hour window only an approved template goes,
filled so that Meta accepts it (checked by the local Graph API, which refuses what Meta refuses)."""
from __future__ import annotations

import asyncio

import pytest
import yaml

from grace.run.outbox import deliver_pending
from grace.store import session_scope
from grace.store.models import Notification
from grace.tenancy.registry import get_registry
from grace.whatsapp.delivery import send_proactive
from tests.fakes.meta_api import FakeMetaGraph
from tests.helpers import AKANRABY_META_ID
from tests.test_outbox import PROOF, outbox, send_proof


@pytest.fixture
def meta(grace_env, monkeypatch):
    with FakeMetaGraph() as fake:
        monkeypatch.setenv("META_ACCESS_TOKEN", fake.access_token)
        monkeypatch.setenv("META_API_BASE_URL", fake.base_url)
        monkeypatch.setenv("GRACE_SEND_BACKOFF_S", "0.01")
        yield fake


def use_templates(grace_env, templates: dict) -> None:
    tenant_file = grace_env / "tenants" / "akanraby" / "tenant.yml"
    data = yaml.safe_load(tenant_file.read_text())
    data["whatsapp_templates"] = templates
    tenant_file.write_text(yaml.safe_dump(data, sort_keys=False))


def test_an_ops_alert_outside_the_window_is_a_template_with_the_proof_as_its_header(meta, grace_env):
    use_templates(grace_env, {"payment_proof": {"meta_name": "payment_proof_alert", "language": "en_GB",
                                                "meta_header": "image"}})
    reference = send_proof()
    asyncio.run(deliver_pending())
    [alert] = meta.messages
    assert alert["phone_number_id"] == AKANRABY_META_ID and alert["to"] == "2349010000009"
    template = alert["template"]
    assert template["name"] == "payment_proof_alert" and template["language"] == {"code": "en_GB"}
    header, body = template["components"]
    assert header == {"type": "header", "parameters": [{"type": "image", "image": {"link": PROOF}}]}
    assert body["parameters"][0] == {"type": "text", "text": reference}
    assert outbox() == [("payment_proof", "sent", None)]


def test_an_image_template_without_an_image_is_not_sent_and_the_reason_is_kept(meta, grace_env):
    use_templates(grace_env, {"order_status": {"meta_name": "order_update", "meta_header": "image"}})
    tenant = get_registry().get("akanraby")
    outcome = asyncio.run(send_proactive(tenant, "+2348011111111", [{"text": "Your order is ready"}],
                                         "order_status", ["AKA-1001", "ready"]))
    assert outcome.status == "skipped" and "no approved template" in outcome.detail
    assert meta.messages == []


def test_template_parameters_are_made_acceptable_to_meta(meta, grace_env):
    """Meta refuses a parameter with a new line, a tab, five spaces in a row, or nothing in it."""
    use_templates(grace_env, {"handoff": {"meta_name": "handoff_alert"}})
    tenant = get_registry().get("akanraby")
    variables = ["Ada  Obi", "wants a tailor\nfor 3 gowns\tASAP     please", ""]
    outcome = asyncio.run(send_proactive(tenant, "+2349010000009", [{"text": "x"}], "handoff", variables))
    assert outcome.status == "sent", outcome.detail
    [sent] = meta.messages
    texts = [p["text"] for p in sent["template"]["components"][0]["parameters"]]
    assert texts == ["Ada Obi", "wants a tailor for 3 gowns ASAP please", "-"]


def test_a_template_meta_refuses_stays_in_the_outbox_with_meta_s_reason(meta, grace_env):
    use_templates(grace_env, {"payment_proof": {"meta_name": "payment_proof_alert", "meta_header": "image"}})
    send_proof()
    meta.fail_next(400)
    asyncio.run(deliver_pending())
    with session_scope() as session:
        [row] = session.query(Notification).filter(Notification.audience == "ops").all()
        assert row.status in ("pending", "failed") and row.last_error
    assert meta.messages == []
