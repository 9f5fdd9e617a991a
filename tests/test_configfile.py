"""Config files as written (ban/configfile.py) and the schema's limits, without running Snakemake:
YTE templates refused unevaluated, names that are plain folders, upper bounds of counts."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from snakemake.common.configfile import load_configfile

from ban.configfile import config_file_problems, load_schema, schema_defaults, schema_problems, tuning_problems, yte_problems

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
TINY = yaml.safe_load((REPO / "tests" / "workflow" / "tiny.yaml").read_text())

# YTE templates as Snakemake would run them: the "ran" line creates the file MARKER when evaluated.
RUNS = "ran: ?open(MARKER, 'w').close()\n"
TEMPLATES = {
    "plain": "__use_yte__: true\n" + RUNS,
    "later key, quoted": "a: 1\n" + RUNS + "'__use_yte__': yes\n",
    "escaped key": '"\\x5f_use_yte__": true\n' + RUNS,
    "merged in": "defaults: &d {__use_yte__: true}\n<<: *d\n" + RUNS,
    "merged from a list": "x: &x {a: 1}\ny: &y {__use_yte__: 1}\n<<: [*x, *y]\n" + RUNS,
}
TEMPLATE_LINES = {"plain": 1, "later key, quoted": 3, "escaped key": 1, "merged in": 1, "merged from a list": 2}


@pytest.mark.parametrize("case", sorted(TEMPLATES))
def test_a_yte_template_is_refused_without_running_it(tmp_path, case):
    marker = tmp_path / "ran"
    path = tmp_path / "config.yaml"
    path.write_text(TEMPLATES[case].replace("MARKER", repr(str(marker))))
    problems = config_file_problems(path)
    assert problems == [f"{path} line {TEMPLATE_LINES[case]}: refused: __use_yte__ makes Snakemake run the file as a "
                        "YTE template (Python code); config files must be plain YAML"]
    assert yte_problems(path) == problems and not marker.exists()
    load_configfile(path)  # the threat is real: Snakemake's own reader runs the template
    assert marker.exists()


def test_plain_yaml_and_unreadable_files_give_no_yte_line(tmp_path):
    plain = tmp_path / "plain.yaml"
    plain.write_text("studies:\n  s:\n    __use_yte__: true\n    note: '?not code'\n")  # not the top level
    broken = tmp_path / "broken.yaml"
    broken.write_text("__use_yte__: [true\n")  # no YAML: YTE's reader fails before evaluating
    assert config_file_problems(plain) == [] and config_file_problems(broken) == []
    assert config_file_problems(tmp_path) == [] and config_file_problems(tmp_path / "gone.yaml") == []


def test_keys_given_twice_and_yte_are_both_named(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("__use_yte__: false\nseeds: [1]\nseeds: [2]\n")
    problems = config_file_problems(path)
    assert len(problems) == 2
    assert problems[0].startswith(f"{path} line 3: key 'seeds' given twice in one mapping (first on line 2)")
    assert problems[1].startswith(f"{path} line 1: refused: __use_yte__")


def config_with(study: str = "tiny", lineage: str = "cnn") -> dict:
    config = copy.deepcopy(TINY)
    config["studies"] = {study: config["studies"]["tiny"]}
    config["studies"][study]["lineages"] = {lineage: config["studies"][study]["lineages"]["cnn"]}
    return config


NAME_RULE = "letters, digits, _ . - and not . or ..: a study or lineage name is a folder of results/ and logs/"


@pytest.mark.parametrize("name", [".", "..", "a/b", "../x", "", "x y", "tiny\n"])
def test_a_name_that_is_no_plain_folder_is_refused(name):
    shown = repr(name) if ("." in name or not name) else name
    assert schema_problems(config_with(study=name), SCHEMA) == [f"studies: {name!r} is not a valid name ({NAME_RULE})"]
    assert schema_problems(config_with(lineage=name), SCHEMA) == [f"studies.tiny.lineages: {name!r} is not a valid name ({NAME_RULE})"]
    both = schema_problems(config_with(study=name, lineage=name), SCHEMA)
    assert both == [f"studies: {name!r} is not a valid name ({NAME_RULE})",
                    f"studies.{shown}.lineages: {name!r} is not a valid name ({NAME_RULE})"]


@pytest.mark.parametrize("name", ["tiny", "wrn-28-1", "a.b", "...", "_x"])
def test_plain_folder_names_are_accepted(name):
    assert schema_problems(config_with(study=name, lineage=name), SCHEMA) == []


def test_counts_have_upper_bounds_everywhere_a_recipe_is():
    config = config_with()
    study = config["studies"]["tiny"]
    lineage = study["lineages"]["cnn"]
    study["recipe"].update(yaml.safe_load("epochs: 1e12\nbatch_size: 1048577"))  # YAML 1.1 reads 1e12 as text
    lineage["recipe"] = {"epochs": 10**12, "milestones": [100001], "eval_batch_size": 2**21}
    lineage["overrides"] = {"gen1": {"recipe": {"epochs": 1.0e12, "batch_size": 10**12}}}
    lineage.update(generations=101, independent=800)  # gen<k>: offset k below the controls' 101; ind<i>: 200 + i below 1000
    assert schema_problems(config, SCHEMA) == [
        "studies.tiny.lineages.cnn.generations: 101 is greater than the maximum of 100",
        "studies.tiny.lineages.cnn.independent: 800 is greater than the maximum of 799",
        "studies.tiny.lineages.cnn.overrides.gen1.recipe.batch_size: 1000000000000 is greater than the maximum of 1048576",
        "studies.tiny.lineages.cnn.overrides.gen1.recipe.epochs: 1000000000000.0 is greater than the maximum of 100000",
        "studies.tiny.lineages.cnn.recipe.epochs: 1000000000000 is greater than the maximum of 100000",
        "studies.tiny.lineages.cnn.recipe.eval_batch_size: 2097152 is greater than the maximum of 1048576",
        "studies.tiny.lineages.cnn.recipe.milestones.0: 100001 is greater than the maximum of 100000",
        "studies.tiny.recipe.batch_size: 1048577 is greater than the maximum of 1048576",
        "studies.tiny.recipe.epochs: '1e12' is not of type 'integer' (YAML reads 1e12 as text: write the number in full, "
        "or with a dot: 1.0e3)",
    ]


def test_the_upper_bounds_themselves_are_accepted():
    config = config_with()
    study = config["studies"]["tiny"]
    study["recipe"].update(epochs=100000, batch_size=1048576, eval_batch_size=1048576, milestones=[100000])
    study["lineages"]["cnn"].update(generations=100, independent=799)
    assert schema_problems(config, SCHEMA) == []


def test_schema_defaults_are_the_schemas():
    defaults = schema_defaults(SCHEMA, "lineage")
    assert defaults["generations"] == 3 and defaults["controls"] == [] and "teacher" not in defaults


def test_tuning_keys_and_values_are_one_line_each():
    config = config_with()
    lineage = config["studies"]["tiny"]["lineages"]["cnn"]
    lineage["tuning"] = {"recipe.select": ["last", "best"], "recipe.weight_decay": [0, 0.001],
                         "objective_args.label_smoothing": [0.1, 1.0], "recipe.epoch": [3], "objective_args.temperature": [2]}
    lineage["teacher_recipe"] = {"select": "best_val"}
    assert schema_problems(config, SCHEMA) == []
    where = "studies.tiny.lineages.cnn.tuning"
    problems = tuning_problems(config, SCHEMA)
    assert problems[0] == f"{where}.recipe.select: 'best' is not one of ['last', 'best_val']"
    assert problems[1] == f"{where}.objective_args.label_smoothing: 1.0 is greater than or equal to the maximum of 1"
    for line, key in zip(problems[2:], ("recipe.epoch", "objective_args.temperature")):
        assert line.startswith(f"{where}.{key}: not a tuning key (allowed: recipe.<epochs|batch_size|") and line.endswith(
            "> or objective_args.label_smoothing)")
    assert len(problems) == 4
    lineage["tuning"] = {"recipe.select": ["last", "best_val"], "objective_args.label_smoothing": [0, 0.1]}
    assert tuning_problems(config, SCHEMA) == []
    lineage["teacher_recipe"] = {"select": "early"}
    assert schema_problems(config, SCHEMA) == [
        "studies.tiny.lineages.cnn.teacher_recipe.select: 'early' is not one of ['last', 'best_val']"]


def test_the_schema_is_read_once_until_the_file_changes(tmp_path):
    """load_schema parses a schema once per process while its file keeps its size and mtime; an edit
    is read, and a caller that changes its copy changes no other caller's."""
    schema = tmp_path / "schema.yaml"
    schema.write_text("type: object\nproperties:\n  a: {type: integer}\n")
    first = load_schema(schema)
    first["properties"]["a"]["type"] = "string"
    assert load_schema(schema) == {"type": "object", "properties": {"a": {"type": "integer"}}}
    assert schema_problems({"a": "x"}, schema) == ["a: 'x' is not of type 'integer'"]
    schema.write_text("type: object\nproperties:\n  a: {type: string}\n\n")  # another size and mtime
    assert schema_problems({"a": "x"}, schema) == []
