"""supertokens-python driving a running `tessera serve`, for every pinned SDK release.

run.sh runs this file once per requirements file (requirements.txt: 0.31.4, CDI 5.4;
requirements-0.30.txt: 0.30.4, CDI 5.3; requirements-0.26.txt: 0.26.1, CDI 5.1;
requirements-0.24.txt: 0.24.4, CDI 3.0; requirements-0.14.txt: 0.14.9, CDI 2.21), each in a
virtualenv of its own. The syncio API changed across these releases, so the calls adapt to the
installed SDK, found by inspecting its signatures:
  0.14 (CDI 2.21): no tenant_id anywhere, no RecipeUserId.
  0.24 (CDI 3.0):  tenant_id (create's first argument, optional on the by-user functions).
  0.26+ (CDI 4.0+): RecipeUserId, and the by-user functions take a linked-accounts flag first.

TESSERA_URL (required), TESSERA_API_KEY and TESSERA_GRACE_SECONDS (the server's
refresh_token_rotation_grace_period) come from run.sh. Uses the syncio API, no web framework.
"""

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
from supertokens_python.recipe.session.exceptions import (
    TokenTheftError,
    TryRefreshTokenError,
    UnauthorisedError,
)
from supertokens_python.recipe.session.syncio import (
    create_new_session_without_request_response,
    get_all_session_handles_for_user,
    get_session_information,
    get_session_without_request_response,
    merge_into_access_token_payload,
    refresh_session_without_request_response,
    revoke_all_sessions_for_user,
    revoke_multiple_sessions,
    revoke_session,
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
    mode="asgi",
    telemetry=False,
)


def uid(name: str) -> str:
    return f"{name}-{uuid.uuid4()}"


def create(user_id: str, payload=None, data=None):
    if HAS_RECIPE_USER_ID:
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
    # The SDK negotiated its CDI version: tessera mints layout V3 for 2.21, V4 for 3.x, V5 after.
    layout = "3" if CDI == "2.21" else "4" if CDI.startswith("3.") else "5"
    assert header_of(tokens["accessToken"])["version"] == layout
    claims = claims_of(tokens["accessToken"])
    assert claims["sub"] == user_id and claims["sessionHandle"] == session.get_handle()
    if HAS_TENANTS:
        assert claims["tId"] == "public"
    if HAS_RECIPE_USER_ID:
        assert claims["rsub"] == user_id

    local = get_session_without_request_response(tokens["accessToken"])
    assert local is not None and local.get_handle() == session.get_handle()
    assert local.get_all_session_tokens_dangerously()["accessAndFrontTokenUpdated"] is False
    checked = get_session_without_request_response(
        tokens["accessToken"], check_database=True
    )
    assert checked is not None and checked.get_handle() == session.get_handle()
    assert checked.sync_get_session_data_from_database() == {"cart": 1}
    with pytest.raises(TryRefreshTokenError):
        get_session_without_request_response(tokens["accessToken"][:-6] + "AAAAAA")


def test_refresh():
    session, tokens = create(uid("bob"))
    refreshed = refresh_session_without_request_response(tokens["refreshToken"])
    new_tokens = refreshed.get_all_session_tokens_dangerously()
    assert refreshed.get_handle() == session.get_handle()
    assert new_tokens["refreshToken"] != tokens["refreshToken"]
    assert new_tokens["accessToken"] != tokens["accessToken"]
    verified = get_session_without_request_response(
        new_tokens["accessToken"], check_database=True
    )
    assert verified is not None and verified.get_handle() == session.get_handle()


def test_theft_detection():
    user_id = uid("carol")
    session, tokens = create(user_id)
    rt0 = tokens["refreshToken"]
    first = refresh_session_without_request_response(rt0)
    second = refresh_session_without_request_response(
        first.get_all_session_tokens_dangerously()["refreshToken"]
    )
    wait_past(GRACE_S + 1.1)
    with pytest.raises(TokenTheftError) as theft:
        refresh_session_without_request_response(rt0)
    assert theft.value.session_handle == session.get_handle()
    assert theft.value.user_id == user_id
    if HAS_RECIPE_USER_ID:
        assert theft.value.recipe_user_id.get_as_string() == user_id
    with pytest.raises(UnauthorisedError):
        refresh_session_without_request_response(
            second.get_all_session_tokens_dangerously()["refreshToken"]
        )
    assert get_session_information(session.get_handle()) is None


def test_theft_at_the_replay_after_a_default_verification():
    user_id = uid("carl")
    session, tokens = create(user_id)
    stolen = tokens["refreshToken"]
    refreshed = refresh_session_without_request_response(stolen)
    new_tokens = refreshed.get_all_session_tokens_dangerously()
    assert isinstance(claims_of(new_tokens["accessToken"])["parentRefreshTokenHash1"], str)

    # No check_database: the SDK verifies with the JWKS and calls the server's verify by itself
    # for a token that names the refresh token it replaced; the server commits the new one.
    verified = get_session_without_request_response(new_tokens["accessToken"])
    assert verified is not None and verified.get_handle() == session.get_handle()
    reissued = verified.get_all_session_tokens_dangerously()
    assert reissued["accessAndFrontTokenUpdated"] is True
    assert claims_of(reissued["accessToken"]).get("parentRefreshTokenHash1") is None

    wait_past(GRACE_S + 0.05)
    with pytest.raises(TokenTheftError) as theft:
        refresh_session_without_request_response(stolen)
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
    with pytest.raises(UnauthorisedError):
        get_session_without_request_response(tokens["accessToken"], check_database=True)
    with pytest.raises(UnauthorisedError):
        refresh_session_without_request_response(tokens["refreshToken"])
    # The user's other session is untouched.
    assert (
        refresh_session_without_request_response(other_tokens["refreshToken"]).get_handle()
        == other.get_handle()
    )


def test_data_and_payload_updates():
    user_id = uid("frank")
    session, tokens = create(user_id, {"role": "user"}, {"n": 1})
    handle = session.get_handle()
    assert update_session_data_in_database(handle, {"n": 2}) is True
    assert merge_into_access_token_payload(handle, {"plan": "pro"}) is True
    info = get_session_information(handle)
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

    checked = get_session_without_request_response(
        tokens["accessToken"], check_database=True
    )
    assert checked is not None
    assert checked.get_access_token_payload()["plan"] == "pro"
    assert checked.sync_get_session_data_from_database() == {"n": 2}

    live = get_session_without_request_response(tokens["accessToken"])
    assert live is not None
    live.sync_merge_into_access_token_payload({"theme": "dark"})
    assert live.get_access_token_payload()["theme"] == "dark"
    again = get_session_without_request_response(
        live.get_all_session_tokens_dangerously()["accessToken"]
    )
    assert again is not None and again.get_access_token_payload()["theme"] == "dark"

    assert update_session_data_in_database("no-such-handle", {}) is False
    assert get_session_information("no-such-handle") is None
