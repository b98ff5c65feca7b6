"""Unit tests of the CaD engine over the real cache and fake repositories: every rule of
porch.md §3 and its message."""

from __future__ import annotations

import asyncio
import datetime

import pytest
import yaml
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from api.meta import v1 as metav1
from api.porch import v1alpha1 as porchv1alpha1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.cache import cachetesting, cachetypes
from pkg.engine import engine, enginetesting
from pkg.engine import errors as engineerrors
from pkg.repository import errors
from pkg.task import taskerrors
from pkg.testing import metrics

CTX = enginetesting.context()
pr = enginetesting.package_revision

BROKEN_PIPELINE = "pipeline:\n  mutators:\n  - image: quay.io/invalid/nonexistent-fn:v0.0.1\n"


async def _engine(**repos: bool) -> enginetesting.FakeEngine:
    """An engine with repositories opened: name -> deployment."""
    fake = enginetesting.new_fake_engine()
    for name, deployment in (repos or {"repo": False}).items():
        await fake.engine.open_repository(
            cachetesting.repository_object(name, deployment=deployment)
        )
    return fake


def _with(
    obj: porchv1alpha1.PackageRevision,
    *,
    lifecycle: str | None = None,
    labels: dict[str, str] | None = None,
    finalizers: list[str] | None = None,
) -> porchv1alpha1.PackageRevision:
    new = obj.model_copy(deep=True)
    assert new.spec is not None and new.metadata is not None
    if lifecycle is not None:
        new.spec.lifecycle = lifecycle  # type: ignore[assignment]
    if labels is not None:
        new.metadata.labels = labels
    if finalizers is not None:
        new.metadata.finalizers = finalizers
    return new


def _name(obj: porchv1alpha1.PackageRevision) -> str:
    assert obj.metadata is not None and obj.metadata.name is not None
    return obj.metadata.name


async def _publish(
    cad: engine.CaDEngine, obj: porchv1alpha1.PackageRevision
) -> porchv1alpha1.PackageRevision:
    proposed = await cad.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Proposed"))
    return await cad.update_package_revision_approval(
        CTX, _name(obj), _with(proposed, lifecycle="Published")
    )


async def _files(cad: engine.CaDEngine, name: str) -> dict[str, str]:
    prr = await cad.get_package_revision_resources(CTX, name)
    assert prr.spec is not None and prr.spec.resources is not None
    return prr.spec.resources


# --- create: request validation -----------------------------------------------------------


async def test_create_without_namespace_is_a_bad_request() -> None:
    fake = await _engine()
    with pytest.raises(engineerrors.BadRequestError, match="namespace must be specified"):
        await fake.engine.create_package_revision(enginetesting.context(""), pr("p", "ws"))


async def test_create_without_repository_is_a_bad_request() -> None:
    fake = await _engine()
    with pytest.raises(engineerrors.BadRequestError, match=r"spec.repositoryName is required"):
        await fake.engine.create_package_revision(CTX, pr("p", "ws", repository=""))


@pytest.mark.parametrize(
    ("obj", "field", "message"),
    [
        (
            pr("p", "ws", labels={"kpt.dev/latest-revision": "true"}),
            "metadata.labels[kpt.dev/latest-revision]",
            "label is managed by porch and cannot be set by users",
        ),
        (pr("a//b", "ws"), "spec.packageName", "consecutive '/' characters are not allowed"),
        (pr("Pkg", "ws"), "spec.packageName", "a lowercase RFC 1123 label must consist of"),
        (pr("p", "Ws_1"), "spec.workspaceName", "a lowercase RFC 1123 label must consist of"),
        (
            pr("p", "ws", lifecycle="Published"),
            "spec.lifecycle",
            "value can be only created as Draft",
        ),
    ],
    ids=["latest-label", "double-slash", "uppercase-package", "bad-workspace", "published"],
)
async def test_create_strategy_rules(
    obj: porchv1alpha1.PackageRevision, field: str, message: str
) -> None:
    fake = await _engine()
    with pytest.raises(engineerrors.ValidationError) as err:
        await fake.engine.create_package_revision(CTX, obj)
    assert err.value.field == field
    assert message in str(err.value)


async def test_create_allows_one_task_only() -> None:
    fake = await _engine()
    tasks = [enginetesting.init_task(), enginetesting.init_task()]
    with pytest.raises(
        taskerrors.InvalidFieldError, match=r"^task list must not contain more than one task$"
    ):
        await fake.engine.create_package_revision(CTX, pr("p", "ws", tasks=tasks))


async def test_create_in_unknown_repository_is_not_found() -> None:
    fake = await _engine()
    with pytest.raises(engineerrors.ObjectNotFoundError) as err:
        await fake.engine.create_package_revision(CTX, pr("p", "ws", repository="nope"))
    assert str(err.value) == 'repositories.config.porch.kpt.dev "nope" not found'


async def test_create_opens_a_registered_repository_through_the_resolver() -> None:
    class Resolver:
        async def get_repository(
            self, namespace: str, name: str
        ) -> configv1alpha1.Repository | None:
            return cachetesting.repository_object(name, namespace=namespace)

    fake = enginetesting.new_fake_engine(resolver=Resolver())
    created = await fake.engine.create_package_revision(CTX, pr("p", "ws", repository="late"))
    assert _name(created) == "late.p.ws"


