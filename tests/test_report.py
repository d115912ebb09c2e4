"""`negsim report`: one self-contained HTML page of batches, a sweep or a comparison, and its PDF."""

from __future__ import annotations

import base64
import copy
import html
import json
import os
import re
import sys
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from sim.analysis.comparison import compare
from sim.cli import main
from sim.present.figures import compare_many, run_sweep
from sim.runs.batch import run_batch
from sim.scenario.loading import load_scenario
from sim.scenario.models import scenario_from_data

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"


class Page(HTMLParser):
    """Every tag with its attributes, the text of each table cell, and the page's text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.cells: list[tuple[dict[str, str], str]] = []
        self._cell: tuple[dict[str, str], list[str]] | None = None
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append((tag, a))
        if tag == "td":
            self._cell = (a, [])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cell[0], "".join(self._cell[1])))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell[1].append(data)

    def find(self, **want: str) -> list[tuple[dict[str, str], str]]:
        return [(a, t) for a, t in self.cells if all(a.get(f"data-{k.replace('_', '-')}") == v for k, v in want.items())]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Small batches and a sweep, made here: two batches that pair (seed 5), one that does not (seed 6)."""
    out = tmp_path_factory.mktemp("runs")
    base = run_batch(str(SCENARIOS / "baseline.yaml"), runs=300, seed=5, out=out).run_dir
    push = run_batch(str(SCENARIOS / "us_push_month6.yaml"), runs=300, seed=5, out=out).run_dir
    eu = run_batch(str(SCENARIOS / "eu_uk_mediation.yaml"), runs=200, seed=6, out=out).run_dir
    hawk = run_batch(str(SCENARIOS / "hawkish_public.yaml"), runs=300, seed=5, out=out).run_dir
    sweep = run_sweep(str(SCENARIOS / "baseline.yaml"), {"actors.moscow.resolve": "0.5,0.8"}, runs=80, seed=2,
                      out=out).run_dir
    bare = run_sweep(str(SCENARIOS / "baseline.yaml"), {"actors.moscow.resolve": "0.5,0.8",
                                                       "actors.kyiv.cost_sensitivity": "0.005,0.02"},
                     runs=40, seed=2, out=out, figures=False).run_dir
    saved = compare_many(base, [push], out=out).run_dir
    return {"out": out, "base": base, "push": push, "eu": eu, "hawk": hawk, "sweep": sweep, "bare_sweep": bare,
            "comparison": saved}


def report(tmp_path, *dirs, extra=()) -> tuple[str, Page]:
    html = tmp_path / "report.html"
    assert main(["report", *map(str, dirs), "--out", str(html), *extra]) == 0
    text = html.read_text(encoding="utf-8")
    return text, Page(text)


def assert_self_contained(text: str, page: Page) -> list[bytes]:
    """Every image is an embedded PNG; nothing else is fetched (no script, style sheet, frame, http)."""
    images = []
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "iframe", "object", "embed"), tag
        if tag == "img":
            src = attrs["src"]
            assert src.startswith("data:image/png;base64,"), src[:40]
            data = base64.b64decode(src.removeprefix("data:image/png;base64,"), validate=True)
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000
            images.append(data)
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith(("data:", "#")), attrs[key][:60]
    assert not re.search(r"https?://", text), re.search(r".{40}https?://.{40}", text)
    assert re.search(r"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'", text)
    return images


