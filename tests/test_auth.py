"""Authentication: API keys (hashed, expiring, revocable, cached briefly) and bearer tokens
from the identity provider (signature, exp, nbf, iss, aud; no alg=none, no HS/RS confusion)."""

import asyncio
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from httpx import ASGITransport, AsyncClient
from sqlalchemy import event, text

from services.api_keys.authenticator import Authenticator
from services.entities.models import EntityKind
from services.settings import get_settings
from tests.factories import make_entity
from tests.jwks_server import AUDIENCE, ISSUER, IdentityProvider, b64


async def test_no_credentials_is_a_401_that_says_how_to_authenticate(make_client):
    anonymous = await make_client(None)
    response = await anonymous.get("/v1/networks")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"
    for header in ("Bearer nonsense", "Bearer mnr_00000000_" + "x" * 43, "Basic dXNlcjpwYXNz"):
        response = await anonymous.get("/v1/networks", headers={"Authorization": header})
        assert response.status_code == 401, header
    assert (await anonymous.get("/healthz")).status_code == 200


async def test_a_key_is_shown_once_and_stored_only_as_a_hash(client, connection):
    response = await client.post("/v1/api-keys", json={"name": "UNSDG data portal", "role": "reader"})
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key.startswith(created["prefix"] + "_")
    assert response.headers["cache-control"] == "no-store"
    stored = await connection.scalar(text("SELECT key_hash FROM api_keys WHERE id = :id"), {"id": created["id"]})
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    dump = await connection.scalar(text("SELECT string_agg(t::text, '') FROM api_keys t"))
    assert key not in dump and key.split("_", 2)[2] not in dump
    fetched = (await client.get(f"/v1/api-keys/{created['id']}")).json()
    assert "key" not in fetched and "key_hash" not in fetched
    reader = AsyncClient(
        transport=client._transport, base_url="http://registry.test", headers={"Authorization": f"Bearer {key}"}
    )
    assert (await reader.get("/v1/networks")).status_code == 200
    assert await connection.scalar(
        text("SELECT last_used_at IS NOT NULL FROM api_keys WHERE id = :id"), {"id": created["id"]}
    )


async def test_an_idempotent_replay_of_key_creation_does_not_show_the_key_again(client, connection):
    body = {"name": "Replay", "role": "reader"}
    first = await client.post("/v1/api-keys", json=body, headers={"Idempotency-Key": "key-1"})
    again = await client.post("/v1/api-keys", json=body, headers={"Idempotency-Key": "key-1"})
    assert first.json()["id"] == again.json()["id"]
    assert "key" in first.json() and "key" not in again.json()
    stored = await connection.scalar(
        text("SELECT convert_from(body, 'UTF8') FROM idempotency_keys WHERE key = 'key-1'")
    )
    assert first.json()["key"] not in stored


async def test_a_revoked_key_stops_at_once_here_and_within_the_cache_time_elsewhere(app, client, make_client, session):
    reader = await make_client("reader")
    replica = AsyncClient(transport=ASGITransport(app=app), base_url="http://registry.test", headers=reader.headers)
    # another API process with its own, short-lived cache
    other_app_state = app.state.authenticator
    assert (await reader.get("/v1/networks")).status_code == 200
    key_id = (await reader.get("/v1/api-keys")).json()["items"][0]["id"]
    replica_auth = Authenticator(get_settings().model_copy(update={"auth_cache_seconds": 0.3}))
    app.state.authenticator = replica_auth
    assert (await replica.get("/v1/networks")).status_code == 200  # the replica now trusts the key
    app.state.authenticator = other_app_state
    assert (await client.post(f"/v1/api-keys/{key_id}/revoke")).status_code == 200
    response = await reader.get("/v1/networks")
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/api-key-revoked"
    app.state.authenticator = replica_auth
    await asyncio.sleep(0.4)
    assert (await replica.get("/v1/networks")).status_code == 401  # within seconds on the replica too
    app.state.authenticator = other_app_state
    assert (await client.post(f"/v1/api-keys/{key_id}/revoke")).json()["type"] == "/problems/api-key-revoked"