async def test_v1alpha2_repositories_are_gone_for_writes_and_hidden_for_reads() -> None:
    fake = await _engine()
    created = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    repo = cachetesting.repository_object("v2repo")
    assert repo.metadata is not None
    repo.metadata.annotations = {engine.V1ALPHA2_MIGRATION_ANNOTATION: "true"}
    await fake.engine.open_repository(repo)
    with pytest.raises(engineerrors.RepositoryGoneError, match="managed by v1alpha2"):
        await fake.engine.create_package_revision(CTX, pr("p", "ws", repository="v2repo"))
    backend = fake.backends.fake("v2repo")
    await cachetesting.publish(backend, "hidden", "v1")
    await fake.cache.get_repository("default", "v2repo").refresh()  # type: ignore[union-attr]
    listed = await fake.engine.list_package_revisions(CTX)
    assert [_name(o) for o in listed.items] == [_name(created)]
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await fake.engine.get_package_revision(CTX, "v2repo.hidden.v1")
    with pytest.raises(engineerrors.RepositoryGoneError):
        await fake.engine.update_package_revision(CTX, "v2repo.hidden.v1", pr("hidden", "v1"))
    with pytest.raises(engineerrors.RepositoryGoneError):
        await fake.engine.delete_package_revision(CTX, "v2repo.hidden.v1")


# --- create: what gets stored -------------------------------------------------------------


async def test_create_without_task_synthesizes_init() -> None:
    fake = await _engine()
    created = await fake.engine.create_package_revision(CTX, pr("team/app", "ws"))
    assert created.spec is not None and created.spec.tasks is not None
    assert [t.model_dump(exclude_none=True) for t in created.spec.tasks] == [
        {"type": "init", "init": {"description": "team/app description"}}
    ]
    assert created.spec.lifecycle == "Draft"
    files = await _files(fake.engine, _name(created))
    assert sorted(files) == ["Kptfile", "README.md", "package-context.yaml"]
    kptfile = yaml.safe_load(files["Kptfile"])
    assert kptfile["status"]["conditions"] == [
        {"type": "Rendered", "status": "True", "reason": "RenderSuccess"}
    ]


async def test_create_stores_metadata_and_syncs_the_kptfile() -> None:
    fake = await _engine()
    obj = pr(
        "p",
        "ws",
        labels={"team": "a"},
        annotations={"note": "x"},
        finalizers=["example.com/hold"],
        package_metadata=porchv1alpha1.PackageMetadata(labels={"tier": "web"}),
        readiness_gates=["ready"],
    )
    created = await fake.engine.create_package_revision(CTX, obj)
    assert created.metadata is not None and created.spec is not None
    assert created.metadata.labels == {"team": "a"}
    assert created.metadata.annotations == {"note": "x"}
    assert created.metadata.finalizers == ["example.com/hold"]
    assert created.spec.package_metadata is not None
    assert created.spec.package_metadata.labels == {"tier": "web"}
    assert [g.condition_type for g in created.spec.readiness_gates or []] == ["ready"]
    kptfile = yaml.safe_load((await _files(fake.engine, _name(created)))["Kptfile"])
    assert kptfile["metadata"]["labels"] == {"tier": "web"}
    assert kptfile["info"]["readinessGates"] == [{"conditionType": "ready"}]


async def test_workspace_names_are_unique_per_package() -> None:
    fake = await _engine()
    await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    with pytest.raises(engineerrors.PackageExistsError) as err:
        await fake.engine.create_package_revision(
            CTX, pr("p", "ws", tasks=[enginetesting.init_task()])
        )
    assert str(err.value) == (
        "package revision workspaceNames must be unique; package revision with name p in "
        "repo repo with workspaceName ws already exists"
    )


async def test_init_of_an_existing_package_is_refused() -> None:
    fake = await _engine()
    await fake.engine.create_package_revision(CTX, pr("init-package", "init-1"))
    with pytest.raises(engineerrors.PackageExistsError) as err:
        await fake.engine.create_package_revision(CTX, pr("init-package", "init-2"))
    assert str(err.value) == 'package "init-package" already exists in repository "repo"'


@pytest.mark.parametrize(("first", "second"), [("a", "a/b"), ("a/b", "a")])
async def test_packages_cannot_nest(first: str, second: str) -> None:
    fake = await _engine()
    await fake.engine.create_package_revision(CTX, pr(first, "ws"))
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await fake.engine.create_package_revision(CTX, pr(second, "ws"))
    other = first
    assert str(err.value) == (
        f'package path "{second}" conflicts with existing package "{other}": '
        "packages cannot be nested"
    )


def _clone(name: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="clone",
        clone=porchv1alpha1.PackageCloneTaskSpec(
            upstream_ref=porchv1alpha1.UpstreamPackage(
                upstream_ref=porchv1alpha1.PackageRevisionRef(name=name)
            )
        ),
    )


def _edit(name: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="edit",
        edit=porchv1alpha1.PackageEditTaskSpec(
            source_ref=porchv1alpha1.PackageRevisionRef(name=name)
        ),
    )


def _upgrade(old: str, new: str, local: str) -> porchv1alpha1.Task:
    return porchv1alpha1.Task(
        type="upgrade",
        upgrade=porchv1alpha1.PackageUpgradeTaskSpec(
            old_upstream_ref=porchv1alpha1.PackageRevisionRef(name=old),
            new_upstream_ref=porchv1alpha1.PackageRevisionRef(name=new),
            local_package_revision_ref=porchv1alpha1.PackageRevisionRef(name=local),
        ),
    )


async def test_clone_only_into_a_new_package() -> None:
    fake = await _engine(repo=False, upstream=False)
    await cachetesting.publish(fake.backends.fake("upstream"), "base", "v1")
    await fake.cache.get_repository("default", "upstream").refresh()  # type: ignore[union-attr]
    await fake.engine.create_package_revision(CTX, pr("app", "ws"))
    with pytest.raises(engineerrors.PackageExistsError) as err:
        await fake.engine.create_package_revision(
            CTX, pr("app", "ws2", tasks=[_clone("upstream.base.v1")])
        )
    assert str(err.value) == (
        '`clone` cannot create a new revision for package "app" that already exists in repo '
        '"repo"; make subsequent revisions using `copy`'
    )


