"""Config files as a user wrote them: keys given twice, YTE templates, and schema errors one line
each (no torch).

YAML readers keep the last of two equal keys without a word; ``duplicate_keys(path)`` finds them.
Snakemake reads a config file whose top level sets ``__use_yte__`` as a YTE template, running the
Python in it; ``yte_problems(path)`` refuses such a file and ``config_file_problems(path)`` names
both, reading the file without evaluating it (neither can undo a template that Snakemake already
ran: call them before Snakemake reads the file).
``unreadable_problems(path)`` names a config file that cannot be read as text (a folder, a
missing file, bytes that are not UTF-8), which Snakemake's reader would end in a traceback.
``schema_problems(config, schema)`` lists every JSON-schema violation as one line
``<key path>: <message>`` (the schema's own error text, cut to its first line), in document order;
``schema_defaults(schema, definition)`` gives the defaults of a ``$defs`` entry's keys.
``paper_problems(config, lineage_defaults)`` names the ``paper`` values that a study's table job
would refuse (a column typo, a lineage the study lacks), from the config alone.
``tuning_problems(config, schema)`` names each key of a lineage's ``tuning`` grid that is no
tuning key, and each value the schema refuses for its recipe key.

``prepare_config(config, files, schema)`` is the one loader the Snakefile and ``python -m ban
status`` share: the problems of the files as written, the schema (before and after the sweeps
are expanded into studies) and the paper values, one line each; when there are none, the config
has the schema's defaults filled in and its sweeps expanded.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Iterable, Mapping

import yaml


class _Loader(yaml.SafeLoader):
    """A safe loader that records keys given twice in one mapping."""

    duplicates: list[str]


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False):
    seen: dict[object, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            continue
        if key in seen:
            loader.duplicates.append(
                f"line {key_node.start_mark.line + 1}: key {key!r} given twice in one mapping "
                f"(first on line {seen[key] + 1}); YAML would keep the last silently"
            )
        else:
            seen[key] = key_node.start_mark.line
    return loader.construct_mapping_plain(node, deep=deep)


_Loader.construct_mapping_plain = yaml.SafeLoader.construct_mapping
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def duplicate_keys(path: str | Path) -> list[str]:
    """``<path> line N: key K given twice …`` for every mapping key that a YAML file repeats."""
    text = Path(path).read_text(encoding="utf-8")
    loader = _Loader(text)
    loader.duplicates = []
    try:
        loader.get_single_data()
    except yaml.YAMLError:
        return []  # a syntax error is reported by the reader that loads the config
    finally:
        loader.dispose()
    return [f"{path} {line}" for line in loader.duplicates]


ALLOWED = "--configfile takes YAML or JSON files, e.g. configs/regimes.yaml"
"""What a config file must be, named by every line of ``unreadable_problems``."""


def unreadable_problems(path: str | Path) -> list[str]:
    """``[<path>: <why>]`` when Snakemake's reader could not read ``path`` as text, else ``[]``."""
    path = Path(path)
    if path.is_dir():
        return [f"{path}: a folder, not a config file ({ALLOWED})"]
    try:
        path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return [f"{path}: no such file ({ALLOWED})"]
    except OSError as err:
        return [f"{path}: cannot be read: {err.strerror} ({ALLOWED})"]
    except UnicodeDecodeError as err:
        return [f"{path}: not UTF-8 text (byte {err.start}) ({ALLOWED})"]
    return []


YTE_KEY = "__use_yte__"
"""The top-level key that makes Snakemake evaluate a config file as a YTE template."""


