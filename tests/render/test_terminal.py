"""Terminal output: control characters, bidirectional controls and lone surrogates of
the data are shown as escapes, never sent raw; JSON goes through unchanged."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import click
import pytest

from netfence.render.terminal import SafeStream, install, raw, safe_line, safe_text

ESC = "\x1b"

SAFE_TEXT = [
    # (text, keep_sgr, shown)
    ("plain ns/name 80/TCP", False, "plain ns/name 80/TCP"),
    ("lines\nand\ttabs stay", False, "lines\nand\ttabs stay"),
    ("café ✓ ✗ · 😀", False, "café ✓ ✗ · 😀"),  # printable non-ASCII stays
    ("a\x00b", False, "a\\x00b"),
    ("bell\x07", False, "bell\\x07"),
    ("over\rwrite", False, "over\\x0dwrite"),  # a carriage return could hide a line's start
    ("back\bspace", False, "back\\x08space"),
    ("vt\x0bff\x0c", False, "vt\\x0bff\\x0c"),
    (f"{ESC}[2Jclear", False, "\\x1b[2Jclear"),
    (f"{ESC}]0;title{ESC}\\", False, "\\x1b]0;title\\x1b\\"),  # OSC: window title
    (f"{ESC}]52;c;cHduZWQ=\x07", False, "\\x1b]52;c;cHduZWQ=\\x07"),  # OSC 52: clipboard
    ("del\x7f", False, "del\\x7f"),
    ("c1 csi\x9b2J nel\x85", False, "c1 csi\\x9b2J nel\\x85"),
    ("rtl\u202eexe.txt", False, "rtl\\u202eexe.txt"),  # right-to-left override
    ("iso\u2066late\u2069", False, "iso\\u2066late\\u2069"),
    ("sep\u2028par\u2029", False, "sep\\u2028par\\u2029"),
    ("lone\udcff", False, "lone\\udcff"),
    ("high\ud83d", False, "high\\ud83d"),
    # On a terminal: colour and bold pass, nothing else does.
    (f"{ESC}[1;31mred{ESC}[0m", True, f"{ESC}[1;31mred{ESC}[0m"),
    (f"{ESC}[1;31mred{ESC}[0m", False, "\\x1b[1;31mred\\x1b[0m"),
    (f"{ESC}[2J{ESC}[31m", True, f"\\x1b[2J{ESC}[31m"),  # erase screen: not colour
    (f"{ESC}[1A{ESC}[K", True, "\\x1b[1A\\x1b[K"),  # cursor up, erase line
    (f"{ESC}]0;t\x07{ESC}[m", True, f"\\x1b]0;t\\x07{ESC}[m"),
    (f"{ESC}[31", True, "\\x1b[31"),  # unfinished
    ("a\rb", True, "a\\x0db"),
]


@pytest.mark.parametrize(("text", "keep_sgr", "shown"), SAFE_TEXT)
def test_safe_text(text: str, keep_sgr: bool, shown: str) -> None:
    assert safe_text(text, keep_sgr=keep_sgr) == shown


def test_safe_line_keeps_text_on_one_line() -> None:
    assert safe_line("a\nb\tc\rd\x1b") == "a\\nb\\tc\\x0dd\\x1b"


def test_safe_text_leaves_no_control_character() -> None:
    every = "".join(chr(c) for c in range(0x100)) + "\u2028\u2029\u202a\u202e\u2066\u2069\udc80"
    shown = safe_text(every)
    assert {c for c in shown if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F} == {"\t", "\n"}
    shown.encode("utf-8")  # no lone surrogate left
    assert safe_text(shown) == shown  # nothing left to escape


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


HOSTILE = f"shop/web{ESC}]0;pwned\x07{ESC}[2J\r\u202e\udcff"


def test_stream_escapes_what_it_is_given() -> None:
    out = io.StringIO()
    stream = SafeStream(out)
    assert stream.write(HOSTILE) == len(HOSTILE)
    stream.flush()
    assert out.getvalue() == "shop/web\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\u202e\\udcff"


def test_click_echo_through_the_stream() -> None:
    out = io.StringIO()
    click.echo(f"pod {HOSTILE}: ok", file=SafeStream(out))
    click.secho("bold", bold=True, file=SafeStream(out))  # no terminal: click drops the style
    assert out.getvalue() == (
        "pod shop/web\\x1b]0;pwned\\x07\\x0d\\u202e\\udcff: ok\n"  # click drops ESC [2J itself
        "bold\n"
    )


def test_on_a_terminal_colours_pass_and_nothing_else() -> None:
    out = Terminal()
    stream = SafeStream(out)
    assert stream.isatty()
    click.secho("denied", fg="red", bold=True, file=stream)
    click.echo(HOSTILE, file=stream)
    assert out.getvalue() == (
        f"{ESC}[31m{ESC}[1mdenied{ESC}[0m\nshop/web\\x1b]0;pwned\\x07\\x1b[2J\\x0d\\u202e\\udcff\n"
    )


def test_click_does_not_write_around_the_stream() -> None:
    """click looks for a binary ``buffer`` behind a stream it finds misconfigured
    (an ASCII one); the stream has none and refuses bytes, so click writes to it."""
    binary = io.BytesIO()
    ascii_out = io.TextIOWrapper(binary, encoding="ascii", errors="strict")
    stream = SafeStream(ascii_out)
    with pytest.raises(TypeError):
        stream.write(b"")  # type: ignore[arg-type]
    assert not hasattr(stream, "buffer")
    click.echo(f"✓ {HOSTILE}", file=stream)
    ascii_out.flush()
    assert binary.getvalue() == (
        b"\\u2713 shop/web\\x1b]0;pwned\\x07\\x0d\\u202e\\udcff\n"  # not encodable: escaped
    )


@pytest.mark.parametrize("terminal", [False, True])
def test_json_goes_through_unchanged(terminal: bool) -> None:
    data = {"name": HOSTILE, "message": 'a\tb\nc \u2028 ✓ "q" \\', "n": [1, None, True]}
    for text in (json.dumps(data, indent=2), json.dumps(data)):
        out = Terminal() if terminal else io.StringIO()
        click.echo(text, file=SafeStream(out))
        assert out.getvalue() == text + "\n"
        assert json.loads(out.getvalue()) == data


def test_install_wraps_stdout_and_stderr_once(monkeypatch: pytest.MonkeyPatch) -> None:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    install()
    install()
    assert isinstance(sys.stdout, SafeStream) and raw(sys.stdout) is out
    assert isinstance(sys.stderr, SafeStream) and raw(sys.stderr) is err
    click.echo(f"out {HOSTILE}")
    click.echo(f"err {HOSTILE}", err=True)
    print(f"print {HOSTILE}")
    print(f"print {HOSTILE}", file=sys.stderr)
    assert raw(out) is out  # not wrapped: itself
    for written in (out.getvalue(), err.getvalue()):
        assert ESC not in written and "\r" not in written and "\udcff" not in written
        assert "shop/web\\x1b]0;pwned\\x07" in written


# The CLI with install() at its start, as main() will do: matrix, lint and an error
# message print a hostile Pod name; strict UTF-8 output, as in a UTF-8 locale.
CLI = "import sys; from netfence.render.terminal import install; install(); from netfence.cli.main import main; sys.argv[0] = 'netfence'; main()"
# The same CLI with the seam disabled, as it was before main() called install().
BARE = "import sys; import netfence.render.terminal as t; t.install = lambda: None; from netfence.cli.main import main; sys.argv[0] = 'netfence'; main()"
POD = """{"apiVersion": "v1", "kind": "Pod",
 "metadata": {"name": "web\\u001b]0;pwned\\u0007\\u001b[2J\\r\\u202e\\udcff", "namespace": "shop", "labels": {"app": "web"}},
 "spec": {"containers": [{"name": "c", "ports": [{"containerPort": 80}]}]},
 "status": {"podIP": "10.0.0.1"}}