def test_batch_report_numbers_are_the_runs_summary(runs, tmp_path, capsys):
    text, page = report(tmp_path, runs["base"])
    assert "Report (batch, 3 figures)" in capsys.readouterr().out
    summary = json.loads((runs["base"] / "summary.json").read_text())
    manifest = json.loads((runs["base"] / "manifest.json").read_text())
    for outcome in ("no_talks", "talks_failed", "agreement"):
        v = summary["outcomes"][outcome]
        [(attrs, shown)] = page.find(outcome=outcome)
        assert float(attrs["data-p"]) == v["p"]
        assert shown == f"{100 * v['p']:.1f}%"
        found = page.find(lo=repr(v["lo"]), hi=repr(v["hi"]))  # a class no run reached shares no_talks' interval
        assert found and all(shown == f"{100 * v['lo']:.1f}% – {100 * v['hi']:.1f}%" for _, shown in found)
    seen = [k for k, v in summary["outcome_classes"].items() if v["n"] > 0 and k not in summary["outcomes"]]
    assert seen, "the batch should reach some classes of agreement"
    for name in seen:
        [(attrs, shown)] = page.find(outcome=name)
        assert float(attrs["data-p"]) == summary["outcome_classes"][name]["p"]
    for issue, options in summary["terms"].items():
        for option, share in options.items():
            [(attrs, shown)] = page.find(issue=issue, option=option)
            assert float(attrs["data-share"]) == share and shown == f"{100 * share:.1f}%"
    for measure in ("talks_month", "agreement_month"):
        d = summary[measure]
        [(attrs, shown)] = page.find(measure=measure, share=repr(d["share"]))
        medians = [t for a, t in page.find(median=repr(d["median"]))]
        assert f"{d['median']:.0f}" in medians
    land = summary["land_km2"]
    [(attrs, shown)] = page.find(median=repr(land["median"]))
    assert shown == f"{land['median']:+,.0f}"
    body = "".join(page.text)
    assert f"seed{manifest['seed']}" in re.sub(r"\s+", "", body)
    assert "Kyiv, Moscow, US and EU/UK mediators" in body  # the scenario's description
    # the assumptions with their quotes, as `negsim evidence` lists them
    assert "We cannot legally acknowledge any occupied territory of Ukraine as Russian" in body
    assert "entries of baseline:" in body
    assert len(assert_self_contained(text, page)) == 3


def test_strings_from_files_are_escaped(runs, tmp_path):
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    data = copy.deepcopy(sc.data)
    data["description"] = "<script>alert('x')</script> & <b onclick=\"y\">bold</b>"
    hostile = scenario_from_data(data, sc.path, sc.text)
    run_dir = run_batch(hostile, runs=40, seed=1, out=tmp_path / "runs").run_dir
    text, page = report(tmp_path, run_dir)
    assert "<script>" not in text and "<b onclick" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b onclick=&#34;y&#34;&gt;" in text
    assert "<script>alert('x')</script> & <b onclick=\"y\">bold</b>" in "".join(page.text)  # shown as written


def test_scenario_and_actor_names_with_markup_are_escaped(runs, tmp_path):
    """The template escapes every value: a scenario and an actor named with a <script> come out as text."""
    sc = load_scenario(SCENARIOS / "baseline.yaml")
    evil = "us<script>alert(1)</script>"
    text = json.dumps(sc.data).replace('"us"', json.dumps(evil)).replace('"us.', json.dumps(evil)[:-1] + ".") \
        .replace('"actors.us.', '"actors.' + json.dumps(evil)[1:-1] + ".")  # a timed event's key path
    data = json.loads(text)
    data["name"] = "<script>alert(2)</script>"
    hostile = scenario_from_data(data, sc.path, sc.text)
    assert evil in hostile.model.actors
    run_dir = run_batch(hostile, runs=40, seed=5, out=tmp_path / "runs").run_dir
    for dirs in ([run_dir], [runs["base"], run_dir]):  # alone, and as a batch compared with the baseline
        html, page = report(tmp_path, *dirs)
        assert "<script" not in html.lower()
        shown = "".join(page.text)
        assert "negsim report: <script>alert(2)</script>" in shown  # the title and heading, as written
        assert f"actors.{evil}.trust" in shown  # the actor's parameters in the assumptions
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;script&gt;alert(2)&lt;/script&gt;" in html
        assert_self_contained(html, page)


def test_sweep_report(runs, tmp_path, capsys):
    text, page = report(tmp_path, runs["sweep"])
    assert "Report (sweep, " in capsys.readouterr().out
    summary = json.loads((runs["sweep"] / "summary.json").read_text())
    manifest = json.loads((runs["sweep"] / "manifest.json").read_text())
    assert len(summary["points"]) == 2
    for point in summary["points"]:
        for outcome, v in point["outcomes"].items():
            [(attrs, shown)] = page.find(point=str(point["point"]), outcome=outcome)
            assert float(attrs["data-p"]) == v["p"] and shown == f"{100 * v['p']:.1f}%"
    body = "".join(page.text)
    assert "By actors.moscow.resolve (pooled over the other parameters)" in body
    assert "Swept parameters take the values of each point" in body
    images = assert_self_contained(text, page)
    assert len(images) == len(manifest["figures"]) >= 3
    assert images[0] == (runs["sweep"] / manifest["figures"][0]).read_bytes()  # the sweep's own figures


