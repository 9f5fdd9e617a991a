"""The output cache's size report and pruning keep what results/ links to."""

from __future__ import annotations

import os

from ban.cache import Usage, cache_dir, prune, usage


def test_prune_keeps_linked_entries_and_removes_the_rest(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "aaa_model.pt").write_bytes(b"x" * 10)
    (cache / "bbb_model.pt").write_bytes(b"y" * 30)
    member = tmp_path / "results/s/l/seed0/gen0"
    member.mkdir(parents=True)
    os.symlink(cache / "aaa_model.pt", member / "model.pt")
    assert usage(cache, tmp_path / "results") == Usage(2, 1, 40, 30)
    assert prune(cache, tmp_path / "results") == [cache / "bbb_model.pt"]
    assert (member / "model.pt").read_bytes() == b"x" * 10
    assert usage(cache, tmp_path / "results") == Usage(1, 1, 10, 0)


def test_cache_dir_is_absolute_and_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SNAKEMAKE_OUTPUT_CACHE", raising=False)
    monkeypatch.chdir(tmp_path)
    assert cache_dir() == tmp_path / ".snakemake-cache"
    monkeypatch.setenv("SNAKEMAKE_OUTPUT_CACHE", "elsewhere")
    assert cache_dir() == tmp_path / "elsewhere"
