"""Flow files → flows: the format recognised (or forced), each line read by its
format's parser, every bad line a located diagnostic (``file:line: field:
message``), within bounds (docs/limits.md, "Flow files").

A format's parser reads one line and returns a Flow, a skip reason (a line that
is no flow record: an agent's other log lines, ICMP, VPC NODATA) or raises
``LineError`` with the field and the message. The header of a VPC Flow Log in a
custom format is the only state a format keeps between lines.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator

from netfence.errors import InvalidInputError
from netfence.model.diagnostics import Diagnostic, Source, error
from netfence.model.flows import Flow, FlowFile, FlowFormat, FlowOrigin, FlowSkip
from netfence.parse.flows_common import LineError, Skip
from netfence.parse.flows_eks import looks_like_eks, parse_eks_line
from netfence.parse.flows_json import looks_like_hubble, parse_hubble_line, parse_netfence_line
from netfence.parse.flows_vpc import VpcReader, looks_like_vpc

MAX_FLOW_LINE_CHARS = 65_536  # one record: a Hubble flow with many labels is a few KiB
MAX_FLOW_RECORDS = 5_000_000  # flow records (lines that are flows) in one file
MAX_FLOW_ERRORS = 100  # bad lines reported before the reading stops
DETECT_LINES = 1_000  # non-empty lines looked at to recognise the format

LineParser = Callable[[str, FlowOrigin], Flow | Skip]


def read_flows(text: str, file: str, forced: FlowFormat | None = None) -> FlowFile:
    """Every flow of ``text`` (the content of ``file``), in the format ``forced``
    or the one recognised; InvalidInputError with every bad line (up to
    MAX_FLOW_ERRORS) when any line is bad."""
    fmt = forced or detect_format(text, file)
    parse_line = _parser(fmt)
    flows: list[Flow] = []
    skipped: Counter[str] = Counter()
    errors: list[Diagnostic] = []
    for number, line in _lines(text):
        where = FlowOrigin(file, number)
        if len(line) > MAX_FLOW_LINE_CHARS:
            errors.append(
                _located(where, None, f"line longer than {MAX_FLOW_LINE_CHARS} characters")
            )
        else:
            try:
                result = parse_line(line, where)
            except LineError as exc:
                errors.append(_located(where, exc.field, exc.message))
            else:
                if isinstance(result, Skip):
                    skipped[result.reason] += 1
                else:
                    flows.append(result)
                    if len(flows) > MAX_FLOW_RECORDS:
                        raise _too_many(where)
        if len(errors) >= MAX_FLOW_ERRORS:
            errors.append(error(f"stopped after {MAX_FLOW_ERRORS} bad lines", Source(file, 0)))
            break
    if errors:
        raise InvalidInputError(errors)
    skips = tuple(FlowSkip(reason, n) for reason, n in sorted(skipped.items()))
    return FlowFile(file, fmt, tuple(flows), skips)


def detect_format(text: str, file: str) -> FlowFormat:
    """The format of the first non-empty lines that one of the formats recognises."""
    looked = 0
    for _number, line in _lines(text):
        if len(line) > MAX_FLOW_LINE_CHARS:
            break
        found = _recognise(line)
        if found is not None:
            return found
        looked += 1
        if looked >= DETECT_LINES:
            break
    where = Source(file, 0)
    if looked == 0:
        raise InvalidInputError([error("no flow records (the file is empty)", where)])
    raise InvalidInputError(
        [
            error(
                "not a flow file netfence recognises (netfence audit records, Hubble JSON, "
                "the EKS network policy agent's log, VPC Flow Logs with their header); "
                "give --format to force one",
                where,
            )
        ]
    )


def _recognise(line: str) -> FlowFormat | None:
    stripped = line.lstrip()
    if stripped.startswith("{"):
        if '"netfence.flow"' in stripped:
            return FlowFormat.NETFENCE
        if looks_like_hubble(stripped):
            return FlowFormat.HUBBLE
    if looks_like_eks(stripped):
        return FlowFormat.EKS
    if looks_like_vpc(stripped):
        return FlowFormat.VPC
    return None


def _parser(fmt: FlowFormat) -> LineParser:
    if fmt is FlowFormat.NETFENCE:
        return parse_netfence_line
    if fmt is FlowFormat.HUBBLE:
        return parse_hubble_line
    if fmt is FlowFormat.EKS:
        return parse_eks_line
    return VpcReader().parse_line  # keeps the header it reads


def _lines(text: str) -> Iterator[tuple[int, str]]:
    """Non-empty lines with their 1-based numbers, one at a time (no list of every
    line of a large file)."""
    start, number = 0, 0
    while start < len(text):
        end = text.find("\n", start)
        if end < 0:
            end = len(text)
        number += 1
        line = text[start:end].rstrip("\r")
        start = end + 1
        if line.strip():
            yield number, line


def _located(where: FlowOrigin, field: str | None, message: str) -> Diagnostic:
    return error(message, Source(where.format(), 0), field=field)


def _too_many(where: FlowOrigin) -> InvalidInputError:
    message = f"more than {MAX_FLOW_RECORDS:,} flow records in one file (docs/limits.md)"
    return InvalidInputError([_located(where, None, message)])
