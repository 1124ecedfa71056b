"""`grace payments list` and `grace orders list`: one tenant's rows, filtered by status."""
from __future__ import annotations

import json

from actions.deposit import ActionHandleImage
from grace.run.cli import main
from tests.helpers import Chat
from tests.test_funnel_actions import place_order
from tests.web.conftest import make_order

PROOF = {"media": [{"url": "https://media.example.test/akanraby/proof.jpg", "content_type": "image/jpeg"}]}


def test_lists_show_this_tenants_payments_and_orders_by_status(grace_env, capsys):
    chat = Chat()
    paid = place_order(chat)
    chat.run(ActionHandleImage, "", "share_image", metadata=PROOF)
    unpaid = make_order("akanraby", "+2348022222222", "Bola")
    other = make_order("kentehouse", "+233201111111", "Kofi")

    assert main(["payments", "list", "--tenant", "akanraby", "--status", "pending"]) == 0
    listed = capsys.readouterr().out
    assert paid in listed and "proof.jpg" in listed and unpaid not in listed
    assert main(["payments", "list", "--tenant", "akanraby", "--status", "verified"]) == 0
    assert paid not in capsys.readouterr().out

    assert main(["orders", "list", "--tenant", "akanraby"]) == 0
    listed = capsys.readouterr().out
    assert listed.index(paid) < listed.index(unpaid) and "Bola" in listed and other not in listed
    assert main(["orders", "list", "--tenant", "akanraby", "--status", "awaiting_payment"]) == 0
    listed = capsys.readouterr().out
    assert unpaid in listed and paid not in listed


def test_analytics_prints_a_tenants_figures_and_writes_its_charts(grace_env, capsys, tmp_path):
    assert main(["analytics", "akanraby", "2026-11-01", "2026-11-24", "--out", str(tmp_path / "charts")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["tenant_id"] == "akanraby" and report["currency"] == "NGN" and len(report["days"]) == 24
    assert sorted(p.suffix for p in (tmp_path / "charts").iterdir()) and all(
        p.read_text().lstrip().startswith("<") for p in (tmp_path / "charts").iterdir())
    assert main(["analytics", "no-such-shop", "2026-11-01", "2026-11-24"]) == 2
    assert "no-such-shop" in capsys.readouterr().err