async def test_clone_from_registered_revision_into_deployment_repo() -> None:
    fake = await _engine(deploy=True, upstream=False)
    await cachetesting.publish(fake.backends.fake("upstream"), "base", "v1")
    await fake.cache.get_repository("default", "upstream").refresh()  # type: ignore[union-attr]
    created = await fake.engine.create_package_revision(
        CTX, pr("app", "ws", repository="deploy", tasks=[_clone("upstream.base.v1")])
    )
    files = await _files(fake.engine, _name(created))
    kptfile = yaml.safe_load(files["Kptfile"])
    assert kptfile["metadata"]["name"] == "app"
    assert kptfile["upstreamLock"]["git"]["ref"] == "base/v1"
    assert yaml.safe_load(files["package-context.yaml"])["data"] == {
        "name": "app",
        "package-path": "app",
    }
    assert created.status is not None and created.status.deployment is True


async def test_clone_sources_must_exist_and_not_be_placeholders() -> None:
    fake = await _engine(repo=False, upstream=False)
    await cachetesting.publish(fake.backends.fake("upstream"), "base", "v1")
    await fake.cache.get_repository("default", "upstream").refresh()  # type: ignore[union-attr]
    with pytest.raises(taskerrors.InvalidFieldError) as missing:
        await fake.engine.create_package_revision(
            CTX, pr("app", "ws", tasks=[_clone("upstream.nothing.v1")])
        )
    assert missing.value.field == "spec.tasks[0].clone.upstreamRef.upstreamRef.name"
    assert str(missing.value).startswith('failed to fetch package revision "upstream.nothing.v1"')
    with pytest.raises(taskerrors.InvalidFieldError, match="may not be the placeholder"):
        await fake.engine.create_package_revision(
            CTX, pr("app", "ws", tasks=[_clone("upstream.base.main")])
        )


async def test_clone_from_git_needs_a_fetcher() -> None:
    fake = await _engine()
    task = porchv1alpha1.Task(
        type="clone",
        clone=porchv1alpha1.PackageCloneTaskSpec(
            upstream_ref=porchv1alpha1.UpstreamPackage(
                type="git",
                git=porchv1alpha1.GitPackage(repo="https://x", ref="v1", directory="d"),
            )
        ),
    )
    with pytest.raises(taskerrors.InvalidFieldError, match="clone from git is not enabled"):
        await fake.engine.create_package_revision(CTX, pr("app", "ws", tasks=[task]))
    oci = task.model_copy(deep=True)
    assert oci.clone is not None and oci.clone.upstream_ref is not None
    oci.clone.upstream_ref = porchv1alpha1.UpstreamPackage(
        type="oci", oci=porchv1alpha1.OciPackage(image="x")
    )
    with pytest.raises(taskerrors.InvalidFieldError, match=r"^clone from OCI is not implemented$"):
        await fake.engine.create_package_revision(CTX, pr("app", "ws", tasks=[oci]))


async def test_edit_copies_a_published_revision_of_the_same_package() -> None:
    fake = await _engine()
    first = await fake.engine.create_package_revision(CTX, pr("app", "v1"))
    with pytest.raises(taskerrors.InvalidFieldError, match=r"^source revision must be published$"):
        await fake.engine.create_package_revision(
            CTX, pr("app", "v2", tasks=[_edit("repo.app.v1")])
        )
    published = await _publish(fake.engine, first)
    copy = await fake.engine.create_package_revision(
        CTX, pr("app", "v2", tasks=[_edit(_name(published))])
    )
    assert await _files(fake.engine, _name(copy)) == await _files(fake.engine, _name(published))
    await fake.engine.create_package_revision(CTX, pr("other", "v1"))
    with pytest.raises(
        taskerrors.InvalidFieldError,
        match=r"^source revision must be from same package repo/other$",
    ):
        await fake.engine.create_package_revision(
            CTX, pr("other", "v2", tasks=[_edit(_name(published))])
        )


async def test_upgrade_sources_must_be_published() -> None:
    fake = await _engine()
    upstream = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("up", "v1"))
    )
    local = await fake.engine.create_package_revision(
        CTX, pr("down", "v1", tasks=[_clone(_name(upstream))])
    )
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await fake.engine.create_package_revision(
            CTX,
            pr("down", "v2", tasks=[_upgrade(_name(upstream), _name(upstream), _name(local))]),
        )
    assert str(err.value) == (
        'all source PackageRevisions of upgrade task must be published, "repo.down.v1" is not'
    )
    assert err.value.field == "spec.tasks[0].upgrade.localPackageRevisionRef.name"


async def test_failed_render_stores_nothing() -> None:
    fake = await _engine(repo=False, upstream=False)
    backend = fake.backends.fake("upstream")
    await cachetesting.publish(
        backend,
        "base",
        "v1",
        files={"Kptfile": cachetesting.kptfile("base", extra=BROKEN_PIPELINE)},
    )
    await fake.cache.get_repository("default", "upstream").refresh()  # type: ignore[union-attr]
    version = await fake.backends.fake("repo").version()
    with pytest.raises(engineerrors.RenderFailedError) as err:
        await fake.engine.create_package_revision(
            CTX, pr("app", "ws", tasks=[_clone("upstream.base.v1")])
        )
    assert str(err.value).startswith(
        "error rendering package in kpt function pipeline. Package NOT pushed to remote. "
        "Fix locally (until 'kpt fn render' succeeds) and retry. Details: "
    )
    assert err.value.render_status is not None and not err.value.pushed
    assert await fake.backends.fake("repo").version() == version
    assert (await fake.engine.list_package_revisions(CTX, _repo_filter("repo"))).items == []


