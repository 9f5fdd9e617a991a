

def test_make_regimes_publishes_every_sweep_of_the_regimes_config():
    import re
    from pathlib import Path

    import yaml

    repo = Path(__file__).resolve().parents[2]
    listed = re.search(r"^REGIME_SWEEPS := (.*)$", (repo / "Makefile").read_text(encoding="utf-8"), re.M)[1].split()
    sweeps = yaml.safe_load((repo / "configs/regimes.yaml").read_text(encoding="utf-8"))["sweeps"]
    assert sorted(listed) == sorted(sweeps) == sorted(p.name for p in (repo / "docs/regimes").iterdir() if p.is_dir())