def test_sweep_run_without_figures_gets_them_drawn_by_the_sweep_code(runs, tmp_path):
    assert not list(runs["bare_sweep"].glob("*.png"))
    text, page = report(tmp_path, runs["bare_sweep"])
    images = assert_self_contained(text, page)
    assert len(images) == 5  # outcome vs each parameter, the heat map, agreement month, terms
    body = "".join(page.text)
    assert "P(agreement) by actors.moscow.resolve and actors.kyiv.cost_sensitivity" in body
    assert "Outcome probabilities against actors.kyiv.cost_sensitivity, with 95% Wilson bands" in body
    assert not list(runs["bare_sweep"].glob("*.png"))  # drawn for the page only


def test_several_batches_say_what_changed_paired_where_they_can(runs, tmp_path, capsys):
    text, page = report(tmp_path, runs["base"], runs["push"], runs["eu"])
    assert "Report (batches, 4 figures)" in capsys.readouterr().out
    body = "".join(page.text)
    assert "us_push_month6 against baseline" in body and "eu_uk_mediation against baseline" in body
    assert "Paired by replicate: both ran seed 5 with 300 runs" in body
    assert "Unpaired (independent samples, wider intervals): eu_uk_mediation ran seed 6 with 200 runs" in body
    paired = compare(runs["base"], runs["push"], out=None).comparison
    unpaired = compare(runs["base"], runs["eu"], out=None, paired=False).comparison
    assert paired.paired and not unpaired.paired
    diffs = [float(a["data-diff"]) for a, _ in page.cells if "data-diff" in a and "data-measure" not in a]
    expected = [r.diff for c in (paired, unpaired) for r in c.outcomes.itertuples()
                if r.kind == "outcome" or (r.outcome not in ("no_talks", "talks_failed", "agreement")
                                           and (r.p_a or r.p_b))]
    assert diffs == pytest.approx(expected, abs=0, rel=0)
    # each batch's own numbers are its summary's
    for key in ("base", "push", "eu"):
        s = json.loads((runs[key] / "summary.json").read_text())
        label = json.loads((runs[key] / "manifest.json").read_text())["scenario"]["name"]
        [(attrs, _)] = page.find(outcome="agreement", batch=label)
        assert float(attrs["data-p"]) == s["outcomes"]["agreement"]["p"]
    assert "class: limited_return" in body and "class: frozen_conflict" in body
    assert len(assert_self_contained(text, page)) == 4


def test_saved_comparison_report_reads_its_batches(runs, tmp_path, capsys):
    text, page = report(tmp_path, runs["comparison"])
    assert "Report (comparison, 4 figures)" in capsys.readouterr().out
    body = "".join(page.text)
    assert f"The comparison saved in {runs['comparison']}" in body
    assert "us_push_month6 against baseline" in body and "Paired by replicate" in body
    saved = json.loads((runs["comparison"] / "comparison.json").read_text())["comparisons"][0]["outcomes"]
    agreement = next(r for r in saved if r["outcome"] == "agreement" and r["kind"] == "outcome")
    assert agreement["diff"] in [float(a["data-diff"]) for a, _ in page.cells if "data-diff" in a]
    assert_self_contained(text, page)


def test_saved_comparison_without_its_batches_shows_what_was_saved(runs, tmp_path):
    import shutil

    moved = tmp_path / "alone" / runs["comparison"].name
    shutil.copytree(runs["comparison"], moved)
    manifest = json.loads((moved / "manifest.json").read_text())
    for side in manifest["sides"]:
        side["run_dir"] = str(tmp_path / "gone" / Path(side["run_dir"]).name)
    (moved / "manifest.json").write_text(json.dumps(manifest))
    text, page = report(tmp_path, moved)
    body = "".join(page.text)
    assert "no longer all in their run directories" in body
    assert "us_push_month6 against baseline" in body
    assert [i for i in assert_self_contained(text, page)] == [(moved / "comparison.png").read_bytes()]


