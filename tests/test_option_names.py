"""One meaning per option name: across every sub-command (and sub-sub-command) of the parser, an
option string has one kind of action, one type, one set of choices and one arity. Deprecated
spellings (hidden from --help, with a one-line notice) are the only exception."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.cli import build_parser


def parsers(parser: argparse.ArgumentParser, path: str = ""):
    """(command path, parser) for the parser and every sub-parser below it."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from parsers(sub, f"{path} {name}".strip())


def meaning(action: argparse.Action) -> tuple:
    kind = type(action).__name__
    typ = getattr(action.type, "__name__", repr(action.type))
    return kind, typ, tuple(action.choices or ()), action.nargs, action.const


def options_by_name() -> dict[str, dict[tuple, list[str]]]:
    found: dict[str, dict[tuple, list[str]]] = {}
    for path, parser in parsers(build_parser()):
        for action in parser._actions:
            if action.help == argparse.SUPPRESS or isinstance(action, argparse._HelpAction):
                continue
            for option in action.option_strings:
                found.setdefault(option, {}).setdefault(meaning(action), []).append(path or "(top)")
    return found


def test_every_option_name_has_one_meaning():
    clashes = {name: means for name, means in options_by_name().items() if len(means) > 1}
    assert not clashes, "\n".join(f"{name}: " + "; ".join(f"{cmds} -> {m}" for m, cmds in means.items())
                                  for name, means in clashes.items())


def test_the_shared_options_are_where_users_expect_them():
    found = options_by_name()
    for name, commands in {"--model": {"run", "ab", "speed", "tune"},
                           "--epochs": {"run", "ab", "speed", "tune"},
                           "--output": {"run", "ab", "tune", "report"},
                           "--output-file": {"ab", "compare", "speed"},
                           "--plugin": {"run", "report", "compare", "export mlflow", "tune", "speed"},
                           "--jit-compile": {"run", "speed"}}.items():
        where = {c for cmds in found[name].values() for c in cmds}
        assert commands <= where, (name, commands - where)


def test_a_clash_is_found():
    """The check is not vacuous: an option registered with two meanings is reported."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.choices["report"].add_argument("--jobs", type=float)
    clashes = {}
    for _, p in parsers(parser):
        for action in p._actions:
            for option in action.option_strings:
                clashes.setdefault(option, set()).add(meaning(action))
    assert len(clashes["--jobs"]) == 2


@pytest.mark.parametrize("argv,dest,value,notice", [
    (["ab", "HEAD~1", "--repeats", "2"], "best_of", 2, "--repeats is deprecated; use --best-of"),
    (["compare", "a", "b", "--output", "x.md"], "output_file", "x.md", "use --output-file"),
    (["tune", "--model", "dnn", "--dataset", "golub", "--folds", "4"], "inner_folds", 4, "use --inner-folds"),
])
def test_old_spellings_still_work_with_a_notice(argv, dest, value, notice, capsys):
    args = build_parser().parse_args(argv)
    assert getattr(args, dest) == value
    assert notice in capsys.readouterr().err


def test_every_command_help_has_examples():
    for path, parser in parsers(build_parser()):
        if path and not any(isinstance(a, argparse._SubParsersAction) for a in parser._actions):
            assert "examples:" in parser.format_help(), path
