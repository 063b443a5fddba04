"""The CLI end to end: list, run (quick profile), outputs, resume, and one-line errors with exit 2."""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_list_shows_models_and_datasets_without_tensorflow():
    code = ("import sys; from benchmarks.cli import main; rc = main(['list']); "
            "assert 'tensorflow' not in sys.modules, 'list imported TensorFlow'; sys.exit(rc)")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    for name in ("dnn", "cnn", "mobilenet_v2_hub", "logreg", "random_forest",
                 "breastmnist", "breastmnist_64", "golub", "wisconsin"):
        assert name in out.stdout
    assert "bundled" in out.stdout and "expression" in out.stdout


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--model", "nope", "--dataset", "golub"], "unknown model 'nope'; valid models: cnn, dnn"),
        (["run", "--model", "dnn", "--dataset", "nope"], "unknown dataset 'nope'; valid datasets:"),
        (["run", "--model", "cnn", "--dataset", "golub"], "valid models for it: dnn, logreg, random_forest"),
        (["run", "--model", "dnn", "--dataset", "golub", "--profile", "huge"], "invalid choice: 'huge'"),
        (["run", "--model", "dnn", "--dataset", "golub", "--hp", "dnn.nope=1"], "no hyper-parameter nope"),
        (["run", "--model", "dnn", "--dataset", "golub", "--seeds", "a,b"], "expected integers"),
        (["run", "--model", "dnn", "--dataset", "golub", "--target", "val_acc=0.9"], "METRIC one of"),
        (["run", "--model", "dnn", "--dataset", "golub", "--cv", "5"], "golub' has an official split"),
        (["run"], "say what to run"),
    ],
)
def test_bad_input_one_line_exit_2(argv, message, capsys, tmp_path):
    rc = main(argv + ["--output", str(tmp_path / "r")])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "r").exists()  # nothing half-written


def test_hp_and_recipe_values_take_true_false_in_any_case():
    from benchmarks.commands.run import parse_hparams

    got = parse_hparams(["m.a=true", "m.b=FALSE", "m.c=True", "m.d=0.5", "m.e=(1, 2)", "m.f=adam"])
    assert got == {"m": {"a": True, "b": False, "c": True, "d": 0.5, "e": (1, 2), "f": "adam"}}
    assert parse_hparams(["m.x=true"], flag="--recipe")["m"]["x"] is True


def test_shadowing_package_is_reported(tmp_path):
    fake = tmp_path / "datasets"
    fake.mkdir()
    (fake / "__init__.py").write_text("")  # e.g. Hugging Face 'datasets' earlier on sys.path
    code = f"import sys; sys.path.insert(0, {str(tmp_path)!r}); from benchmarks.cli import main; " \
           "sys.exit(main(['list']))"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "resolves to another package" in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_run_quick_end_to_end_and_resume(tmp_path, capsys):
    out_dir = tmp_path / "run"
    argv = ["run", "--model", "logreg,dnn", "--dataset", "wisconsin", "--profile", "quick",
            "--output", str(out_dir)]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "[1/2] logreg on wisconsin seed 0" in captured.err
    table = captured.out
    for col in ("dataset", "model", "accuracy", "macro-F1", "ROC-AUC", "train (s)", "device"):
        assert col in table
    assert "wisconsin" in table and "logreg" in table and "dnn" in table
    doc = json.loads((out_dir / "results.json").read_text())
    assert doc["schema_version"] == 1 and len(doc["records"]) == 2
    assert doc["meta"]["environment"]["control"]["matmul_gflops"] > 0
    assert {r["model"] for r in doc["records"]} == {"logreg", "dnn"}
    assert (out_dir / "results.csv").read_text().startswith("schema_version") or \
        "accuracy" in (out_dir / "results.csv").read_text().splitlines()[0]
    assert "| wisconsin" in (out_dir / "summary.md").read_text()
    # a rerun into the same folder resumes: nothing is retrained
    assert main(argv) == 0
    assert "2 of 2 runs already done" in capsys.readouterr().err
    assert len(json.loads((out_dir / "results.json").read_text())["records"]) == 2


def test_run_all_plans_every_compatible_pair():
    from benchmarks.execution.runner import plan_pairs
    from datasets import LoadOptions

    plan = plan_pairs(None, None, LoadOptions())
    pairs = {(m.name, d.name) for m, d in plan.pairs}
    assert ("dnn", "golub") in pairs and ("cnn", "breastmnist") in pairs
    assert ("mobilenet_v2_hub", "breastmnist_64") in pairs and ("logreg", "wisconsin") in pairs
    assert ("cnn", "golub") not in pairs and ("dnn", "breastmnist") not in pairs


# ----------------------------------------------------------------------------- the parser

HEAVY = ("tensorflow", "keras", "matplotlib", "scipy")


def test_version_prints_oncobench_version_and_exits_0(capsys):
    import benchmarks

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"oncobench {benchmarks.__version__}"


def test_pyproject_reads_the_version_from_the_package():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in text and 'attr = "benchmarks.__version__"' in text
    assert "\nversion = \"" not in text  # one source of the version


@pytest.mark.parametrize("prog", ["oncobench", "python -m benchmarks"])
def test_program_name_in_usage(prog, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"], prog=prog)
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: {prog} [-h]")


def test_default_program_name_is_the_console_script(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    assert capsys.readouterr().out.startswith("usage: oncobench run ")


def test_python_m_benchmarks_names_itself():
    out = subprocess.run([sys.executable, "-m", "benchmarks", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("usage: python -m benchmarks [-h]")


def _subcommands() -> list[list[str]]:
    from benchmarks.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [[name] for name in sub.choices] + [["baseline", "save"], ["baseline", "list"]]


def test_every_command_module_registers():
    from benchmarks.commands import COMMAND_MODULES

    names = []
    for module in COMMAND_MODULES:
        sub = argparse.ArgumentParser().add_subparsers()
        importlib.import_module(module).register(sub)
        assert len(sub.choices) == 1, module
        name, parser = next(iter(sub.choices.items()))
        assert callable(parser.get_default("func")) or name == "baseline", module  # baseline: per action
        names.append(name)
    assert names == ["list", "run", "download", "baseline", "compare", "ab", "report", "rank", "explain",
                     "export", "deploy", "serve", "tune", "speed"]


@pytest.mark.parametrize("argv", _subcommands(), ids=" ".join)
def test_help_of_every_command(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: oncobench {' '.join(argv)}")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["run", "--help"]], ids=" ".join)
def test_help_and_version_import_no_tensorflow(argv):
    code = ("import contextlib, io, sys; from benchmarks.cli import main\n"
            "try:\n"
            f"    with contextlib.redirect_stdout(io.StringIO()): main({argv!r})\n"
            "except SystemExit as exc:\n"
            "    assert exc.code == 0, exc.code\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; assert not heavy, heavy")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
