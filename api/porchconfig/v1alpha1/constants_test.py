"""The named values match the generated Repository model and its CRD defaults."""

from __future__ import annotations

from api.porchconfig import v1alpha1 as configv1alpha1


def test_repository_type_matches_generated_field() -> None:
    # Typed as object: mypy sees a type form on one side and a special form on the other.
    expected: object = configv1alpha1.RepositoryType | None

    assert configv1alpha1.RepositorySpec.model_fields["type"].annotation == expected
    assert configv1alpha1.REPOSITORY_TYPES == ("git", "oci")


def test_defaults_match_the_generated_defaults() -> None:
    assert configv1alpha1.RepositorySpec().content == configv1alpha1.CONTENT_PACKAGE
    assert configv1alpha1.GitRepository(repo="r").branch == configv1alpha1.DEFAULT_BRANCH
