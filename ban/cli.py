"""Command-line front door: ``python -m ban train|check|ensemble|evaluate|table|plot|claims|regime|publish|record|status|summary|store``.

Every expected failure (bad spec, unknown name, missing data, unusable checkpoint, divergence)
prints one line ``error: …`` on stderr and exits with status 2; nothing finished is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def _json_arg(text: str) -> dict:
    """A JSON object given inline or as ``@path``."""
    raw = Path(text[1:]).read_text() if text.startswith("@") else text
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as err:
        raise ValueError(f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _cmd_train(args: argparse.Namespace) -> None:
    from ban.collapse import warn_if_collapsed
    from ban.environment import environment
    from ban.guard import member_lock
    from ban.identity import member_identity
    from ban.store import Store

    spec, out = _json_arg(args.spec), Path(args.out)
    teacher = Path(args.teacher) if args.teacher else None
    store = Store()
    identity = member_identity(spec, teacher, environment(args.device))

    def log(line: str) -> None:
        print(line, flush=True)

    with store.training(identity.key, log):  # one training of an identity at a time; the others restore it
        with member_lock(out):  # the store first, before torch is imported: a restore takes a second
            restored = store.restore(identity, out, spec, log)
            if restored is not None:
                (out / "resume.pt").unlink(missing_ok=True)
                warn_if_collapsed(out, restored)
                return

        import torch

        from ban.lifecycle import run_member

        if args.threads:
            torch.set_num_threads(args.threads)
        if args.watch_pid:
            from ban.guard import watch_workflow

            watch_workflow(args.watch_pid)
        metrics = run_member(spec, out, teacher, device=args.device, log=log, store=store, identity=identity)
        warn_if_collapsed(out, metrics)


def _cmd_check(args: argparse.Namespace) -> None:
    from ban.validate import check_specs

    plan = json.loads(Path(args.specs).read_text())
    if isinstance(plan, list):  # a bare list of specs
        plan = {"specs": plan}
    specs = plan["specs"]
    problems = check_specs(specs, device=args.device or plan.get("device", "auto"), finished=plan.get("finished", []))
    for line in problems:
        print(f"error: {line}", file=sys.stderr)
    if problems:
        raise SystemExit(2)
    print(f"checked {len(specs)} specs and {len(plan.get('finished', []))} finished folders: all usable")


def _cmd_ensemble(args: argparse.Namespace) -> None:
    from ban.ensemble import ensemble
    from ban.files import write_json
    from ban.metrics import score_summary

    out = Path(args.out)
    metrics = ensemble([Path(d) for d in args.members], args.name or out.parent.name)
    if args.code:
        metrics["code"] = args.code
    write_json(out, metrics)
    print(f"{metrics['member']} of {', '.join(metrics['members'])}: {score_summary(metrics)}")


DATA_PATH_KEYS = ("root", "folder")
"""Dataset keys naming a folder a loader reads and may write (stage, decompress, download)."""


def evaluation_dataset(dataset: object, checkpoint: str, data_root: str | None, download: bool, project: Path) -> dict:
    """The ``load_dataset`` arguments for scoring ``checkpoint``: its embedded spec's ``dataset``,
    with its keys checked against the loader (``ban.validate.check_dataset_keys``), ``download``
    from the command line only, and its folders (``root``, ``folder``) replaced by ``data_root``
    when the command line names one, else kept only when they lie inside ``project``. Anything
    else is a one-line ``ValueError`` naming the checkpoint and the key."""
    from ban.validate import check_dataset_keys

    if not isinstance(dataset, dict) or not isinstance(dataset.get("name"), str):
        raise ValueError(f"{checkpoint}: its spec's dataset is not a mapping with a name: {dataset!r}")
    dataset = dict(dataset)
    if problems := check_dataset_keys(dataset):
        raise ValueError(f"{checkpoint}: its spec's {problems[0]}")
    dataset["download"] = download
    if data_root is not None:
        return {key: value for key, value in dataset.items() if key not in DATA_PATH_KEYS} | {"root": data_root}
    inside = os.path.abspath(project)
    for key in DATA_PATH_KEYS:
        folder = dataset.get(key)
        if folder is None:
            continue
        if not isinstance(folder, str) or os.path.commonpath([inside, os.path.abspath(os.path.join(inside, folder))]) != inside:
            raise ValueError(f"{checkpoint}: its spec's dataset.{key} {folder!r} is outside this project ({inside}); "
                             "name the data folder with --data-root")
    return dataset


def _cmd_evaluate(args: argparse.Namespace) -> None:
    from ban import checkpoint as ckpt_io
    from ban.datasets import load_dataset
    from ban.runtime import resolve_device
    from ban.tasks import get_task

    ckpt = ckpt_io.load_torch(Path(args.checkpoint))
    spec = ckpt.get("spec") or {}
    dataset = spec.get("dataset", {"name": ckpt.get("dataset")}) if isinstance(spec, dict) else None
    data = load_dataset(**evaluation_dataset(dataset, args.checkpoint, args.data_root, args.download, Path.cwd()))
    ckpt = ckpt_io.load_model_checkpoint(Path(args.checkpoint), dataset=data.name, num_classes=data.num_classes)
    device = resolve_device(args.device)
    model = ckpt_io.build_from_checkpoint(ckpt, args.checkpoint).to(device)
    scores, _ = get_task(data.task).trainer().score(model, data, spec.get("recipe", {}), device)
    print(json.dumps(scores, indent=2))


def _cmd_table(args: argparse.Namespace) -> None:
    from ban.report.tables import write_tables

    paper = _json_arg(args.paper) if args.paper else None
    write_tables([Path(p) for p in args.metrics], Path(args.out), paper=paper, stem=args.stem)


def _cmd_plot(args: argparse.Namespace) -> None:
    from ban.report.plots import write_plots

    write_plots([Path(p) for p in args.metrics], Path(args.out), equivalence_margin=args.equivalence_margin)


def _cmd_claims(args: argparse.Namespace) -> None:
    from ban.report.claims_markdown import write_claims

    written = write_claims([Path(p) for p in args.metrics], Path(args.out), equivalence_margin=args.equivalence_margin)
    print(f"wrote {', '.join(str(p) for p in written)}")


def _cmd_regime(args: argparse.Namespace) -> None:
    from ban.report.regime import Cell, write_regime

    listed = json.loads(args.cells)
    if not isinstance(listed, list) or not all(isinstance(c, list) and len(c) == 2 for c in listed):
        raise ValueError("--cells must be a JSON list of [cell name, {factor: value}] pairs")
    by_study: dict[str, list[Path]] = {}
    for path in map(Path, args.metrics):  # results/<study>/<lineage>/seed<s>/<member>/metrics.json
        by_study.setdefault(path.parents[3].name, []).append(path)
    claims = {Path(p).parent.name: Path(p) for p in args.claims}
    missing = [name for name, _ in listed if name not in claims]
    if missing:
        raise ValueError(f"no claims.json given for cell(s) {', '.join(missing)}")
    cells = [Cell(name, factors, claims[name], tuple(by_study.get(name, ()))) for name, factors in listed]
    predictions = json.loads(args.predictions)
    if not isinstance(predictions, list) or not all(isinstance(p, dict) for p in predictions):
        raise ValueError("--predictions must be a JSON list of {claim, expect, why, cells} objects")
    written = write_regime(cells, Path(args.out), args.sweep, predictions)
    print(f"wrote {', '.join(str(p) for p in written)}")


def _cmd_publish(args: argparse.Namespace) -> None:
    from ban.report.publish import publish_sweep

    written = publish_sweep(args.sweep, args.to, args.results)
    print(f"published {len(written)} files of sweep {args.sweep} into {args.to}")


def _cmd_record(args: argparse.Namespace) -> None:
    from ban.written import record_written

    records = record_written(args.files)
    print(f"recorded the sha256 of {len(records)} written files")


def _cmd_status(args: argparse.Namespace) -> None:
    from ban.status import status

    print(status(args.configfile))


def _cmd_summary(args: argparse.Namespace) -> None:
    from ban.report.summary import config_summary

    print(config_summary(args.configfile, args.results))


def _cmd_store(args: argparse.Namespace) -> None:
    from ban.store import ENV, OFF, Store

    store = Store()
    if not store.enabled:
        raise ValueError(f"the store is off (${ENV}={OFF}): nothing is kept")
    entries, unused = store.entries(), store.unused()
    size = sum(e.size for e in entries)
    unused_size = sum(e.size for e in unused)
    print(f"{store.root}: {len(entries)} kept trainings, {size / 1e6:.1f} MB; {len(entries) - len(unused)} in use by a "
          f"member folder, {len(unused)} not ({unused_size / 1e6:.1f} MB: earlier specs, restorable by going back to them)")
    unreadable = [e.path.name for e in entries if e.record is None]
    if unreadable:
        print(f"{len(unreadable)} without a readable record.json (never restored): {', '.join(n[:16] for n in unreadable)}")
    if not args.prune:
        return
    stale = store.stale_temporaries()
    if not unused and not stale:
        print("nothing to prune")
        return
    for entry in unused:
        placed = (entry.record or {}).get("placed") or []
        where = str(placed[-1]) if placed else "no readable record" if entry.record is None else "placed nowhere"
        print(f"  {entry.path.name[:16]}  {entry.size / 1e6:7.2f} MB  {where}")
    for path in stale:
        print(f"  {path.name}  (temporary folder of a trainer that is gone)")
    if not args.yes:
        print(f"would delete {len(unused)} entries and {len(stale)} temporary folders; rerun with --yes to delete them")
        return
    removed = store.prune()
    print(f"deleted {len(removed)} entries and temporary folders of {store.root}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ban", description="Born-Again Networks: train, ensemble, evaluate, report.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one member (teacher, BAN generation or control)")
    p.add_argument("--spec", required=True, help="the member's spec as JSON, or @file.json")
    p.add_argument("--out", required=True, help="output folder (model.pt, metrics.json, predictions.npz)")
    p.add_argument("--teacher", help="teacher model.pt (students only)")
    p.add_argument("--device", default="auto", help="auto (CUDA if present), cpu, cuda, cuda:N")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--watch-pid", type=int, default=0,
                   help="stop (keeping resume.pt) when process N, the workflow that started this job, ends")
    p.set_defaults(run=_cmd_train)

    p = sub.add_parser("check", help="check specs (names, recipes, datasets) before training anything")
    p.add_argument("--specs", required=True,
                   help='JSON file: a list of specs, or {"specs": [...], "device": ..., "finished": [member folders]}')
    p.add_argument("--device", help="the training device to check (default: the file's, else auto)")
    p.set_defaults(run=_cmd_check)

    p = sub.add_parser("ensemble", help="Ens*k: average the saved test probabilities of members")
    p.add_argument("--members", nargs="+", required=True, help="member folders holding predictions.npz")
    p.add_argument("--out", required=True, help="metrics.json to write")
    p.add_argument("--name", help="member name of the ensemble (default: the output's folder name)")
    p.add_argument("--code", help="code fingerprint to record in metrics.json (the workflow passes its rule's)")
    p.set_defaults(run=_cmd_ensemble)

    p = sub.add_parser("evaluate", help="score a model.pt on its dataset's test split")
    p.add_argument("checkpoint")
    p.add_argument("--data-root", help="the dataset's folder (ptb: its ptb/ subfolder), instead of the checkpoint's root and "
                                       "folder; without it those must lie inside the working directory")
    p.add_argument("--download", action="store_true", help="download the dataset when its files are missing "
                                                           "(the checkpoint's download setting is not used)")
    p.add_argument("--device", default="auto")
    p.set_defaults(run=_cmd_evaluate)

    p = sub.add_parser("table", help="tables (csv, md, tex) of a study's metrics")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--paper", help="paper numbers as JSON {lineage: {column: value}} or @file")
    p.add_argument("--stem", help="write only this table (table, table_nll, ..., table_paper, table_fidelity); default: all of "
                                  "the task's (table_fidelity only by name: it reads the predictions.npz beside each metrics file)")
    p.set_defaults(run=_cmd_table)

    p = sub.add_parser("plot", help="plots (png) of a study's metrics")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--equivalence-margin", type=float, default=None, metavar="X",
                   help="shade ±X in the forest plot (the study's claims.equivalence_margin)")
    p.set_defaults(run=_cmd_plot)

    p = sub.add_parser("claims", help="the paper's claims tested on a study's metrics (claims.md, claims.json, scores.csv)")
    p.add_argument("--metrics", nargs="+", required=True)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--equivalence-margin", type=float, default=None, metavar="X",
                   help="a row whose 95%% interval contains 0 and lies within [-X, +X] (score units) reads "
                        "'no effect larger than X' (default: no margin)")
    p.set_defaults(run=_cmd_claims)

    p = sub.add_parser("regime", help="the regime map of a sweep (regime.csv, regime.md, regime.png)")
    p.add_argument("--sweep", required=True, help="the sweep's name")
    p.add_argument("--cells", required=True, help="JSON list of [cell study name, {factor path: value}], in grid order")
    p.add_argument("--predictions", default="[]",
                   help="JSON list of the sweep's predictions, {claim, expect, why, cells: [cell names]} (ban.sweeps.predictions_of)")
    p.add_argument("--claims", nargs="+", required=True, help="results/<cell>/claims.json of every cell")
    p.add_argument("--metrics", nargs="+", required=True, help="every metrics.json of the cells")
    p.add_argument("--out", required=True, help="output folder (results/<sweep>)")
    p.set_defaults(run=_cmd_regime)

    p = sub.add_parser("publish", help="copy a sweep's regime map and its cells' claims, table and scores.csv into a folder")
    p.add_argument("--sweep", required=True, help="the sweep's name")
    p.add_argument("--to", required=True, help="destination folder (docs/regimes/<sweep>)")
    p.add_argument("--results", default="results", help="the results folder (default: results)")
    p.set_defaults(run=_cmd_publish)

    p = sub.add_parser("record", help="record the sha256 of files a report job wrote (.snakemake/ban/written), so that "
                                      "a later edit of one is noticed and the file rebuilt")
    p.add_argument("files", nargs="+")
    p.set_defaults(run=_cmd_record)

    p = sub.add_parser("status", help="members of each study: missing, finished, or finished on older code")
    p.add_argument("--configfile", default="config.yaml", help="study config (default: config.yaml)")
    p.set_defaults(run=_cmd_status)
    p = sub.add_parser("summary", help="per study: the summary of its claims.md and where its tables, claims and plots are")
    p.add_argument("--configfile", default="config.yaml", help="study config (default: config.yaml)")
    p.add_argument("--results", default="results", help="the results folder (default: results)")
    p.set_defaults(run=_cmd_summary)
    p = sub.add_parser("store", help="the store of finished trainings: its size; --prune lists (and with --yes deletes) "
                                     "the entries no member folder uses")
    p.add_argument("--prune", action="store_true", help="list the entries no member folder uses (and stale temporary folders)")
    p.add_argument("--yes", action="store_true", help="with --prune: delete them")
    p.set_defaults(run=_cmd_store)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ValueError, FileNotFoundError, KeyError) as err:
        message = str(err).splitlines()[0] if str(err) else type(err).__name__
        if isinstance(err, KeyError):
            message = f"missing key {message}"
        print(f"error: {message}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`python -m ban status | head`): stop quietly, as Unix tools do
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error when Python flushes stdout
        return 141
    return 0
