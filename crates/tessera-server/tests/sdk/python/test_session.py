"""supertokens-python driving a running `tessera serve`, for every pinned SDK release.

run.sh runs this file once per requirements file (requirements.txt: 0.31.4, CDI 5.4;
requirements-0.30.txt: 0.30.4, CDI 5.3; requirements-0.26.txt: 0.26.1, CDI 5.1;
requirements-0.24.txt: 0.24.4, CDI 3.0; requirements-0.14.txt: 0.14.9, CDI 2.21;
requirements-0.12.txt: 0.12.10, CDI 2.20), each in a virtualenv of its own. The syncio API
changed across these releases, so the calls adapt to the installed SDK, found by inspecting its
functions and signatures:
  0.12 (CDI 2.20, the handshake era): no *_without_request_response functions and no
        check_database. The SDK fetches the signing key from /recipe/handshake and verifies the
        V2 access tokens itself. It is driven through its framework interface (BaseRequest and
        BaseResponse): a request carrying the token as Authorization: Bearer, and the response
        headers its mutators set (st-access-token, st-refresh-token). SUPERTOKENS_ENV=testing
        makes it record in ProcessState when it calls the server's verify.
  0.14 (CDI 2.21): no tenant_id anywhere, no RecipeUserId.
  0.24 (CDI 3.0):  tenant_id (create's first argument, optional on the by-user functions).
  0.26+ (CDI 4.0+): RecipeUserId, and the by-user functions take a linked-accounts flag first.

TESSERA_URL (required), TESSERA_API_KEY and TESSERA_GRACE_SECONDS (the server's
refresh_token_rotation_grace_period) come from run.sh. Uses the syncio API, no web framework.
"""
# pylint: disable=wrong-import-position

import base64
import inspect
import json
import os
import time
import uuid

import pytest
from supertokens_python import InputAppInfo, SupertokensConfig, init
from supertokens_python.constants import SUPPORTED_CDI_VERSIONS, VERSION
from supertokens_python.recipe import session as session_recipe
from supertokens_python.recipe.session import syncio as session_syncio
from supertokens_python.recipe.session.exceptions import (
    TokenTheftError,
    TryRefreshTokenError,
    UnauthorisedError,
)
from supertokens_python.recipe.session.syncio import (
    get_all_session_handles_for_user,
    get_session_information,
    merge_into_access_token_payload,
    revoke_all_sessions_for_user,
    revoke_multiple_sessions,
    revoke_session,
)

# CDI 2.x releases (0.12) take a request where the later ones take tokens.
HANDSHAKE_ERA = not hasattr(session_syncio, "create_new_session_without_request_response")
if HANDSHAKE_ERA:
    from supertokens_python.framework.request import BaseRequest
    from supertokens_python.framework.response import BaseResponse
    from supertokens_python.process_state import AllowedProcessStates, ProcessState
    from supertokens_python.querier import Querier
    from supertokens_python.recipe.session.recipe import SessionRecipe
    from supertokens_python.supertokens import manage_session_post_response

    os.environ["SUPERTOKENS_ENV"] = "testing"  # ProcessState records the calls to verify
    update_session_data_in_database = session_syncio.update_session_data
    _create_params = inspect.signature(session_syncio.create_new_session).parameters
else:
    from supertokens_python.recipe.session.syncio import (
        create_new_session_without_request_response,
        get_session_without_request_response,
        refresh_session_without_request_response,
        update_session_data_in_database,
    )

    _create_params = inspect.signature(create_new_session_without_request_response).parameters
HAS_TENANTS = "tenant_id" in _create_params
HAS_RECIPE_USER_ID = "recipe_user_id" in _create_params
# 0.26+ take (user_id, fetch/revoke_sessions_for_linked_accounts, tenant_id); 0.24 takes
# (user_id, tenant_id); 0.14 takes (user_id) only.
HAS_LINKED_ACCOUNTS_FLAG = (
    "fetch_sessions_for_linked_accounts"
    in inspect.signature(get_all_session_handles_for_user).parameters
)
if HAS_RECIPE_USER_ID:
    from supertokens_python.types import RecipeUserId