def bad(args, capsys) -> str:
    assert main(["report", *map(str, args)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    return err


def test_bad_input_exits_2_naming_the_folder_and_what_was_expected(runs, tmp_path, capsys):
    out = ["--out", str(tmp_path / "r.html")]
    err = bad([tmp_path / "nowhere", *out], capsys)
    assert f"{tmp_path / 'nowhere'}: does not exist; expected a run directory of `negsim run`" in err
    empty = tmp_path / "empty"
    empty.mkdir()
    err = bad([empty, *out], capsys)
    assert f"{empty}: not a run directory (no manifest.json); expected" in err and "negsim sweep" in err
    afile = tmp_path / "file.txt"
    afile.write_text("x")
    assert f"{afile}: is not a folder" in bad([afile, *out], capsys)
    odd = tmp_path / "odd"
    odd.mkdir()
    (odd / "manifest.json").write_text(json.dumps({"format": 2, "kind": "nonsense", "status": "complete"}))
    assert "kind 'nonsense' is not one the report reads; expected" in bad([odd, *out], capsys)
    (odd / "manifest.json").write_text("{not json")
    assert "corrupt manifest" in bad([odd, *out], capsys)
    err = bad([runs["base"], runs["sweep"], *out], capsys)
    assert f"{runs['sweep']}: a sweep; several run directories must all be batches" in err
    assert f"--out {tmp_path}: a folder" in bad([runs["base"], "--out", tmp_path], capsys)
    assert "does not exist" in bad([runs["base"], "--out", tmp_path / "no" / "r.html"], capsys)
    assert not (tmp_path / "r.html").exists()


def test_unfinished_batch_exits_2(runs, tmp_path, capsys):
    import shutil

    unfinished = tmp_path / "unfinished"
    shutil.copytree(runs["base"], unfinished)
    manifest = json.loads((unfinished / "manifest.json").read_text())
    manifest["status"] = "interrupted"
    (unfinished / "manifest.json").write_text(json.dumps(manifest))
    err = bad([unfinished, "--out", tmp_path / "r.html"], capsys)
    assert f"{unfinished}: the batch is not complete (status 'interrupted'); finish it with: negsim resume" in err
    manifest["status"] = "complete"
    (unfinished / "manifest.json").write_text(json.dumps(manifest))
    (unfinished / "summary.json").write_text(json.dumps({"runs": 300}))
    err = bad([unfinished, "--out", tmp_path / "r.html"], capsys)
    assert f"{unfinished / 'summary.json'}: not the summary.json of a batch (no outcomes, outcome_classes" in err
    (unfinished / "summary.json").unlink()
    assert "a complete batch without summary.json" in bad([unfinished, "--out", tmp_path / "r.html"], capsys)


def pdf_objects(data: bytes) -> bytes:
    """The PDF's bytes with every Flate stream inflated (object streams hide the page dictionaries)."""
    out = [data]
    for m in re.finditer(rb"stream\r?\n", data):
        try:
            out.append(zlib.decompressobj().decompress(data[m.end():]))
        except zlib.error:
            continue
    return b"\n".join(out)


def test_pdf_is_a_real_pdf(runs, tmp_path, capsys):
    pytest.importorskip("weasyprint", reason="the [report] extra (in dev) installs WeasyPrint")
    html = tmp_path / "report.html"
    umask = os.umask(0o022)
    try:
        assert main(["report", str(runs["base"]), str(runs["push"]), "--out", str(html), "--pdf", "--json"]) == 0
    finally:
        os.umask(umask)
    done = json.loads(capsys.readouterr().out)
    pdf = Path(done["pdf"])
    assert pdf == tmp_path / "report.pdf" and done["kind"] == "batches" and done["figures"] == 4
    assert [oct(p.stat().st_mode & 0o777) for p in (html, pdf)] == ["0o644", "0o644"]  # the umask's, not 0600
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    objects = pdf_objects(data)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", objects))
    assert pages >= 4, pages  # tables, four figures and the assumptions do not fit on fewer A4 pages
    assert re.search(rb"/Type\s*/Pages\b.*?/Count\s+%d\b" % pages, objects, re.S)
    assert len(re.findall(rb"/Subtype\s*/Image", objects)) >= 4  # the figures made it in
    text = "\n".join(pdf_lines(pdf))
    assert "Outcome probabilities" in text and "What changed against baseline" in text


def pdf_lines(pdf: Path) -> list[str]:
    """The PDF's text, line by line (pypdf, in the dev extra): a table cell's lines follow one another."""
    import pypdf

    return [line for page in pypdf.PdfReader(str(pdf)).pages for line in page.extract_text().splitlines()]


def may_wrap(word: str, at: int) -> bool:
    """Whether the report lets ``word`` wrap before its character ``at``: a long word where
    :func:`sim.present.report.wrap_hints` puts a <wbr>; a short word only at a hyphen between letters."""
    from sim.present.report import LONG_WORD, WRAP_AT

    if len(word) >= LONG_WORD:
        return WRAP_AT.match(word, at) is not None
    return word[at - 1] == "-" and word[at - 2:at - 1].isalpha() and word[at].isalpha()


def split_words(lines: list[str], words: set[str]) -> list[str]:
    """Words of the page's tables that the PDF breaks across two lines where the report lets none wrap."""
    split = []
    for above, below in zip(lines, lines[1:], strict=False):
        if re.fullmatch(r"\d+ / \d+", below.strip()):  # the page's footer (page / pages) continues no cell
            continue
        if above.split() and below.split():
            a, b = above.split()[-1], below.split()[0]
            if a + b in words and not may_wrap(a + b, len(a)):
                split.append(f"{a} / {b}")
    return split


def test_pdf_keeps_words_whole_explains_its_tests_and_lists_every_assumption(runs, tmp_path, capsys):
    """Issue 20: "2,00 / 0", "engin / e", "hawkish_publi / c"; tests not explained; 82 assumptions of 84."""
    pytest.importorskip("weasyprint", reason="the [report] extra (in dev) installs WeasyPrint")
    from sim.analysis.paired import TESTS

    text, page = report(tmp_path, runs["base"], runs["hawk"], runs["push"], extra=("--pdf",))
    lines = pdf_lines(tmp_path / "report.pdf")
    cells = [t for _, t in page.cells] + [t for t in _heads(text)]
    words = {w for t in cells for w in t.split()}
    assert "hawkish_public:" in words and any("," in w and w.strip("+-").replace(",", "").isdigit() for w in words)
    assert split_words(lines, words) == []
    whole = {w for line in lines for w in line.split()}
    land = json.loads((runs["hawk"] / "summary.json").read_text())["land_km2"]
    assert f"{land['p95']:+,.0f}" in whole and "," in f"{land['p95']:+,.0f}"  # a thousands comma, on one line
    assert {"P(hawkish_public)", "P(us_push_month6)", "frozen_conflict", "engine"} <= whole
    # every test the tables name, with its line
    named = {a["data-test"] for a, _ in page.cells if "data-test" in a}
    assert {"mcnemar_chi2_cc", "paired_bootstrap"} <= named
    joined = " ".join(lines)
    for name in named:
        label, line = TESTS[name]
        assert f"{label}: {line}" in joined, name
    # the assumptions: those `negsim evidence` lists, no fewer, no more
    capsys.readouterr()
    assert main(["evidence", str(SCENARIOS / "baseline.yaml"), "--json"]) == 0
    listed = [r["path"] for r in json.loads(capsys.readouterr().out)["rows"]]
    shown = [a["data-param"] for a, _ in page.cells if "data-param" in a]
    assert shown == listed and len(listed) > 100
    assert f"{len(listed)} entries of baseline:" in joined
    assert {"actors.ukraine_public.ratifies", "negotiation.guarantee.active"} <= set(shown)  # switches the file sets


def _heads(text: str) -> list[str]:
    """The text of every column heading of the page."""
    return [html.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th>(.*?)</th>", text)]


def test_pdf_without_weasyprint_exits_2_and_says_what_to_install(runs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "weasyprint", None)  # import fails as if it were not installed
    err = bad([runs["base"], "--out", tmp_path / "r.html", "--pdf"], capsys)
    assert "--pdf needs WeasyPrint: install negsim's report extra" in err
    assert not (tmp_path / "r.html").exists()


# --------------------------------------------------------------------------- in a browser


def render(path: Path, shot: str) -> dict:
    from browser.chromium import artifact, browser

    fetched = []
    with browser() as b:
        page = b.new_page(viewport={"width": 1100, "height": 900})
        page.on("request", lambda r: fetched.append(r.url))
        page.goto(path.as_uri())
        page.wait_for_load_state("load")
        page.screenshot(path=str(artifact(shot)), full_page=True)
        seen = page.evaluate("""() => ({
            images: [...document.images].map(i => ({complete: i.complete, w: i.naturalWidth, h: i.naturalHeight,
                                                   shown: i.getBoundingClientRect().width})),
            outcomes: document.querySelector('table.outcomes').innerText,
            headings: [...document.querySelectorAll('h2')].map(h => h.innerText),
            overflow: document.documentElement.scrollWidth - window.innerWidth,
            visible: (() => { const r = document.querySelector('table.outcomes').getBoundingClientRect();
                              return r.width > 0 && r.height > 0; })(),
        })""")
    seen["fetched"] = fetched
    seen["shot"] = artifact(shot)
    return seen


def test_chromium_renders_the_batch_report(runs, tmp_path):
    html = tmp_path / "report.html"
    assert main(["report", str(runs["base"]), "--out", str(html)]) == 0
    seen = render(html, "report_batch.png")
    summary = json.loads((runs["base"] / "summary.json").read_text())
    assert seen["visible"]
    for outcome, label in (("no_talks", "no talks"), ("talks_failed", "talks failed"), ("agreement", "agreement")):
        v = summary["outcomes"][outcome]
        assert f"{label}\t{100 * v['p']:.1f}%\t{100 * v['lo']:.1f}% – {100 * v['hi']:.1f}%" in seen["outcomes"]
    assert len(seen["images"]) == 3
    assert all(i["complete"] and i["w"] > 300 and i["h"] > 200 and i["shown"] > 300 for i in seen["images"])
    assert seen["headings"][:2] == ["The question", "Outcome probabilities"]
    assert seen["headings"][-1] == "Assumptions and their sources"
    assert seen["overflow"] <= 0, "the page is wider than the window"
    assert all(u.startswith(("file:", "data:")) for u in seen["fetched"]), seen["fetched"]
    assert seen["shot"].stat().st_size > 50_000


def test_chromium_renders_three_batches_without_overflow(runs, tmp_path):
    html = tmp_path / "three.html"
    assert main(["report", str(runs["base"]), str(runs["push"]), str(runs["eu"]), "--out", str(html)]) == 0
    seen = render(html, "report_three_batches.png")
    assert "baseline: probability (95% interval)" in seen["outcomes"]
    assert "What changed against baseline" in seen["headings"]
    assert len(seen["images"]) == 4 and all(i["complete"] and i["w"] > 300 for i in seen["images"])
    assert seen["overflow"] <= 0, "the page is wider than the window"
    assert all(u.startswith(("file:", "data:")) for u in seen["fetched"]), seen["fetched"]


def test_chromium_renders_a_two_parameter_sweep_without_overflow(runs, tmp_path):
    html = tmp_path / "sweep.html"
    assert main(["report", str(runs["bare_sweep"]), "--out", str(html)]) == 0
    seen = render(html, "report_sweep.png")
    assert "P(agreement)" in seen["outcomes"] and "0.5" in seen["outcomes"]
    assert "Outcome probabilities, timing and land by point" in seen["headings"]
    assert len(seen["images"]) == 5 and all(i["complete"] and i["w"] > 300 for i in seen["images"])
    assert seen["overflow"] <= 0, "the page is wider than the window"
    assert all(u.startswith(("file:", "data:")) for u in seen["fetched"]), seen["fetched"]


def test_the_templates_ship_as_package_data():
    """The page's template and style sheet are package data: a wheel carries them (pyproject's package-data)."""
    import tomllib
    from fnmatch import fnmatch
    from importlib.resources import files

    shipped = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    names = sorted(p.name for p in (files("sim.present") / "templates").iterdir() if p.is_file())
    assert names == ["report.css", "report.html.j2"]
    assert all(any(fnmatch(f"templates/{n}", pattern) for pattern in shipped["sim.present"]) for n in names)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_a_scenario_from_a_manifest_has_the_evidence_table_of_its_file(path):
    """One source for `negsim evidence` (the file) and the report (the manifest's data, through JSON)."""
    from sim.scenario.evidence import table as evidence_table

    sc = load_scenario(path)
    stored = scenario_from_data(json.loads(json.dumps(sc.data)), str(path), sc.text)
    assert evidence_table(stored) == evidence_table(sc)
    assert any(r.path.endswith(".ratifies") for r in evidence_table(sc))  # a switch the file sets is listed
