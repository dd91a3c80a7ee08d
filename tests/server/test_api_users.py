"""Users, roles and tokens over HTTP (admins); a token is shown once."""

from registry_support import Team
from server_support import Api


def test_an_admin_adds_a_user_whose_token_works_at_once(api: Api, team: Team) -> None:
    added = api.post(
        "/api/v1/users", "ada", json={"username": "nina", "roles": ["auditor"], "label": "laptop"}
    )
    assert added.status_code == 201, added.text
    token = added.json()["token"]
    assert added.json()["username"] == "nina" and token.startswith("charter_")
    me = api.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert me.json() == {"username": "nina", "roles": ["auditor"]}
    users = {u["username"]: u for u in api.get("/api/v1/users", "otto").json()}
    assert users["nina"]["roles"] == ["auditor"] and users["nina"]["created_by"] == "ada"
    assert "token" not in users["nina"]  # shown once, never listed

    granted = api.post("/api/v1/users/nina/roles", "ada", json={"roles": ["approver"]})
    assert granted.json() == {"username": "nina", "roles": ["approver", "auditor"]}
    removed = api.delete("/api/v1/users/nina/roles/auditor", "ada")
    assert removed.json() == {"username": "nina", "roles": ["approver"]}
    assert api.post("/api/v1/users/nina/disable", "ada").status_code == 204
    gone = api.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401 and "disabled" in gone.json()["detail"]


def test_tokens_are_created_once_and_revoked(api: Api, team: Team) -> None:
    own = api.post("/api/v1/tokens", "otto", json={"label": "ci", "expires_days": 30})
    assert own.status_code == 201
    body = own.json()
    assert body["username"] == "otto" and body["expires_at"] is not None
    auth = {"Authorization": f"Bearer {body['token']}"}
    assert api.get("/api/v1/whoami", headers=auth).json()["username"] == "otto"
    assert api.delete(f"/api/v1/tokens/{body['id']}", "otto").status_code == 204
    assert api.get("/api/v1/whoami", headers=auth).status_code == 401
    listed = api.get("/api/v1/tokens", "otto").json()
    revoked = next(t for t in listed if t["id"] == body["id"])
    assert revoked["label"] == "ci" and revoked["revoked_at"] is not None
    assert {t["username"] for t in listed} == {"otto"} and "token" not in revoked
    refused = api.get("/api/v1/tokens", "otto", params={"all": "true"})
    assert refused.status_code == 403 and "token.manage" in refused.json()["detail"]
    for_other = api.post("/api/v1/tokens", "ada", json={"username": "ann"})
    assert for_other.status_code == 201 and for_other.json()["username"] == "ann"
    assert team.registry.authenticate(for_other.json()["token"]).username == "ann"
    everyone = api.get("/api/v1/tokens", "ada", params={"all": "true"}).json()
    assert {"ann", "otto", "ada"} <= {t["username"] for t in everyone}


def test_admin_refusals_are_the_services(api: Api) -> None:
    last = api.delete("/api/v1/users/ada/roles/admin", "ada")
    assert last.status_code == 409 and "last admin" in last.json()["detail"]
    duplicate = api.post("/api/v1/users", "ada", json={"username": "ann", "roles": ["auditor"]})
    assert duplicate.status_code == 409 and "already exists" in duplicate.json()["detail"]
    unknown_role = api.post("/api/v1/users", "ada", json={"username": "x", "roles": ["boss"]})
    assert unknown_role.status_code == 400  # the registry's own refusal, with its hint
    assert "unknown role 'boss'" in unknown_role.json()["detail"]
    assert "approver" in unknown_role.json()["hint"]
    bad_name = api.post("/api/v1/users", "ada", json={"username": "../x", "roles": ["auditor"]})
    assert bad_name.status_code == 400 and "../x" in bad_name.json()["detail"]
    missing = api.post("/api/v1/users/nobody/roles", "ada", json={"roles": ["auditor"]})
    assert missing.status_code == 404