def _repo_filter(name: str) -> cachetypes.PackageRevisionFilter:
    return cachetypes.PackageRevisionFilter(repository=name)


async def test_dry_run_create_stores_nothing() -> None:
    fake = await _engine()
    version = await fake.backends.fake("repo").version()
    obj = await fake.engine.create_package_revision(
        enginetesting.context(dry_run=True), pr("p", "ws", labels={"a": "b"})
    )
    assert _name(obj) == "repo.p.ws"
    assert obj.metadata is not None and obj.metadata.labels == {"a": "b"}
    assert await fake.backends.fake("repo").version() == version
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await fake.engine.get_package_revision(CTX, "repo.p.ws")


# --- lifecycle -----------------------------------------------------------------------------------


async def test_propose_approve_assigns_revisions_and_latest() -> None:
    fake = await _engine()
    first = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "v1"))
    )
    assert first.spec is not None and first.spec.revision == 1
    assert first.spec.lifecycle == "Published"
    assert first.metadata is not None and first.metadata.labels == {
        "kpt.dev/latest-revision": "true"
    }
    second = await _publish(
        fake.engine,
        await fake.engine.create_package_revision(CTX, pr("p", "v2", tasks=[_edit(_name(first))])),
    )
    assert second.spec is not None and second.spec.revision == 2
    listed = {
        _name(o): (
            o.spec.revision if o.spec else None,
            (o.metadata.labels or {}) if o.metadata else {},
        )
        for o in (await fake.engine.list_package_revisions(CTX)).items
    }
    assert listed == {
        "repo.p.main": (-1, {}),
        "repo.p.v1": (1, {}),
        "repo.p.v2": (2, {"kpt.dev/latest-revision": "true"}),
    }


@pytest.mark.parametrize(
    ("endpoint", "start", "target", "field", "message"),
    [
        (
            "main",
            "Draft",
            "Published",
            "spec.lifecycle",
            "value can be only updated to Draft,Proposed",
        ),
        (
            "approval",
            "Draft",
            "Published",
            "spec.lifecycle",
            "cannot approve package with Draft lifecycle value; only Proposed packages can be "
            "approved",
        ),
        (
            "main",
            "Draft",
            "Bogus",
            "spec.lifecycle",
            "value can be only updated to Draft,Proposed,",
        ),
        (
            "approval",
            "Proposed",
            "DeletionProposed",
            "spec.lifecycle",
            "value for approval can be only one of Draft,Published",
        ),
        (
            "approval",
            "Published",
            "Draft",
            "spec.lifecycle",
            "package with Published lifecycle value can only be updated to 'ProposeDeletion'",
        ),
        (
            "main",
            "Published",
            "Draft",
            "spec",
            "spec can only update package with lifecycle value one of Draft,Proposed",
        ),
    ],
)
async def test_illegal_transitions(
    endpoint: str, start: str, target: str, field: str, message: str
) -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    name = _name(obj)
    if start == "Proposed":
        obj = await fake.engine.update_package_revision(CTX, name, _with(obj, lifecycle="Proposed"))
    elif start == "Published":
        obj = await _publish(fake.engine, obj)
        name = _name(obj)
    update = (
        fake.engine.update_package_revision
        if endpoint == "main"
        else fake.engine.update_package_revision_approval
    )
    with pytest.raises(engineerrors.ValidationError) as err:
        await update(CTX, name, _with(obj, lifecycle=target))
    assert err.value.field == field
    assert message in str(err.value)


async def test_published_spec_is_immutable_but_deletion_can_be_proposed_and_withdrawn() -> None:
    fake = await _engine()
    published = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    )
    changed = published.model_copy(deep=True)
    assert changed.spec is not None
    changed.spec.readiness_gates = [porchv1alpha1.ReadinessGate(condition_type="x")]
    with pytest.raises(engineerrors.ValidationError, match="spec can only update package"):
        await fake.engine.update_package_revision(CTX, _name(published), changed)
    proposed = await fake.engine.update_package_revision(
        CTX, _name(published), _with(published, lifecycle="DeletionProposed")
    )
    assert proposed.spec is not None and proposed.spec.lifecycle == "DeletionProposed"
    back = await fake.engine.update_package_revision_approval(
        CTX, _name(published), _with(proposed, lifecycle="Published")
    )
    assert back.spec is not None and back.spec.lifecycle == "Published"


async def test_latest_label_cannot_be_changed() -> None:
    fake = await _engine()
    published = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    )
    with pytest.raises(engineerrors.ValidationError) as err:
        await fake.engine.update_package_revision(
            CTX, _name(published), _with(published, labels={})
        )
    assert str(err.value) == (
        "metadata.labels[kpt.dev/latest-revision]: Forbidden: label is managed by porch and "
        "cannot be modified by users"
    )


async def test_metadata_update_of_published_revision_keeps_git_untouched() -> None:
    fake = await _engine()
    published = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    )
    version = await fake.backends.fake("repo").version()
    updated = await fake.engine.update_package_revision(
        CTX,
        _name(published),
        _with(published, labels={"kpt.dev/latest-revision": "true", "owner": "bob"}),
    )
    assert updated.metadata is not None and updated.metadata.labels == {
        "kpt.dev/latest-revision": "true",
        "owner": "bob",
    }
    assert await fake.backends.fake("repo").version() == version
    # No commit, but a new resourceVersion: the copy read before the change is stale now.
    assert published.metadata is not None
    assert updated.metadata.resource_version not in (None, published.metadata.resource_version)


# --- optimistic concurrency and locks ------------------------------------------------------------