async def test_requests_arriving_together_with_an_unverified_key_share_one_lookup(app, make_client, connection):
    """When a key's verdict lapses under load, the requests carrying it wait for one lookup
    rather than each querying the database."""
    reader = await make_client("reader")
    lookups = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if "FROM api_keys" in statement and "key_hash" in statement:
            lookups.append(statement)

    event.listen(connection.sync_connection, "before_cursor_execute", count)
    try:
        app.state.authenticator = Authenticator(get_settings())
        responses = await asyncio.gather(*(reader.get("/v1/gcm/principles") for _ in range(8)))
    finally:
        event.remove(connection.sync_connection, "before_cursor_execute", count)
    assert [r.status_code for r in responses] == [200] * 8
    assert len(lookups) == 1


async def test_an_expired_key_is_refused(client, connection):
    created = (await client.post("/v1/api-keys", json={"name": "Short", "role": "reader"})).json()
    await connection.execute(
        text("UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE id = :id"), {"id": created["id"]}
    )
    response = await client.get("/v1/networks", headers={"Authorization": f"Bearer {created['key']}"})
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/api-key-expired"


async def test_key_rules(client, session):
    assert (await client.post("/v1/api-keys", json={"name": "FP", "role": "focal_point"})).json()[
        "type"
    ] == "/problems/focal-point-needs-entity"
    far = (datetime.now(UTC) + timedelta(days=1000)).isoformat()
    assert (
        await client.post("/v1/api-keys", json={"name": "Far", "role": "reader", "expires_at": far})
    ).status_code == 422
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert (
        await client.post("/v1/api-keys", json={"name": "Past", "role": "reader", "expires_at": past})
    ).status_code == 422
    assert (await client.post("/v1/api-keys", json={"name": "Sys", "role": "system"})).status_code == 422
    response = await client.post("/v1/api-keys", json={"name": "X", "role": "reader", "key_hash": "0" * 64})
    assert response.status_code == 422 and "read-only" in response.json()["detail"]


def _client_with(app, key: str) -> AsyncClient:
    return AsyncClient(
        transport=ASGITransport(app=app), base_url="http://registry.test", headers={"Authorization": f"Bearer {key}"}
    )


