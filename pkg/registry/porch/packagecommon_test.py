"""What the storages share: engine contexts, spans, error translation, paging, preconditions."""

from __future__ import annotations

import time

import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from pkg.apimachinery import errors
from pkg.engine import enginetesting
from pkg.registry.porch import packagecommon, porchtesting
from pkg.registry.rest import objectmeta, rest
from pkg.repository import errors as repoerrors

PR = porchv1alpha1.PACKAGE_REVISIONS


def test_engine_context_carries_user_namespace_deadline_and_dry_run() -> None:
    ctx = rest.RequestContext(
        namespace="team-a", user=enginetesting.USER, dry_run=True, deadline=time.monotonic() + 7
    )
    ectx = packagecommon.engine_context(ctx)
    assert (ectx.user, ectx.namespace, ectx.deadline, ectx.dry_run) == (
        enginetesting.USER,
        "team-a",
        ctx.deadline,
        True,
    )
    assert packagecommon.engine_context(porchtesting.context(None)).namespace == ""


def test_operation_turns_domain_errors_into_status_and_leaves_bugs_alone(
    span_exporter: InMemorySpanExporter,
) -> None:
    ctx = porchtesting.context("ns")
    with pytest.raises(errors.StatusError) as info, packagecommon.operation("op", ctx, PR, "x"):
        raise repoerrors.BackendUnavailableError("remote hung up")
    assert (info.value.code, info.value.message) == (
        503,
        "Internal error occurred: remote hung up",
    )
    assert isinstance(info.value.__cause__, repoerrors.BackendUnavailableError)
    with pytest.raises(ZeroDivisionError), packagecommon.operation("op", ctx, PR, "x"):
        raise ZeroDivisionError
    spans = span_exporter.get_finished_spans()
    assert [s.name for s in spans] == ["op", "op"]
    assert dict(spans[0].attributes or {}) == {
        "namespace": "ns",
        "name": "x",
        "http.status_code": 503,
    }


def _item(namespace: str, name: str) -> porchv1alpha1.PackageRevision:
    return porchv1alpha1.PackageRevision(metadata=metav1.ObjectMeta(namespace=namespace, name=name))


ITEMS = [_item("a", "x"), _item("a", "y"), _item("b", "x"), _item("b", "z"), _item("c", "x")]


def _keys(result: rest.ListResult) -> list[tuple[str, str]]:
    metas = [objectmeta.meta_of(o) for o in result.items]
    return [(m.namespace or "", m.name or "") for m in metas]


def test_page_without_limit_returns_everything() -> None:
    result = packagecommon.page(ITEMS, "42", rest.ListOptions())
    assert len(result.items) == 5
    assert (result.resource_version, result.continue_token, result.remaining_item_count) == (
        "42",
        None,
        None,
    )


def test_pages_follow_each_other_across_namespaces() -> None:
    first = packagecommon.page(ITEMS, "42", rest.ListOptions(limit=2))
    assert _keys(first) == [("a", "x"), ("a", "y")]
    assert first.remaining_item_count == 3 and first.continue_token
    # Later pages read the current state (an item appeared) but keep the first RV.
    now = [*ITEMS[:3], _item("b", "y"), *ITEMS[3:]]  # sorted, as the engine lists
    second = packagecommon.page(
        now, "50", rest.ListOptions(limit=2, continue_token=first.continue_token)
    )
    assert _keys(second) == [("b", "x"), ("b", "y")]
    assert second.resource_version == "42" and second.remaining_item_count == 2
    third = packagecommon.page(
        now, "50", rest.ListOptions(limit=2, continue_token=second.continue_token)
    )
    assert _keys(third) == [("b", "z"), ("c", "x")]
    assert third.continue_token is None


@pytest.mark.parametrize("token", ["not-base64!", "e30", "eyJ2IjoxfQ"])
def test_a_malformed_continue_token_is_a_bad_request(token: str) -> None:
    with pytest.raises(errors.StatusError) as info:
        packagecommon.page(ITEMS, "1", rest.ListOptions(limit=1, continue_token=token))
    assert info.value.code == 400
    assert info.value.message.startswith("continue key is not valid")


def test_ensure_body_name() -> None:
    unnamed = _item("a", "")
    packagecommon.ensure_body_name(unnamed, "repo.app.ws")
    assert unnamed.metadata is not None and unnamed.metadata.name == "repo.app.ws"
    with pytest.raises(errors.StatusError) as info:
        packagecommon.ensure_body_name(_item("a", "repo.other.ws"), "repo.app.ws")
    assert (info.value.code, info.value.message) == (
        400,
        "the name of the object (repo.other.ws) does not match the name on the URL (repo.app.ws)",
    )


def test_namespace_is_required_for_writes() -> None:
    assert packagecommon.require_namespace(porchtesting.context("ns")) == "ns"
    with pytest.raises(errors.StatusError) as info:
        packagecommon.require_namespace(porchtesting.context(None))
    assert (info.value.code, info.value.message) == (400, "namespace must be specified")