def _yte_key_line(text: str) -> int | None:
    """The line (1-based) of a top-level ``__use_yte__`` key, also one merged in with ``<<``; None
    when there is none. Only composes the YAML (no tags are constructed, nothing is evaluated);
    text that does not compose cannot be a template either (YTE's reader fails on it too)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    pending, seen = [root], set()
    while pending:
        node = pending.pop()
        if not isinstance(node, yaml.MappingNode) or id(node) in seen:
            continue
        seen.add(id(node))
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.value == YTE_KEY:
                return key.start_mark.line + 1
            if key.tag == "tag:yaml.org,2002:merge":  # `<<: *a` or `<<: [*a, *b]`
                pending.extend(value.value if isinstance(value, yaml.SequenceNode) else [value])
    return None


def yte_problems(path: str | Path) -> list[str]:
    """``[<path> line N: refused: ...]`` when the file's top level sets ``__use_yte__`` (Snakemake
    would run it as a YTE template: Python code from a config file), else ``[]``. Reads the file
    without evaluating it; a file that cannot be read gives ``[]`` (Snakemake's reader reports it)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    line = _yte_key_line(text)
    if line is None:
        return []
    return [f"{path} line {line}: refused: {YTE_KEY} makes Snakemake run the file as a YTE template "
            "(Python code); config files must be plain YAML"]


def config_file_problems(path: str | Path) -> list[str]:
    """Problems of one config file as written, one line each, without evaluating it: the keys it
    gives twice (``duplicate_keys``), then ``yte_problems``; none for a file that cannot be read."""
    try:
        duplicates = duplicate_keys(path)
    except (OSError, UnicodeDecodeError):
        return []
    return duplicates + yte_problems(path)


def load_schema(schema_path: str | Path) -> dict:
    """The JSON schema at ``schema_path``, parsed once per process while the file keeps its size and
    mtime (libyaml's loader where PyYAML has it); each caller gets its own copy."""
    path = Path(schema_path).resolve()
    stat = path.stat()
    return copy.deepcopy(_read_schema(str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _read_schema(path: str, mtime_ns: int, size: int) -> dict:
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def schema_defaults(schema_path: str | Path, definition: str) -> dict:
    """``{key: default}`` of the properties of ``$defs/<definition>`` in the schema that have one."""
    schema = load_schema(schema_path)
    properties = schema["$defs"][definition].get("properties", {})
    return {key: spec["default"] for key, spec in properties.items() if isinstance(spec, dict) and "default" in spec}


def _looks_like_a_number(value: object) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _key(part: object) -> str:
    """A key of a key path as written, quoted when it holds a dot or is empty (``studies.'..'``)."""
    text = str(part)
    return repr(text) if isinstance(part, str) and ("." in text or not text) else text


def _message(error) -> str:
    """The first line of a schema error, with what the schema says a bad name or number should be."""
    message = error.message.splitlines()[0]
    if error.validator == "pattern" and "propertyNames" in error.absolute_schema_path and "description" in error.schema:
        message = f"{error.instance!r} is not a valid name ({error.schema['description']})"
    elif error.validator == "type" and _looks_like_a_number(error.instance):
        message += f" (YAML reads {error.instance} as text: write the number in full, or with a dot: 1.0e3)"
    if len(message) > 200:
        message = message[:197] + "..."
    return message


def schema_problems(config: dict, schema_path: str | Path) -> list[str]:
    """Every violation of the JSON schema at ``schema_path`` by ``config``, one line each: a name
    (a key under ``propertyNames``) that breaks its pattern is told with the pattern's
    ``description``; a string where a number belongs (YAML 1.1 reads ``1e12`` as text) says so."""
    import jsonschema

    schema = load_schema(schema_path)
    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = []
    for error in sorted(validator.iter_errors(config), key=lambda e: [str(p) for p in e.absolute_path]):
        where = ".".join(_key(part) for part in error.absolute_path) or "(top level)"
        problems.append(f"{where}: {_message(error)}")
    return problems


def paper_problems(config: Mapping, lineage_defaults: Mapping | None = None) -> list[str]:
    """Every problem of the studies' ``paper`` values that the table job would meet, one line
    each, from the config alone (before any job runs; ``lineage_defaults``: the schema's defaults
    of lineage keys, as the config may not have them filled in yet):

    - ``studies.<s>.paper.<l>: ...`` for a lineage the study does not have (its lineages listed);
    - ``studies.<s>.paper.<l>.<key>: ...`` for a key that is no column of lineage ``l``'s rows in
      the study's tables (a typo such as ``CWMT``, or ``BAN-5`` of a 3-generation lineage): the
      line lists the lineage's columns; a member's name (``gen1``) stands for its column, and a
      split suffix (`` val``) is allowed only where the study's task has that score;
    - ``studies.<s>.paper.<l>: gives column <c> (<split>) twice`` (a column and its member name).

    Values that are not numbers, and studies or lineages the schema or ``ban.study`` refuses, are
    left to those checks (nothing is reported here for them). Keys are read as the table job reads
    them (``ban.report.paper.parse_paper_key``)."""
    from ban.datasets import DatasetError, dataset_task
    from ban.member_kinds import MemberError, column_label, column_sort_key
    from ban.study import StudyError, all_members
    from ban.tasks import get_task

    problems: list[str] = []
    studies = config.get("studies") if isinstance(config, Mapping) else None
    for study_name, study in (studies.items() if isinstance(studies, Mapping) else ()):
        paper = study.get("paper") if isinstance(study, Mapping) else None
        lineages = study.get("lineages") if isinstance(study, Mapping) else None
        if not isinstance(paper, Mapping) or not isinstance(lineages, Mapping):
            continue
        from ban.report.paper import parse_paper_key  # pandas: only for a study that lists paper numbers

        try:
            task = get_task(dataset_task(study.get("dataset", {}).get("name")))
        except (DatasetError, AttributeError, TypeError, ValueError):
            task = None  # the schema or the pre-flight names the dataset
        splits = task.paper_splits if task is not None else None
        for lineage_name, values in paper.items():
            where = f"studies.{study_name}.paper.{lineage_name}"
            if lineage_name not in lineages:
                problems.append(f"{where}: {lineage_name!r} is not a lineage of study {study_name!r} "
                                f"(lineages: {', '.join(map(str, lineages))})")
                continue
            try:
                members = all_members({**(lineage_defaults or {}), **lineages[lineage_name]})
                columns = sorted({column_label(member) for member in members}, key=column_sort_key)
            except (StudyError, MemberError, KeyError, TypeError, ValueError, AttributeError):
                continue  # a lineage the schema refuses
            if not isinstance(values, Mapping):
                continue
            allowed = ", ".join(columns) + " or a member's name (gen1 for BAN-1)"
            if splits is not None and len(splits) > 1:
                allowed += f", each optionally followed by {' or '.join(repr(' ' + s) for s in splits if s != 'test')}"
            seen: dict[tuple[str, str], object] = {}
            for key in values:
                parsed = parse_paper_key(key)
                if parsed is None or parsed[0] not in columns:
                    problems.append(f"{where}.{key}: not a column of lineage {lineage_name!r} in the study's tables (allowed: {allowed})")
                elif splits is not None and parsed[1] not in splits:
                    problems.append(f"{where}.{key}: {task.name} studies have no {parsed[1]} score "
                                    f"(splits: {', '.join(splits)})")
                elif parsed in seen:
                    problems.append(f"{where}: gives column {parsed[0]} ({parsed[1]}) twice ({seen[parsed]!r} and {key!r})")
                else:
                    seen[parsed] = key
    return problems


def tuning_problems(config: Mapping, schema_path: str | Path) -> list[str]:
    """Every problem of the lineages' ``tuning`` grids, one line each:
    ``studies.<s>.lineages.<l>.tuning.<key>: ...`` for a key that is neither ``recipe.<key>`` of a
    key of the schema's ``$defs/recipe`` nor ``objective_args.<name>`` of ``ban.study.TUNING_ARGS``
    (the allowed keys listed), or for a value that the schema refuses for that recipe key (a
    ``label_smoothing`` must be a number in [0, 1)). Grids that are not a mapping of lists are left
    to the schema."""
    import jsonschema

    from ban.study import TUNING_ARGS

    recipe = load_schema(schema_path)["$defs"]["recipe"]["properties"]
    allowed = {f"recipe.{key}": value for key, value in recipe.items()}
    allowed.update({f"objective_args.{name}": {"type": "number", "minimum": 0, "exclusiveMaximum": 1} for name in TUNING_ARGS})
    allowed_text = f"recipe.<{'|'.join(recipe)}> or " + " or ".join(f"objective_args.{name}" for name in TUNING_ARGS)
    problems: list[str] = []
    studies = config.get("studies") if isinstance(config, Mapping) else None
    for study_name, study in (studies.items() if isinstance(studies, Mapping) else ()):
        lineages = study.get("lineages") if isinstance(study, Mapping) else None
        for lineage_name, lineage in (lineages.items() if isinstance(lineages, Mapping) else ()):
            grid = lineage.get("tuning") if isinstance(lineage, Mapping) else None
            for key, values in (grid.items() if isinstance(grid, Mapping) else ()):
                where = f"studies.{study_name}.lineages.{lineage_name}.tuning.{key}"
                if key not in allowed:
                    problems.append(f"{where}: not a tuning key (allowed: {allowed_text})")
                    continue
                validator = jsonschema.validators.validator_for(allowed[key])(allowed[key])
                for value in values if isinstance(values, list) else ():
                    error = next(iter(validator.iter_errors(value)), None)
                    if error is not None:
                        problems.append(f"{where}: {_message(error)}")
                        break
    return problems


def prepare_config(config: dict, files: Iterable[str | Path], schema_path: str | Path) -> list[str]:
    """Check ``config`` (read from ``files``) and complete it in place (see the module docstring);
    return its problems, one line each (``config: <key path>: <message>`` for what the schema,
    the paper values or the tuning grids refuse)."""
    from snakemake.utils import validate

    from ban.sweeps import SweepError, expand_sweeps, predictions_of

    problems = [line for path in files for line in config_file_problems(path)]
    problems += [f"config: {line}" for line in schema_problems(config, schema_path)]
    if not problems and config.get("sweeps"):
        validate(config, str(schema_path))  # the defaults into each base study first
        try:
            config["studies"] = {**config.get("studies", {}), **expand_sweeps(config)}
            for sweep in config["sweeps"]:
                predictions_of(config, sweep)
        except SweepError as err:
            problems.append(f"config: {err}")
        else:
            problems += [f"config: {line}" for line in schema_problems(config, schema_path)]
    problems += [f"config: {line}" for line in paper_problems(config, schema_defaults(schema_path, "lineage"))]
    problems += [f"config: {line}" for line in tuning_problems(config, schema_path)]
    if not problems:
        validate(config, str(schema_path))
    return problems
