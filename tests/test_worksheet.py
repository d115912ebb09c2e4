"""The worksheet fills in: every blank of Part B can be read off the output of the commands it gives.

The worksheet's Part B gives a `negsim compare ... --table` command and two
tables to fill: each scenario's P(agreement) with its interval, its commonest
class and its median month, and the baseline's stages. The test runs the
worksheet's own command (its output folder moved to a temporary one) and
reads every blank off the printed "Each scenario" table; the runs it points to
with `negsim explain` must tell what the worksheet says they tell.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest

from sim.cli import main
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
WORKSHEET = ROOT / "docs" / "teaching" / "worksheet.md"

# The worksheet's columns and rows, and the column of "Each scenario" each is read from.
RESULT_COLUMNS = {"P(agreement) (95% interval)": "P(agreement) (95% interval)",
                  "commonest class": "commonest class (share of runs)",
                  "median month": "settlement month median (p10-p90)"}
STAGE_ROWS = {"a partial deal": "partial deal", "a ceasefire": "cease- fire",
              "a settlement": "P(agreement) (95% interval)", "relapse (among settlements)": "settlements relapsed"}
PERCENT = r"\d{1,3}\.\d%"
READ = {"P(agreement) (95% interval)": rf"^{PERCENT} \({PERCENT}-{PERCENT}\)$",
        "commonest class (share of runs)": rf"^(?P<cls>\w+) \({PERCENT}\)$",
        "settlement month median (p10-p90)": r"^\d+ \(\d+-\d+\)$",
        "partial deal": rf"^{PERCENT}$", "cease- fire": rf"^{PERCENT}$", "settlements relapsed": rf"^{PERCENT}$"}


def _part(name: str) -> str:
    text = WORKSHEET.read_text(encoding="utf-8")
    start = text.index(f"## Part {name}")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else None]


def _tables(text: str) -> list[list[list[str]]]:
    """The markdown tables of a text: rows of cells, the header first, the rule dropped."""
    tables, rows = [], []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= set("-: ") for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows)
            rows = []
    return tables


def _printed_table(text: str, title: str) -> dict[str, dict[str, str]]:
    """A rich table printed under ``title``: {first cell: {column header: cell}} (multi-line headers joined)."""
    lines = text[text.index(title):].splitlines()
    end = next(i for i, line in enumerate(lines[1:], 1) if line.startswith("└"))
    body = [line for line in lines[1:end] if line.startswith(("┃", "│"))]
    head = [line for line in body if line.startswith("┃")]
    split = [[c.strip() for c in line.strip("┃│").split(line[0])] for line in body]
    headers = [" ".join(filter(None, parts)) for parts in zip(*split[:len(head)], strict=True)]
    return {cells[0]: dict(zip(headers, cells, strict=True)) for cells in split[len(head):]}


def _command(part: str, verb: str) -> list[str]:
    lines = [m.group(1) for m in re.finditer(r"^ {4,}(negsim .*)$", part, flags=re.M)]
    return shlex.split(next(line for line in lines if line.split()[1] == verb))


@pytest.fixture(scope="module")
def each_scenario(tmp_path_factory):
    argv = _command(_part("B"), "compare")
    assert "--table" in argv, "Part B's compare command must print each scenario's own table"
    argv[argv.index("--out") + 1] = str(tmp_path_factory.mktemp("class"))
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        assert main(argv[1:]) == 0
    return _printed_table(buffer.getvalue(), "Each scenario"), argv


def test_every_blank_of_part_b_is_read_off_the_command_it_gives(each_scenario):
    table, argv = each_scenario
    results = next(t for t in _tables(_part("B")) if "P(agreement) (95% interval)" in t[0])
    asked = [c for c in results[0][1:] if c in RESULT_COLUMNS]
    assert asked == list(RESULT_COLUMNS), f"the worksheet's columns changed: map them in RESULT_COLUMNS ({results[0]})"
    for row in results[1:]:
        name = row[0].strip("`")
        assert name in table, f"the worksheet asks about {name}, which its command does not print"
        classes = {c.name for c in load_scenario(ROOT / "scenarios" / f"{name}.yaml").model.outcome_classes}
        for column in asked:
            cell = table[name][RESULT_COLUMNS[column]]
            match = re.match(READ[RESULT_COLUMNS[column]], cell)
            assert match, f"{name}, {column}: cannot read {cell!r}"
            if "cls" in match.groupdict():
                assert match["cls"] in classes, cell
    assert {f"scenarios/{row[0].strip('`')}.yaml" for row in results[1:]} <= set(argv)


def test_the_stage_table_is_read_off_the_baseline_row(each_scenario):
    table, _ = each_scenario
    stages = next(t for t in _tables(_part("B")) if t[0][0] == "stage")
    assert [row[0] for row in stages[1:]] == list(STAGE_ROWS)
    for stage, column in STAGE_ROWS.items():
        cell = table["baseline"][column]
        if column.startswith("P(agreement)"):
            cell = cell.split(" (")[0]
        assert re.match(rf"^{PERCENT}$", cell), f"{stage}: cannot read {cell!r}"


def test_the_runs_the_worksheet_points_to_tell_what_it_says(capsys):
    """Replicate 7 of the baseline settles and relapses; replicate 3 has a ceasefire refused or agreed."""
    text = _part("B")
    told = dict(re.findall(r"--seed 1\s+--replicate (\d+)`\s+tells? ([^(;]+)", text.replace("\n", " ")))
    assert set(told) == {"7", "3"}, told
    assert main(["explain", "scenarios/baseline.yaml", "--seed", "1", "--replicate", "7"]) == 0
    seven = capsys.readouterr().out
    assert re.search(r"relaps", seven, flags=re.I) and re.search(r"settle", seven, flags=re.I)
    assert main(["explain", "scenarios/baseline.yaml", "--seed", "1", "--replicate", "3"]) == 0
    three = capsys.readouterr().out
    assert "Ceasefire refused" in three or "Ceasefire agreed" in three


# Part C's right-hand column ("the model's distribution (end screen)"): each blank and how the end screen says it.
PART_C = {"P(agreement) =": r"the model reached a settlement in (\d+)%",
          "median month =": r"\(median month (\d+(?:\.5)?);",
          "share of the model's deals worse for your side": r"your deal is better for kyiv than (\d+)% in its terms only",
          "share of the model's settlements that broke down =": r"; (\d+)% of them broke down before month"}


def test_every_blank_of_part_c_is_read_off_the_end_screen():
    """Part C asks, after the game, for the model's P(agreement), its median month, the share of its deals worse for
    the player's side and the share of its settlements that broke down: the end screen of `negsim play` says each
    (here a Ukrainian public that ratifies Moscow's offer of month 5 in replicate 1349, a game that settles)."""
    from rich.console import Console

    from sim.play import ending, game
    from sim.play.terminal import end_screen
    from sim.scenario.compile import compile_scenario

    text = _part("C")
    assert "negsim play scenarios/classroom.yaml --as" in text
    table = next(t for t in _tables(text) if t[0][0] == "" and "end screen" in t[0][2])
    blanks = [row[2] for row in table[1:]]
    for blank in PART_C:
        assert any(b.startswith(blank) for b in blanks), f"Part C no longer asks {blank!r}: {blanks}"
    c = compile_scenario(load_scenario(ROOT / "scenarios" / "classroom.yaml"))
    batch = game.distribution(c, 1, 300)
    g = game.play_scripted(c, 1, 1349, ["ukraine_public"],
                           game.parse_moves("5 ukraine_public ratify\n", "m", c, ["ukraine_public"]))
    screen = Console(file=io.StringIO(), width=80, record=True)
    for item in end_screen(c, ending.compare(g, batch)):
        screen.print(item)
    said = " ".join(screen.export_text().split())
    deals = batch[batch["outcome"] == "agreement"]
    truth = {"P(agreement) =": round(100 * (batch["outcome"] == "agreement").mean()),
             "median month =": float(deals["agreement_month"].median()),
             "share of the model's deals worse for your side": round(
                 100 * (deals["utility_kyiv"] < float(g.row["utility_kyiv"]) - 1e-12).mean()),
             "share of the model's settlements that broke down =": round(100 * deals["relapse_month"].notna().mean())}
    for blank, pattern in PART_C.items():
        found = re.search(pattern, said)
        assert found, f"the end screen does not say {blank!r}: {said[:600]}"
        assert float(found[1]) == pytest.approx(truth[blank], abs=0.5 if blank != "median month =" else 0), blank
