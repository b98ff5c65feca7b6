"""Repository rules, case by case: the CRD's schema, defaults and CEL, local policy, conflicts."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path

import pytest

from api.meta import v1 as metav1
from api.porchconfig import v1alpha1 as configv1alpha1
from pkg.apimachinery import field, user
from pkg.registry.porchconfig.repository import strategy
from pkg.registry.rest import rest

CTX = rest.RequestContext(namespace="ns", user=user.UserInfo(name="alice"))


def git_repo(
    name: str = "blueprints",
    repo: str = "https://github.com/example/blueprints.git",
    **git: object,
) -> configv1alpha1.Repository:
    return configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name=name, namespace="ns"),
        spec=configv1alpha1.RepositorySpec(
            type="git",
            git=configv1alpha1.GitRepository.model_validate({"repo": repo, **git}),
        ),
    )


def oci_repo(name: str = "images", registry: str = "ghcr.io/example") -> configv1alpha1.Repository:
    return configv1alpha1.Repository(
        metadata=metav1.ObjectMeta(name=name, namespace="ns"),
        spec=configv1alpha1.RepositorySpec(
            type="oci", oci=configv1alpha1.OciRepository(registry=registry)
        ),
    )


def _messages(errs: field.ErrorList) -> list[str]:
    return [str(err) for err in errs]


def _with(
    repo: configv1alpha1.Repository, change: Callable[[configv1alpha1.Repository], None]
) -> configv1alpha1.Repository:
    change(repo)
    return repo


def _spec(repo: configv1alpha1.Repository) -> configv1alpha1.RepositorySpec:
    assert repo.spec is not None
    return repo.spec


def _git(repo: configv1alpha1.Repository) -> configv1alpha1.GitRepository:
    assert repo.spec is not None and repo.spec.git is not None
    return repo.spec.git


@pytest.mark.parametrize(
    "repo",
    [
        pytest.param(git_repo(), id="https"),
        pytest.param(git_repo(repo="git@github.com:example/blueprints.git"), id="scp-like"),
        pytest.param(git_repo(repo="ssh://git@example.com:2222/r.git"), id="ssh-with-port"),
        pytest.param(git_repo(branch="release", directory="/pkgs/"), id="branch-and-directory"),
        pytest.param(git_repo(secretRef={"name": "git-creds"}), id="with-secret-ref"),
        pytest.param(
            _with(
                git_repo(),
                lambda r: setattr(
                    _spec(r), "sync", configv1alpha1.RepositorySync(schedule="*/10 * * * *")
                ),
            ),
            id="cron-schedule",
        ),
        pytest.param(
            _with(
                git_repo(),
                lambda r: setattr(
                    _spec(r), "sync", configv1alpha1.RepositorySync(schedule="@hourly")
                ),
            ),
            id="cron-macro",
        ),
        pytest.param(oci_repo(), id="oci"),
    ],
)
def test_valid_repositories(repo: configv1alpha1.Repository) -> None:
    assert _messages(strategy.validate_repository(repo, local_roots=())) == []


@pytest.mark.parametrize(
    ("repo", "want"),
    [
        pytest.param(
            git_repo(name="Blue_Prints"),
            'metadata.name: Invalid value: "Blue_Prints": metadata.name must conform to the '
            "RFC1123 DNS label standard",
            id="name-not-a-label",
        ),
        pytest.param(
            git_repo(name="a" * 64),
            f'metadata.name: Invalid value: "{"a" * 64}": metadata.name must be no more than '
            "63 characters",
            id="name-too-long",
        ),
        pytest.param(
            _with(git_repo(), lambda r: setattr(_spec(r), "git", None)),
            'spec.git: Required value: required when spec.type is "git"',
            id="git-section-missing",
        ),
        pytest.param(git_repo(repo=""), "spec.git.repo: Required value", id="repo-empty"),
        pytest.param(
            git_repo(repo="ftp://example.com/r.git"),
            'spec.git.repo: Invalid value: "ftp://example.com/r.git": unsupported URL scheme '
            '"ftp" (supported: https://, http://, ssh://, git://, file://)',
            id="unsupported-scheme",
        ),
        pytest.param(
            git_repo(repo="relative/path"),
            'spec.git.repo: Invalid value: "relative/path": must be a URL (https://, ssh://, '
            "git://, file://), user@host:path, or an absolute path",
            id="relative-path",
        ),
        pytest.param(
            _with(git_repo(), lambda r: setattr(_git(r), "branch", "")),
            'spec.git.branch: Invalid value: "": spec.git.branch in body should be at least '
            "1 chars long",
            id="empty-branch",
        ),
        pytest.param(
            git_repo(directory="pkgs/../../etc"),
            "spec.git.directory: Invalid value: \"pkgs/../../etc\": must not contain '..': "
            "packages live inside the repository",
            id="directory-climbs-out",
        ),
        pytest.param(
            git_repo(secretRef={"name": "Bad_Name"}),
            'spec.git.secretRef.name: Invalid value: "Bad_Name": a lowercase RFC 1123 '
            "subdomain must consist of",
            id="secret-ref-name",
        ),
        pytest.param(
            _with(git_repo(), lambda r: setattr(_spec(r), "content", "Function")),
            "spec.content: Invalid value: \"Function\": The 'content' field is deprecated, its "
            "only valid value is 'Package'",
            id="content-function",
        ),
        pytest.param(
            _with(
                git_repo(),
                lambda r: setattr(
                    _spec(r), "sync", configv1alpha1.RepositorySync(schedule="every ten minutes")
                ),
            ),
            'spec.sync.schedule: Invalid value: "every ten minutes": must be a cron expression '
            "with 5 fields",
            id="schedule-not-cron",
        ),
        pytest.param(
            _with(
                git_repo(),
                lambda r: setattr(
                    _spec(r), "sync", configv1alpha1.RepositorySync(schedule="0 */10 * * * *")
                ),
            ),
            'spec.sync.schedule: Invalid value: "0 */10 * * * *": must be a cron expression '
            "with 5 fields",
            id="schedule-with-seconds",
        ),
        pytest.param(
            _with(git_repo(), lambda r: setattr(_spec(r), "type", None)),
            'spec.type: Required value: must be one of "git", "oci"',
            id="type-missing",
        ),
        pytest.param(
            _with(oci_repo(), lambda r: setattr(_spec(r), "oci", None)),
            'spec.oci: Required value: required when spec.type is "oci"',
            id="oci-section-missing",
        ),
        pytest.param(
            oci_repo(registry=""), "spec.oci.registry: Required value", id="oci-registry-empty"
        ),
    ],
)
def test_invalid_repositories(repo: configv1alpha1.Repository, want: str) -> None:
    messages = _messages(strategy.validate_repository(repo, local_roots=()))
    assert any(m.startswith(want) for m in messages), messages


def test_defaults_of_the_crd_are_applied_on_create() -> None:
    repo = git_repo()
    _spec(repo).content = None
    _git(repo).branch = None
    strategy.RepositoryStrategy(()).prepare_for_create(CTX, repo)
    assert _spec(repo).content == "Package"
    assert _git(repo).branch == "main"


def test_create_drops_status() -> None:
    repo = git_repo()
    repo.status = configv1alpha1.RepositoryStatus(package_count=3)
    strategy.RepositoryStrategy(()).prepare_for_create(CTX, repo)
    assert repo.status is None


# --- local repositories ----------------------------------------------------------------------


@pytest.fixture
def roots(tmp_path: Path) -> tuple[Path, Path]:
    allowed = tmp_path / "repositories"
    (allowed / "team").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    return allowed, outside


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("file://{allowed}/team", id="file-url"),
        pytest.param("{allowed}/team", id="absolute-path"),
        pytest.param("file://{allowed}/team/../team/new.git", id="dotdot-inside"),
    ],
)
def test_local_repository_under_a_root_is_allowed(roots: tuple[Path, Path], spelling: str) -> None:
    allowed, _ = roots
    repo = git_repo(repo=spelling.format(allowed=allowed))
    assert _messages(strategy.validate_repository(repo, local_roots=[allowed])) == []


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param("file://{outside}", id="file-url-outside"),
        pytest.param("{outside}", id="path-outside"),
        pytest.param("file://{allowed}/../elsewhere", id="dotdot-escape"),
        pytest.param("file://{allowed}/link", id="symlink-escape"),
    ],
)
def test_local_repository_outside_the_roots_is_refused(
    roots: tuple[Path, Path], spelling: str
) -> None:
    allowed, outside = roots
    (allowed / "link").symlink_to(outside)
    address = spelling.format(allowed=allowed, outside=outside)
    messages = _messages(
        strategy.validate_repository(git_repo(repo=address), local_roots=[allowed])
    )
    assert messages == [
        f'spec.git.repo: Invalid value: "{address}": local repositories must be under a local '
        f"repository root of this server (--local-repository-root): {allowed}"
    ]


def test_local_repositories_are_refused_without_roots(roots: tuple[Path, Path]) -> None:
    allowed, _ = roots
    messages = _messages(
        strategy.validate_repository(git_repo(repo=f"file://{allowed}/team"), local_roots=())
    )
    assert len(messages) == 1
    assert messages[0].startswith("spec.git.repo: Invalid value:")
    assert "local repositories are not allowed on this server" in messages[0]


# --- immutability ------------------------------------------------------------------------------


def _switch_to_oci(repo: configv1alpha1.Repository) -> None:
    _spec(repo).type = "oci"
    _spec(repo).oci = configv1alpha1.OciRepository(registry="ghcr.io/x")


@pytest.mark.parametrize(
    ("change", "want"),
    [
        pytest.param(
            lambda r: setattr(_git(r), "repo", "https://github.com/example/other.git"),
            'spec.git.repo: Invalid value: "https://github.com/example/other.git": '
            "spec.git.repo is immutable",
            id="repo",
        ),
        pytest.param(
            lambda r: setattr(_git(r), "branch", "release"),
            'spec.git.branch: Invalid value: "release": spec.git.branch is immutable',
            id="branch",
        ),
        pytest.param(
            lambda r: setattr(_git(r), "directory", "other"),
            'spec.git.directory: Invalid value: "other": spec.git.directory is immutable',
            id="directory",
        ),
        pytest.param(
            _switch_to_oci,
            'spec.type: Invalid value: "oci": spec.type is immutable',
            id="type",
        ),
        pytest.param(
            lambda r: setattr(_spec(r), "git", None),
            "spec.git.repo: Invalid value: null: spec.git.repo is immutable",
            id="git-section-dropped",
        ),
    ],
)
def test_immutable_fields(change: Callable[[configv1alpha1.Repository], object], want: str) -> None:
    old = git_repo(branch="main", directory="pkgs")
    new = old.model_copy(deep=True)
    change(new)
    messages = _messages(strategy.validate_repository_update(new, old, local_roots=()))
    assert want in messages, messages


def test_oci_registry_is_immutable() -> None:
    old = oci_repo()
    new = oci_repo(registry="ghcr.io/other")
    messages = _messages(strategy.validate_repository_update(new, old, local_roots=()))
    assert messages == [
        'spec.oci.registry: Invalid value: "ghcr.io/other": spec.oci.registry is immutable'
    ]


def test_directory_may_be_set_when_it_was_unset() -> None:
    # The CEL rule only applies once the old object has the field.
    old = git_repo()
    new = git_repo(directory="pkgs")
    assert _messages(strategy.validate_repository_update(new, old, local_roots=())) == []


def test_mutable_fields_change_freely() -> None:
    old = git_repo()
    new = old.model_copy(deep=True)
    _spec(new).description = "now described"
    _spec(new).deployment = True
    _git(new).secret_ref = configv1alpha1.SecretRef(name="creds")
    _spec(new).sync = configv1alpha1.RepositorySync(schedule="@daily")
    assert _messages(strategy.validate_repository_update(new, old, local_roots=())) == []


# --- conflicts (Porch's webhook) -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("existing", "new", "conflict"),
    [
        pytest.param(git_repo("a"), git_repo("b"), True, id="same-url-branch-root"),
        pytest.param(
            git_repo("a"),
            git_repo("b", repo="git@GitHub.com:example/blueprints"),
            True,
            id="same-repository-other-spelling",
        ),
        pytest.param(
            git_repo("a", directory="x"), git_repo("b", directory="/x/"), True, id="same-dir"
        ),
        pytest.param(git_repo("a"), git_repo("b", directory="x"), True, id="root-and-subdir"),
        pytest.param(
            git_repo("a", directory="x"), git_repo("b", directory="x/y"), True, id="nested"
        ),
        pytest.param(
            git_repo("a", directory="x"), git_repo("b", directory="xy"), False, id="siblings"
        ),
        pytest.param(git_repo("a"), git_repo("b", branch="dev"), False, id="other-branch"),
        pytest.param(
            git_repo("a"),
            git_repo("b", repo="https://github.com/example/other.git"),
            False,
            id="other-repository",
        ),
        pytest.param(oci_repo("a"), oci_repo("b"), False, id="oci-never-conflicts"),
    ],
)
def test_conflicting_repositories(
    existing: configv1alpha1.Repository, new: configv1alpha1.Repository, conflict: bool
) -> None:
    messages = _messages(strategy.conflicts(CTX, new, None, [existing]))
    if not conflict:
        assert messages == []
        return
    assert len(messages) == 1
    assert messages[0].startswith("spec.git: Invalid value:")
    assert 'conflicts with Repository "a"' in messages[0]


@pytest.mark.parametrize(
    ("condition", "want"),
    [
        pytest.param(
            {"status": "Maybe"},
            "status.conditions[0].status: Unsupported value: "
            '"Maybe": supported values: "True", "False", "Unknown"',
            id="status",
        ),
        pytest.param({"reason": ""}, "status.conditions[0].reason: Required value", id="reason"),
        pytest.param({"type": ""}, "status.conditions[0].type: Required value", id="type"),
    ],
)
def test_status_conditions_are_validated(condition: dict[str, str], want: str) -> None:
    status = configv1alpha1.RepositoryStatus(
        conditions=[
            metav1.Condition.model_validate(
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "Ready",
                    "message": "Repository Ready",
                    "lastTransitionTime": datetime.datetime.now(datetime.UTC),
                    **condition,
                }
            )
        ]
    )
    assert _messages(strategy.validate_status(status)) == [want]
