"""Fabric pictures are public (WhatsApp fetches them); proofs only for signed-in users of their tenant."""
from __future__ import annotations

from grace.messaging.media import media_root, save_media
from tests.web.conftest import PNG, login


def test_fabric_images_are_public(client):
    folder = media_root() / "akanraby" / "fabrics"
    folder.mkdir(parents=True)
    (folder / "ak-001.png").write_bytes(PNG)
    response = client.get("/media/akanraby/fabrics/ak-001.png")
    assert response.status_code == 200 and response.data == PNG and response.mimetype == "image/png"
    assert client.get("/media/kentehouse/fabrics/ak-001.png").status_code == 404
    assert client.get("/media/akanraby/fabrics/../../kentehouse/x.png").status_code == 404


def test_other_media_only_for_the_tenants_users(client):
    proof = save_media("akanraby", PNG, "image/png")
    name = proof.path.name
    assert client.get(f"/media/akanraby/{name}").status_code == 404  # not signed in
    login(client, "ops@kentehouse.test")
    assert client.get(f"/media/akanraby/{name}").status_code == 404
    fresh = client.application.test_client()
    login(fresh, "viewer@akanraby.test")
    assert fresh.get(f"/media/akanraby/{name}").data == PNG

