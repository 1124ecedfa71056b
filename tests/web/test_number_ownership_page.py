"""An owner cannot claim a WhatsApp number from the settings page: the platform operator assigns them."""
from __future__ import annotations

import re

from grace.tenancy.registry import get_registry
from tests.web.conftest import csrf_token, login
from tests.web.test_settings_page import form_of


def test_an_owner_posting_another_business_number_is_refused_and_nothing_changes(client):
    login(client, "owner@kentehouse.test")
    form = form_of(client)
    assert "whatsapp_numbers" not in form  # shown, not editable
    before = (get_registry().root / "kentehouse" / "tenant.yml").read_text()
    refused = client.post("/settings", data={**form, "whatsapp_numbers": "+2349010000001",
                                             "csrf_token": csrf_token(client, "/settings")})
    assert refused.status_code == 422
    assert "platform operator" in refused.get_data(as_text=True)
    assert (get_registry().root / "kentehouse" / "tenant.yml").read_text() == before
    assert get_registry().by_whatsapp_number("whatsapp:+2349010000001").id == "akanraby"


def test_a_huge_list_index_is_refused_without_building_the_list(client):
    login(client, "owner@akanraby.test")
    form = form_of(client)
    refused = client.post("/settings", data={**form, "faq.5000000.q": "x",
                                             "csrf_token": csrf_token(client, "/settings")})
    assert refused.status_code == 422
    assert re.search(r"at most \d+ entries", refused.get_data(as_text=True))