async def test_updates_need_the_current_resource_version() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    missing = _with(obj, lifecycle="Proposed")
    assert missing.metadata is not None
    missing.metadata.resource_version = None
    with pytest.raises(taskerrors.InvalidFieldError) as err:
        await fake.engine.update_package_revision(CTX, _name(obj), missing)
    assert (err.value.field, str(err.value)) == (
        "metadata.resourceVersion",
        "resourceVersion must be specified for an update",
    )
    await fake.engine.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Proposed"))
    with pytest.raises(engineerrors.StaleObjectError) as stale:
        await fake.engine.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Draft"))
    assert str(stale.value) == (
        "the object has been modified; please apply your changes to the latest version and "
        "try again"
    )
    assert (stale.value.resource, stale.value.name) == ("packagerevisions", "repo.p.ws")


def _rv(obj: porchv1alpha1.PackageRevision | porchv1alpha1.PackageRevisionResources) -> str:
    assert obj.metadata is not None and obj.metadata.resource_version is not None
    return obj.metadata.resource_version


async def _label_twice_from_one_copy(
    cad: engine.CaDEngine, copy: porchv1alpha1.PackageRevision
) -> None:
    """Two clients label `copy` one after the other, each from the same read: the first
    wins, the second must be told its copy is stale (not silently undo the first)."""
    labels = dict((copy.metadata.labels if copy.metadata else None) or {})
    first = await cad.update_package_revision(
        CTX, _name(copy), _with(copy, labels={**labels, "a": "1"})
    )
    assert _rv(first) != _rv(copy)
    with pytest.raises(engineerrors.StaleObjectError) as stale:
        await cad.update_package_revision(
            CTX, _name(copy), _with(copy, labels={**labels, "b": "2"})
        )
    assert str(stale.value) == (
        "the object has been modified; please apply your changes to the latest version and "
        "try again"
    )
    stored = await cad.get_package_revision(CTX, _name(copy))
    assert stored.metadata is not None and (stored.metadata.labels or {}).get("a") == "1"
    assert "b" not in (stored.metadata.labels or {})
    assert _rv(stored) == _rv(first)


async def test_label_updates_from_a_stale_copy_of_a_published_revision_conflict() -> None:
    fake = await _engine()
    published = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    )
    version = await fake.backends.fake("repo").version()
    assert published.metadata is not None
    await _label_twice_from_one_copy(fake.engine, published)
    assert await fake.backends.fake("repo").version() == version, "labels made a commit"


async def test_label_updates_from_a_stale_copy_of_a_draft_conflict() -> None:
    fake = await _engine()
    draft = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    await _label_twice_from_one_copy(fake.engine, draft)


async def test_resourceversion_is_the_commit_until_metadata_changes() -> None:
    fake = await _engine()
    draft = await fake.engine.create_package_revision(CTX, pr("p", "ws", labels={"a": "1"}))
    commit = (await fake.cache.list_package_revisions(cachetypes.ANY, deadline=None))[0]
    # Porch's rule for objects whose metadata never changed: the commit id.
    assert _rv(draft) == commit.resource_version
    relabelled = await fake.engine.update_package_revision(
        CTX, _name(draft), _with(draft, labels={"a": "2"})
    )
    # Sending the same metadata again changes nothing, so the copy stays current.
    again = await fake.engine.update_package_revision(
        CTX, _name(draft), _with(relabelled, labels={"a": "2"})
    )
    assert _rv(again) == _rv(relabelled) != _rv(draft)


