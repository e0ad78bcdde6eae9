"""Schemathesis against the service's own ``/openapi.json``, over real HTTP on a loopback port.

Every operation of the document gets generated requests (valid ones, and ones that break the document's
schemas); every answer must be no 5xx, a status the document lists for the operation, a JSON body where one
is documented, and a body that conforms to the documented schema (HubSpot's, or the error body). Requests that
break the document must be refused with a 4xx.

Nine requests in ten carry portal 1's token (the others none, and must get a 401), and most name
objects that exist (a channel, an account, a thread, a message made for each operation before its examples),
so they reach the handlers instead of stopping at 401 or 404; Hypothesis chooses, per request, whether the
path names those objects or what it generated.

One tolerance: the HubSpot edge reads ``null`` for an optional key as the key left out (or, in a PATCH, as
clearing it), as HubSpot does, so a body made invalid only by such nulls may be accepted.

Not checked: that every request valid by the document is accepted. HubSpot's body schemas say less than the
rules (V1 wants at least one delivery identifier type, V4 an E.164 number for a phone identifier), so the
service refuses some of those with a 400 that names the rule; the document lists that 400.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from schemathesis import APIOperation
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from threading_engine.server import create_app, openapi
from threading_engine.server.app import all_routes

from .harness import CHANNELS, TOKEN, connect, publish
from .test_in_process import config, serving

# A few examples per operation keep the whole run near half a minute on two cores (about 45 operations).
EXAMPLES_PER_OPERATION = 12
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
Operation = APIOperation[Any, Any, Any, Any]
AUTHORIZATION = {"Authorization": f"Bearer {TOKEN}"}

# Unknown query parameters are ignored, as HubSpot ignores them (``hapikey`` aside), so a request is not made
# invalid by adding one; the token is this test's to choose (401s are the security tests' subject).
GENERATION = {"allow-extra-parameters": False, "with-security-parameters": False}
# The document the service serves, read without starting it: the test below asserts that it is the one served.
schema = schemathesis.openapi.from_dict(
    openapi.document(all_routes()), config=schemathesis.Config.from_dict({"generation": GENERATION})
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with serving(create_app(config(tmp_path_factory.mktemp("schemathesis")))) as client:
        yield client


@pytest.fixture(scope="module")
def objects_by_operation() -> dict[str, dict[str, str]]:
    return {}


def existing_objects(client: httpx.Client, made: dict[str, dict[str, str]], operation: str) -> dict[str, str]:
    """A channel, an account, a thread and a message of portal 1, made once for each operation: an operation
    that archives or changes them cannot starve the next operation's requests of objects to act on."""
    if operation not in made:
        channel_id, account_id = connect(client, None)
        message = publish(client, channel_id, account_id, "hello")
        made[operation] = {
            "channelId": channel_id,
            "channelAccountId": account_id,
            "threadId": message["conversationsThreadId"],
            "messageId": message["id"],
        }
    return made[operation]


def test_the_served_document_is_the_one_under_test(service: httpx.Client) -> None:
    served = service.get("/openapi.json", headers={"Authorization": ""})
    assert served.status_code == 200
    assert served.json() == schema.raw_schema


@schema.parametrize()
@schema.given(use_existing=st.booleans(), without_token=st.integers(0, 9).map(lambda drawn: drawn == 0))
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_every_answer_conforms_to_the_document(
    case: schemathesis.Case[Operation],
    use_existing: bool,
    without_token: bool,
    service: httpx.Client,
    objects_by_operation: dict[str, dict[str, str]],
) -> None:
    if use_existing and case.path_parameters:
        existing = existing_objects(service, objects_by_operation, case.operation.label)
        case.path_parameters = {name: existing.get(name, value) for name, value in case.path_parameters.items()}
    headers: dict[str, Any] = {**dict(case.headers or {}), **({} if without_token else AUTHORIZATION)}
    response = case.call(base_url=str(service.base_url), headers=headers)
    checks = [check for check in CHECKS if check is not negative_data_rejection or not only_nulls_negated(case)]
    case.validate_response(response, checks=checks, headers=headers)


def only_nulls_negated(case: schemathesis.Case[Operation]) -> bool:
    """Whether the case breaks the document only by ``null`` for optional keys of its JSON body."""
    if case.meta is None or not isinstance(case.body, dict):
        return False
    negated = {location for location, info in case.meta.components.items() if info.mode.is_negative}
    if {location.value for location in negated} != {"body"}:
        return False
    reference = case.operation.definition.raw["requestBody"]["content"]["application/json"]["schema"]
    root = {"components": schema.raw_schema["components"], **reference}
    return Draft202012Validator(root).is_valid(without_nulls(case.body))


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def test_an_unserved_method_is_405_naming_every_method_of_the_path(service: httpx.Client) -> None:
    for path, operations in schema.raw_schema["paths"].items():
        concrete = path.replace("{", "").replace("}", "")
        answer = service.request("OPTIONS", concrete, headers=AUTHORIZATION)
        assert answer.status_code == 405, (path, answer.text)
        documented = {method.upper() for method in operations}
        served = {method.strip() for method in answer.headers["Allow"].split(",")}
        assert served - {"HEAD"} == documented, (path, served)
        assert answer.json()["category"] == "METHOD_NOT_ALLOWED"


def test_what_schemathesis_found_stays_refused(service: httpx.Client) -> None:
    """Each request here was once accepted, or answered 500; each is now a 400 with HubSpot's error body."""
    objects = existing_objects(service, {}, "regressions")
    thread = f"/conversations/v3/conversations/threads/{objects['threadId']}"
    capabilities = {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER"]}
    refused = [
        service.patch(thread, json={"archived": False, "status": {}}, headers=AUTHORIZATION),  # was a 500
        service.patch(thread, json={"status": "OPEN", "archived": None}, headers=AUTHORIZATION),
        service.get(
            "/conversations/v3/conversations/threads",
            params={"latestMessageTimestampAfter": ""},
            headers=AUTHORIZATION,
        ),
        service.post(
            CHANNELS,
            json={"name": "x", "capabilities": {**capabilities, "outgoingAttachmentTypes": ["STICKER"]}},
            headers=AUTHORIZATION,
        ),
        service.post(
            CHANNELS,
            json={"name": "x", "capabilities": {"deliveryIdentifierTypes": ["HS_PHONE_NUMBER", "HS_PHONE_NUMBER"]}},
            headers=AUTHORIZATION,
        ),
    ]
    for answer in refused:
        assert answer.status_code == 400, answer.text
        assert answer.json()["category"] == "VALIDATION_ERROR"
    assert service.get(thread, headers=AUTHORIZATION).json()["status"] == "OPEN"  # nothing changed