async def test_a_focal_point_sees_and_may_revoke_its_entitys_keys_and_no_others(app, client, session):
    """Two focal points of A, one of B: A's see both of A's keys and may revoke either (a
    colleague who left), but create none; B's key is not even visible to them (docs/API.md, roles)."""
    a = await make_entity(session, acronym="KEY-A")
    b = await make_entity(session, acronym="KEY-B")
    keys = {}
    for name, entity in (("a1", a), ("a2", a), ("b", b)):
        created = await client.post(
            "/v1/api-keys", json={"name": name, "role": "focal_point", "entity_id": str(entity["id"])}
        )
        keys[name] = created.json()
    focal_a, colleague = _client_with(app, keys["a1"]["key"]), _client_with(app, keys["a2"]["key"])
    seen = (await focal_a.get("/v1/api-keys")).json()["items"]
    assert {k["id"] for k in seen} == {keys["a1"]["id"], keys["a2"]["id"]}
    assert (await focal_a.get(f"/v1/api-keys/{keys['b']['id']}")).status_code == 404
    assert (await focal_a.post(f"/v1/api-keys/{keys['b']['id']}/revoke")).status_code == 404
    more = {"name": "More", "role": "focal_point", "entity_id": str(a["id"])}
    assert (await focal_a.post("/v1/api-keys", json=more)).status_code == 403
    revoked = await focal_a.post(f"/v1/api-keys/{keys['a2']['id']}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert (await colleague.get("/v1/entities")).status_code == 401
    assert (await focal_a.get("/v1/entities")).status_code == 200
    for c in (focal_a, colleague):
        await c.aclose()


async def test_keys_carry_an_entity_only_for_a_un_system_focal_point(client, session):
    un = await make_entity(session, acronym="KEY-UN")
    ngo = await make_entity(session, acronym="KEY-NGO", kind=EntityKind.CIVIL_SOCIETY)
    for role in ("reader", "integrator", "admin"):
        refused = await client.post("/v1/api-keys", json={"name": role, "role": role, "entity_id": str(un["id"])})
        assert refused.status_code == 422 and refused.json()["type"] == "/problems/entity-not-allowed", role
    refused = await client.post(
        "/v1/api-keys", json={"name": "NGO", "role": "focal_point", "entity_id": str(ngo["id"])}
    )
    assert refused.status_code == 422 and refused.json()["type"] == "/problems/focal-point-not-un-system"
    assert "KEY-NGO" in refused.json()["detail"]
    accepted = await client.post("/v1/api-keys", json={"name": "UN", "role": "focal_point", "entity_id": str(un["id"])})
    assert accepted.status_code == 201, accepted.text


async def test_the_last_active_admin_key_cannot_be_revoked(app, client, connection):
    """Two admins: the first revokes the second's key; the last key left cannot go (409)."""
    first = (await client.post("/v1/api-keys", json={"name": "first", "role": "admin"})).json()
    second = (await client.post("/v1/api-keys", json={"name": "second", "role": "admin"})).json()
    await connection.execute(
        text("UPDATE api_keys SET revoked_at = now() WHERE role = 'admin' AND id NOT IN (:a, :b)"),
        {"a": first["id"], "b": second["id"]},
    )
    as_first, as_second = _client_with(app, first["key"]), _client_with(app, second["key"])
    assert (await as_first.post(f"/v1/api-keys/{second['id']}/revoke")).status_code == 200
    for caller in (as_first,):
        refused = await caller.post(f"/v1/api-keys/{first['id']}/revoke")
        assert refused.status_code == 409 and refused.json()["type"] == "/problems/last-admin-key", refused.text
        assert "another admin key" in refused.json()["detail"]
    assert (await as_first.get("/v1/api-keys")).status_code == 200  # the secretariat is still in
    for c in (as_first, as_second):
        await c.aclose()


# --- bearer tokens ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def identity_provider():
    provider = IdentityProvider()
    yield provider
    provider.close()


@pytest.fixture
def token_client(app, identity_provider):
    settings = get_settings().model_copy(
        update={"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE, "jwt_jwks_url": identity_provider.jwks_url}
    )
    app.state.authenticator = Authenticator(settings)

    def client_with(token: str) -> AsyncClient:
        return AsyncClient(
            transport=ASGITransport(app=app),
            base_url="http://registry.test",
            headers={"Authorization": f"Bearer {token}"},
        )

    return client_with


async def test_a_valid_token_authenticates_a_person(token_client, identity_provider, connection):
    for algorithm in ("RS256", "ES256"):
        response = await token_client(identity_provider.token(algorithm=algorithm)).get("/v1/networks")
        assert response.status_code == 200, (algorithm, response.text)
    created = await token_client(identity_provider.token(sub="alice@un.example")).post(
        "/v1/entities", json={"acronym": "TOK", "name": "Token", "kind": "un_system"}
    )
    assert created.status_code == 201
    principal = await connection.scalar(
        text("SELECT principal_id FROM audit_log WHERE resource_id = :id"), {"id": created.json()["id"]}
    )
    assert principal == "user:alice@un.example"


async def test_a_focal_point_token_acts_for_its_entity(token_client, identity_provider, session):
    entity = await make_entity(session, acronym="TOK-FP")
    other = await make_entity(session, acronym="TOK-OTHER")
    client = token_client(identity_provider.token(mnr_role="focal_point", mnr_entity_id=str(entity["id"])))
    for target, expected in ((entity, 200), (other, 403)):
        etag = (await client.get(f"/v1/entities/{target['id']}")).headers["etag"]
        response = await client.patch(
            f"/v1/entities/{target['id']}", json={"website": "https://x.example"}, headers={"If-Match": etag}
        )
        assert response.status_code == expected
    refused = await client.patch(f"/v1/entities/{entity['id']}", json={"kind": "academia"}, headers={"If-Match": '"2"'})
    assert refused.status_code == 422
    assert refused.json()["type"] == "/problems/field-not-allowed"


async def test_a_focal_point_token_whose_address_is_a_person_acts_as_that_person(
    token_client, identity_provider, session
):
    """The token's e-mail claim names a person of its entity: the audit trail says who acted,
    as for a key issued to a person. An address of another entity's person, or of no one,
    names no one."""
    from services.people.schemas import PersonCreate
    from services.people.service import create_person
    from services.principals import SYSTEM

    entity = await make_entity(session, acronym="TOK-PERSON")
    other = await make_entity(session, acronym="TOK-ELSEWHERE")
    person = await create_person(
        session,
        data=PersonCreate(entity_id=entity["id"], name="Token Person", email="token.person@un.example"),
        actor=SYSTEM,
    )
    await create_person(
        session, data=PersonCreate(entity_id=other["id"], name="Namesake", email="namesake@un.example"), actor=SYSTEM
    )
    acted = {}
    for email in ("Token.Person@un.example", "namesake@un.example", "nobody@un.example", None):
        claims = {"mnr_role": "focal_point", "mnr_entity_id": str(entity["id"]), "sub": f"sub-{email}", "email": email}
        client = token_client(identity_provider.token(**claims))
        etag = (await client.get(f"/v1/entities/{entity['id']}")).headers["etag"]
        changed = await client.patch(
            f"/v1/entities/{entity['id']}",
            json={"website": f"https://{len(acted)}.example"},
            headers={"If-Match": etag},
        )
        assert changed.status_code == 200, changed.text
        acted[email] = await session.scalar(
            text(
                "SELECT principal_person_id FROM audit_log WHERE resource_id = :id AND principal_id = :who "
                "ORDER BY id DESC LIMIT 1"
            ),
            {"id": entity["id"], "who": f"user:sub-{email}"},
        )
    assert acted == {
        "Token.Person@un.example": person["id"],
        "namesake@un.example": None,
        "nobody@un.example": None,
        None: None,
    }


def _unsigned(identity_provider) -> str:
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(identity_provider.claims()).encode())}."


