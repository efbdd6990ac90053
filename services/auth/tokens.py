"""Verifying bearer tokens (JWT) from the UN identity provider against its JWKS."""

import time
import uuid
from typing import Any

import httpx
import jwt

from services.errors import Forbidden, Unauthenticated
from services.principals import Principal, Role
from services.settings import Settings

# Which JWK key type each algorithm family must be signed with.
KEY_TYPE_OF = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}
TOKEN_ROLES = {Role.ADMIN, Role.FOCAL_POINT, Role.INTEGRATOR, Role.READER}
# However often unknown key ids arrive, the JWKS is fetched at most this often.
MIN_REFRESH_SECONDS = 30.0


class TokenVerifier:
    """Checks signature, ``exp``, ``nbf``, ``iss`` and ``aud``; refuses ``alg=none`` and any
    algorithm outside the configured asymmetric ones, and a key of the wrong type."""

    def __init__(self, settings: Settings, http: httpx.AsyncClient | None = None) -> None:
        self.settings = settings
        self._http = http
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fetched_at = float("-inf")

    @property
    def configured(self) -> bool:
        s = self.settings
        return bool(s.jwt_issuer and s.jwt_audience and s.jwt_jwks_url)

    async def _refresh(self) -> None:
        assert self.settings.jwt_jwks_url is not None
        client = self._http or httpx.AsyncClient(timeout=5.0, follow_redirects=False)
        try:
            response = await client.get(self.settings.jwt_jwks_url)
            response.raise_for_status()
            jwks = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
            raise Unauthenticated(
                "identity-provider-unavailable", "The identity provider's keys could not be fetched; try again shortly."
            ) from error
        finally:
            if self._http is None:
                await client.aclose()
        self._keys = {key.key_id: key for key in jwks.keys}
        self._fetched_at = time.monotonic()

    async def _signing_key(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._fetched_at
        if age > self.settings.jwks_cache_seconds or (kid not in self._keys and age > MIN_REFRESH_SECONDS):
            await self._refresh()
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))
        if key is None:
            raise Unauthenticated(
                "invalid-token", "The token is signed with a key the identity provider does not publish."
            )
        return key

    async def verify(self, token: str) -> tuple[Principal, float, str | None]:
        """The principal a token names, when (Unix time) the token expires, and the e-mail
        address it carries (``JWT_EMAIL_CLAIM``), if any."""
        if not self.configured:
            raise Unauthenticated("tokens-not-configured", "Bearer tokens are not accepted here; use an API key.")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("invalid-token", "The bearer token is not a well-formed JWT.") from error
        algorithm = header.get("alg")
        if algorithm not in self.settings.jwt_algorithms:
            raise Unauthenticated("token-algorithm-refused", f"Tokens signed with {algorithm!r} are not accepted.")
        key = await self._signing_key(header.get("kid"))
        if KEY_TYPE_OF.get(str(algorithm)[:2]) != key.key_type or (
            key.algorithm_name and key.algorithm_name != algorithm
        ):
            raise Unauthenticated("token-algorithm-refused", "The token's algorithm does not match its signing key.")
        claims = self._decode(token, key, str(algorithm))
        email = claims.get(self.settings.jwt_email_claim)
        return self._principal(claims), float(claims["exp"]), email if isinstance(email, str) else None

    def _decode(self, token: str, key: jwt.PyJWK, algorithm: str) -> dict[str, Any]:
        s = self.settings
        try:
            return jwt.decode(
                token,
                key=key.key,
                algorithms=[algorithm],
                audience=s.jwt_audience,
                issuer=s.jwt_issuer,
                leeway=s.jwt_leeway_seconds,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError as error:
            raise Unauthenticated("token-expired", "The bearer token has expired; get a new one.") from error
        except jwt.ImmatureSignatureError as error:
            raise Unauthenticated("token-not-yet-valid", "The bearer token is not valid yet (nbf).") from error
        except jwt.InvalidAudienceError as error:
            raise Unauthenticated(
                "token-audience-refused", "The bearer token was not issued for this service."
            ) from error
        except jwt.InvalidIssuerError as error:
            raise Unauthenticated(
                "token-issuer-refused", "The bearer token comes from an issuer this service does not trust."
            ) from error
        except jwt.InvalidTokenError as error:
            raise Unauthenticated("invalid-token", "The bearer token's signature or claims are not valid.") from error

    def _principal(self, claims: dict[str, Any]) -> Principal:
        s = self.settings
        raw_role = claims.get(s.jwt_role_claim)
        try:
            role = Role(str(raw_role))
        except ValueError:
            role = None
        if role not in TOKEN_ROLES:
            raise Forbidden(
                "no-registry-role", f"The token carries no registry role in its {s.jwt_role_claim!r} claim."
            )
        assert role is not None
        entity_id = None
        if claims.get(s.jwt_entity_claim) is not None:
            try:
                entity_id = uuid.UUID(str(claims[s.jwt_entity_claim]))
            except ValueError as error:
                raise Forbidden(
                    "invalid-entity-claim", f"The token's {s.jwt_entity_claim!r} claim is not an entity id."
                ) from error
        if role == Role.FOCAL_POINT and entity_id is None:
            raise Forbidden(
                "focal-point-without-entity", f"A focal point's token names its entity in {s.jwt_entity_claim!r}."
            )
        return Principal(id=f"user:{claims['sub']}", role=role, entity_id=entity_id)