CORE = os.environ["TESSERA_URL"]
GRACE_S = float(os.environ.get("TESSERA_GRACE_SECONDS", "1"))
CDI = SUPPORTED_CDI_VERSIONS[-1]
# The fixed header of a V2 access token (standard base64 with padding), as CDI 2.x mints it.
V2_HEADER = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsInZlcnNpb24iOiIyIn0="
print(f"supertokens-python {VERSION} (CDI {CDI})")

init(
    app_info=InputAppInfo(
        app_name="tessera-sdk-test",
        api_domain="http://localhost:3001",
        website_domain="http://localhost:3000",
    ),
    framework="fastapi",
    supertokens_config=SupertokensConfig(
        connection_uri=CORE, api_key=os.environ.get("TESSERA_API_KEY")
    ),
    recipe_list=[session_recipe.init()],
    # 0.12 fetches the handshake while initialising: synchronously in "wsgi" mode (no event loop
    # runs here), with a warning about the mode in "asgi" mode.
    mode="wsgi" if HANDSHAKE_ERA else "asgi",
    telemetry=False,
)


def uid(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


if HANDSHAKE_ERA:

    class _Request(BaseRequest):
        """A request to the SDK, carrying a token the header way (Authorization: Bearer)."""

        def __init__(self, token=None, method="get"):
            super().__init__()
            self._method = method
            self._headers = {} if token is None else {"authorization": f"Bearer {token}"}
            self._session = None

        def get_query_param(self, key, default=None):
            return default

        def get_query_params(self):
            return {}

        async def json(self):
            return {}

        async def form_data(self):
            return {}

        def method(self):
            return self._method

        def get_cookie(self, key):
            return None

        def get_header(self, key):
            return self._headers.get(key.lower())

        def get_session(self):
            return self._session

        def set_session(self, session):
            self._session = session

        def set_session_as_none(self):
            self._session = None

        def get_path(self):
            return "/"

    class _Response(BaseResponse):
        """The headers the SDK's response mutators set."""

        def __init__(self):
            super().__init__({})
            self.headers = {}

        def set_cookie(self, key, value, expires, path="/", domain=None, secure=False, httponly=False, samesite="lax"):
            raise AssertionError(f"the SDK set a cookie ({key}) for a header-based session")

        def set_header(self, key, value):
            self.headers[key.lower()] = value

        def get_header(self, key):
            return self.headers.get(key.lower())

        def remove_header(self, key):
            self.headers.pop(key.lower(), None)

        def set_status_code(self, status_code):
            self.status_code = status_code

        def set_json_content(self, content):
            self.content = content

        def set_html_content(self, content):
            self.content = content

    class _Session:
        """A session of the CDI 2.x SDK with the methods the later releases' sessions have; its
        tokens are the response headers the SDK sets, as its framework middleware would send."""

        def __init__(self, session, given_access_token=None):
            self.session = session
            self.given_access_token = given_access_token

        def get_handle(self):
            return self.session.get_handle()

        def get_user_id(self):
            return self.session.get_user_id()

        def get_access_token_payload(self):
            return self.session.get_access_token_payload()

        def get_all_session_tokens_dangerously(self):
            response = _Response()
            manage_session_post_response(self.session, response)
            access = response.get_header("st-access-token")
            return {
                "accessToken": access or self.given_access_token,
                "refreshToken": response.get_header("st-refresh-token"),
                "antiCsrfToken": response.get_header("anti-csrf"),
                "frontToken": response.get_header("front-token"),
                "accessAndFrontTokenUpdated": access is not None,
            }

        def sync_get_session_data_from_database(self):
            return self.session.sync_get_session_data()

        def sync_merge_into_access_token_payload(self, update):
            self.session.sync_merge_into_access_token_payload(update)


def verify(access_token: str, check_database: bool = False):
    """get_session_without_request_response, or 0.12's get_session on a request."""
    if HANDSHAKE_ERA:
        assert not check_database, "the CDI 2.x SDKs have no check_database"
        session = session_syncio.get_session(_Request(access_token))
        return None if session is None else _Session(session, access_token)
    return get_session_without_request_response(access_token, check_database=check_database)


def refresh(refresh_token: str):
    """refresh_session_without_request_response, or 0.12's refresh_session on a request."""
    if HANDSHAKE_ERA:
        return _Session(session_syncio.refresh_session(_Request(refresh_token, "post")))
    return refresh_session_without_request_response(refresh_token)


def verify_calls() -> int:
    """How often the handshake-era SDK has called the server's verify so far."""
    history = ProcessState.get_instance().history
    return history.count(AllowedProcessStates.CALLING_SERVICE_IN_VERIFY)


def session_info(handle: str):
    """get_session_information under the later names (0.12: session_data, access_token_payload)."""
    info = get_session_information(handle)
    if HANDSHAKE_ERA and info is not None:
        info.session_data_in_database = info.session_data
        info.custom_claims_in_access_token_payload = info.access_token_payload
    return info


def create(user_id: str, payload=None, data=None):
    if HANDSHAKE_ERA:
        session = _Session(
            session_syncio.create_new_session(_Request(), user_id, payload or {}, data or {})
        )
    elif HAS_RECIPE_USER_ID:
        session = create_new_session_without_request_response(
            "public", RecipeUserId(user_id), payload or {}, data or {}
        )
    elif HAS_TENANTS:
        session = create_new_session_without_request_response(
            "public", user_id, payload or {}, data or {}
        )
    else:
        session = create_new_session_without_request_response(
            user_id, payload or {}, data or {}
        )
    return session, session.get_all_session_tokens_dangerously()


def handles_for(user_id: str):
    """get_all_session_handles_for_user for the public tenant, spelled the SDK's way."""
    if HAS_LINKED_ACCOUNTS_FLAG:
        return get_all_session_handles_for_user(user_id, True, "public")
    if HAS_TENANTS:
        return get_all_session_handles_for_user(user_id, "public")
    return get_all_session_handles_for_user(user_id)


def revoke_all_for(user_id: str):
    """revoke_all_sessions_for_user for the public tenant, spelled the SDK's way."""
    if HAS_LINKED_ACCOUNTS_FLAG:
        return revoke_all_sessions_for_user(user_id, True, "public")
    if HAS_TENANTS:
        return revoke_all_sessions_for_user(user_id, "public")
    return revoke_all_sessions_for_user(user_id)


def b64json(part: str) -> dict:
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def claims_of(jwt: str) -> dict:
    return b64json(jwt.split(".")[1])


def header_of(jwt: str) -> dict:
    return b64json(jwt.split(".")[0])


def wait_past(seconds: float):
    """Waits `seconds` by polling the clock."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.05)


def test_create_and_verify():
    user_id = uid("alice")
    session, tokens = create(user_id, {"role": "admin"}, {"cart": 1})
    assert session.get_user_id() == user_id
    if HAS_RECIPE_USER_ID:
        assert session.get_recipe_user_id().get_as_string() == user_id
    if HAS_TENANTS:
        assert session.get_tenant_id() == "public"
    assert session.get_access_token_payload()["role"] == "admin"
    claims = claims_of(tokens["accessToken"])
    assert claims["sessionHandle"] == session.get_handle()
    if HANDSHAKE_ERA:
        # The SDK negotiated its newest version and fetched the signing key from
        # /recipe/handshake; the token is V2: the fixed header, userId, the custom claims under
        # userData, times in milliseconds.
        assert Querier.api_version == CDI
        handshake = SessionRecipe.get_instance().recipe_implementation.handshake_info
        assert handshake is not None and handshake.get_jwt_signing_public_key_list()
        assert tokens["accessToken"].split(".")[0] == V2_HEADER
        assert claims["userId"] == user_id and claims["userData"] == {"role": "admin"}
        assert isinstance(claims["refreshTokenHash1"], str)
        assert claims.get("parentRefreshTokenHash1") is None
        now_ms = time.time() * 1000
        assert now_ms - 60_000 < claims["timeCreated"] <= now_ms < claims["expiryTime"]
    else:
        # The SDK negotiated its CDI version: tessera mints layout V3 for 2.21, V4 for 3.x, V5 after.
        layout = "3" if CDI == "2.21" else "4" if CDI.startswith("3.") else "5"
        assert header_of(tokens["accessToken"])["version"] == layout
        assert claims["sub"] == user_id
        if HAS_TENANTS:
            assert claims["tId"] == "public"
        if HAS_RECIPE_USER_ID:
            assert claims["rsub"] == user_id

    calls = verify_calls() if HANDSHAKE_ERA else 0
    local = verify(tokens["accessToken"])
    assert local is not None and local.get_handle() == session.get_handle()
    assert local.get_all_session_tokens_dangerously()["accessAndFrontTokenUpdated"] is False
    if HANDSHAKE_ERA:
        # A fresh token verifies with the handshake key alone; no database check before 2.21.
        assert verify_calls() == calls
        assert local.sync_get_session_data_from_database() == {"cart": 1}
    else:
        checked = verify(tokens["accessToken"], check_database=True)
        assert checked is not None and checked.get_handle() == session.get_handle()
        assert checked.sync_get_session_data_from_database() == {"cart": 1}
    with pytest.raises(TryRefreshTokenError):
        verify(tokens["accessToken"][:-6] + "AAAAAA")


def test_refresh():
    session, tokens = create(uid("bob"))
    refreshed = refresh(tokens["refreshToken"])
    new_tokens = refreshed.get_all_session_tokens_dangerously()
    assert refreshed.get_handle() == session.get_handle()
    assert new_tokens["refreshToken"] != tokens["refreshToken"]
    assert new_tokens["accessToken"] != tokens["accessToken"]
    verified = verify(new_tokens["accessToken"], check_database=not HANDSHAKE_ERA)
    assert verified is not None and verified.get_handle() == session.get_handle()


def test_theft_detection():
    user_id = uid("carol")
    session, tokens = create(user_id)
    rt0 = tokens["refreshToken"]
    first = refresh(rt0)
    second = refresh(first.get_all_session_tokens_dangerously()["refreshToken"])
    wait_past(GRACE_S + 1.1)
    with pytest.raises(TokenTheftError) as theft:
        refresh(rt0)
    assert theft.value.session_handle == session.get_handle()
    assert theft.value.user_id == user_id
    if HAS_RECIPE_USER_ID:
        assert theft.value.recipe_user_id.get_as_string() == user_id
    with pytest.raises(UnauthorisedError):
        refresh(second.get_all_session_tokens_dangerously()["refreshToken"])
    assert get_session_information(session.get_handle()) is None


def test_theft_at_the_replay_after_a_default_verification():
    user_id = uid("carl")
    session, tokens = create(user_id)
    stolen = tokens["refreshToken"]
    refreshed = refresh(stolen)
    new_tokens = refreshed.get_all_session_tokens_dangerously()
    assert isinstance(claims_of(new_tokens["accessToken"])["parentRefreshTokenHash1"], str)

    # No check_database: the SDK verifies with the JWKS (the handshake key) and calls the
    # server's verify by itself for a token that names the refresh token it replaced; the server
    # commits the new one.
    calls = verify_calls() if HANDSHAKE_ERA else 0
    verified = verify(new_tokens["accessToken"])
    assert verified is not None and verified.get_handle() == session.get_handle()
    reissued = verified.get_all_session_tokens_dangerously()
    assert reissued["accessAndFrontTokenUpdated"] is True
    assert claims_of(reissued["accessToken"]).get("parentRefreshTokenHash1") is None
    if HANDSHAKE_ERA:
        assert verify_calls() == calls + 1
        again = verify(reissued["accessToken"])
        assert again is not None and verify_calls() == calls + 1

    wait_past(GRACE_S + 0.05)
    with pytest.raises(TokenTheftError) as theft:
        refresh(stolen)
    assert theft.value.session_handle == session.get_handle()
    assert theft.value.user_id == user_id
    assert get_session_information(session.get_handle()) is None


def test_revoke_and_list():
    user_id = uid("dave")
    assert handles_for(user_id) == []
    handles = sorted(create(user_id)[0].get_handle() for _ in range(3))
    bystander = create(uid("hal"))[0].get_handle()
    assert sorted(get_all_session_handles_for_user(user_id)) == handles
    assert sorted(handles_for(user_id)) == handles
    assert revoke_session(handles[0]) is True
    assert revoke_session(handles[0]) is False
    assert revoke_multiple_sessions([handles[1]]) == [handles[1]]
    assert revoke_all_sessions_for_user(user_id) == [handles[2]]
    assert get_all_session_handles_for_user(user_id) == []
    last = create(user_id)[0].get_handle()
    assert revoke_all_for(user_id) == [last]
    assert revoke_all_for(user_id) == []
    info = get_session_information(bystander)
    assert info is not None and info.session_handle == bystander


def test_revoked_session_fails_database_check_and_refresh():
    session, tokens = create(uid("erin"))
    other, other_tokens = create(session.get_user_id())
    assert revoke_session(session.get_handle())
    # (Before CDI 2.21 there is no database check: the access token stays valid until it expires.)
    if not HANDSHAKE_ERA:
        with pytest.raises(UnauthorisedError):
            verify(tokens["accessToken"], check_database=True)
    with pytest.raises(UnauthorisedError):
        refresh(tokens["refreshToken"])
    # The user's other session is untouched.
    assert refresh(other_tokens["refreshToken"]).get_handle() == other.get_handle()


def test_data_and_payload_updates():
    user_id = uid("frank")
    session, tokens = create(user_id, {"role": "user"}, {"n": 1})
    handle = session.get_handle()
    assert update_session_data_in_database(handle, {"n": 2}) is True
    assert merge_into_access_token_payload(handle, {"plan": "pro"}) is True
    info = session_info(handle)
    assert info is not None
    assert info.session_handle == handle
    assert info.user_id == user_id
    if HAS_RECIPE_USER_ID:
        assert info.recipe_user_id.get_as_string() == user_id
    if HAS_TENANTS:
        assert info.tenant_id == "public"
    assert info.session_data_in_database == {"n": 2}
    assert info.custom_claims_in_access_token_payload["plan"] == "pro"
    assert info.custom_claims_in_access_token_payload["role"] == "user"
    now_ms = time.time() * 1000
    assert info.expiry > now_ms and info.time_created <= now_ms

    if HANDSHAKE_ERA:
        # No check_database before CDI 2.21: the stored payload reaches the client at the next
        # refresh.
        checked = refresh(tokens["refreshToken"])
        assert claims_of(checked.get_all_session_tokens_dangerously()["accessToken"])[
            "userData"
        ]["plan"] == "pro"
    else:
        checked = verify(tokens["accessToken"], check_database=True)
    assert checked is not None
    assert checked.get_access_token_payload()["plan"] == "pro"
    assert checked.sync_get_session_data_from_database() == {"n": 2}

    live = verify(tokens["accessToken"])
    assert live is not None
    live.sync_merge_into_access_token_payload({"theme": "dark"})
    assert live.get_access_token_payload()["theme"] == "dark"
    again = verify(live.get_all_session_tokens_dangerously()["accessToken"])
    assert again is not None and again.get_access_token_payload()["theme"] == "dark"

    assert update_session_data_in_database("no-such-handle", {}) is False
    assert get_session_information("no-such-handle") is None