def _hs256_with_public_key(identity_provider) -> str:
    """The HS/RS confusion attack: sign HMAC with the RSA public key as the secret."""
    public_pem = identity_provider.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    payload = b64(json.dumps(identity_provider.claims()).encode())
    signature = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


@pytest.mark.parametrize(
    ("case", "status", "kind"),
    [
        ("expired", 401, "token-expired"),
        ("not yet valid", 401, "token-not-yet-valid"),
        ("wrong issuer", 401, "token-issuer-refused"),
        ("wrong audience", 401, "token-audience-refused"),
        ("alg none", 401, "token-algorithm-refused"),
        ("HS256 with the public key", 401, "token-algorithm-refused"),
        ("signed by another key", 401, "invalid-token"),
        ("unknown key id", 401, "invalid-token"),
        ("RS256 header on the EC key", 401, "token-algorithm-refused"),
        ("no exp", 401, "invalid-token"),
        ("no role", 403, "no-registry-role"),
        ("focal point without entity", 403, "focal-point-without-entity"),
    ],
)
async def test_bad_tokens_are_refused(case, status, kind, token_client, identity_provider):
    idp = identity_provider
    now = int(datetime.now(UTC).timestamp())
    token = {
        "expired": lambda: idp.token(exp=now - 120, iat=now - 700, nbf=now - 700),
        "not yet valid": lambda: idp.token(nbf=now + 600),
        "wrong issuer": lambda: idp.token(iss="https://evil.example/"),
        "wrong audience": lambda: idp.token(aud="some-other-service"),
        "alg none": lambda: _unsigned(idp),
        "HS256 with the public key": lambda: _hs256_with_public_key(idp),
        "signed by another key": lambda: idp.token(key=idp.other_rsa),
        "unknown key id": lambda: idp.token(kid="rotated-away", key=idp.other_rsa),
        "RS256 header on the EC key": lambda: idp.token(kid="ec-1", key=idp.rsa),
        "no exp": lambda: idp.token(exp=None),
        "no role": lambda: idp.token(mnr_role=None),
        "focal point without entity": lambda: idp.token(mnr_role="focal_point"),
    }[case]()
    response = await token_client(token).get("/v1/networks")
    assert response.status_code == status, response.text
    assert response.json()["type"] == f"/problems/{kind}"


async def test_tokens_are_refused_when_no_identity_provider_is_configured(make_client, identity_provider):
    anonymous = await make_client(None)
    response = await anonymous.get("/v1/networks", headers={"Authorization": f"Bearer {identity_provider.token()}"})
    assert response.status_code == 401
    assert response.json()["type"] == "/problems/tokens-not-configured"


def test_symmetric_algorithms_cannot_be_configured():
    from pydantic import ValidationError

    from services.settings import Settings

    with pytest.raises(ValidationError):
        Settings(jwt_algorithms=["HS256"])