"""


def _run(args: list[str], installed: bool, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONIOENCODING": "utf-8:strict", "NO_COLOR": "1"}
    env.pop("NETFENCE_DEBUG", None)
    head = ["-c", CLI if installed else BARE]
    return subprocess.run(
        [sys.executable, *head, *args], capture_output=True, cwd=cwd, env=env, timeout=60
    )


@pytest.mark.parametrize(
    "args",
    [
        ["matrix", "-f", "pod.json"],
        ["matrix", "-f", "pod.json", "-o", "csv"],
        ["matrix", "-f", "pod.json", "-o", "dot"],
        ["check", "10.0.0.1", "10.0.0.1", "--port", "80", "-f", "pod.json"],
        ["check", "shop/web", "shop/nothing", "--port", "80", "-f", "pod.json"],
        ["lint", "-f", "pod.json"],
        ["validate", "-f", "pod.json"],
    ],
)
def test_cli_output_carries_no_control_character(args: list[str], tmp_path: Path) -> None:
    (tmp_path / "pod.json").write_text(POD)
    result = _run(args, installed=True, cwd=tmp_path)
    assert result.returncode in (0, 1, 2), result.stderr
    for stream in (result.stdout, result.stderr):
        text = stream.decode("utf-8")  # valid UTF-8: no lone surrogate was written
        assert not {c for c in text if ord(c) < 0x20 and c not in "\n\t"}
        assert "\x1b" not in text and "\u202e" not in text
        assert "internal error" not in text and "Traceback" not in text


def test_without_the_stream_the_cli_prints_the_control_characters(tmp_path: Path) -> None:
    """What the stream prevents. Validation now rejects such names in manifests, but
    text from elsewhere still reaches messages: here a file name (from a directory
    walk or a glob) carrying an OSC sequence and a byte that is not UTF-8."""
    name = os.fsdecode(b"bad\x1b]0;pwned\x07\xff.yaml")
    (tmp_path / name).write_text('kind: Pod\nmetadata: {name: "x y"}\n')
    validate = ["validate", "-f", str(tmp_path)]
    before = _run(validate, installed=False, cwd=tmp_path)
    after = _run(validate, installed=True, cwd=tmp_path)
    assert before.returncode == after.returncode == 1
    assert b"\x1b]0;pwned\x07" in before.stderr
    assert b"\x1b" not in after.stderr and b"\x07" not in after.stderr
    assert b"bad\\x1b]0;pwned\\x07\\udcff.yaml: doc 1: Pod default/x y" in after.stderr


def test_progress_keeps_its_own_carriage_return(monkeypatch: pytest.MonkeyPatch) -> None:
    """The progress line rewrites itself with a carriage return of its own: it writes
    to the stream under the SafeStream, so install() does not break it."""
    from netfence.cli.progress import phase

    err = Terminal()
    monkeypatch.setattr(sys, "stdout", io.StringIO())
    monkeypatch.setattr(sys, "stderr", err)
    install()
    with phase("loading manifests"):
        pass
    assert re.fullmatch(r"loading manifests…\rloading manifests: \d+\.\d s\n", err.getvalue())