async def test_resources_update_after_a_label_change_conflicts() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    before = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    labelled = await fake.engine.update_package_revision(
        CTX, _name(obj), _with(obj, labels={"team": "a"})
    )
    now = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    # The two views of the revision share one resourceVersion.
    assert _rv(now) == _rv(labelled) != _rv(before)
    files = dict(before.spec.resources or {}) if before.spec else {}
    files["extra.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n"
    with pytest.raises(engineerrors.StaleObjectError) as err:
        await fake.engine.update_package_resources(CTX, _name(obj), _prr(before, files))
    assert err.value.resource == "packagerevisionresources"
    assert "extra.yaml" not in await _files(fake.engine, _name(obj))
    updated = await fake.engine.update_package_resources(CTX, _name(obj), _prr(now, files))
    assert updated.spec is not None and "extra.yaml" in (updated.spec.resources or {})


async def test_delete_precondition_sees_metadata_changes() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    await fake.engine.update_package_revision(CTX, _name(obj), _with(obj, labels={"x": "y"}))
    with pytest.raises(errors.ConflictError, match="Precondition failed: ResourceVersion"):
        await fake.engine.delete_package_revision(
            CTX, _name(obj), preconditions=engine.Preconditions(resource_version=_rv(obj))
        )


async def test_concurrent_writes_on_one_object_one_wins() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    results = await asyncio.gather(
        fake.engine.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Proposed")),
        fake.engine.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Proposed")),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert isinstance(failures[0], engineerrors.InProgressError)
    assert str(failures[0]) == (
        'another request is already in progress on package revision "default/repo.p.ws"'
    )
    assert fake.engine.writes_in_flight == 0


async def test_concurrent_creates_of_one_revision_one_wins() -> None:
    fake = await _engine()
    results = await asyncio.gather(
        fake.engine.create_package_revision(CTX, pr("p", "ws")),
        fake.engine.create_package_revision(CTX, pr("p", "ws")),
        return_exceptions=True,
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    assert len(failures) == 1
    assert str(failures[0]) == (
        "another request is already in progress to create package revision with details "
        "namespace=default, repository=repo, package=p,workspace=ws"
    )
    assert fake.engine.writes_in_flight == 0


# --- draft updates -------------------------------------------------------------------------------


async def test_draft_update_patches_the_kptfile_and_renders() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(
        CTX, pr("p", "ws", package_metadata=porchv1alpha1.PackageMetadata(labels={"a": "1"}))
    )
    new = obj.model_copy(deep=True)
    assert new.spec is not None
    new.spec.package_metadata = porchv1alpha1.PackageMetadata(labels={"b": "2"})
    new.spec.readiness_gates = [porchv1alpha1.ReadinessGate(condition_type="ready")]
    new.status = porchv1alpha1.PackageRevisionStatus(
        conditions=[porchv1alpha1.Condition(type="ready", status="True")]
    )
    updated = await fake.engine.update_package_revision(CTX, _name(obj), new)
    kptfile = yaml.safe_load((await _files(fake.engine, _name(obj)))["Kptfile"])
    assert kptfile["metadata"]["labels"] == {"b": "2"}
    assert kptfile["info"]["readinessGates"] == [{"conditionType": "ready"}]
    assert {c["type"]: c["status"] for c in kptfile["status"]["conditions"]} == {
        "ready": "True",
        "Rendered": "True",
    }
    assert updated.status is not None and updated.status.conditions is not None
    assert {c.type for c in updated.status.conditions} == {"ready", "Rendered"}


async def test_update_of_missing_revision_can_create_it() -> None:
    fake = await _engine()
    obj = pr("p", "ws")
    with pytest.raises(engineerrors.ObjectNotFoundError, match=r'"repo\.p\.ws" not found'):
        await fake.engine.update_package_revision(CTX, "repo.p.ws", obj)
    created = await fake.engine.update_package_revision(
        CTX, "repo.p.ws", obj, force_allow_create=True
    )
    assert _name(created) == "repo.p.ws"


# --- resources -----------------------------------------------------------------------------------


def _prr(
    current: porchv1alpha1.PackageRevisionResources, files: dict[str, str]
) -> porchv1alpha1.PackageRevisionResources:
    new = current.model_copy(deep=True)
    assert new.spec is not None
    new.spec.resources = files
    return new


async def test_resources_update_replaces_heals_and_renders() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    files = dict(current.spec.resources or {}) if current.spec else {}
    files["Kptfile"] += (
        "pipeline:\n  mutators:\n  - image: set-namespace:v0.4\n    configMap:\n"
        "      namespace: prod\n"
    )
    files["cm.yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm # mine\n"
    del files["README.md"]
    result = await fake.engine.update_package_resources(CTX, _name(obj), _prr(current, files))
    stored = await _files(fake.engine, _name(obj))
    assert "README.md" not in stored
    assert yaml.safe_load(stored["cm.yaml"])["metadata"]["namespace"] == "prod"
    assert "name: cm # mine" in stored["cm.yaml"]
    assert result.spec is not None and result.spec.resources == stored
    assert result.status is not None and result.status.render_status is not None
    assert result.status.render_status.error == ""
    # Comments a client lost are healed from the stored version.
    again = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    stripped = dict(stored)
    stripped["cm.yaml"] = stored["cm.yaml"].replace(" # mine", "")
    await fake.engine.update_package_resources(CTX, _name(obj), _prr(again, stripped))
    assert "name: cm # mine" in (await _files(fake.engine, _name(obj)))["cm.yaml"]


async def test_resources_of_non_drafts_cannot_change() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    await fake.engine.update_package_revision(CTX, _name(obj), _with(obj, lifecycle="Proposed"))
    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    with pytest.raises(errors.ForbiddenError) as err:
        await fake.engine.update_package_resources(CTX, _name(obj), _prr(current, {}))
    assert str(err.value) == (
        'cannot update a package revision with lifecycle value "Proposed"; package must be Draft'
    )


async def test_resources_update_checks_resource_version() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    stale = _prr(current, dict(current.spec.resources or {}) if current.spec else {})
    assert stale.metadata is not None
    stale.metadata.resource_version = "not-it"
    with pytest.raises(engineerrors.StaleObjectError) as err:
        await fake.engine.update_package_resources(CTX, _name(obj), stale)
    assert err.value.resource == "packagerevisionresources"


async def test_render_failure_of_resources_update_stores_nothing() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    files = dict(current.spec.resources or {}) if current.spec else {}
    files["Kptfile"] += BROKEN_PIPELINE
    with pytest.raises(engineerrors.RenderFailedError, match="Package NOT pushed to remote"):
        await fake.engine.update_package_resources(CTX, _name(obj), _prr(current, files))
    assert "nonexistent-fn" not in (await _files(fake.engine, _name(obj)))["Kptfile"]


async def test_push_on_render_failure_stores_and_says_so() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(
        CTX, pr("p", "ws", annotations={"porch.kpt.dev/push-on-render-failure": "true"})
    )
    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    files = dict(current.spec.resources or {}) if current.spec else {}
    files["Kptfile"] += BROKEN_PIPELINE
    with pytest.raises(engineerrors.RenderFailedError) as err:
        await fake.engine.update_package_resources(CTX, _name(obj), _prr(current, files))
    assert "Package pushed to remote despite render failure. Details: " in str(err.value)
    assert err.value.pushed
    assert "nonexistent-fn" in (await _files(fake.engine, _name(obj)))["Kptfile"]


# --- delete --------------------------------------------------------------------------------------


async def test_published_revisions_must_be_proposed_for_deletion_first() -> None:
    fake = await _engine()
    published = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    )
    with pytest.raises(engineerrors.DeleteForbiddenError) as err:
        await fake.engine.delete_package_revision(CTX, _name(published))
    assert str(err.value) == (
        "published PackageRevisions must be proposed for deletion by setting spec.lifecycle to "
        "'DeletionProposed' prior to deletion"
    )
    proposed = await fake.engine.update_package_revision(
        CTX, _name(published), _with(published, lifecycle="DeletionProposed")
    )
    obj, deleted = await fake.engine.delete_package_revision(CTX, _name(proposed))
    assert deleted and _name(obj) == _name(published)
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await fake.engine.get_package_revision(CTX, _name(published))


async def test_upstreams_in_use_cannot_be_deleted() -> None:
    fake = await _engine()
    upstream = await _publish(
        fake.engine, await fake.engine.create_package_revision(CTX, pr("up", "v1"))
    )
    await fake.engine.create_package_revision(
        CTX, pr("down", "v1", tasks=[_clone(_name(upstream))])
    )
    proposed = await fake.engine.update_package_revision(
        CTX, _name(upstream), _with(upstream, lifecycle="DeletionProposed")
    )
    with pytest.raises(engineerrors.DeleteForbiddenError) as err:
        await fake.engine.delete_package_revision(CTX, _name(proposed))
    assert str(err.value) == (
        "cannot delete package revision, it is referenced as upstream by: repo.down.v1"
    )


async def test_upstreams_in_use_by_upgrades_of_other_repositories_cannot_be_deleted() -> None:
    fake = await _engine(up=False, repo=False)
    base = await fake.engine.create_package_revision(CTX, pr("base", "v1", repository="up"))
    v1 = await _publish(fake.engine, base)
    v2 = await _publish(
        fake.engine,
        await fake.engine.create_package_revision(
            CTX, pr("base", "v2", repository="up", tasks=[_edit(_name(v1))])
        ),
    )
    local = await _publish(
        fake.engine,
        await fake.engine.create_package_revision(CTX, pr("down", "v1", tasks=[_clone(_name(v1))])),
    )
    upgraded = await fake.engine.create_package_revision(
        CTX, pr("down", "v2", tasks=[_upgrade(_name(v1), _name(v2), _name(local))])
    )
    doomed = await fake.engine.update_package_revision_approval(
        CTX, _name(v2), _with(v2, lifecycle="DeletionProposed")
    )

    with pytest.raises(engineerrors.DeleteForbiddenError) as err:
        await fake.engine.delete_package_revision(CTX, _name(doomed))
    # The upgrade's old upstream is no reference; the clone of v1 is not one to v2.
    assert str(err.value).endswith("it is referenced as upstream by: repo.down.v2")

    await fake.engine.delete_package_revision(CTX, _name(upgraded))
    _, deleted = await fake.engine.delete_package_revision(CTX, _name(doomed))
    assert deleted


async def test_finalizers_defer_deletion_until_removed() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(
        CTX, pr("p", "ws", finalizers=["example.com/hold"])
    )
    marked, deleted = await fake.engine.delete_package_revision(CTX, _name(obj))
    assert not deleted
    assert marked.metadata is not None and marked.metadata.deletion_timestamp is not None
    current = await fake.engine.get_package_revision(CTX, _name(obj))
    await fake.engine.update_package_revision(CTX, _name(obj), _with(current, finalizers=[]))
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await fake.engine.get_package_revision(CTX, _name(obj))


async def test_delete_preconditions() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    with pytest.raises(errors.ConflictError, match="Precondition failed: UID in precondition: x"):
        await fake.engine.delete_package_revision(
            CTX, _name(obj), preconditions=engine.Preconditions(uid="x")
        )
    assert obj.metadata is not None
    _, deleted = await fake.engine.delete_package_revision(
        CTX,
        _name(obj),
        preconditions=engine.Preconditions(resource_version=obj.metadata.resource_version),
    )
    assert deleted


# --- managedFields -------------------------------------------------------------------------------

CREATED_BY = enginetesting.managed_fields_entry(
    "kubectl-client-side-apply", fields={"f:spec": {"f:lifecycle": {}}}
)
EDITED_BY = enginetesting.managed_fields_entry(
    "kubectl-edit",
    fields={"f:metadata": {"f:labels": {"f:team": {}}}},
    time=datetime.datetime(2026, 1, 2, 4, 0, 0, tzinfo=datetime.UTC),
)


def _with_managed_fields(
    obj: porchv1alpha1.PackageRevision, entries: list[metav1.ManagedFieldsEntry] | None
) -> porchv1alpha1.PackageRevision:
    new = obj.model_copy(deep=True)
    assert new.metadata is not None
    new.metadata.managed_fields = entries
    return new


def _managed(obj: porchv1alpha1.PackageRevision) -> list[metav1.ManagedFieldsEntry] | None:
    assert obj.metadata is not None
    return obj.metadata.managed_fields


async def test_managed_fields_of_a_create_are_shown_by_every_read() -> None:
    fake = await _engine()
    watcher = fake.engine.watch_package_revisions(CTX)
    created = await fake.engine.create_package_revision(
        CTX, pr("p", "ws", managed_fields=[CREATED_BY])
    )
    assert _managed(created) == [CREATED_BY]
    assert _managed(await fake.engine.get_package_revision(CTX, _name(created))) == [CREATED_BY]
    listed = (await fake.engine.list_package_revisions(CTX)).items
    assert [_managed(o) for o in listed] == [[CREATED_BY]]
    event = await asyncio.wait_for(anext(aiter(watcher)), timeout=5)
    assert event.type == "ADDED" and _managed(event.object) == [CREATED_BY]
    await watcher.aclose()
    # The resources are another object, with writes of their own: none of these.
    prr = await fake.engine.get_package_revision_resources(CTX, _name(created))
    assert prr.metadata is not None and prr.metadata.managed_fields is None


async def test_dry_run_create_shows_the_managed_fields_it_would_store() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(
        enginetesting.context(dry_run=True), pr("p", "ws", managed_fields=[CREATED_BY])
    )
    assert _managed(obj) == [CREATED_BY]
    assert (await fake.engine.list_package_revisions(CTX)).items == []


@pytest.mark.parametrize("lifecycle", ["Draft", "Published"])
async def test_a_managed_fields_change_alone_moves_the_resource_version(lifecycle: str) -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws", managed_fields=[CREATED_BY]))
    if lifecycle == "Published":
        obj = await _publish(fake.engine, obj)
    version = await fake.backends.fake("repo").version()
    updated = await fake.engine.update_package_revision(
        CTX, _name(obj), _with_managed_fields(obj, [CREATED_BY, EDITED_BY])
    )
    assert _managed(updated) == [CREATED_BY, EDITED_BY]
    assert _rv(updated) != _rv(obj)
    assert await fake.backends.fake("repo").version() == version, "managedFields made a commit"
    # A client still holding the copy from before must be told it is stale.
    assert obj.metadata is not None
    relabelled = _with(obj, labels={**(obj.metadata.labels or {}), "b": "2"})
    with pytest.raises(engineerrors.StaleObjectError):
        await fake.engine.update_package_revision(CTX, _name(obj), relabelled)
    stored = await fake.engine.get_package_revision(CTX, _name(obj))
    assert (_rv(stored), _managed(stored)) == (_rv(updated), [CREATED_BY, EDITED_BY])


async def test_unset_managed_fields_keep_the_stored_ones_and_empty_clears_them() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws", managed_fields=[CREATED_BY]))
    kept = await fake.engine.update_package_revision(
        CTX, _name(obj), _with_managed_fields(obj, None)
    )
    # Nothing changed at all: the copy stays current.
    assert (_managed(kept), _rv(kept)) == ([CREATED_BY], _rv(obj))
    labelled = await fake.engine.update_package_revision(
        CTX, _name(obj), _with_managed_fields(_with(kept, labels={"team": "a"}), None)
    )
    assert _managed(labelled) == [CREATED_BY]
    cleared = await fake.engine.update_package_revision(
        CTX, _name(obj), _with_managed_fields(labelled, [])
    )
    assert _managed(cleared) is None
    assert _rv(cleared) != _rv(labelled)
    assert _managed(await fake.engine.get_package_revision(CTX, _name(obj))) is None


async def test_approval_stores_the_managed_fields_it_is_handed() -> None:
    fake = await _engine()
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws", managed_fields=[CREATED_BY]))
    proposed = await fake.engine.update_package_revision(
        CTX, _name(obj), _with(obj, lifecycle="Proposed")
    )
    approver = enginetesting.managed_fields_entry("porchctl", subresource="approval")
    published = await fake.engine.update_package_revision_approval(
        CTX,
        _name(obj),
        _with_managed_fields(_with(proposed, lifecycle="Published"), [CREATED_BY, approver]),
    )
    assert _managed(published) == [CREATED_BY, approver]
    listed = {_name(o): _managed(o) for o in (await fake.engine.list_package_revisions(CTX)).items}
    # The placeholder revision the approval made was written by no client.
    assert listed == {"repo.p.main": None, "repo.p.ws": [CREATED_BY, approver]}


# --- reads and watch -----------------------------------------------------------------------------


async def test_list_resource_version_and_watch_from_it() -> None:
    fake = await _engine()
    listed = await fake.engine.list_package_revisions(CTX)
    watcher = fake.engine.watch_package_revisions(
        CTX, cachetypes.ANY, resource_version=listed.resource_version
    )
    created = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    event = await asyncio.wait_for(anext(aiter(watcher)), timeout=5)
    assert event.type == "ADDED" and _name(event.object) == _name(created)
    await watcher.aclose()


async def test_packages_are_listed_and_got() -> None:
    fake = await _engine()
    await _publish(fake.engine, await fake.engine.create_package_revision(CTX, pr("a/p", "ws")))
    packages = await fake.engine.list_packages(CTX)
    assert [(p.metadata.name if p.metadata else None) for p in packages] == ["repo.a.p"]
    package = await fake.engine.get_package(CTX, "repo.a.p")
    assert package.status is not None and package.status.latest_revision == 1
    with pytest.raises(engineerrors.ObjectNotFoundError):
        await fake.engine.get_package(CTX, "repo.nothing")


async def test_get_of_malformed_name_is_not_found() -> None:
    fake = await _engine()
    with pytest.raises(engineerrors.ObjectNotFoundError, match='"Not_A_Name" not found'):
        await fake.engine.get_package_revision(CTX, "Not_A_Name")


# --- metrics -------------------------------------------------------------------------------------


async def test_render_durations_are_recorded_by_outcome() -> None:
    reader = InMemoryMetricReader()
    fake = enginetesting.new_fake_engine(meter_provider=MeterProvider(metric_readers=[reader]))
    await fake.engine.open_repository(cachetesting.repository_object("repo"))
    obj = await fake.engine.create_package_revision(CTX, pr("p", "ws"))
    points = metrics.histograms_by(reader, "porch.render.duration", "outcome")
    assert {k: p.count for k, p in points.items()} == {"success": 1}

    current = await fake.engine.get_package_revision_resources(CTX, _name(obj))
    files = dict(current.spec.resources or {}) if current.spec else {}
    files["Kptfile"] += BROKEN_PIPELINE
    with pytest.raises(engineerrors.RenderFailedError):
        await fake.engine.update_package_resources(CTX, _name(obj), _prr(current, files))
    points = metrics.histograms_by(reader, "porch.render.duration", "outcome")
    assert {k: p.count for k, p in points.items()} == {"success": 1, "failure": 1}
    assert all(p.sum >= 0 for p in points.values())
