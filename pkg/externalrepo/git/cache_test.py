"""Cache directory names and sharing of clones."""

from __future__ import annotations

from pathlib import Path

from pkg.externalrepo.git import cache


def test_cache_dir_name_is_porchs_and_drops_credentials() -> None:
    assert cache.cache_dir_name("https://github.com/nephio/porch.git") == (
        "https---github.com-nephio-porch.git"
    )
    assert cache.cache_dir_name("https://user:s3cret@example.com:8443/r.git") == (
        "https---example.com-8443-r.git"
    )


async def test_clones_are_shared_and_released(tmp_path: Path) -> None:
    git_cache = cache.GitCache(tmp_path)
    first = git_cache.acquire("https://example.com/r.git")
    second = git_cache.acquire("https://example.com/r.git")
    other = git_cache.acquire("https://example.com/other.git")
    assert first is second and first is not other
    await first.run(first.open)
    assert first.path.is_dir()
    await git_cache.release(first)
    assert first.path.is_dir()
    await git_cache.release(second)
    assert not first.path.exists()
    # A later user gets a fresh clone object.
    assert git_cache.acquire("https://example.com/r.git") is not first
    await git_cache.close()


async def test_a_damaged_cache_is_recloned(tmp_path: Path) -> None:
    git_cache = cache.GitCache(tmp_path)
    clone = git_cache.acquire("https://example.com/r.git")
    clone.path.mkdir(parents=True)
    (clone.path / "HEAD").write_text("garbage")
    repo = await clone.run(clone.open)
    assert repo.is_bare
    assert repo.remotes["origin"].url == "https://example.com/r.git"
    await git_cache.release(clone)
    await git_cache.close()
