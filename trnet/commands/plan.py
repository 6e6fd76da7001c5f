"""``trnet plan``: what a recipe run needs from its configs, trained systems and package
(library: :mod:`trnet.plan`); the recipe's shell asks it instead of reading YAML or JSON."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer

FIELDS = (
    "order",
    "jobs",
    "deps",
    "kind",
    "input",
    "needs_se",
    "train_corruptions",
    "export",
    "best",
    "dev_uar",
    "fold",
    "se_pretrained",
    "test_corruptions",
    "corruptions",
    "rev_corruptions",
)
RUN_CORRUPTIONS = ("corruptions", "rev_corruptions")
"""Fields of stage 2's corruption conditions: the test ones and the configs' training ones."""


def _words(text: str | None) -> list[str]:
    return (text or "").split()


def _value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return "" if value is None else str(value)


def register(app: typer.Typer) -> None:
    @app.command()
    def plan(
        conf_dir: Path = typer.Option(None, "--conf-dir", help="the configs: <system>.yaml"),
        systems: str = typer.Option(None, "--systems", help='systems, one word: "a b c"'),
        exp: Path = typer.Option(None, "--exp", help="the exp/ dir of trained systems"),
        folds: str = typer.Option(None, "--folds", help='folds, one word: "1 2"'),
        package: Path = typer.Option(None, "--package", help="a model package (trnet export)"),
        se_config: Path = typer.Option(None, "--se-config", help="an SE config (conf/se*.yaml)"),
        field: str = typer.Option(
            None, "--field", help=f"print one field: {', '.join(FIELDS)} (see below)"
        ),
        as_json: bool = typer.Option(False, "--json", help="everything asked, as JSON"),
        ensemble: int | None = typer.Option(
            None, "--ensemble", help="--field jobs: trnet train's --ensemble of the run"
        ),
        whole_folds: bool = typer.Option(
            False, "--whole-folds", help="--field jobs: one job per fold, members inside it"
        ),
        test_corruptions: str = typer.Option(
            None,
            "--test-corruptions",
            help='the recipe\'s test corruptions, one word: "rev mp3 tel8k clip loss" or '
            "full names (rev-0.9)",
        ),
    ) -> None:
        """What a recipe run needs: the systems in training order and what each trains on
        (--conf-dir, --systems), whether a trained system can be packaged and which one
        stage 7 packages (--exp, --folds),
        the fold a package was exported from (--package), whether an SE config's front end
        is pretrained (--se-config: trnet train-se then trains nothing and takes no training
        options), the corruption conditions stage 2 writes (--test-corruptions and the
        configs' data.train_corruptions).

        Without --field or --json: one line per system in training order (dependencies
        first), tab-separated: system, kind, input, needs_se, deps.

        --field order: the training order on one line. --field jobs (needs --folds too):
        stage 4's jobs, one per line in a valid order, space-separated: system, fold, member
        (- for the whole fold; an ensemble fold is one job per member unless --whole-folds)
        and the line numbers of the jobs it waits for (comma-separated; - for none).
        --field deps, kind (deep | egemaps_svm), input (noisy | enhanced | blend), needs_se
        (true | false; needs --conf-dir), train_corruptions (the corruption conditions it
        draws), export (needs --exp and --folds: empty when trnet export can package the
        system, else what it is), dev_uar (needs --exp and --folds: the mean dev UAR of the
        folds' .done, or "- (why it is not compared)"): one line per system of --systems,
        <system><TAB><value>, or the bare value when --systems names one. --field best
        (needs --exp and --folds): the system of --systems with the best mean dev UAR over
        the dev conditions (what stage 7 packages). --field fold: the package's fold.
        --field se_pretrained: true | false for --se-config.
        --field test_corruptions: --test-corruptions as condition names (a bare kind at its
        default level: rev-0.6, mp3-24k, opus-24k, tel8k, clip-0.1, loss-0.1). --field
        corruptions: those, then the ones the systems of --conf-dir/--systems (and their
        dependencies) train on, each once, on one line; --field rev_corruptions: the
        reverberation ones among them (they need RIRs).
        """
        from trnet import plan as lib
        from trnet.errors import TrnetError

        if field is not None and field not in FIELDS:
            raise TrnetError(f"--field: one of {', '.join(FIELDS)}, got {field!r}")
        if field is not None and as_json:
            raise TrnetError("--field and --json: give one of them")
        names = _words(systems)

        def need(ok: object, what: str) -> None:
            if not ok:
                raise TrnetError(f"{f'--field {field}' if field else 'trnet plan'} needs {what}")

        if field == "se_pretrained":
            need(se_config, "--se-config")
            typer.echo(_value(lib.se_pretrained(se_config)))
            return
        if field == "test_corruptions":
            need(test_corruptions is not None, "--test-corruptions")
            typer.echo(" ".join(lib.expand_test_corruptions(_words(test_corruptions))))
            return
        if field in RUN_CORRUPTIONS:
            need(test_corruptions is not None or (names and conf_dir), "--test-corruptions "
                 "or --conf-dir and --systems")  # fmt: skip
            found = lib.stage2_corruptions(conf_dir, names, _words(test_corruptions))
            typer.echo(" ".join(found if field == "corruptions" else lib.reverberation(found)))
            return
        if field == "fold":
            need(package, "--package")
            typer.echo(lib.package_fold(package))
            return
        if field in ("export", "best", "dev_uar"):
            need(names and exp and _words(folds), "--systems, --exp and --folds")
            numbers = _fold_numbers(folds)
            if field == "export":
                _per_system(names, lambda s: lib.package_blocker(exp / s, numbers))
            elif field == "best":
                typer.echo(lib.best_system(exp, names, numbers))
            else:
                scores = {d.system: d for d in lib.dev_scores(exp, names, numbers)}
                _per_system(names, lambda s: _dev_uar(scores[s]))
            return
        if as_json:
            typer.echo(
                json.dumps(_everything(conf_dir, names, exp, folds, package, se_config), indent=1)
            )
            return
        need(names and conf_dir, "--conf-dir and --systems")
        order = lib.train_order(conf_dir, names)
        if field == "order":
            typer.echo(" ".join(order))
        elif field == "jobs":
            need(_words(folds), "--conf-dir, --systems and --folds")
            jobs = lib.train_jobs(conf_dir, names, _fold_numbers(folds), ensemble, not whole_folds)
            for job in jobs:
                after = ",".join(str(i + 1) for i in job.after) or "-"
                member = "-" if job.member is None else job.member
                typer.echo(f"{job.system} {job.fold} {member} {after}")
        elif field == "deps":  # read, not validated (as for the order)
            from trnet.config_file import config_deps

            _per_system(names, lambda s: config_deps(lib.system_config(conf_dir, s)))
        elif field is not None:
            plans = {s: lib.describe_system(conf_dir, s) for s in names}
            _per_system(names, lambda s: getattr(plans[s], field))
        else:
            for s in order:
                p = lib.describe_system(conf_dir, s)
                row = (p.system, p.kind, p.input, p.needs_se, p.deps)
                typer.echo("\t".join(_value(v) for v in row))


def _everything(
    conf_dir: Path | None,
    names: list[str],
    exp: Path | None,
    folds: str | None,
    package: Path | None,
    se_config: Path | None,
) -> dict:
    """``--json``: the order and each system (--conf-dir), whether each can be packaged
    and their dev UAR and the best (--exp, --folds), the package's fold (--package), the
    SE config's kind (--se-config)."""
    from trnet import plan as lib
    from trnet.errors import TrnetError

    out: dict = {}
    if conf_dir is not None and names:
        out["order"] = lib.train_order(conf_dir, names)
        out["systems"] = {}
        for s in out["order"]:
            p = lib.describe_system(conf_dir, s)
            out["systems"][s] = {
                "config": str(p.config),
                "kind": p.kind,
                "input": p.input,
                "needs_se": p.needs_se,
                "deps": list(p.deps),
                "train_corruptions": list(p.train_corruptions),
            }
    if exp is not None and names and _words(folds):
        numbers = _fold_numbers(folds)
        scores = {d.system: d for d in lib.dev_scores(exp, names, numbers)}
        for s in names:
            entry = out.setdefault("systems", {}).setdefault(s, {})
            entry["export"] = lib.package_blocker(exp / s, numbers)
            entry["dev_uar"] = scores[s].dev_uar
            entry["dev_uar_why_not"] = scores[s].why_not
        if any(d.dev_uar is not None for d in scores.values()):
            out["best"] = lib.best_system(exp, names, numbers)
    if package is not None:
        out["package"] = {"fold": lib.package_fold(package)}
    if se_config is not None:
        out["se"] = {"config": str(se_config), "pretrained": lib.se_pretrained(se_config)}
    if not out:
        raise TrnetError(
            "trnet plan needs --conf-dir and --systems, --exp, --folds and --systems, "
            "--package or --se-config"
        )
    return out


def _dev_uar(score: object) -> str:
    """A system's mean dev UAR (4 decimals), or why it is not compared."""
    uar = getattr(score, "dev_uar", None)
    return f"{uar:.4f}" if uar is not None else f"- ({getattr(score, 'why_not', '')})"


def _fold_numbers(folds: str) -> list[int]:
    from trnet.errors import TrnetError

    try:
        return [int(f) for f in _words(folds)]
    except ValueError:
        raise TrnetError(f"--folds: expected fold numbers, got {folds!r}") from None


def _per_system(names: list[str], value: Callable[[str], object]) -> None:
    """One line per system (``<system><TAB><value>``), the bare value for one system."""
    for name in names:
        text = _value(value(name))
        typer.echo(text if len(names) == 1 else f"{name}\t{text}")
